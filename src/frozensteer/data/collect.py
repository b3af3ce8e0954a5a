"""Collection: whole episodes from a behaviour policy, stepped in a batch of environments.

Each environment runs episode after episode; every episode resets with its own seed
(``seed``, ``seed + 1``, ... in the order episodes start), and the policy is called once per
step on the observations of all environments.  Collection stops as soon as the recorded
steps (finished episodes and those still running) reach ``transitions``: the running
episodes are kept, marked truncated where they stopped, as D4RL cut its datasets at a fixed
size, and no simulated step is thrown away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from tqdm import tqdm

BatchPolicy = Callable[[np.ndarray], np.ndarray]


@dataclass
class Episode:
    """One episode: ``observations`` has one row more than ``actions`` (the final state)."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    seed: int | None = None

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def episode_return(self) -> float:
        return float(self.rewards.sum())

    def cut(self, steps: int) -> Episode:
        """The first ``steps`` steps, marked truncated unless the episode ended there anyway."""
        if steps >= len(self):
            return self
        truncations = self.truncations[:steps].copy()
        truncations[-1] = True
        return Episode(self.observations[: steps + 1], self.actions[:steps],
                       self.rewards[:steps], self.terminations[:steps].copy(),
                       truncations, self.seed)


def collect(make_env: Callable[[], gym.Env], policy: BatchPolicy, transitions: int, *,
            seed: int, n_envs: int = 64, progress: bool | str = False) -> list[Episode]:
    """Episodes holding exactly ``transitions`` steps, from ``policy`` in ``n_envs`` envs."""
    if transitions < 1:
        raise ValueError(f"transitions must be at least 1, got {transitions}")
    envs = [make_env() for _ in range(n_envs)]
    next_seed = seed
    current, obs = [], []
    for env in envs:
        o, _ = env.reset(seed=next_seed)
        current.append(_Recorder(o, next_seed))
        obs.append(o)
        next_seed += 1

    finished: list[Episode] = []
    collected = 0  # steps in finished episodes
    bar = tqdm(total=transitions, desc=progress if isinstance(progress, str) else "collect",
               unit="step", disable=not progress, leave=False)
    while collected + sum(len(r) for r in current) < transitions:
        actions = policy(np.stack(obs))
        for i, env in enumerate(envs):
            o, reward, term, trunc, _ = env.step(actions[i])
            current[i].add(actions[i], reward, term, trunc, o)
            obs[i] = o
            if term or trunc:
                finished.append(current[i].episode())
                collected += len(finished[-1])
                bar.update(len(finished[-1]))
                obs[i], _ = env.reset(seed=next_seed)
                current[i] = _Recorder(obs[i], next_seed)
                next_seed += 1
    bar.close()
    for env in envs:
        env.close()
    # the budget is reached: episodes still running are kept, truncated where they stopped
    running = [r.episode(truncated=True) for r in current if len(r)]
    return _trim(finished + running, transitions)


def _trim(episodes: list[Episode], transitions: int) -> list[Episode]:
    kept, total = [], 0
    for episode in episodes:
        if total >= transitions:
            break
        kept.append(episode.cut(transitions - total))
        total += len(kept[-1])
    return kept


class _Recorder:
    """Accumulates one episode's steps in lists (cheap appends), then stacks them."""

    def __init__(self, first_obs: np.ndarray, seed: int):
        self.seed = seed
        self.obs = [first_obs]
        self.actions, self.rewards, self.terms, self.truncs = [], [], [], []

    def add(self, action, reward, term, trunc, next_obs) -> None:
        self.actions.append(action)
        self.rewards.append(reward)
        self.terms.append(term)
        self.truncs.append(trunc)
        self.obs.append(next_obs)

    def __len__(self) -> int:
        return len(self.rewards)

    def episode(self, truncated: bool = False) -> Episode:
        """The recorded steps; ``truncated`` marks an episode stopped before its end."""
        truncs = np.asarray(self.truncs, dtype=bool)
        if truncated:
            truncs[-1] = True
        return Episode(np.asarray(self.obs, dtype=np.float64),
                       np.asarray(self.actions, dtype=np.float32),
                       np.asarray(self.rewards, dtype=np.float64),
                       np.asarray(self.terms, dtype=bool), truncs, self.seed)
