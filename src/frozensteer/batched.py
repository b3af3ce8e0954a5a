"""Episodes of a Gymnasium MuJoCo task stepped together in one ``mujoco.batch.Batch``.

``run_batched`` is ``rollout.run_episodes`` for Hopper-v5, Walker2d-v5, HalfCheetah-v5,
Ant-v5 and Gymnasium-Robotics' AntMaze v4 mazes: the same policy calls, the same
per-episode outcomes, the physics of every running episode advanced in C threads.  What
Gymnasium computes in Python per environment is computed here vectorised in numpy from the
batch's state, exactly as the pinned source does it, with the weights, ranges and options
read from the Gymnasium environment itself; each episode starts from the state (and, in a
maze, the goal) Gymnasium's ``reset(seed=s)`` produces, taken from Gymnasium.

- Locomotion (``_Locomotion``): ``_get_obs``, ``_get_rew``, ``is_healthy``, ``frame_skip`` of
  the v5 classes.  Ant's observation holds the external contact forces, which MuJoCo
  computes only on request: after each step the engine copies each running simulation into
  one ``MjData`` and calls ``mj_rnePostConstraint`` on it, as Gymnasium does on its own data.
- AntMaze (``_AntMaze``, ``ant_maze_v4.AntMazeEnv``): the v4 ant with its positions kept and
  no contact forces (the options the maze passes), split into ``observation`` (the ant
  without x, y) and ``achieved_goal`` (x, y); ``desired_goal`` is the episode's goal; the
  sparse or dense reward, ``success`` (within 0.45 m) and, for a task that is not
  continuing, termination there, as ``maze_v4.MazeEnv`` computes them.  A goal that moves
  when reached (``reset_target``) draws from the environment's generator mid-episode and is
  not reproduced: such a maze runs on Gymnasium.

Wrappers: those ``gymnasium.make`` adds (the time limit is read from ``TimeLimit``) and
observation wrappers that declare ``batched_observation = True`` (their ``observation``
maps a batch of observations, leading axis, row by row, such as AntMaze's ``GoalView``);
any other wrapper makes ``supports`` false.  ``tests/test_batched.py`` checks that
observations, actions, lengths, termination and success are identical to Gymnasium's and
that returns agree to 1e-9.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import gymnasium as gym
import mujoco
import mujoco.batch
import numpy as np
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit
from tqdm import tqdm

from frozensteer.rollout import Episodes, Policy

# Gymnasium's locomotion classes this module reproduces, and whether each one's velocity
# observation is clipped to [-10, 10] and whether it has a healthy state
KINDS = {"HopperEnv": {"clip_qvel": 10.0, "healthy": True},
         "Walker2dEnv": {"clip_qvel": 10.0, "healthy": True},
         "HalfCheetahEnv": {"clip_qvel": None, "healthy": False},
         "AntEnv": {"clip_qvel": None, "healthy": True}}
MAZE_MODULE = "gymnasium_robotics.envs.maze.ant_maze_v4"  # the AntMaze this module reproduces
PLAIN_WRAPPERS = (TimeLimit, OrderEnforcing, PassiveEnvChecker)


def supports(env: gym.Env) -> bool:
    """Whether ``run_batched`` reproduces this (wrapped) Gymnasium environment."""
    return _unsupported(env) is None


def _unsupported(env: gym.Env) -> str | None:
    """Why ``run_batched`` cannot run ``env``, or None when it can."""
    outer = env
    while isinstance(outer, gym.Wrapper):
        if not (isinstance(outer, PLAIN_WRAPPERS)
                or (isinstance(outer, gym.ObservationWrapper)
                    and getattr(outer, "batched_observation", False))):
            return f"the wrapper {type(outer).__name__} is not known to map batches"
        outer = outer.env
    base = env.unwrapped
    kind = type(base).__name__
    if type(base).__module__ == MAZE_MODULE:
        if base.ant_env._use_contact_forces:
            return "an AntMaze with use_contact_forces=True"
        if base.continuing_task and base.reset_target and len(
                base.maze.unique_goal_locations) > 1:
            return "an AntMaze whose goal moves when reached (reset_target=True)"
        return None
    module = type(base).__module__
    if kind not in KINDS or not (module.startswith("gymnasium.envs.mujoco.")
                                 and module.endswith("_v5")):
        return (f"{module}.{kind} (run_batched reproduces the v5 {sorted(KINDS)} and the "
                "AntMaze v4 mazes)")
    return None


def run_batched(make_env: Callable[[], gym.Env], seeds: Sequence[int], policy: Policy, *,
                threads: int | None = None, progress: bool | str = False) -> Episodes:
    """One episode per seed of the environment ``make_env`` makes, all in one ``Batch``.

    ``policy(obs, index)`` is called as by ``rollout.run_episodes``: the observations of the
    running episodes (stacked, or a dictionary of stacked arrays) and their positions in
    ``seeds``.  ``threads`` defaults to the CPUs this process may use."""
    env = make_env()
    reason = _unsupported(env)
    if reason is not None:
        raise ValueError(f"run_batched cannot reproduce {reason}: run this environment with "
                         "rollout.run_episodes")
    base = env.unwrapped
    task_type = _AntMaze if type(base).__module__ == MAZE_MODULE else _Locomotion
    horizon, views = _wrappers(env)
    n = len(seeds)
    starts = []
    for seed in seeds:  # Gymnasium's own reset: the same start state, bit for bit
        env.reset(seed=int(seed))
        starts.append(task_type.start(base))
    threads = threads or len(os.sched_getaffinity(0))
    batch = mujoco.batch.Batch(base.model, n, nthread=min(threads, n), persistent=True)
    batch.reset()
    qpos, qvel, ctrl = batch.bind("qpos"), batch.bind("qvel"), batch.bind("ctrl")
    qpos[:] = np.stack([s[0] for s in starts])
    qvel[:] = np.stack([s[1] for s in starts])
    batch.forward()  # as Gymnasium's set_state: mj_forward at the start state
    task = task_type(base, batch, qpos, qvel, starts)
    returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
    terminated, success = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    index = np.arange(n)
    bar = tqdm(desc=progress if isinstance(progress, str) else "episodes", unit="step",
               disable=not progress, leave=False)
    while len(index):
        obs = task.observe(index)
        for view in views:
            obs = view.observation(obs)
        actions = np.asarray(policy(obs, index))
        ctrl[index] = actions
        task.before_step(index)
        batch.step(ids=index, nstep=task.frame_skip)
        reward, term, reached = task.after_step(index, actions)
        returns[index] += reward
        lengths[index] += 1
        success[index] |= reached
        trunc = lengths[index] >= horizon if horizon is not None else np.zeros_like(term)
        terminated[index] = term
        bar.update(len(index))
        index = index[~(term | trunc)]
    bar.close()
    env.close()
    return Episodes(returns, lengths, terminated, success)


def _wrappers(env: gym.Env) -> tuple[int | None, list[gym.ObservationWrapper]]:
    """The time limit of ``env`` and its observation wrappers, innermost first."""
    horizon, views = None, []
    while isinstance(env, gym.Wrapper):
        if isinstance(env, TimeLimit):
            horizon = env._max_episode_steps if horizon is None else min(
                horizon, env._max_episode_steps)
        elif isinstance(env, gym.ObservationWrapper):
            views.insert(0, env)
        env = env.env
    return horizon, views


class _Locomotion:
    """Hopper-v5, Walker2d-v5, HalfCheetah-v5 and Ant-v5: observation, reward and
    termination from the batch's state."""

    @staticmethod
    def start(base) -> tuple:
        return base.data.qpos.copy(), base.data.qvel.copy()

    def __init__(self, base, batch, qpos, qvel, starts):
        self.base, self.qpos, self.qvel = base, qpos, qvel
        self.kind = type(base).__name__
        self.spec = KINDS[self.kind]
        self.frame_skip = base.frame_skip
        self.ant = self.kind == "AntEnv"
        self.contacts = _Contacts(batch, base) if self.ant else None
        self.skip = (0 if not base._exclude_current_positions_from_observation
                     else (2 if self.ant else 1))
        self.before = None

    def observe(self, rows: np.ndarray) -> np.ndarray:
        velocity = self.qvel[rows]
        if self.spec["clip_qvel"] is not None:
            velocity = np.clip(velocity, -self.spec["clip_qvel"], self.spec["clip_qvel"])
        parts = [self.qpos[rows, self.skip:], velocity]
        if self.ant and self.base._include_cfrc_ext_in_observation:
            parts.append(self.contacts.forces[rows, 1:].reshape(len(rows), -1))
        return np.concatenate(parts, axis=1)

    def before_step(self, rows: np.ndarray) -> None:
        self.before = (self.contacts.xy[rows, 0] if self.ant else self.qpos[rows, 0]).copy()

    def after_step(self, rows: np.ndarray, actions: np.ndarray) -> tuple:
        base, ant = self.base, self.ant
        if ant:
            self.contacts.update(rows)
        after = self.contacts.xy[rows, 0] if ant else self.qpos[rows, 0]
        velocity = (after - self.before) / base.dt
        cost = base._ctrl_cost_weight * np.sum(np.square(actions), axis=1)
        reward = base._forward_reward_weight * velocity
        if ant:
            cost = cost + base._contact_cost_weight * np.sum(
                np.square(self.contacts.forces[rows]), axis=(1, 2))
        if self.spec["healthy"]:
            healthy = _is_healthy(base, self.qpos[rows], self.qvel[rows], self.kind)
            reward = reward + healthy * base._healthy_reward
            term = ~healthy & base._terminate_when_unhealthy
        else:
            term = np.zeros(len(rows), dtype=bool)
        return reward - cost, term, np.zeros(len(rows), dtype=bool)


class _AntMaze:
    """Gymnasium-Robotics' AntMaze v4 (``ant_maze_v4.AntMazeEnv`` on ``maze_v4.MazeEnv``):
    the ant's observation as the maze splits it, the goal, the reward, success and
    termination."""

    RADIUS = 0.45  # m: maze_v4's goal radius (reward, success, termination)

    @staticmethod
    def start(base) -> tuple:
        return base.data.qpos.copy(), base.data.qvel.copy(), base.goal.copy()

    def __init__(self, base, batch, qpos, qvel, starts):
        self.base, self.qpos, self.qvel = base, qpos, qvel
        self.goal = np.stack([s[2] for s in starts])
        self.frame_skip = base.ant_env.frame_skip

    def observe(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        # the v4 ant keeps x, y (exclude_current_positions_from_observation=False) and has
        # no contact forces: [qpos, qvel], of which the maze makes x, y the achieved goal
        return {"observation": np.concatenate([self.qpos[rows, 2:], self.qvel[rows]], axis=1),
                "achieved_goal": self.qpos[rows, :2], "desired_goal": self.goal[rows]}

    def before_step(self, rows: np.ndarray) -> None:
        pass

    def after_step(self, rows: np.ndarray, actions: np.ndarray) -> tuple:
        base = self.base
        achieved, goal = self.qpos[rows, :2], self.goal[rows]
        offset = achieved - goal
        # compute_reward's norm: the sum of the two squares, as np.linalg.norm(axis=-1)
        distance = np.sqrt(offset[:, 0] * offset[:, 0] + offset[:, 1] * offset[:, 1])
        within = distance <= self.RADIUS
        reached = within.copy()
        # success (and termination) use np.linalg.norm of one vector, a dot product whose
        # last bit may differ from the sum above: redo a row near the radius as Gymnasium
        for row in np.flatnonzero(np.abs(distance - self.RADIUS) < 1e-9).tolist():
            within[row] = bool(np.linalg.norm(offset[row], axis=-1) <= self.RADIUS)
            reached[row] = bool(np.linalg.norm(offset[row]) <= self.RADIUS)
        if base.reward_type == "dense":
            reward = np.exp(-distance)
        elif base.reward_type == "sparse":
            reward = within.astype(np.float64)
        else:
            raise ValueError(f"AntMaze reward_type must be 'sparse' or 'dense', got "
                             f"{base.reward_type!r}")
        term = reached.copy() if not base.continuing_task else np.zeros(len(rows), bool)
        return reward, term, reached


class _Contacts:
    """Ant-v5's clipped external contact forces and its main body's (x, y), per simulation,
    as Gymnasium reads them after ``mj_rnePostConstraint``."""

    def __init__(self, batch, base):
        self.batch, self.base = batch, base
        self.scratch = mujoco.MjData(base.model)
        n, nbody = batch.nsim, base.model.nbody
        self.forces = np.zeros((n, nbody, 6))
        self.xy = np.zeros((n, 2))
        self.update(np.arange(n))

    def update(self, rows: np.ndarray) -> None:
        low, high = self.base._contact_force_range
        body = self.base._main_body
        for sim in rows.tolist():
            self.batch.get_data(sim, self.scratch)
            mujoco.mj_rnePostConstraint(self.base.model, self.scratch)
            self.forces[sim] = np.clip(self.scratch.cfrc_ext, low, high)
            self.xy[sim] = self.scratch.body(body).xpos[:2]


def _is_healthy(base, qpos: np.ndarray, qvel: np.ndarray, kind: str) -> np.ndarray:
    """``is_healthy`` of Hopper-v5, Walker2d-v5 or Ant-v5, one flag per row."""
    if kind == "AntEnv":
        low_z, high_z = base._healthy_z_range
        finite = np.isfinite(qpos).all(axis=1) & np.isfinite(qvel).all(axis=1)
        return finite & (low_z <= qpos[:, 2]) & (qpos[:, 2] <= high_z)
    z, angle = qpos[:, 1], qpos[:, 2]
    low_z, high_z = base._healthy_z_range
    low_a, high_a = base._healthy_angle_range
    healthy = (low_z < z) & (z < high_z) & (low_a < angle) & (angle < high_a)
    if kind == "HopperEnv":  # Hopper also bounds every other coordinate of its state
        low_s, high_s = base._healthy_state_range
        state = np.concatenate([qpos, qvel], axis=1)[:, 2:]
        healthy &= np.all((low_s < state) & (state < high_s), axis=1)
    return healthy
