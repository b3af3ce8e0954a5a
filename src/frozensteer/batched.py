"""Episodes of a Gymnasium MuJoCo locomotion task stepped together in one ``mujoco.batch.Batch``.

``run_batched`` is ``rollout.run_episodes`` for Hopper-v5, Walker2d-v5, HalfCheetah-v5 and
Ant-v5:
the same policy calls, the same per-episode outcomes, the physics of every running episode
advanced in C threads.  What Gymnasium computes in Python per environment is computed here
vectorised in numpy from the batch's state, exactly as the pinned Gymnasium v5 source does it
(``_get_obs``, ``_get_rew``, ``is_healthy``, ``frame_skip``), with the weights and ranges read
from the Gymnasium environment itself; each episode starts from the state Gymnasium's
``reset(seed=s)`` produces (taken from Gymnasium).  Ant's observation holds the external contact forces, which MuJoCo
computes only on request: after each step the engine copies each running simulation into
one ``MjData`` and calls ``mj_rnePostConstraint`` on it, as Gymnasium does on its own data.
``tests/test_batched.py`` checks that observations, actions, lengths and termination are
identical to ``gymnasium.make`` and that returns agree to 1e-9.  AntMaze runs on Gymnasium.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import gymnasium as gym
import mujoco
import mujoco.batch
import numpy as np
from tqdm import tqdm

from frozensteer.rollout import Episodes, Policy

# Gymnasium's locomotion classes this module reproduces, and whether each one's velocity
# observation is clipped to [-10, 10] and whether it has a healthy state
KINDS = {"HopperEnv": {"clip_qvel": 10.0, "healthy": True},
         "Walker2dEnv": {"clip_qvel": 10.0, "healthy": True},
         "HalfCheetahEnv": {"clip_qvel": None, "healthy": False},
         "AntEnv": {"clip_qvel": None, "healthy": True}}


def supports(env: gym.Env) -> bool:
    """Whether ``run_batched`` reproduces this (wrapped) Gymnasium environment."""
    return type(env.unwrapped).__name__ in KINDS


def run_batched(make_env: Callable[[], gym.Env], seeds: Sequence[int], policy: Policy, *,
                threads: int | None = None, progress: bool | str = False) -> Episodes:
    """One episode per seed of the environment ``make_env`` makes, all in one ``Batch``.

    ``policy(obs, index)`` is called as by ``rollout.run_episodes``: the observations of the
    running episodes and their positions in ``seeds``.  ``threads`` defaults to the CPUs this
    process may use."""
    env = make_env()
    base = env.unwrapped
    kind = type(base).__name__
    if kind not in KINDS:
        raise ValueError(f"run_batched reproduces {sorted(KINDS)}, got {kind}: run this "
                         "environment with rollout.run_episodes")
    spec = KINDS[kind]
    horizon = env.spec.max_episode_steps if env.spec is not None else None
    n = len(seeds)
    starts = []
    for seed in seeds:  # Gymnasium's own reset: the same start state, bit for bit
        env.reset(seed=int(seed))
        starts.append((base.data.qpos.copy(), base.data.qvel.copy()))
    threads = threads or len(os.sched_getaffinity(0))
    batch = mujoco.batch.Batch(base.model, n, nthread=min(threads, n), persistent=True)
    batch.reset()
    qpos, qvel, ctrl = batch.bind("qpos"), batch.bind("qvel"), batch.bind("ctrl")
    qpos[:] = np.stack([q for q, _ in starts])
    qvel[:] = np.stack([v for _, v in starts])
    batch.forward()  # as Gymnasium's set_state: mj_forward at the start state
    ant = kind == "AntEnv"
    if ant:
        contacts = _Contacts(batch, base)
    skip = 0 if not base._exclude_current_positions_from_observation else (2 if ant else 1)
    returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
    terminated, success = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    index = np.arange(n)
    bar = tqdm(desc=progress if isinstance(progress, str) else "episodes", unit="step",
               disable=not progress, leave=False)

    def observe(rows: np.ndarray) -> np.ndarray:
        velocity = qvel[rows]
        if spec["clip_qvel"] is not None:
            velocity = np.clip(velocity, -spec["clip_qvel"], spec["clip_qvel"])
        parts = [qpos[rows, skip:], velocity]
        if ant and base._include_cfrc_ext_in_observation:
            parts.append(contacts.forces[rows, 1:].reshape(len(rows), -1))
        return np.concatenate(parts, axis=1)

    while len(index):
        actions = np.asarray(policy(observe(index), index))
        ctrl[index] = actions
        before = contacts.xy[index, 0].copy() if ant else qpos[index, 0].copy()
        batch.step(ids=index, nstep=base.frame_skip)
        if ant:
            contacts.update(index)
        velocity = ((contacts.xy[index, 0] if ant else qpos[index, 0]) - before) / base.dt
        cost = base._ctrl_cost_weight * np.sum(np.square(actions), axis=1)
        reward = base._forward_reward_weight * velocity
        if ant:
            cost = cost + base._contact_cost_weight * np.sum(
                np.square(contacts.forces[index]), axis=(1, 2))
        if spec["healthy"]:
            healthy = _is_healthy(base, qpos[index], qvel[index], kind)
            reward = reward + healthy * base._healthy_reward
            term = ~healthy & base._terminate_when_unhealthy
        else:
            term = np.zeros(len(index), dtype=bool)
        reward = reward - cost
        returns[index] += reward
        lengths[index] += 1
        trunc = lengths[index] >= horizon if horizon is not None else np.zeros_like(term)
        terminated[index] = term
        bar.update(len(index))
        index = index[~(term | trunc)]
    bar.close()
    env.close()
    return Episodes(returns, lengths, terminated, success)


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
