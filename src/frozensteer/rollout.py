"""Batched episodes: many environments stepped together, one policy call per step.

Every episode resets with its own seed, so callers pair episodes across conditions by giving
them the same seeds.  The policy sees the observations of the episodes still running and
their indices, and returns one action per running episode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from tqdm import tqdm

Policy = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Episodes:
    """Per-episode outcomes, indexed like the seeds that started them."""

    returns: np.ndarray
    lengths: np.ndarray
    terminated: np.ndarray
    success: np.ndarray


def run_episodes(
    make_env: Callable[[], gym.Env],
    seeds: Sequence[int],
    policy: Policy,
    *,
    progress: bool | str = False,
) -> Episodes:
    """Run one episode per seed, all at once, and return their outcomes.

    ``policy(obs, index)`` gets the stacked observations of the running episodes and their
    positions in ``seeds``; it returns an array of actions, one row per running episode.
    ``progress`` shows a bar over environment steps (a string names it).
    """
    n = len(seeds)
    envs = [make_env() for _ in range(n)]
    obs = [env.reset(seed=int(seed))[0] for env, seed in zip(envs, seeds)]
    # per-episode bookkeeping in Python lists: cheaper than numpy scalars in this hot loop
    returns, lengths = [0.0] * n, [0] * n
    terminated, success = [False] * n, [False] * n
    index = np.arange(n)
    bar = tqdm(desc=progress if isinstance(progress, str) else "episodes", unit="step",
               disable=not progress, leave=False)
    while len(index):
        actions = policy(_stack([obs[i] for i in index]), index)
        still = []
        for row, i in enumerate(index.tolist()):
            obs[i], reward, term, trunc, info = envs[i].step(actions[row])
            returns[i] += float(reward)
            lengths[i] += 1
            success[i] = success[i] or bool(info.get("success", False))
            if term or trunc:
                terminated[i] = bool(term)
            else:
                still.append(i)
        bar.update(len(index))
        index = np.array(still, dtype=np.int64)
    bar.close()
    for env in envs:
        env.close()
    return Episodes(np.array(returns), np.array(lengths, dtype=np.int64),
                    np.array(terminated), np.array(success))


def _stack(observations: list) -> np.ndarray | dict[str, np.ndarray]:
    """Stack array observations, or each key of dictionary observations."""
    if isinstance(observations[0], dict):
        return {key: np.stack([o[key] for o in observations]) for key in observations[0]}
    return np.stack(observations)
