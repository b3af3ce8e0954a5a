"""The appendix baselines' rules on hand-made critics whose answer is known."""

import functools

import gymnasium as gym
import pytest
import torch

from frozensteer import baselines
from frozensteer.agents import GaussianPolicy, freeze
from frozensteer.compose import DiagGaussian
from frozensteer.evaluate import evaluate
from frozensteer.rules import Condition, StepContext


class Bowl(torch.nn.Module):
    """Q(s, a) = -||a - target||^2: its maximiser is known."""

    def __init__(self, target):
        super().__init__()
        self.register_buffer("target", torch.as_tensor(target, dtype=torch.float32))

    def q(self, obs, action):
        return -((action - self.target.to(action.dtype)) ** 2).sum(-1)


def context(target, rows=5, act_dim=3, std=0.3):
    torch.manual_seed(0)
    obs = torch.randn(rows, 11, dtype=torch.float64)
    actor = DiagGaussian(torch.zeros(rows, act_dim, dtype=torch.float64),
                         torch.full((rows, act_dim), std, dtype=torch.float64))
    return StepContext(actor, None, obs, None, {"critic": Bowl(target)})


def test_q_argmax_executes_the_best_of_its_candidates():
    ctx = context([0.4, -0.2, 0.1])
    chosen = Condition("q-argmax-64").apply(ctx.actor, None, obs=ctx.obs,
                                            networks=ctx.networks).mean
    pool = baselines.candidates(ctx, 64, "q-argmax-64")
    distance = ((pool - torch.tensor([0.4, -0.2, 0.1], dtype=torch.float64)) ** 2).sum(-1)
    best = pool[torch.arange(len(pool)), distance.argmin(dim=1)]
    assert torch.equal(chosen, best)
    # better by Q than the actor's own mean, and the same row whatever shares the batch
    assert (distance.min(dim=1).values < distance[:, 0]).all()
    alone = Condition("q-argmax-64").apply(
        DiagGaussian(ctx.actor.mean[2:3], ctx.actor.std[2:3]), None, obs=ctx.obs[2:3],
        networks=ctx.networks).mean
    assert torch.equal(alone[0], chosen[2])


def test_q_softmax_follows_a_peaked_critic_and_spreads_on_a_flat_one(monkeypatch):
    ctx = context([0.4, -0.2, 0.1], rows=200)
    pool = baselines.candidates(ctx, 16, "q-softmax-16")
    distance = ((pool - torch.tensor([0.4, -0.2, 0.1], dtype=torch.float64)) ** 2).sum(-1)
    monkeypatch.setattr(baselines, "SOFTMAX_TEMPERATURE", 1e-6)  # softmax -> argmax
    peaked = Condition("q-softmax-16").apply(ctx.actor, None, obs=ctx.obs,
                                             networks=ctx.networks).mean
    assert torch.equal(peaked, pool[torch.arange(200), distance.argmin(dim=1)])
    monkeypatch.setattr(baselines, "SOFTMAX_TEMPERATURE", 1e9)  # softmax -> uniform
    flat = Condition("q-softmax-16").apply(ctx.actor, None, obs=ctx.obs,
                                           networks=ctx.networks).mean
    which = [int(torch.nonzero((pool[i] == flat[i]).all(-1))[0]) for i in range(200)]
    assert len(set(which)) > 10  # spread over the 17 candidates


def test_q_gradient_reaches_a_near_maximiser_and_stops_at_the_kl_budget():
    near = context([0.1, -0.1, 0.05])
    got = Condition("q-gradient").apply(near.actor, None, obs=near.obs,
                                        networks=near.networks).mean
    torch.testing.assert_close(got, torch.tensor([[0.1, -0.1, 0.05]] * 5,
                                                 dtype=torch.float64), atol=1e-3, rtol=0)
    far = context([0.9, 0.9, 0.9], std=0.1)
    got = Condition("q-gradient").apply(far.actor, None, obs=far.obs,
                                        networks=far.networks).mean
    kl = 0.5 * ((got / 0.1) ** 2).sum(-1)
    torch.testing.assert_close(kl, torch.full((5,), baselines.KL_BUDGET,
                                              dtype=torch.float64))
    assert torch.allclose(got[:, 0], got[:, 1])  # straight towards the maximiser


def test_the_baselines_run_through_the_engine_unchanged():
    torch.manual_seed(0)
    actor = freeze(GaussianPolicy(11, 3, hidden=(16,)))
    make = functools.partial(gym.make, "Hopper-v5", max_episode_steps=20)
    conds = [Condition("frozen"), Condition("q-argmax-16"), Condition("q-gradient")]
    critic = Bowl([0.5, 0.5, 0.5])
    rows = evaluate(make, actor, None, None, conds, [0, 1], networks={"critic": critic})
    one = evaluate(make, actor, None, None, conds[1:2], [1], networks={"critic": critic})
    assert one["return"].iloc[0] == rows[(rows["rule"] == "q-argmax-16")
                                         & (rows["seed"] == 1)]["return"].iloc[0]
    assert (rows.groupby("rule")["return"].nunique() >= 1).all()
    with pytest.raises(ValueError, match=r"needs the frozen networks \['critic'\]"):
        evaluate(make, actor, None, None, conds[1:2], [0])
    with pytest.raises(ValueError, match="takes no coefficient"):
        Condition("q-argmax-16", alpha=0.3)


class GoalBowl(torch.nn.Module):
    """A goal-conditioned Q(s, a, g) = -||a - g||^2: each row's best action is its goal."""

    goal_dim = 3

    def q(self, obs, action, goal):
        return -((action - goal.to(action.dtype)) ** 2).sum(-1)


def test_a_goal_conditioned_critic_is_read_at_each_rows_goal():
    ctx = context([0.0, 0.0, 0.0], rows=4)
    goals = torch.tensor([[0.5, 0.0, 0.0], [0.0, -0.5, 0.0], [0.0, 0.0, 0.5],
                          [-0.5, 0.5, 0.0]], dtype=torch.float64)
    networks = {"critic": GoalBowl()}
    chosen = Condition("q-argmax-64").apply(ctx.actor, None, obs=ctx.obs, goal=goals,
                                            networks=networks).mean
    pool = baselines.candidates(ctx, 64, "q-argmax-64")
    distance = ((pool - goals[:, None]) ** 2).sum(-1)
    assert torch.equal(chosen, pool[torch.arange(4), distance.argmin(dim=1)])
    # gradient ascent moves each row towards its own goal, not a shared one
    moved = Condition("q-gradient").apply(ctx.actor, None, obs=ctx.obs, goal=goals,
                                          networks=networks).mean
    assert ((moved * goals).sum(-1) > 0).all()
