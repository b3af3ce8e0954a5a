"""Steering at deployment: the selector on one's own states and a policy object that acts."""

import functools

import gymnasium as gym
import numpy as np
import pytest
import torch

import frozensteer as fs
from frozensteer.agents import GaussianPolicy, freeze
from frozensteer.evaluate import evaluate
from frozensteer.experiments import distance_to_actor


def policies():
    torch.manual_seed(0)
    return (freeze(GaussianPolicy(11, 3, hidden=(32, 32))),
            freeze(GaussianPolicy(11, 3, 1, hidden=(32, 32))))


STATES = np.random.default_rng(0).normal(size=(300, 11)).astype(np.float32)
GOAL = np.array([1.0], dtype=np.float32)


def test_the_curve_is_the_grid_s_distance_and_the_exact_alpha_meets_the_budget():
    actor, prior = policies()
    curve = fs.kl_curve(actor, prior, STATES, goal=GOAL)
    conds = [fs.Condition("poe", alpha=a) for a in curve]
    kl, _ = distance_to_actor(actor, prior, GOAL, STATES, conds)
    np.testing.assert_allclose(list(curve.values()), kl, rtol=1e-12)
    assert np.all(np.diff(list(curve.values())) > 0)  # monotone in alpha
    budget = float(np.mean(list(curve.values())[1:3]))  # between D(0.3) and D(0.5)
    grid = fs.select_alpha(actor, prior, STATES, budget, goal=GOAL)
    exact = fs.select_alpha(actor, prior, STATES, budget, goal=GOAL, alphas=None)
    assert grid.alpha == 0.3 and 0.3 < exact.alpha < 0.5
    assert fs.kl_curve(actor, prior, STATES, [exact.alpha], goal=GOAL)[exact.alpha] == \
        pytest.approx(budget, abs=1e-4)
    assert fs.select_alpha(actor, prior, STATES, 0.0, goal=GOAL).alpha == 0.0
    with pytest.raises(ValueError, match="epsilon must be a finite number"):
        fs.select_alpha(actor, prior, STATES, -1.0, goal=GOAL)


def test_a_steered_policy_acts_as_the_engine_does_and_speaks_sb3():
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import DummyVecEnv

    actor, prior = policies()
    env = gym.make("Hopper-v5")
    policy = fs.SteeredPolicy(actor, prior, "poe", alpha=0.3, goal=GOAL,
                              action_space=env.action_space)
    obs, _ = env.reset(seed=3)
    one = policy.act(obs)
    assert one.shape == (3,) and one.dtype == np.float32
    np.testing.assert_array_equal(policy.act(obs[None])[0], one)
    np.testing.assert_array_equal(policy.predict(obs)[0], one)
    # episode for episode, the policy acting in its own loop is the engine's row
    rows = evaluate(functools.partial(gym.make, "Hopper-v5", max_episode_steps=40), actor,
                    prior, GOAL, [policy.condition], [3, 4])
    for seed, engine_return in zip(rows["seed"], rows["return"]):
        env = gym.make("Hopper-v5", max_episode_steps=40)
        obs, _ = env.reset(seed=int(seed))
        total, over = 0.0, False
        while not over:
            obs, reward, term, trunc, _ = env.step(policy.act(obs))
            total, over = total + float(reward), term or trunc
        assert total == engine_return
    venv = DummyVecEnv([lambda: gym.make("Hopper-v5", max_episode_steps=50)])
    returns, lengths = evaluate_policy(policy, venv, n_eval_episodes=2,
                                       return_episode_rewards=True)
    assert len(returns) == 2 and all(n <= 50 for n in lengths)


def test_bad_steering_inputs_are_named():
    actor, prior = policies()
    with pytest.raises(ValueError, match="unknown rule 'PoE'"):
        fs.SteeredPolicy(actor, prior, "PoE", alpha=0.3, goal=GOAL)
    with pytest.raises(ValueError, match="goal is required"):
        fs.SteeredPolicy(actor, prior, "poe", alpha=0.3)
    policy = fs.SteeredPolicy(actor, prior, "poe", alpha=0.3, goal=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"goal must hold 1 value\(s\)"):
        policy.act(STATES[:2])
    with pytest.raises(ValueError, match="obs must be one observation"):
        fs.SteeredPolicy(actor, prior, "poe", alpha=0.3, goal=GOAL).act(np.zeros((2, 2, 11)))


def test_committed_policies_load_by_name():
    actor = fs.load_actor("hopper-medium", env="hopper")
    prior = fs.load_prior("hopper-medium-clean", env="hopper")
    assert actor.obs_dim == prior.obs_dim == 11 and prior.goal_dim == 1
    with pytest.raises(FileNotFoundError, match=r"no prior called 'hopper-banana'.*"
                                                r"'hopper-medium-clean'"):
        fs.load_prior("hopper-banana")
