"""Behaviour policies: Stable-Baselines3 SAC trained online, checkpointed at every evaluation.

The local D4RL recipe (the data chapter) needs, per environment, a learning curve of
SAC checkpoints from which the medium and expert behaviour policies are picked.  Training
evaluates every ``sac_eval_every`` steps, writes the actor of that checkpoint and a row of the
learning curve, and from time to time saves the whole training state (model, optimiser,
replay buffer) so that an interrupted run resumes where it stopped.  The replay buffer is
never overwritten (its size is the step budget), so the transitions up to any checkpoint are
a prefix of it: that prefix is the medium-replay dataset.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from frozensteer import paths
from frozensteer.data.envs import behaviour_id
from frozensteer.profiles import Profile, get_profile
from frozensteer.provenance import atomic_write, process_alive
from frozensteer.rollout import run_episodes

EVAL_SEED = 50_000  # evaluation episode k resets with seed EVAL_SEED + k, at every checkpoint
STATE_EVERY = 50_000  # env steps between saves of the full resumable training state
CURVE_FIELDS = ("step", "mean_return", "std_return", "episodes", "wall_s")


def behaviour_dir(env: str, profile: Profile | str) -> Path:
    """Committed output of one behaviour run: actor checkpoints and the learning curve."""
    return paths.artifacts() / "behaviour" / get_profile(profile).name / env


def state_dir(env: str, profile: Profile | str) -> Path:
    """Rebuildable output of one behaviour run: the resumable SAC state and replay buffer."""
    return paths.cache() / "behaviour" / get_profile(profile).name / env


def train_behaviour(env: str, profile: Profile | str, *, seed: int = 0,
                    progress: bool = True) -> Path:
    """Train (or resume) the SAC behaviour run of ``env`` and return its output folder."""
    prof = get_profile(profile)
    out, state = behaviour_dir(env, prof), state_dir(env, prof)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    with _exclusive(state / "lock"):
        return _train(env, prof, out, state, seed, progress)


def _train(env: str, prof: Profile, out: Path, state: Path, seed: int, progress: bool) -> Path:
    total = prof.sac_steps[env]
    done = read_curve(out)
    if done and done[-1]["step"] >= total:
        return out  # finished (perhaps in another clone): final, no training state needed

    model = _load_state(state, env)
    if model is not None and model.num_timesteps not in {r["step"] for r in done}:
        # saved by a run whose checkpoints are not in ``out`` (another clone or home):
        # it cannot continue this learning curve, so this run starts afresh
        model = None
        for old in state.glob("step_*"):
            shutil.rmtree(old)
        (state / "latest").unlink()
    if model is None and done:
        print(f"warning: the unfinished run in {out} (last step {done[-1]['step']:,}) has no "
              f"training state in {state} to resume from; it restarts from step 0",
              file=sys.stderr)
        for old in (out / "checkpoints").glob("step_*.pt"):
            old.unlink()
    if model is None:
        model = SAC("MlpPolicy", gym.make(behaviour_id(env)), buffer_size=total, seed=seed,
                    train_freq=prof.sac_train_freq[env], device="cpu", verbose=0)
    elif model.replay_buffer.buffer_size < total:
        # the budget was raised after this run stopped: it goes on, keeping every transition
        model.replay_buffer, model.buffer_size = grown_buffer(model.replay_buffer, total), total
    curve = [row for row in read_curve(out) if row["step"] <= model.num_timesteps]
    _write_curve(out, curve)

    bar = tqdm(total=total, initial=model.num_timesteps, desc=f"SAC {env}", unit="step",
               disable=not progress)
    started = time.time() - (curve[-1]["wall_s"] if curve else 0.0)
    while model.num_timesteps < total:
        chunk = min(prof.sac_eval_every - model.num_timesteps % prof.sac_eval_every,
                    total - model.num_timesteps)
        model.learn(chunk, reset_num_timesteps=False, callback=_Progress(bar))
        returns = evaluate_sac(model, env, prof.sac_eval_episodes)
        step = model.num_timesteps
        torch.save(model.actor.state_dict(), out / "checkpoints" / f"step_{step:07d}.pt")
        curve.append({"step": step, "mean_return": float(returns.mean()),
                      "std_return": float(returns.std()), "episodes": len(returns),
                      "wall_s": round(time.time() - started, 1)})
        _write_curve(out, curve)
        bar.set_postfix(eval_return=f"{returns.mean():.0f}")
        if step % STATE_EVERY == 0 or step >= total:
            _save_state(model, state)
    bar.close()
    return out


def evaluate_sac(model: SAC, env: str, episodes: int, seed: int = EVAL_SEED) -> np.ndarray:
    """Returns of ``episodes`` episodes with sampled actions (as the datasets are collected)."""
    def policy(obs, _index):
        return model.predict(obs, deterministic=False)[0]
    seeds = [seed + k for k in range(episodes)]
    return run_episodes(lambda: gym.make(behaviour_id(env)), seeds, policy).returns


def read_curve(out: Path) -> list[dict]:
    """The learning curve of a behaviour run (empty if none was written yet)."""
    path = out / "curve.csv"
    if not path.exists():
        return []
    with path.open() as f:
        return [{"step": int(r["step"]), "mean_return": float(r["mean_return"]),
                 "std_return": float(r["std_return"]), "episodes": int(r["episodes"]),
                 "wall_s": float(r["wall_s"])} for r in csv.DictReader(f)]


def _write_curve(out: Path, curve: list[dict]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CURVE_FIELDS)
            writer.writeheader()
            writer.writerows(curve)

    atomic_write(out / "curve.csv", write)


def _save_state(model: SAC, state: Path) -> None:
    """Save model and replay buffer into a fresh folder, then point ``latest`` at it.

    A kill at any moment leaves ``latest`` naming a complete earlier pair.
    """
    folder = state / f"step_{model.num_timesteps:07d}"
    folder.mkdir(exist_ok=True)
    model.save(folder / "model.zip")
    model.save_replay_buffer(folder / "replay.pkl")
    atomic_write(state / "latest", lambda tmp: tmp.write_text(folder.name))
    for old in state.glob("step_*"):
        if old != folder:
            shutil.rmtree(old)


def grown_buffer(buffer: ReplayBuffer, size: int) -> ReplayBuffer:
    """A replay buffer of ``size`` holding ``buffer``'s transitions, oldest first, so that
    the first ``n`` rows are still the run's first ``n`` steps (the medium-replay cut)."""
    if size < buffer.buffer_size:
        raise ValueError(f"size must be at least the buffer's {buffer.buffer_size}, got {size}")
    bigger = ReplayBuffer(size, buffer.observation_space, buffer.action_space,
                          device=buffer.device, n_envs=buffer.n_envs,
                          handle_timeout_termination=buffer.handle_timeout_termination)
    held = buffer.size()
    for name in ("observations", "next_observations", "actions", "rewards", "dones",
                 "timeouts"):
        rows = getattr(buffer, name)
        if buffer.full:  # oldest first: the rows from pos on were written before those up to it
            rows = np.concatenate([rows[buffer.pos:], rows[:buffer.pos]])
        getattr(bigger, name)[:held] = rows[:held]
    bigger.pos, bigger.full = held % size, held == size
    return bigger


def _load_state(state: Path, env: str) -> SAC | None:
    """The last complete training state, or None for a fresh start."""
    if not (state / "latest").exists():
        return None
    folder = state / (state / "latest").read_text().strip()
    model = SAC.load(folder / "model.zip", env=gym.make(behaviour_id(env)), device="cpu")
    model.load_replay_buffer(folder / "replay.pkl")
    return model


@contextlib.contextmanager
def _exclusive(lock: Path):
    """Hold ``lock`` while training: a second process on the same run stops with an error."""
    _take(lock)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _take(lock: Path) -> None:
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pid = lock.read_text().strip()
            if pid.isdigit() and not process_alive(int(pid)):
                lock.unlink(missing_ok=True)  # left behind by a process that died
                continue
            raise RuntimeError(f"{lock.parent} is being trained by process {pid or '?'}: wait "
                               f"for it, or delete {lock} if that process is gone") from None
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return
    raise RuntimeError(f"could not take {lock}: delete it and retry")




class _Progress(BaseCallback):
    def __init__(self, bar: tqdm):
        super().__init__()
        self.bar = bar

    def _on_step(self) -> bool:
        self.bar.update(1)
        return True
