"""Environment families: what differs between the locomotion tasks and AntMaze, in one place.

A ``Family`` holds, for its environments: the datasets, the frozen actor's algorithm
(IQL or behaviour cloning), the evaluation environment, the prior's deployment goal (held
for the whole episode, or read from each episode's observation), the hindsight goals the
prior is trained on, the episodes per condition, and the score an episode gets
(normalised return, or 100 for an episode that reaches the goal).  ``family(env)`` returns
the adapter of an environment; no other module asks whether an environment is a maze.
Adding a maze is one entry of ``frozensteer.data.maze.MAZES``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from frozensteer.data.maze import MAZES
from frozensteer.profiles import Profile

# AntMaze hindsight goals: geometric offset, mean 100 steps (protocol chapter, "Profiles")
LATER_P = 0.01


@dataclass(frozen=True)
class Family:
    """The adapter of one family of environments."""

    name: str
    envs: tuple[str, ...]
    # the names of an environment's datasets (for AntMaze: the mazes); the data layer calls
    # such a name a level (D4RL's word: frozensteer/<env>/<level>-v0), the grid, the CLI and
    # the policy files call it the dataset
    levels: tuple[str, ...]
    actor_algorithm: str  # "iql" or "bc"
    score_name: str
    goal_in_observation: bool  # True: each episode's goal comes with its observation
    prior_goal: str | None = None  # how the priors' hindsight goal is drawn, if not the
    # mean future reward (recorded in the prior's config)
    critic_expectile: float | None = None  # IQL's expectile of critics trained apart from
    # the actor (a behaviour-cloned one); None: the critics come with the IQL actors

    def build_data(self, env: str, prof: Profile, *, progress: bool = True,
                   rebuild: bool = False) -> list[dict]:
        """Build (or reuse) every dataset of ``env``; one summary row per dataset."""
        if self.goal_in_observation:
            from frozensteer.data import antmaze

            return antmaze.build(prof, progress=progress, rebuild=rebuild)
        from frozensteer.data import recipe

        return recipe.build(env, prof, progress=progress, rebuild=rebuild)

    def make_eval_env(self, env: str, dataset: str, prof: Profile) -> Callable:
        """A picklable factory of the evaluation environment of (env, dataset)."""
        if self.goal_in_observation:
            from frozensteer.data import antmaze

            return functools.partial(antmaze.eval_env, prof.eval_horizon or antmaze.HORIZON,
                                     dataset)
        import gymnasium as gym

        from frozensteer.data.envs import gym_id

        limit = {} if prof.eval_horizon is None else {"max_episode_steps": prof.eval_horizon}
        return functools.partial(gym.make, gym_id(env), **limit)

    def deployment_goal(self, transitions, prof: Profile) -> np.ndarray | None:
        """The goal the prior is given at deployment, held for the whole episode; None when
        each episode's observation carries its own."""
        if self.goal_in_observation:
            return None
        from frozensteer.agents.prior import deployment_goal

        return deployment_goal(transitions, prof.goal_percentile)

    def distance_goal(self, transitions, dataset: str, prof: Profile) -> np.ndarray:
        """The goal the prior is given when measuring the rules' distance to the actor on
        dataset states: the deployment goal, or the maze's evaluation goal."""
        if self.goal_in_observation:
            from frozensteer.data import antmaze

            return antmaze.eval_goal(dataset)
        return self.deployment_goal(transitions, prof)

    def hindsight_goals(self, data, seed: int = 0) -> np.ndarray | None:
        """The priors' hindsight goals: for a maze the (x, y) reached later in the episode
        (the last two numbers of each next observation row); None (the mean future reward)
        otherwise."""
        if not self.goal_in_observation:
            return None
        from frozensteer.agents.prior import later_position

        return later_position(data, data.next_observations[:, -2:], seed=seed, p=LATER_P)

    def critic_data(self, minari_dataset, data):
        """What critics trained apart from the actor learn from: (transitions, the length of
        the goal ending each row, the reward scale).  For a maze, IQL's AntMaze recipe: each
        row followed by its episode's goal (goal-conditioned critics, like the prior), the
        rewards as recorded minus 1, unscaled."""
        if self.critic_expectile is None:
            raise ValueError(f"the {self.name} family's critics come with its IQL actors")
        from frozensteer.data.antmaze import transition_goals
        from frozensteer.data.transitions import Transitions

        goals = transition_goals(minari_dataset)
        if len(goals) != len(data):
            raise ValueError(f"{len(goals)} goals for {len(data)} transitions: pass the "
                             "transitions of this dataset (from_minari)")
        return Transitions(
            observations=np.concatenate([data.observations, goals], axis=1),
            actions=data.actions, rewards=data.rewards - np.float32(1.0),
            next_observations=np.concatenate([data.next_observations, goals], axis=1),
            terminals=data.terminals, episode=data.episode), goals.shape[1], 1.0

    def episodes_per_condition(self, prof: Profile) -> int:
        return (prof.antmaze_episodes_per_condition if self.goal_in_observation
                else prof.episodes_per_condition)

    def score(self, returns, success, minari_dataset) -> np.ndarray:
        """Each episode's score: 100 x success for a maze; otherwise the return normalised
        by the dataset's reference scores (``datasets.normalised_score``)."""
        if self.goal_in_observation:
            return 100.0 * np.asarray(success, dtype=np.float64)
        from frozensteer.data.datasets import normalised_score

        return normalised_score(minari_dataset, returns)


LOCOMOTION = Family("locomotion", ("hopper", "halfcheetah", "walker2d", "ant"),
                    ("random", "medium", "expert", "medium-replay", "medium-expert"),
                    actor_algorithm="iql", score_name="normalised return",
                    goal_in_observation=False)
ANTMAZE = Family("antmaze", ("antmaze",), tuple(MAZES), actor_algorithm="bc",
                 score_name="success rate (%)", goal_in_observation=True,
                 prior_goal=f"(x, y) a geometric number of steps later, p={LATER_P}",
                 critic_expectile=0.9)
FAMILIES = (LOCOMOTION, ANTMAZE)


def family(env: str) -> Family:
    """The family adapter of ``env``."""
    for fam in FAMILIES:
        if env in fam.envs:
            return fam
    known = sorted(e for fam in FAMILIES for e in fam.envs)
    raise ValueError(f"env must be one of {known}, got {env!r}")
