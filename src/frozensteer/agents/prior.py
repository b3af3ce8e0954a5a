"""Goal-conditioned priors with hindsight goals, and their clean / degraded / random versions.

Locomotion goal (protocol chapter, "Profiles"): ``g_t`` is the mean reward over the rest of the
episode from step ``t``; the network normalises it with the dataset's mean and std of that
quantity. At deployment the goal is held at a high percentile of the episodes' initial goals
``g_0``: "do better than most of the data".  AntMaze goal: the (x, y) position reached a
geometrically distributed number of steps later in the same episode (``later_position``);
at deployment, the maze's goal.

- clean: behaviour cloning given the goal, for the profile's BC budget;
- degraded: the same recipe on a seeded random fraction of the episodes for a fraction of
  the steps (``degraded_episode_fraction``, ``degraded_step_fraction``);
- random: the same network, untrained, from a seeded initialisation.
"""

from __future__ import annotations

import numpy as np

from frozensteer.agents.bc import BCConfig, train_bc
from frozensteer.agents.networks import GaussianPolicy
from frozensteer.data.transitions import Transitions
from frozensteer.profiles import Profile, get_profile

QUALITIES = ("clean", "degraded", "random")


def mean_future_reward(transitions: Transitions) -> np.ndarray:
    """``g_t = mean(r_t, ..., r_T)`` within each episode, as a column."""
    goals = np.empty(len(transitions), dtype=np.float32)
    starts = transitions.episode_starts
    ends = np.r_[starts[1:], len(transitions)]
    for start, end in zip(starts, ends):
        rewards = transitions.rewards[start:end].astype(np.float64)
        tail_sums = np.cumsum(rewards[::-1])[::-1]
        goals[start:end] = tail_sums / np.arange(end - start, 0, -1)
    return goals[:, None]


def later_position(transitions: Transitions, positions: np.ndarray, seed: int = 0,
                   p: float = 0.01) -> np.ndarray:
    """For each step ``t``, the (x, y) position reached ``k`` steps later in its episode.

    ``positions[t]`` is the position reached by transition ``t`` (its next observation's);
    the offset ``k >= 1`` is geometric with success probability ``p`` (mean ``1 / p``) and
    stops at the episode's last transition (protocol chapter, "Profiles").
    """
    positions = np.asarray(positions)
    if positions.shape != (len(transitions), 2):
        raise ValueError(f"positions must have shape ({len(transitions)}, 2), one (x, y) per "
                         f"transition, got {positions.shape}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    starts = transitions.episode_starts
    lengths = np.diff(np.r_[starts, len(transitions)])
    last = np.repeat(starts + lengths - 1, lengths)
    offset = np.random.default_rng(seed).geometric(p, size=len(transitions))
    later = np.minimum(np.arange(len(transitions)) + offset - 1, last)
    return positions[later].astype(np.float32)


def deployment_goal(transitions: Transitions, percentile: float) -> np.ndarray:
    """The goal held at deployment: the ``percentile`` of the episodes' initial goals."""
    initial = mean_future_reward(transitions)[transitions.episode_starts, 0]
    return np.array([np.percentile(initial, percentile)], dtype=np.float32)


def fit_prior(transitions: Transitions, quality: str, profile: Profile | str, *,
                seed: int = 0, goals: np.ndarray | None = None, progress: bool | str = False
                ) -> tuple[GaussianPolicy, list[dict]]:
    """A goal-conditioned prior of the given quality, trained on ``transitions`` with
    hindsight ``goals`` (one row per transition; default: the mean future reward)."""
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {list(QUALITIES)}, got {quality!r}")
    prof = get_profile(profile)
    goals = mean_future_reward(transitions) if goals is None else goals
    if len(goals) != len(transitions):
        raise ValueError(f"goals must have one row per transition ({len(transitions)}), "
                         f"got {len(goals)}")
    steps = prof.bc_steps
    data = transitions
    if quality == "degraded":
        rng = np.random.default_rng(seed)
        episodes = np.unique(transitions.episode)
        n = max(1, round(prof.degraded_episode_fraction * len(episodes)))
        keep = np.sort(rng.choice(episodes, size=n, replace=False))
        mask = np.isin(transitions.episode, keep)
        data, goals = transitions.select_episodes(keep), goals[mask]
        steps = max(1, round(prof.degraded_step_fraction * prof.bc_steps))
    if quality == "random":
        steps = 0  # initialisation only
    config = BCConfig(steps=steps, batch_size=prof.batch_size, seed=seed)
    return train_bc(data.observations, data.actions, config, goals, progress=progress)
