"""The environments of the study: Gymnasium ids and D4RL's published reference returns."""

from __future__ import annotations

import gymnasium as gym

GYM_IDS = {
    "hopper": "Hopper-v5",
    "halfcheetah": "HalfCheetah-v5",
    "walker2d": "Walker2d-v5",
    "ant": "Ant-v5",
}

# The behaviour policy of the AntMaze data is a goal-reaching ant controller, trained on its
# own environment (frozensteer.data.antmaze) by the same SAC machinery as the locomotion ones.
CONTROLLER_ID = "frozensteer/GoalReachingAnt-v0"
BEHAVIOUR_IDS = {**GYM_IDS, "antmaze": CONTROLLER_ID}
if CONTROLLER_ID not in gym.registry:
    gym.register(CONTROLLER_ID, entry_point="frozensteer.data.antmaze:GoalReachingAnt",
                 max_episode_steps=500)

# D4RL's reference returns (random policy, expert policy), used by D4RL and Minari to
# normalise locomotion scores.  Shown beside the locally measured references; the locally
# built datasets are normalised with their own behaviour policies (protocol chapter, "Environments and reference scores").
D4RL_REF_SCORES = {
    "hopper": (-20.272305, 3234.3),
    "halfcheetah": (-280.178953, 12135.0),
    "walker2d": (1.629008, 4592.3),
    "ant": (-325.6, 3879.7),
}


def gym_id(env: str) -> str:
    """The Gymnasium id of a locomotion environment short name (``hopper`` -> ``Hopper-v5``)."""
    if env not in GYM_IDS:
        raise ValueError(f"env must be one of {sorted(GYM_IDS)}, got {env!r}")
    return GYM_IDS[env]


def behaviour_id(env: str) -> str:
    """The Gymnasium id a behaviour policy is trained on: the locomotion environment itself,
    or for ``antmaze`` the goal-reaching controller's arena."""
    if env not in BEHAVIOUR_IDS:
        raise ValueError(f"env must be one of {sorted(BEHAVIOUR_IDS)}, got {env!r}")
    return BEHAVIOUR_IDS[env]
