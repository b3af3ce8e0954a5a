"""The data layer: local smoke datasets read back with plain minari, the offline path, repair."""

import json
import os
import time

import minari
import numpy as np
import pytest

from frozensteer.data import datasets, recipe
from frozensteer.data.collect import Episode, collect
from frozensteer.data.picks import random_policy
from frozensteer.profiles import get_profile

pytestmark = pytest.mark.slow  # builds datasets or runs whole pipelines


def test_plain_minari_reads_every_level(env_of, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(datasets.minari_root("smoke")))
    assert set(minari.list_local_datasets()) >= {datasets.local_id("hopper", lvl)
                                                   for lvl in datasets.LEVELS}
    for level in datasets.LEVELS:
        ds = minari.load_dataset(f"frozensteer/hopper/{level}-v0")
        if level in ("random", "medium", "expert"):
            assert ds.total_steps == 5_000
        returns = np.array([ep.rewards.sum() for ep in ds.iterate_episodes()])
        scores = minari.get_normalized_score(ds, returns)  # reference scores present
        assert np.all(np.isfinite(scores))
        env = ds.recover_environment(eval_env=True)
        assert env.spec.id == "Hopper-v5"


def test_summary_rows_cover_every_level(env_of):
    rows = {r["dataset"]: r for r in env_of["rows"]}
    assert list(rows) == [datasets.local_id("hopper", lvl) for lvl in datasets.LEVELS]
    assert rows["frozensteer/hopper/random-v0"]["mean_score"] < \
        rows["frozensteer/hopper/expert-v0"]["mean_score"]


def test_episode_boundaries(env_of):
    for level in datasets.LEVELS:
        ds = datasets.load_dataset(datasets.local_id("hopper", level), "smoke")
        for ep in ds.iterate_episodes():
            ends = ep.terminations | ep.truncations
            assert ends[-1] and not ends[:-1].any(), level
            assert not (ep.terminations[-1] and ep.truncations[-1])
            assert len(ep.observations) == len(ep.actions) + 1
            if len(ep.rewards) == 1000:  # hopper's time limit
                assert ep.truncations[-1]


def test_medium_expert_is_medium_then_expert(env_of):
    load = lambda lvl: datasets.load_dataset(datasets.local_id("hopper", lvl), "smoke")  # noqa
    medium, expert, both = load("medium"), load("expert"), load("medium-expert")
    assert both.total_episodes == medium.total_episodes + expert.total_episodes
    assert both.total_steps == medium.total_steps + expert.total_steps
    combined = list(both.iterate_episodes())
    parts = list(medium.iterate_episodes()) + list(expert.iterate_episodes())
    for a, b in zip(combined, parts):
        np.testing.assert_array_equal(a.actions, b.actions)
    meta = both.storage.metadata
    assert meta["ref_min_score"] == medium.storage.metadata["ref_min_score"]


def test_a_second_build_reuses_everything(env_of):
    files = sorted(datasets.minari_root("smoke").rglob("*.hdf5"))
    before = [f.stat().st_mtime_ns for f in files]
    recipe.build("hopper", "smoke", progress=False)
    assert [f.stat().st_mtime_ns for f in files] == before  # nothing rewritten


def test_corrupted_dataset_is_reported_and_rebuilt(env_of):
    dataset_id = datasets.local_id("hopper", "random")
    data_file = next((datasets.dataset_path(dataset_id, "smoke") / "data").glob("*.hdf5"))
    data_file.write_bytes(data_file.read_bytes()[:100])  # a write cut short
    with pytest.raises(RuntimeError) as err:
        datasets.load_dataset(dataset_id, "smoke")
    assert "incomplete or corrupted" in str(err.value)
    assert "frozensteer data build --env hopper --profile smoke" in str(err.value)
    recipe.build("hopper", "smoke", progress=False)
    assert datasets.load_dataset(dataset_id, "smoke").total_steps == 5_000


def test_a_flipped_bit_in_an_episode_is_caught_and_rebuilt(env_of, capsys):
    from frozensteer import cli

    dataset_id = datasets.local_id("hopper", "medium")
    dataset = datasets.load_dataset(dataset_id, "smoke")
    recorded = dataset.storage.metadata["data_sha256"]
    data_file = next((datasets.dataset_path(dataset_id, "smoke") / "data").glob("*.hdf5"))
    data = bytearray(data_file.read_bytes())
    data[len(data) // 2] ^= 1  # one bit inside the episodes
    data_file.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="differ from the sha256 recorded when it was built"):
        datasets.load_dataset(dataset_id, "smoke")
    assert cli.main(["data", "list", "--profile", "smoke", "--verify"]) == 2
    out = capsys.readouterr().out
    assert f"DAMAGED {dataset_id}" in out and "frozensteer/hopper/random-v0" in out
    with pytest.warns(UserWarning, match="it is rebuilt"):
        recipe.build("hopper", "smoke", progress=False)
    repaired = datasets.load_dataset(dataset_id, "smoke")
    assert datasets.content_digest(repaired) == repaired.storage.metadata["data_sha256"] == recorded
    assert cli.main(["data", "list", "--profile", "smoke", "--verify"]) == 0
    assert "5 datasets match their recorded digests" in capsys.readouterr().out


def test_missing_local_dataset_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))
    with pytest.raises(FileNotFoundError, match="frozensteer data build --env walker2d"):
        datasets.load_dataset("frozensteer/walker2d/medium-v0", "quick")


def test_offline_remote_id_fails_fast_with_the_local_equivalent(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))
    monkeypatch.setattr(datasets, "REMOTE_HOST", ("127.0.0.1", 9))  # nothing listens there
    start = time.time()
    with pytest.raises(ConnectionError) as err:
        datasets.load_dataset("mujoco/hopper/medium-v0", "paper")
    assert time.time() - start < 5
    message = str(err.value)
    assert "'frozensteer/hopper/medium-v0'" in message
    assert "frozensteer data build --env hopper --profile paper" in message


def test_the_real_connectivity_probe_answers_within_its_timeout():
    start = time.time()
    datasets._online()
    assert time.time() - start < datasets.ONLINE_TIMEOUT_S + 1


def test_local_equivalents():
    assert datasets.local_equivalent("mujoco/walker2d/expert-v0") == \
        "frozensteer/walker2d/expert-v0"
    assert datasets.local_equivalent("D4RL/antmaze/umaze-diverse-v1") == \
        "frozensteer/antmaze/umaze-diverse-v0"
    assert datasets.local_equivalent("mujoco/hopper/simple-v0") is None
    with pytest.raises(ValueError, match="level must be one of"):
        datasets.local_id("hopper", "medium_replay")


def test_replay_stream_is_cut_into_episodes():
    # 7 transitions: terminated at 1, time limit at 3, a resume jump after 4, stream ends at 6
    obs = np.arange(7, dtype=float)[:, None]
    next_obs = obs + 1
    next_obs[4] = 99.0  # the run was resumed: transition 5 does not start from 99
    dones = np.array([0, 1, 0, 1, 0, 0, 0], dtype=bool)
    timeouts = np.array([0, 0, 0, 1, 0, 0, 0], dtype=bool)
    episodes = recipe._split(obs, next_obs, np.zeros((7, 1)), np.ones(7), dones, timeouts)
    assert [len(e) for e in episodes] == [2, 2, 1, 2]
    assert [bool(e.terminations[-1]) for e in episodes] == [True, False, False, False]
    assert [bool(e.truncations[-1]) for e in episodes] == [False, True, True, True]
    np.testing.assert_array_equal(episodes[2].observations[:, 0], [4.0, 99.0])


def test_collect_returns_exactly_the_requested_transitions():
    import gymnasium as gym

    episodes = collect(lambda: gym.make("Hopper-v5"), random_policy("hopper", 0), 300,
                       seed=5, n_envs=3)
    assert sum(len(e) for e in episodes) == 300
    assert all(isinstance(e, Episode) for e in episodes)
    seeds = [e.seed for e in episodes]
    assert len(set(seeds)) == len(seeds) and min(seeds) >= 5
    assert episodes[-1].truncations[-1] or episodes[-1].terminations[-1]


def test_medium_replay_is_checked_against_its_manifest(env_of):
    import json

    from frozensteer.data.behaviour import behaviour_dir

    manifest_path = behaviour_dir("hopper", "smoke") / "manifest.json"
    original = manifest_path.read_text()
    manifest = json.loads(original)
    manifest["sha256"]["medium_replay.npz"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    try:
        with pytest.raises(RuntimeError, match="does not match the sha256 in its manifest"):
            recipe.medium_replay("hopper", get_profile("smoke"),
                                 json.loads(original)["medium_step"])
    finally:
        manifest_path.write_text(original)


def test_transitions_and_a_smoke_prior_from_a_built_dataset(env_of):
    from frozensteer.agents.prior import deployment_goal, fit_prior
    from frozensteer.data.transitions import from_minari

    dataset = datasets.load_dataset(datasets.local_id("hopper", "medium"), "smoke")
    data = from_minari(dataset)
    assert len(data) == dataset.total_steps
    assert len(data.episode_starts) == dataset.total_episodes
    np.testing.assert_array_equal(data.next_observations[:-1][data.episode[1:] ==
                                                               data.episode[:-1]],
                                  data.observations[1:][data.episode[1:] == data.episode[:-1]])
    prior, curve = fit_prior(data, "clean", "smoke")
    goal = np.repeat(deployment_goal(data, 90.0)[None], 8, axis=0)
    import torch
    out = prior(torch.as_tensor(data.observations[:8]), torch.as_tensor(goal))
    assert out.shape == (8, 3) and curve[-1]["nll"] < curve[0]["nll"]


def test_actor_cache_follows_the_dataset(env_of, monkeypatch):
    from frozensteer.agents import load_actor, training

    path = training.train_actor("hopper", "medium", "smoke", progress=False)
    stamp = path.stat().st_mtime_ns
    assert training.train_actor("hopper", "medium", "smoke", progress=False) == path
    assert path.stat().st_mtime_ns == stamp  # unchanged dataset and config: reused
    scores = training.evaluate_actor(path, "hopper", "smoke")
    assert scores.shape == (get_profile("smoke").episodes_per_condition,)
    # a changed dataset retrains
    monkeypatch.setattr(training, "dataset_key", lambda dataset: "recipe:changed")
    training.train_actor("hopper", "medium", "smoke", progress=False)
    assert path.stat().st_mtime_ns != stamp
    import torch
    assert load_actor(path, env="hopper")(torch.zeros(1, 11)).shape == (1, 3)


def test_a_manifest_differing_only_in_commit_is_kept(tmp_path):
    from frozensteer.provenance import save_manifest

    path = tmp_path / "manifest.json"
    save_manifest(path, {"sha256": {"a": "1"}, "code_commit": "old"})
    save_manifest(path, {"sha256": {"a": "1"}, "code_commit": "new"})
    assert json.loads(path.read_text())["code_commit"] == "old"
    save_manifest(path, {"sha256": {"a": "2"}, "code_commit": "new"})
    assert json.loads(path.read_text()) == {"sha256": {"a": "2"}, "code_commit": "new"}


def test_a_killed_build_s_staging_folder_is_cleaned_at_the_next_build(tmp_path):
    root = tmp_path / "datasets"
    stale = tmp_path / "datasets.staging-999999999"
    (stale / "frozensteer").mkdir(parents=True)
    live = tmp_path / f"datasets.staging-{os.getppid()}"  # a running process keeps its own
    live.mkdir()
    with datasets._staging(root) as staging:
        assert staging.name == f"datasets.staging-{os.getpid()}"
    assert not stale.exists() and live.exists()


def test_inverted_reference_scores_are_refused_at_build_time(env_of, monkeypatch):
    from frozensteer.data import picks as pick_module

    real = recipe.pick_policies

    def inverted(env, prof):
        picks = dict(real(env, prof))
        picks["ref_min_score"], picks["ref_max_score"] = 10.0, 5.0
        return picks

    monkeypatch.setattr(recipe, "pick_policies", inverted)
    with pytest.raises(ValueError, match=r"datasets of hopper at profile smoke cannot be built: "
                                         r"their expert reference return 5\.0 is not above"):
        recipe.build("hopper", "smoke", progress=False)
    assert pick_module.pick_policies is real  # the module's own function was left alone


def test_an_empty_dataset_id_is_refused_by_name():
    with pytest.raises(ValueError, match="dataset_id must name a dataset"):
        datasets.load_dataset("", "smoke")
