"""The batched MuJoCo engine against Gymnasium itself: the same episodes, step for step."""

import functools

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

from frozensteer import batched, rollout
from frozensteer.evaluate import evaluate
from frozensteer.experiments import conditions

ENVS = ("Hopper-v5", "Walker2d-v5", "HalfCheetah-v5", "Ant-v5")


def recording_policy(env_id, log, scale):
    env = gym.make(env_id)
    weights = np.random.default_rng(0).normal(0, 1, (env.observation_space.shape[0],
                                                      env.action_space.shape[0]))
    low, high = env.action_space.low, env.action_space.high

    def policy(obs, index):
        action = np.clip(scale * np.tanh(obs @ weights), low, high).astype(np.float32)
        log.append((index.copy(), obs.copy(), action))
        return action

    return policy


@pytest.mark.parametrize("env_id", ENVS)
@pytest.mark.parametrize("scale", [0.1, 1.0])  # gentle actions keep walkers up for longer
def test_episodes_are_gymnasium_s_step_for_step(env_id, scale):
    make = functools.partial(gym.make, env_id, max_episode_steps=150)
    seeds = [10_000 + i for i in range(7)]
    seen_gym, seen_batch = [], []
    ref = rollout.run_episodes(make, seeds, recording_policy(env_id, seen_gym, scale))
    new = batched.run_batched(make, seeds, recording_policy(env_id, seen_batch, scale),
                              threads=2)
    assert len(seen_gym) == len(seen_batch)
    for (i_a, obs_a, act_a), (i_b, obs_b, act_b) in zip(seen_gym, seen_batch):
        np.testing.assert_array_equal(i_a, i_b)  # the same episodes still running
        np.testing.assert_array_equal(obs_a, obs_b)
        np.testing.assert_array_equal(act_a, act_b)
    np.testing.assert_array_equal(ref.lengths, new.lengths)
    np.testing.assert_array_equal(ref.terminated, new.terminated)
    np.testing.assert_allclose(new.returns, ref.returns, rtol=1e-9)


def test_a_terminated_episode_stops_and_its_row_is_right():
    make = functools.partial(gym.make, "Hopper-v5", max_episode_steps=150)
    out = batched.run_batched(make, [1, 2, 3], recording_policy("Hopper-v5", [], 1.0))
    assert out.terminated.all() and (out.lengths < 150).all()  # fallen, not timed out
    gentle = batched.run_batched(make, [1], recording_policy("Hopper-v5", [], 0.0))
    assert gentle.lengths[0] <= 150 and np.isfinite(gentle.returns).all()


def test_rows_do_not_depend_on_threads_or_on_the_episodes_batched_together():
    make = functools.partial(gym.make, "HalfCheetah-v5", max_episode_steps=60)
    seeds = [5, 6, 7, 8, 9]
    policy = recording_policy("HalfCheetah-v5", [], 1.0)
    one = batched.run_batched(make, seeds, policy, threads=1)
    two = batched.run_batched(make, seeds, policy, threads=2)
    alone = batched.run_batched(make, seeds[2:3], policy, threads=1)
    np.testing.assert_array_equal(one.returns, two.returns)
    assert alone.returns[0] == one.returns[2]


@pytest.mark.parametrize("env_id", ["Hopper-v5", "HalfCheetah-v5"])
def test_the_engine_s_rows_equal_the_gymnasium_path_s(env_id):
    from frozensteer.agents import GaussianPolicy, freeze
    import torch

    env = gym.make(env_id)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    torch.manual_seed(0)
    actor = freeze(GaussianPolicy(obs_dim, act_dim, hidden=(32, 32)))
    prior = freeze(GaussianPolicy(obs_dim, act_dim, 1, hidden=(32, 32)))
    make = functools.partial(gym.make, env_id, max_episode_steps=120)
    args = (make, actor, prior, np.array([1.0]), conditions("smoke"), [3, 4, 5])
    for mode in ("deterministic", "stochastic"):
        pd.testing.assert_frame_equal(evaluate(*args, mode=mode),
                                      evaluate(*args, mode=mode, engine="gymnasium"),
                                      check_exact=True)


def test_other_environments_are_named():
    from frozensteer.data import antmaze

    maze = functools.partial(antmaze.eval_env, 50)
    assert not batched.supports(maze())
    with pytest.raises(ValueError, match="run this environment with rollout.run_episodes"):
        batched.run_batched(maze, [1], lambda o, i: None)
