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


# --- AntMaze ------------------------------------------------------------------------------


def maze_policy(log, scale=1.0):
    """A fixed random linear policy on the goal view's rows, recording what it saw."""
    from frozensteer.data import antmaze

    weights = np.random.default_rng(1).normal(0, 1, (antmaze.OWN + 2 + 2, 8))

    def policy(obs, index):
        rows = np.concatenate([obs["observation"], obs["desired_goal"]], axis=1)
        action = np.clip(scale * np.tanh(rows @ weights), -1, 1).astype(np.float32)
        log.append((index.copy(), {k: v.copy() for k, v in obs.items()}, action))
        return action

    return policy


def near_goal(env):
    """A maze whose ant starts 0.2 to 0.8 m from its (noise-free) goal, drawn from the
    environment's own generator: its episodes cross the success radius."""
    base = env.unwrapped

    def reset_pos():
        angle = base.np_random.uniform(0, 2 * np.pi)
        return base.goal + base.np_random.uniform(0.2, 0.8) * np.array(
            [np.cos(angle), np.sin(angle)])

    base.generate_reset_pos = reset_pos
    base.add_xy_position_noise = lambda xy: xy
    return env


def maze(horizon, *, close=False, maze_map=None, **options):
    """The evaluation UMaze's goal view with other options (the ant near its goal if
    ``close``)."""
    from frozensteer.data import antmaze

    options = {"continuing_task": True, "reset_target": False, **options}
    env = antmaze.GoalView(gym.make(antmaze.MAZE_ENV, maze_map=maze_map or antmaze.UMAZE,
                                    max_episode_steps=horizon, **options))
    return near_goal(env) if close else env


def assert_same_maze_episodes(make, seeds, scale=1.0, threads=2):
    seen_gym, seen_batch = [], []
    ref = rollout.run_episodes(make, seeds, maze_policy(seen_gym, scale))
    new = batched.run_batched(make, seeds, maze_policy(seen_batch, scale), threads=threads)
    assert len(seen_gym) == len(seen_batch)
    for (i_a, obs_a, act_a), (i_b, obs_b, act_b) in zip(seen_gym, seen_batch):
        np.testing.assert_array_equal(i_a, i_b)
        assert list(obs_a) == list(obs_b)  # the same keys, in the same order
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key])
        np.testing.assert_array_equal(act_a, act_b)
    np.testing.assert_array_equal(ref.lengths, new.lengths)
    np.testing.assert_array_equal(ref.terminated, new.terminated)
    np.testing.assert_array_equal(ref.success, new.success)
    np.testing.assert_allclose(new.returns, ref.returns, rtol=1e-9)
    return new


def test_the_antmaze_evaluation_episodes_are_gymnasium_s_step_for_step():
    from frozensteer.data import antmaze

    assert batched.supports(antmaze.eval_env(50))
    assert_same_maze_episodes(functools.partial(antmaze.eval_env, 60),
                              [20_000 + i for i in range(6)])


@pytest.mark.parametrize("reward_type,continuing", [("sparse", True), ("dense", True),
                                                    ("sparse", False)])
def test_antmaze_reward_success_and_termination_at_the_goal(reward_type, continuing):
    make = functools.partial(maze, 60, close=True, reward_type=reward_type,
                             continuing_task=continuing)
    out = assert_same_maze_episodes(make, [30_000 + i for i in range(8)], scale=0.3)
    assert out.success.any() and not out.success.all()  # both outcomes are checked
    if continuing:
        assert not out.terminated.any()
    else:  # a task that is not continuing ends at the goal
        np.testing.assert_array_equal(out.terminated, out.success)
        assert (out.lengths[out.terminated] < 60).all()


def test_antmaze_rows_do_not_depend_on_threads_or_on_the_episodes_batched_together():
    make = functools.partial(maze, 40, close=True)
    seeds = [5, 6, 7, 8, 9]
    one = batched.run_batched(make, seeds, maze_policy([]), threads=1)
    two = batched.run_batched(make, seeds, maze_policy([]), threads=2)
    alone = batched.run_batched(make, seeds[2:3], maze_policy([]), threads=1)
    np.testing.assert_array_equal(one.returns, two.returns)
    np.testing.assert_array_equal(one.success, two.success)
    assert alone.returns[0] == one.returns[2] and alone.success[0] == one.success[2]


def test_the_engine_s_antmaze_rows_equal_the_gymnasium_path_s():
    import torch

    from frozensteer.agents import GaussianPolicy, freeze
    from frozensteer.data import antmaze

    torch.manual_seed(0)
    actor = freeze(GaussianPolicy(antmaze.OWN + 2, 8, hidden=(32, 32)))
    prior = freeze(GaussianPolicy(antmaze.OWN + 2, 8, 2, hidden=(32, 32)))
    args = (functools.partial(antmaze.eval_env, 30), actor, prior, None, conditions("smoke"),
            [3, 4])
    for mode in ("deterministic", "stochastic"):
        pd.testing.assert_frame_equal(evaluate(*args, mode=mode),
                                      evaluate(*args, mode=mode, engine="gymnasium"),
                                      check_exact=True)


def test_other_environments_are_named():
    from frozensteer.data import antmaze

    unsupported = {
        "FlatMaze": lambda: antmaze.FlatMaze(antmaze.maze_env(antmaze.UMAZE, 50)),
        "reset_target": lambda: maze(50, reset_target=True,
                                     maze_map=antmaze.MAZES["umaze-diverse"].data_map),
        "ant_v4": lambda: gym.make("Ant-v4", max_episode_steps=50)}
    for name, make in unsupported.items():
        assert not batched.supports(make()), name
        with pytest.raises(ValueError, match="run this environment with rollout.run_episodes"):
            batched.run_batched(make, [1], lambda o, i: None)
