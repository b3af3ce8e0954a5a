"""A Minari dataset as flat arrays of transitions, with its episode boundaries kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the trainers import this module without minari (e.g. on a GPU machine)
    import minari


@dataclass
class Transitions:
    """Transitions in episode order; ``episode`` gives each transition's episode index."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminals: np.ndarray
    episode: np.ndarray

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def episode_starts(self) -> np.ndarray:
        """Index of the first transition of every episode."""
        return np.flatnonzero(np.r_[True, self.episode[1:] != self.episode[:-1]])

    def select_episodes(self, keep: np.ndarray) -> Transitions:
        """The transitions of the episodes whose indices are in ``keep``."""
        mask = np.isin(self.episode, keep)
        return Transitions(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))


def observation_rows(observations) -> np.ndarray:
    """Observation rows; a goal environment's dictionaries become ``observation`` followed by
    ``achieved_goal`` (for AntMaze: the ant, then its x, y, as in D4RL's rows)."""
    if isinstance(observations, dict):
        return np.concatenate([observations["observation"], observations["achieved_goal"]],
                              axis=-1)
    return observations


def from_minari(dataset: minari.MinariDataset) -> Transitions:
    parts = {k: [] for k in Transitions.__dataclass_fields__}
    for i, ep in enumerate(dataset.iterate_episodes()):
        rows = observation_rows(ep.observations)
        parts["observations"].append(rows[:-1])
        parts["next_observations"].append(rows[1:])
        parts["actions"].append(ep.actions)
        parts["rewards"].append(ep.rewards)
        parts["terminals"].append(ep.terminations)
        parts["episode"].append(np.full(len(ep.rewards), i))
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    for key in ("observations", "next_observations", "actions", "rewards"):
        arrays[key] = arrays[key].astype(np.float32)
    arrays["terminals"] = arrays["terminals"].astype(bool)
    return Transitions(**arrays)
