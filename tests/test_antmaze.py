"""The AntMaze local recipe at a tiny size: controller environment, planner-driven data."""

import dataclasses

import minari
import numpy as np
import pandas as pd
import pytest

from frozensteer.data import antmaze, datasets
from frozensteer.profiles import get_profile

pytestmark = pytest.mark.slow  # builds datasets or runs whole pipelines

TINY = dataclasses.replace(get_profile("smoke"), sac_steps={"antmaze": 200}, sac_eval_every=100,
                           dataset_transitions=1_500, pick_eval_episodes=1)


def test_controller_sees_the_target_relative_to_the_ant():
    import gymnasium as gym
    from frozensteer.data.envs import behaviour_id

    env = gym.make(behaviour_id("antmaze"))
    obs, _ = env.reset(seed=3)
    arena = env.unwrapped
    position = arena.arena.data.qpos[:2]
    # the target in the ant's heading frame: same distance, rotated by the ant's yaw
    np.testing.assert_allclose(np.linalg.norm(obs[-2:]), np.linalg.norm(arena.target - position))
    assert 1.0 - 1e-9 <= np.linalg.norm(obs[-2:]) <= 4.0 + 1e-9 or np.any(
        np.abs(arena.target) == arena.bounds)  # clipped to the arena
    # a torso turned by 90 degrees sees a target ahead in x on its right
    quarter = np.r_[0.5, np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4), np.zeros(22)]
    np.testing.assert_allclose(antmaze.controller_observation(quarter, [0, 0], [2, 0])[-2:],
                               [0, -2], atol=1e-12)
    # walking onto the target pays the bonus and draws a new one
    arena.target = position.copy()
    _, reward, *_, info = env.step(np.zeros(8))
    assert info["success"] and reward > 0.5
    assert not np.allclose(arena.target, position)


def test_planned_controller_heads_for_the_next_cell():
    env = antmaze.FlatMaze(antmaze.maze_env())
    rows, _ = env.reset(seed=0)
    layout = env.unwrapped.maze
    seen = []
    antmaze.planned_controller(lambda x: seen.append(x) or np.zeros((len(x), 8)), layout)(
        rows[None])
    start = layout.cell_xy_to_rowcol(rows[27:29])
    assert tuple(start) == (1, 1)  # umaze starts in its "r" cell
    next_cell = layout.cell_rowcol_to_xy(np.array([1, 2]))
    assert next_cell[0] > rows[27]  # the next cell lies east of the start
    # the controller is handed a point 1 m along the line to the next cell's centre
    offset = next_cell - rows[27:29]
    ahead = rows[27:29] + antmaze.LOOKAHEAD * offset / np.linalg.norm(offset)
    np.testing.assert_allclose(seen[0][0], antmaze.controller_observation(
        rows[:27], rows[27:29], ahead))
    # in the goal's cell and within the lookahead: the goal itself
    near, goal = rows.copy(), rows[29:31]
    near[27:29] = goal - [0.5 * antmaze.LOOKAHEAD, 0]
    assert tuple(layout.cell_xy_to_rowcol(near[27:29])) == tuple(
        layout.cell_xy_to_rowcol(goal))
    seen.clear()
    antmaze.planned_controller(lambda x: seen.append(x) or np.zeros((len(x), 8)), layout)(
        near[None])
    np.testing.assert_allclose(seen[0][0, -2:], antmaze.controller_observation(
        near[:27], near[27:29], goal)[-2:])


@pytest.fixture(scope="module")
def maze_home(tmp_path_factory):
    """Both tiny AntMaze datasets, built in a temporary home (variables set while building)."""
    root = tmp_path_factory.mktemp("antmaze")
    variables = dict(FROZENSTEER_HOME=str(root / "home"), FROZENSTEER_CACHE=str(root / "cache"),
                     MINARI_DATASETS_PATH=str(root / "minari"))
    with pytest.MonkeyPatch.context() as mp:
        for key, value in variables.items():
            mp.setenv(key, value)
        rows = antmaze.build(TINY, progress=False)
    return {"rows": rows, "variables": variables}


@pytest.fixture
def in_maze_home(maze_home, monkeypatch):
    for key, value in maze_home["variables"].items():
        monkeypatch.setenv(key, value)
    return maze_home


def test_build_writes_both_mazes_for_plain_minari(in_maze_home, monkeypatch):
    assert [r["dataset"] for r in in_maze_home["rows"]] == [
        "frozensteer/antmaze/umaze-v0", "frozensteer/antmaze/umaze-diverse-v0"]
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(datasets.minari_root(TINY)))
    starts = {}
    for level in ("umaze", "umaze-diverse"):
        ds = minari.load_dataset(f"frozensteer/antmaze/{level}-v0")
        assert ds.total_steps == 1_500
        assert ds.storage.metadata["ref_min_score"] == 0.0
        spec = ds.recover_environment(eval_env=True).spec
        assert spec.id == "AntMaze_UMaze-v4" and spec.max_episode_steps == 700
        assert spec.kwargs["continuing_task"] and not spec.kwargs["reset_target"]
        episodes = list(ds.iterate_episodes())
        assert all(ep.truncations[-1] and not ep.terminations.any() for ep in episodes)
        assert set(episodes[0].observations) == {"observation", "achieved_goal", "desired_goal"}
        starts[level] = {tuple(np.round(ep.observations["desired_goal"][0])) for ep in episodes}
    assert len(starts["umaze-diverse"]) > len(starts["umaze"])  # diverse draws its goals
    manifest = antmaze.behaviour_dir("antmaze", TINY) / "manifest.json"
    assert '"controller_success_rate"' in manifest.read_text()
    # unchanged inputs: nothing is rebuilt
    files = sorted(datasets.minari_root(TINY).rglob("*.hdf5"))
    stamps = [f.stat().st_mtime_ns for f in files]
    antmaze.build(TINY, progress=False)
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_antmaze_levels_are_the_mazes():
    assert datasets.local_id("antmaze", "umaze") == "frozensteer/antmaze/umaze-v0"
    with pytest.raises(ValueError, match="level must be one of .*umaze"):
        datasets.local_id("antmaze", "medium")


def test_hindsight_goals_are_later_positions_of_the_same_episode(in_maze_home):
    from frozensteer.data.transitions import from_minari
    from frozensteer.families import family

    data = from_minari(datasets.load_dataset(datasets.local_id("antmaze", "umaze"), TINY))
    assert data.observations.shape[1] == 29  # the ant, then its x, y
    goals = family("antmaze").hindsight_goals(data)
    positions = data.next_observations[:, -2:]
    for t in range(0, len(data), 97):
        same = np.flatnonzero((data.episode == data.episode[t]) & (np.arange(len(data)) >= t))
        assert any(np.array_equal(goals[t], positions[u]) for u in same)


def test_whole_antmaze_path_from_data_to_results_table(in_maze_home):
    from frozensteer import experiments
    from frozensteer.agents import training

    profile = dataclasses.replace(TINY, antmaze_episodes_per_condition=1, eval_horizon=150)
    training.train_all(profile, [("antmaze", "umaze"), ("antmaze", "umaze-diverse")])
    scores = pd.read_csv(training.actor_scores_path(profile))
    assert set(scores["env"]) == {"antmaze"} and scores["score_mean"].between(0, 100).all()
    table = experiments.run_study("antmaze", profile, workers=1, progress=False)
    assert len(table) == experiments.study_size("antmaze", profile) == 2 * 3 * 13
    assert set(table["score"]) <= {0.0, 100.0}
    assert (table["score"] == 100 * table["success"]).all()
    assert (table["length"] == 150).all()  # continuing task: episodes run to the horizon
    poe, kl = table[table.rule == "poe"], table[table.rule == "kl-reg"]
    np.testing.assert_array_equal(poe["return"].to_numpy(), kl["return"].to_numpy())
    # one scoring path: the actor's recorded score is its frozen rows' mean
    frozen = table[table.rule == "frozen"].groupby("dataset")["score"].mean()
    recorded = scores.set_index("dataset")["score_mean"]
    np.testing.assert_allclose(recorded[frozen.index], frozen, rtol=1e-3)

    # the appendix's critic rules: goal-conditioned IQL critics trained apart from the actor
    with pytest.raises(FileNotFoundError, match="frozensteer train critic --env antmaze"):
        experiments.run_study("appendix-antmaze", profile, workers=1, progress=False)
    for maze in ("umaze", "umaze-diverse"):
        path = training.train_critics("antmaze", maze, profile, progress=False)
        assert training.train_critics("antmaze", maze, profile, progress=False) == path
        report = pd.read_csv(training.critic_report_path(path))
        assert list(report["part"]) == [maze] and (report["q_mean"] < 0).all()  # r - 1
    appendix = experiments.run_study("appendix-antmaze", profile, workers=1, progress=False)
    rules = [c.rule for c in experiments.study_conditions("appendix-antmaze", profile)]
    assert list(appendix.drop_duplicates("rule")["rule"]) == rules and "sf-gpi" not in rules
    assert len(appendix) == experiments.study_size("appendix-antmaze", profile) == 2 * 6
    # frozen rows: the AntMaze study's own, episode for episode
    own = table[(table.rule == "frozen") & (table.prior_quality == "clean")]
    np.testing.assert_array_equal(appendix[appendix.rule == "frozen"]["return"].to_numpy(),
                                  own["return"].to_numpy())
    assert (appendix[appendix.rule == "q-gradient"]["kl_to_actor"] > 0).all()
