"""Behaviour cloning and goal-conditioned priors with hindsight goals."""

import numpy as np
import pytest
import torch

from frozensteer.agents.bc import BCConfig, train_bc
from frozensteer.agents.prior import (deployment_goal, later_position, mean_future_reward,
                                      fit_prior)
from frozensteer.data.transitions import Transitions


def toy(episode_rewards):
    """Transitions of hand-made episodes: obs = [t], action = [0.5 * t]."""
    rows = [(t, r, e) for e, rewards in enumerate(episode_rewards) for t, r in enumerate(rewards)]
    t = np.array([r[0] for r in rows], dtype=np.float32)[:, None]
    return Transitions(observations=t, actions=0.5 * t, rewards=np.array([r[1] for r in rows]),
                       next_observations=t + 1, terminals=np.zeros(len(rows), bool),
                       episode=np.array([r[2] for r in rows]))


def test_hindsight_goal_is_the_mean_future_reward():
    data = toy([[1.0, 2.0, 3.0], [4.0, 0.0]])
    np.testing.assert_allclose(mean_future_reward(data)[:, 0], [2.0, 2.5, 3.0, 2.0, 0.0])
    # initial goals 2.0 and 2.0 -> any percentile is 2.0
    np.testing.assert_allclose(deployment_goal(data, 90.0), [2.0])
    np.testing.assert_allclose(deployment_goal(toy([[1.0], [3.0]]), 50.0), [2.0])


def test_antmaze_goal_is_a_later_position_of_the_same_episode():
    data = toy([[0.0] * 4, [0.0] * 3])  # episodes of 4 and 3 steps
    positions = np.stack([np.arange(7.0), -np.arange(7.0)], axis=1)  # position = its index
    for seed in range(20):
        goals = later_position(data, positions, seed, p=0.5)
        index = goals[:, 0].astype(int)
        assert np.array_equal(goals[:, 1], -goals[:, 0])  # whole (x, y) rows are kept
        assert np.all(index >= np.arange(7))  # never an earlier position
        assert np.all(index[:4] <= 3) and np.all(index[4:] >= 4)  # never another episode
    assert later_position(data, positions, p=0.5)[3, 0] == 3  # the last step: its own
    assert later_position(data, positions, p=1.0)[:, 0].tolist() == list(range(7))
    # offsets are geometric: mean 1 / p on a long episode
    long = toy([[0.0] * 20_000])
    ramp = np.stack([np.arange(20_000.0)] * 2, axis=1)
    offsets = later_position(long, ramp, p=0.01)[:10_000, 0] - np.arange(10_000) + 1
    assert abs(offsets.mean() - 100) < 5
    with pytest.raises(ValueError, match="positions must have shape"):
        later_position(data, positions[:, :1])
    with pytest.raises(ValueError, match="p must be in"):
        later_position(data, positions, p=0.0)


def test_bc_lowers_the_loss():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(2000, 4)).astype(np.float32)
    actions = np.tanh(obs[:, :2] * 0.8).astype(np.float32)
    _, curve = train_bc(obs, actions, BCConfig(steps=500, batch_size=64, hidden=(64, 64)))
    assert curve[-1]["nll"] < curve[0]["nll"] - 1.0


def test_prior_qualities():
    data = toy([[float(i % 3)] * 20 for i in range(40)])
    clean, clean_curve = fit_prior(data, "clean", "smoke")
    degraded, degraded_curve = fit_prior(data, "degraded", "smoke")
    random_a, random_curve = fit_prior(data, "random", "smoke", seed=1)
    random_b, _ = fit_prior(data, "random", "smoke", seed=1)
    assert clean_curve[-1]["step"] == 500 and degraded_curve[-1]["step"] == 25
    assert random_curve == []
    obs, goal = torch.zeros(3, 1), torch.ones(3, 1)
    with torch.no_grad():
        assert torch.equal(random_a(obs, goal).mean, random_b(obs, goal).mean)  # seeded
    with pytest.raises(ValueError, match="quality must be one of"):
        fit_prior(data, "noisy", "smoke")


def test_iql_trains_an_actor_that_fits_the_better_actions():
    from frozensteer.agents.iql import IQLConfig, reward_scale, train_iql

    # one-step episodes: action +1 earns reward 1, action -1 earns 0
    rng = np.random.default_rng(0)
    n = 4000
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    actions = rng.choice([-1.0, 1.0], size=(n, 1)).astype(np.float32)
    data = Transitions(observations=obs, actions=actions, rewards=(actions[:, 0] > 0) * 1.0,
                       next_observations=obs, terminals=np.ones(n, bool), episode=np.arange(n))
    assert reward_scale(data) == pytest.approx(1000.0)
    actor, curve, critics = train_iql(data, IQLConfig(steps=400, batch_size=128,
                                                      hidden=(64, 64)))
    losses = [[row[k] for k in ("value_loss", "q_loss", "actor_loss")] for row in curve]
    assert np.isfinite(losses).all()
    assert [row["device"] for row in curve] == ["cpu"] * len(curve)
    assert np.all(np.diff([row["wall_s"] for row in curve]) >= 0)  # cumulative training time
    with torch.no_grad():
        assert actor(torch.as_tensor(obs[:200])).mean.mean() > 0.5  # the rewarded action
        # the critics rank the rewarded action above the other one
        s = torch.as_tensor(obs[:200])
        ones = torch.ones(200, 1)
        assert (critics.q(s, ones) > critics.q(s, -ones)).float().mean() > 0.9


def random_transitions(n, seed):
    """``n`` random transitions in ten episodes: 3-d observations, 2-d actions."""
    rng = np.random.default_rng(seed)
    return Transitions(observations=rng.normal(size=(n, 3)).astype(np.float32),
                       actions=rng.uniform(-1, 1, (n, 2)).astype(np.float32),
                       rewards=rng.normal(size=n).astype(np.float32),
                       next_observations=rng.normal(size=(n, 3)).astype(np.float32),
                       terminals=np.zeros(n, bool), episode=np.repeat(np.arange(10), n // 10))


def test_iql_seeds_change_the_weights_and_repeat_exactly():
    from frozensteer.agents import iql

    data = random_transitions(300, seed=1)
    obs = torch.as_tensor(data.observations[:5])

    def mean(seed):
        actor = iql.train_iql(data, iql.IQLConfig(steps=20, batch_size=16, hidden=(8, 8),
                                                  seed=seed))[0]
        with torch.no_grad():
            return actor(obs).mean

    assert torch.equal(mean(1), mean(1))
    assert not torch.equal(mean(0), mean(1))


def test_iql_resumes_an_interrupted_run_exactly(tmp_path, monkeypatch):
    from frozensteer.agents import iql

    data = random_transitions(500, seed=0)
    config = iql.IQLConfig(steps=60, batch_size=16, hidden=(16, 16))
    whole, whole_curve, whole_critics = iql.train_iql(data, config)

    state = tmp_path / "state.pt"
    save = iql._save_state

    def killed_after_saving(path, payload):
        save(path, payload)
        if payload["step"] == 40:
            raise KeyboardInterrupt

    monkeypatch.setattr(iql, "_save_state", killed_after_saving)
    with pytest.raises(KeyboardInterrupt):
        iql.train_iql(data, config, state=state, state_key="k", save_every=20)
    monkeypatch.setattr(iql, "_save_state", save)
    resumed, curve, critics = iql.train_iql(data, config, state=state, state_key="k",
                                            save_every=20)
    obs = torch.as_tensor(data.observations[:5])
    act = torch.as_tensor(data.actions[:5])
    with torch.no_grad():
        assert torch.equal(resumed(obs).mean, whole(obs).mean)
        assert torch.equal(critics.q(obs, act), whole_critics.q(obs, act))
        assert torch.equal(critics.v(obs), whole_critics.v(obs))

    def without_time(rows):
        return [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]

    assert without_time(curve) == without_time(whole_curve)
    assert curve[-1]["wall_s"] >= curve[1]["wall_s"]  # the resumed part adds to the time
    # a state saved for other inputs is ignored, not resumed
    other, *_ = iql.train_iql(data, config, state=state, state_key="other", save_every=20)
    with torch.no_grad():
        assert torch.equal(other(obs).mean, whole(obs).mean)


def test_critics_trained_alone_are_those_of_the_full_run():
    from frozensteer.agents import iql
    from frozensteer.agents.checkpoint import weights_digest

    data = random_transitions(500, seed=2)
    config = iql.IQLConfig(steps=80, batch_size=16, hidden=(16, 16), seed=3)
    actor, curve, critics = iql.train_iql(data, config)
    untrained, alone_curve, alone = iql.train_iql(data, config, critics_only=True)
    assert weights_digest(alone.state_dict()) == weights_digest(critics.state_dict())
    assert [r["q_loss"] for r in alone_curve] == [r["q_loss"] for r in curve]
    assert all(r["actor_loss"] == 0 for r in alone_curve)
    assert weights_digest(untrained.state_dict()) != weights_digest(actor.state_dict())


def test_the_critic_report_separates_what_the_critic_values():
    from frozensteer.agents import critics as critic_checks
    from frozensteer.agents.iql import IQLConfig, train_iql

    # one-step episodes: the "good" part takes action +1 (reward 1), the "poor" part -1 (0)
    rng = np.random.default_rng(0)
    n = 4000
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    actions = np.where(np.arange(n) < n // 2, 1.0, -1.0).astype(np.float32)[:, None]
    data = Transitions(observations=obs, actions=actions, rewards=(actions[:, 0] > 0) * 1.0,
                       next_observations=obs, terminals=np.ones(n, bool), episode=np.arange(n))
    config = IQLConfig(steps=400, batch_size=128, hidden=(64, 64))
    _, _, critics = train_iql(data, config)
    parts = np.where(np.arange(n) < n // 2, "good", "poor")
    # an actor that always takes the good action; held-out episodes of both kinds
    from frozensteer.compose import DiagGaussian

    def good_actor(o):
        return DiagGaussian(torch.ones(len(o), 1), torch.full((len(o), 1), 0.1))

    held = Transitions(observations=obs[:200], actions=actions[::20],
                       rewards=(actions[::20, 0] > 0) * 1.0, next_observations=obs[:200],
                       terminals=np.ones(200, bool), episode=np.arange(200))
    table = critic_checks.report(critics, data, parts, discount=0.99, temperature=3.0,
                                 max_weight=100.0, sample=1000, actor=good_actor,
                                 held_out_transitions=held).set_index("part")
    assert table.loc["good", "q_mean"] > table.loc["poor", "q_mean"]
    assert table.loc["poor", "actor_preferred_share"] == 1.0  # the critic prefers +1 to -1
    assert table.loc["held-out episodes", "q_vs_return_spearman"] > 0.5
    assert table.loc["held-out episodes", "sampled"] == 200
    assert table.loc["good", "advantage_mean"] > table.loc["poor", "advantage_mean"]
    assert table.loc["good", "sampled"] == 1000 and table.loc["good", "transitions"] == n // 2
    np.testing.assert_allclose(critic_checks.monte_carlo_returns(
        Transitions(obs[:3], actions[:3], np.array([1.0, 2.0, 3.0]), obs[:3],
                    np.zeros(3, bool), np.zeros(3, int)), 0.5), [2.75, 3.5, 3.0])


def test_a_short_run_saves_its_state_by_fraction():
    from frozensteer.agents.training import save_every

    assert save_every(500) == 25 and save_every(300_000) == 10_000 and save_every(3) == 1
