"""The AntMaze local recipe at a tiny size: controller environment, planner-driven data."""

import dataclasses

import minari
import numpy as np
import pytest

from frozensteer.data import antmaze, datasets
from frozensteer.profiles import get_profile

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
    np.testing.assert_allclose(seen[0][0], antmaze.controller_observation(
        rows[:27], rows[27:29], next_cell))
    assert next_cell[0] > rows[27]  # the next cell lies east of the start


def test_build_writes_both_mazes_for_plain_minari(tmp_path, monkeypatch):
    monkeypatch.setenv("FROZENSTEER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FROZENSTEER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    rows = antmaze.build(TINY, progress=False)
    assert [r["dataset"] for r in rows] == ["frozensteer/antmaze/umaze-v0",
                                           "frozensteer/antmaze/umaze-diverse-v0"]
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
