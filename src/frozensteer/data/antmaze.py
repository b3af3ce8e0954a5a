"""The AntMaze local recipe: a goal-reaching ant controller, a planner, and the datasets.

D4RL built its AntMaze data by steering a goal-reaching ant through the maze: a waypoint
planner (``maze.py``) names the centre of the next cell, and a controller that only knows
"walk to this nearby point" does the walking.  The controller here is trained with SAC, like
the locomotion behaviour policies (``behaviour.py``, env name ``antmaze``), on
``GoalReachingAnt``: the Gymnasium-Robotics ant in the open arena (``AntMaze_Open-v4``, no
inner walls), with a fresh target 1 to 4 m away whenever the last one is reached.

Its observation is the ant's own 27 numbers (``observation`` of the maze environments: joint
positions without x, y and velocities) followed by the target relative to the ant, in the
ant's heading frame, so it can be driven by any maze's waypoints (``controller_observation``).  Its reward is the
speed towards the target (m/s) plus 1 for each target reached; an episode ends after 500
steps, or when the ant lands on its back.

``build`` then writes ``frozensteer/antmaze/umaze-v0`` and ``umaze-diverse-v0`` as D4RL did:
``AntMaze_UMaze-v4`` with ``continuing_task=True`` and ``reset_target=False``, 700-step
episodes, the controller's deterministic action plus Gaussian noise 0.2, its target a point
``LOOKAHEAD`` m ahead on the way to the planner's waypoint; umaze always starts
in the same cell and walks to the same goal cell, umaze-diverse draws the start and the goal
cells of every episode.  Observations are stored as the maze environments give them
(``observation``, ``achieved_goal``, ``desired_goal``), like Minari's ``D4RL/antmaze``
datasets, and both datasets name the same evaluation environment: the fixed-goal UMaze.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import torch

from frozensteer import __version__, paths
from frozensteer.data import datasets, maze
from frozensteer.data.behaviour import behaviour_dir, read_curve, train_behaviour
from frozensteer.data.collect import collect
from frozensteer.data.envs import CONTROLLER_ID
from frozensteer.data.picks import checkpoint_path, load_behaviour
from frozensteer.data.transitions import observation_rows
from frozensteer.profiles import Profile, get_profile
from frozensteer.provenance import content_key, git_commit, save_manifest, sha256, write_table

# Importing Gymnasium-Robotics registers the maze environments; it also prints a notice about
# its Adroit environments, which this project does not use.
with contextlib.redirect_stderr(io.StringIO()):
    import gymnasium_robotics  # noqa: F401
# D4RL's AntMaze, as Minari's D4RL/antmaze datasets, is the v4 maze: pinned on purpose.
warnings.filterwarnings("ignore", message=r".*AntMaze_\w+-v4 is out of date",
                        category=DeprecationWarning)

ARENA = "AntMaze_Open-v4"
REACHED = 0.5  # m: a controller target counts as reached this close
SUCCESS_RADIUS = 0.45  # m: the maze environments' own success radius (sparse reward 1)
TARGET_DISTANCE = (1.0, 4.0)  # m: range of a new target's distance from the ant
MARGIN = 1.0  # m: targets stay this far inside the arena's walls
# m: the maze driver hands the controller a point at most this far ahead on the line to the
# planner's waypoint.  The next cell's centre can lie 6 m away, beyond the 1-4 m the
# controller was trained on; chasing it, the paper-profile ant landed on its back in about
# half of the driver's check episodes, and reached the goal in under half of them.
LOOKAHEAD = 1.0

MAZE_ENV = "AntMaze_UMaze-v4"
HORIZON = 700  # steps per episode, data and evaluation (D4RL's umaze)
ACTION_NOISE = 0.2
UMAZE, MAZES = maze.UMAZE, maze.MAZES
CHECK_SEED = 6_000_000  # episodes of the controller's own success check
OWN = 27  # length of the maze environments' ``observation`` (the ant without x, y)


def controller_observation(observation: np.ndarray, position: np.ndarray,
                           target: np.ndarray) -> np.ndarray:
    """The controller's input: the ant's own state, then the target relative to the ant in
    the ant's heading frame (forward, left), so that "walk to it" looks the same whichever
    way the ant faces.  Works on one row or a batch."""
    w, x, y, z = (observation[..., i] for i in range(1, 5))  # torso quaternion after its z
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    offset = np.asarray(target) - np.asarray(position)
    cos, sin = np.cos(yaw), np.sin(yaw)
    forward = cos * offset[..., 0] + sin * offset[..., 1]
    left = -sin * offset[..., 0] + cos * offset[..., 1]
    return np.concatenate([observation, np.stack([forward, left], axis=-1)], axis=-1)


class GoalReachingAnt(gym.Env):
    """The ant of the maze environments in an open arena, walking to random nearby targets."""

    metadata = {"render_modes": []}

    def __init__(self):
        self.arena = gym.make(ARENA, continuing_task=True, reset_target=False,
                              max_episode_steps=None).unwrapped
        maze = self.arena.maze
        # free interior: every cell but the outer ring of walls
        half_x = maze.map_width * maze.maze_size_scaling / 2 - maze.maze_size_scaling - MARGIN
        half_y = maze.map_length * maze.maze_size_scaling / 2 - maze.maze_size_scaling - MARGIN
        self.bounds = np.array([half_x, half_y])
        own = self.arena.observation_space["observation"].shape[0]
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (own + 2,), np.float64)
        self.action_space = self.arena.action_space
        self.dt = self.arena.ant_env.dt
        self.target = np.zeros(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, _ = self.arena.reset(seed=seed)
        self._new_target(obs["achieved_goal"])
        return self._observe(obs), {"success": False}

    def step(self, action):
        before = np.linalg.norm(self.target - self.arena.data.qpos[:2])
        obs, _, _, _, _ = self.arena.step(action)
        position = obs["achieved_goal"]
        after = np.linalg.norm(self.target - position)
        reward = (before - after) / self.dt
        reached = after < REACHED
        if reached:
            reward += 1.0
            self._new_target(position)
        # an ant on its back cannot get up again: the episode ends there
        x, y = obs["observation"][2:4]
        flipped = 1 - 2 * (x * x + y * y) < 0  # the torso's up axis points down
        return (self._observe(obs), float(reward), bool(flipped), False,
                {"success": bool(reached)})

    def _new_target(self, position: np.ndarray) -> None:
        distance = self.np_random.uniform(*TARGET_DISTANCE)
        angle = self.np_random.uniform(0, 2 * np.pi)
        target = position + distance * np.array([np.cos(angle), np.sin(angle)])
        self.target = np.clip(target, -self.bounds, self.bounds)

    def _observe(self, obs: dict) -> np.ndarray:
        return controller_observation(obs["observation"], obs["achieved_goal"], self.target)

    def close(self):
        self.arena.close()


# --- the mazes ----------------------------------------------------------------------------


def maze_env(maze_map: list[list] = UMAZE, horizon: int = HORIZON) -> gym.Env:
    """A UMaze as D4RL's data and evaluation use it: continuing, fixed target."""
    return gym.make(MAZE_ENV, maze_map=maze_map, continuing_task=True, reset_target=False,
                    max_episode_steps=horizon)


def eval_spec() -> gym.envs.registration.EnvSpec:
    """The evaluation environment both datasets name: the fixed-goal UMaze."""
    spec = copy.deepcopy(gym.spec(MAZE_ENV))
    spec.kwargs.update(maze_map=UMAZE, continuing_task=True, reset_target=False)
    spec.max_episode_steps = HORIZON
    return spec


class FlatMaze(gym.ObservationWrapper):
    """Maze observations as one row: ``observation``, ``achieved_goal``, ``desired_goal``."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (OWN + 4,), np.float64)

    def observation(self, obs: dict) -> np.ndarray:
        return np.concatenate([obs["observation"], obs["achieved_goal"], obs["desired_goal"]])


class GoalView(gym.ObservationWrapper):
    """The evaluation view of a maze: the actor's row (``observation`` then
    ``achieved_goal``, as in the datasets' transitions) and the episode's goal."""

    # ``observation`` maps a batch of observations (leading axis) row by row, so that
    # ``frozensteer.batched`` may apply it to every episode of its batch at once
    batched_observation = True

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = gym.spaces.Dict({
            "observation": gym.spaces.Box(-np.inf, np.inf, (OWN + 2,), np.float64),
            "desired_goal": env.observation_space["desired_goal"]})

    def observation(self, obs: dict) -> dict:
        return {"observation": observation_rows(obs), "desired_goal": obs["desired_goal"]}


def eval_env(horizon: int = HORIZON, level: str = "umaze") -> gym.Env:
    """The environment of the AntMaze grid: the fixed-goal evaluation maze of dataset
    ``level``, 700 steps, goal view."""
    return GoalView(maze_env(_eval_map(level), horizon))


def eval_goal(level: str = "umaze") -> np.ndarray:
    """The centre of the evaluation goal cell (episodes add up to 1 m of noise to it)."""
    maze_map = _eval_map(level)
    layout = maze_env(maze_map).unwrapped.maze
    cell = next((r, c) for r, row in enumerate(maze_map) for c, v in enumerate(row)
                if v == "g")
    return np.asarray(layout.cell_rowcol_to_xy(np.array(cell)), dtype=np.float32)


def _eval_map(level: str) -> list[list]:
    if level not in MAZES:
        raise ValueError(f"level must be one of {sorted(MAZES)}, got {level!r}")
    return MAZES[level].eval_map


def split_flat(rows: np.ndarray) -> dict[str, np.ndarray]:
    """``FlatMaze`` rows back into the maze environments' dictionary observations."""
    return {"observation": rows[:, :OWN], "achieved_goal": rows[:, OWN:OWN + 2],
            "desired_goal": rows[:, OWN + 2:OWN + 4]}


def planned_controller(controller, layout, lookahead: float = LOOKAHEAD) -> callable:
    """A batched policy over ``FlatMaze`` rows: the planner's next waypoint, then the
    controller walking towards it, never more than ``lookahead`` m ahead at a time."""
    def act(rows: np.ndarray) -> np.ndarray:
        position, goal = rows[:, OWN:OWN + 2], rows[:, OWN + 2:OWN + 4]
        waypoints = np.stack([maze.waypoint(layout, p, g) for p, g in zip(position, goal)])
        offset = waypoints - position
        distance = np.linalg.norm(offset, axis=1, keepdims=True)
        targets = position + offset * np.minimum(1.0, lookahead / np.maximum(distance, 1e-9))
        return controller(controller_observation(rows[:, :OWN], position, targets))
    return act


# --- building -----------------------------------------------------------------------------


def controller_step(prof: Profile) -> int:
    """The controller checkpoint that drives the data: the best of the learning curve."""
    curve = read_curve(behaviour_dir("antmaze", prof))
    return max(curve, key=lambda row: (row["mean_return"], -row["step"]))["step"]


def build(profile: Profile | str, *, progress: bool = True, rebuild: bool = False
          ) -> list[dict]:
    """Train (or resume) the controller, check it, and build both AntMaze datasets."""
    prof = get_profile(profile)
    train_behaviour("antmaze", prof, progress=progress)
    step = controller_step(prof)
    checkpoint = checkpoint_path("antmaze", prof, step)
    keys = {level: _input_key(level, prof, checkpoint) for level in MAZES}
    todo = [level for level in MAZES if rebuild or
            datasets.stored_key(datasets.local_id("antmaze", level), prof) != keys[level]]
    manifest = behaviour_dir("antmaze", prof) / "manifest.json"
    if not todo and manifest.exists() and episode_table_path(prof).exists() and json.loads(
            manifest.read_text()).get("controller_step") == step:
        return [datasets.summary(datasets.local_id("antmaze", level), prof)
                for level in MAZES]  # everything up to date: no check, no rewrite
    layout = maze_env().unwrapped.maze
    torch.manual_seed(CHECK_SEED)
    check = collect(lambda: FlatMaze(maze_env()), planned_controller(
        load_behaviour("antmaze", checkpoint, noise=ACTION_NOISE), layout),
        prof.pick_eval_episodes * HORIZON, seed=CHECK_SEED, n_envs=prof.pick_eval_episodes)
    success = float(np.mean([reached(ep) for ep in check]))
    for level in todo:
        maze_map, dataset_id = MAZES[level].data_map, datasets.local_id("antmaze", level)
        seed = MAZES[level].collect_seed
        torch.manual_seed(seed)
        data_layout = maze_env(maze_map).unwrapped.maze
        episodes = collect(lambda m=maze_map: FlatMaze(maze_env(m)), planned_controller(
            load_behaviour("antmaze", checkpoint, noise=ACTION_NOISE), data_layout),
            prof.dataset_transitions, seed=seed,
            progress=f"antmaze {level}" if progress else False)
        for episode in episodes:
            episode.observations = split_flat(episode.observations)
        dataset = datasets.write_dataset(
            dataset_id, episodes, prof, eval_env=eval_spec(), ref_min_score=0.0,
            ref_max_score=1.0, algorithm_name=f"SB3 SAC goal-reaching controller (step "
            f"{step}) + waypoint planner ({LOOKAHEAD} m lookahead), action noise "
            f"{ACTION_NOISE}",
            description=f"{level} data for {MAZE_ENV}, local D4RL recipe, profile {prof.name}")
        dataset.storage.update_metadata({"frozensteer_key": keys[level], "profile": prof.name})
        datasets.record_digest(dataset)
    _write_manifest(prof, step, success, len(check))
    _write_episode_table(prof)
    return [datasets.summary(datasets.local_id("antmaze", level), prof)
            for level in MAZES]


def transition_goals(minari_dataset) -> np.ndarray:
    """(transitions, 2): the goal of each transition's episode (``desired_goal``), float32, in
    the order of ``transitions.from_minari``."""
    return np.concatenate([ep.observations["desired_goal"][:-1]
                           for ep in minari_dataset.iterate_episodes()]).astype(np.float32)


def reached(episode) -> bool:
    """Whether an episode (collected or read from a dataset) came within the success radius
    of its goal (the sparse reward of the maze environments is 1 there)."""
    return bool(np.any(episode.rewards > 0))


def _input_key(level: str, prof: Profile, checkpoint: Path) -> str:
    parts = [level, sha256(checkpoint), prof.dataset_transitions, MAZES[level].collect_seed,
             HORIZON, ACTION_NOISE, LOOKAHEAD, MAZES[level].data_map]
    return content_key(parts)


def episode_table_path(profile: Profile | str) -> Path:
    return paths.results() / "datasets" / get_profile(profile).name / "antmaze.csv"


def _write_episode_table(prof: Profile) -> None:
    rows = []
    for level in MAZES:
        dataset = datasets.load_dataset(datasets.local_id("antmaze", level), prof)
        for i, ep in enumerate(dataset.iterate_episodes()):
            start, goal = ep.observations["achieved_goal"][0], ep.observations["desired_goal"][0]
            rows.append({"env": "antmaze", "level": level, "episode": i,
                         "length": len(ep.rewards), "success": reached(ep),
                         "start_x": start[0], "start_y": start[1],
                         "goal_x": goal[0], "goal_y": goal[1]})
    write_table(episode_table_path(prof), pd.DataFrame(rows), float_format="%.4g")


def _write_manifest(prof: Profile, step: int, success: float, episodes: int) -> Path:
    out = behaviour_dir("antmaze", prof)
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest = {
        "env": "antmaze", "controller_env": CONTROLLER_ID, "data_env": MAZE_ENV,
        "profile": prof.name,
        "seed": 0, "sac_steps": prof.sac_steps["antmaze"],
        "sac_train_freq": prof.sac_train_freq["antmaze"],
        "command": f"frozensteer data train-behaviour --env antmaze --profile {prof.name}",
        "rebuild_datasets": f"frozensteer data build --env antmaze --profile {prof.name}",
        "frozensteer_version": __version__, "code_commit": git_commit(),
        "controller_step": step, "action_noise": ACTION_NOISE, "horizon": HORIZON,
        "lookahead_m": LOOKAHEAD,
        "controller_success_rate": success, "controller_success_episodes": episodes,
        "curve": "curve.csv",
        "sha256": {str(p.relative_to(out)): sha256(p) for p in files}}
    return save_manifest(out / "manifest.json", manifest)


# --- what the chapter draws -----------------------------------------------------------------


def walls(maze_map: list[list] = UMAZE) -> tuple[np.ndarray, float]:
    """Centres (x, y) of the wall cells, and the cell size in metres."""
    layout = maze_env(maze_map).unwrapped.maze
    cells = [(r, c) for r, row in enumerate(maze_map) for c, v in enumerate(row) if v == 1]
    return (np.array([layout.cell_rowcol_to_xy(np.array(cell)) for cell in cells]),
            float(layout.maze_size_scaling))


@torch.no_grad()
def trajectories(actor, prior, conditions: list, seed: int, horizon: int = HORIZON
                 ) -> tuple[list[np.ndarray], np.ndarray]:
    """The (x, y) path of one deterministic evaluation episode per condition, all from the
    start of reset ``seed``, and that episode's goal."""
    actor, prior = copy.deepcopy(actor).double(), copy.deepcopy(prior).double()
    paths = [[] for _ in conditions]
    goal = []

    def act(obs: dict, index: np.ndarray) -> np.ndarray:
        rows = torch.as_tensor(obs["observation"], dtype=torch.float64)
        goals = torch.as_tensor(obs["desired_goal"], dtype=torch.float64)
        a, g = actor(rows), prior(rows, goals)
        actions = []
        for row, i in enumerate(index):
            paths[i].append(obs["observation"][row, -2:].copy())
            one = type(a)(a.mean[row:row + 1], a.std[row:row + 1])
            other = type(g)(g.mean[row:row + 1], g.std[row:row + 1])
            actions.append(conditions[i].apply(one, other).mean[0].numpy())
        goal[:] = [obs["desired_goal"][0]]
        return np.clip(np.array(actions), -1.0, 1.0).astype(np.float32)

    from frozensteer.rollout import run_episodes

    run_episodes(lambda: eval_env(horizon), [seed] * len(conditions), act)
    return [np.array(p) for p in paths], np.asarray(goal[0])
