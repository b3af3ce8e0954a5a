"""Which behaviour policy a frozen actor acts like: on its dataset's states, and along its
own episodes.

A medium-expert dataset mixes the episodes of two behaviour policies. An actor trained on it
may copy either one, average them, or copy the expert on the data's states and still fail on
its own episodes, where its small errors carry it to states that neither behaviour policy
visited. Both are measured here by the distance from the actor's executed action (its mean,
clipped to the action bounds) to each behaviour policy's deterministic action (SAC's
``tanh`` of its mean) at the same state: the root mean square over the action's dimensions.

- ``on_states``: the mean distance over given states (e.g. a dataset's medium or expert
  part);
- ``along_episodes``: the distance at every step of the actor's own deterministic episodes,
  executed as the studies' frozen condition executes them (float64 network, clipped, rounded
  to float32), so an episode here is the frozen condition's episode of the same reset seed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import gymnasium as gym
import numpy as np
import pandas as pd
import torch

from frozensteer.data.envs import gym_id
from frozensteer.data.picks import checkpoint_path, load_behaviour, pick_policies
from frozensteer.rollout import run_episodes

BehaviourPolicy = Callable[[np.ndarray], np.ndarray]


def behaviour_policies(env: str, profile, levels: Sequence[str] = ("medium", "expert")
                       ) -> dict[str, BehaviourPolicy]:
    """The deterministic behaviour policies (``level`` -> ``obs -> actions``) whose episodes
    make ``env``'s datasets at ``profile``."""
    picks = pick_policies(env, profile)
    known = sorted(key.removesuffix("_step") for key in picks if key.endswith("_step"))
    unknown = [level for level in levels if level not in known]
    if unknown:
        raise ValueError(f"levels must be behaviour levels of {env} ({known}), got {unknown}")
    return {level: load_behaviour(env, checkpoint_path(env, profile, picks[f"{level}_step"]),
                                  noise=0.0) for level in levels}


@torch.no_grad()
def _executed(actor, obs: np.ndarray) -> np.ndarray:
    """The frozen condition's action: the float64 mean, clipped to [-1, 1], as float32."""
    mean = actor(torch.as_tensor(np.asarray(obs), dtype=torch.float64)).mean.numpy()
    return np.clip(mean, -1.0, 1.0).astype(np.float32)


def _distances(actions: np.ndarray, obs: np.ndarray, policies: dict[str, BehaviourPolicy]
               ) -> dict[str, np.ndarray]:
    return {level: np.sqrt(np.mean(np.square(actions - policy(obs)), axis=1))
            for level, policy in policies.items()}


def on_states(actor, policies: dict[str, BehaviourPolicy], observations: np.ndarray
              ) -> dict[str, float]:
    """``level`` -> the mean distance of the actor's action to that policy's on the states
    ``observations``."""
    obs = np.asarray(observations, dtype=np.float32)
    actions = _executed(copy.deepcopy(actor).double(), obs)  # the caller's actor untouched
    return {level: float(d.mean()) for level, d in _distances(actions, obs, policies).items()}


def along_episodes(actor, env: str, policies: dict[str, BehaviourPolicy], seeds: Sequence[int]
                   ) -> pd.DataFrame:
    """One row per (episode, step) of the actor's own deterministic episodes, one per reset
    seed: ``distance_<level>`` to each behaviour policy's action at that state, and the
    episode's ``length`` and whether it ``terminated`` (fell)."""
    actor = copy.deepcopy(actor).double()  # the caller's actor keeps its dtype
    steps = np.zeros(len(seeds), dtype=np.int64)
    parts = []

    def policy(obs: np.ndarray, index: np.ndarray) -> np.ndarray:
        actions = _executed(actor, obs)
        parts.append(pd.DataFrame({"episode": index, "step": steps[index],
                                   **{f"distance_{level}": d for level, d in
                                      _distances(actions, obs, policies).items()}}))
        steps[index] += 1
        return actions

    out = run_episodes(lambda: gym.make(gym_id(env)), list(seeds), policy)
    rows = pd.concat(parts, ignore_index=True).sort_values(["episode", "step"],
                                                           ignore_index=True)
    return rows.assign(seed=np.asarray(seeds)[rows["episode"]],
                       length=out.lengths[rows["episode"]],
                       terminated=out.terminated[rows["episode"]])
