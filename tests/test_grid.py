"""The experiment grid end to end at the smoke profile: tidy rows, caching, resuming a kill."""

import dataclasses
import itertools
import json

import numpy as np
import pandas as pd
import pytest

from frozensteer import evaluate, experiments, paths, provenance
from frozensteer.agents import training
from frozensteer.agents.checkpoint import policy_id
from frozensteer.profiles import get_profile

pytestmark = pytest.mark.slow  # builds datasets or runs whole pipelines

PROFILE = dataclasses.replace(get_profile("smoke"), envs=("hopper",))
COLUMNS = ["study", "env", "dataset", "prior_quality", "rule", "alpha", "beta", "episode",
           "seed", "return", "score", "length", "success", "profile", "code_version",
           "dataset_id", "dataset_key", "actor_sha256", "prior_id"]


@pytest.fixture(scope="module")
def trained(built):
    with pytest.MonkeyPatch.context() as mp:
        for key, value in built["mp_env"].items():
            mp.setenv(key, value)
        training.train_actor("hopper", "medium", PROFILE, progress=False)
        for quality in ("clean", "degraded"):
            training.train_prior("hopper", "medium", quality, PROFILE, progress=False)
        yield experiments.run_study("main", PROFILE, workers=1, progress=False)


def test_study_table_is_tidy_and_complete(trained):
    rows = trained
    assert len(rows) == experiments.study_size("main", PROFILE) == 3 * 13 * 2
    assert set(COLUMNS) <= set(rows.columns)
    assert set(rows["prior_quality"]) == {"clean", "degraded", "random"}
    assert np.isfinite(rows["score"]).all() and (rows["profile"] == "smoke").all()
    poe, kl = rows[rows.rule == "poe"], rows[rows.rule == "kl-reg"]
    np.testing.assert_array_equal(poe["return"].to_numpy(), kl["return"].to_numpy())
    # the selector's D(alpha): zero for frozen, growing with alpha for PoE
    assert (rows[rows.rule == "frozen"]["kl_to_actor"] == 0).all()
    # the mean action moves alike under PoE(alpha) and KL-Reg(beta(alpha)), not at all frozen
    assert (rows[rows.rule == "frozen"]["action_shift"] == 0).all()
    np.testing.assert_allclose(poe["action_shift"].to_numpy(), kl["action_shift"].to_numpy(),
                               rtol=1e-9)
    for _, cell in poe.groupby("prior_quality"):
        assert np.all(np.diff(cell.groupby("alpha")["kl_to_actor"].first().to_numpy()) > 0)


def test_statistics_run_on_the_study_table(trained):
    from frozensteer import stats

    classes = stats.classify(trained, 200, seed=0)
    assert len(classes) == 3 * 12 and set(classes["outcome"]) <= set(stats.OUTCOMES)
    picked = stats.selector(trained, classes, 1.0, 200, seed=0)
    assert len(picked) == 3 and sum(stats.split(picked["outcome"]).values()) == 3
    assert (picked["regret"] >= 0).all()


def fresh_results(monkeypatch, tmp_path):
    """Point FROZENSTEER_HOME at an empty folder that sees the trained policies."""
    policies = training.policy_path("actor", "hopper", "medium", PROFILE).parents[2]
    monkeypatch.setenv("FROZENSTEER_HOME", str(tmp_path))
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "policies").symlink_to(policies)


def test_a_killed_run_resumes_to_the_same_table(trained, env_of, monkeypatch, tmp_path):
    fresh_results(monkeypatch, tmp_path)
    real, calls = evaluate.evaluate, []

    def killed_on_second_sub_cell(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluate, "evaluate", killed_on_second_sub_cell)
    with pytest.raises(KeyboardInterrupt):
        experiments.run_study("main", PROFILE, workers=1, progress=False)
    calls.clear()
    monkeypatch.setattr(evaluate, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    resumed = experiments.run_study("main", PROFILE, workers=1, progress=False)
    assert len(calls) == 2  # the finished sub-cell was read back, not rerun
    pd.testing.assert_frame_equal(resumed, trained)
    assert not list(tmp_path.rglob("*.tmp-*"))
    experiments.run_study("main", PROFILE, workers=1, progress=False)
    assert len(calls) == 2  # everything cached now


def test_ray_executor_gives_the_same_table(trained, env_of, monkeypatch, tmp_path):
    fresh_results(monkeypatch, tmp_path)
    table = experiments.run_study("main", PROFILE, executor="ray", progress=False)
    pd.testing.assert_frame_equal(table, trained)
    with pytest.raises(ValueError, match="executor must be one of"):
        experiments.run_study("main", PROFILE, executor="slurm", progress=False)


def test_cli_run_records_the_table_and_summarises(trained, env_of, monkeypatch, tmp_path,
                                                  capsys):
    from frozensteer import cli, profiles

    fresh_results(monkeypatch, tmp_path)
    monkeypatch.setitem(profiles.PROFILES, "smoke", PROFILE)
    assert cli.main(["run", "--study", "main", "--profile", "smoke", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "PoE at the KL-budget alpha" in out and "hopper medium clean" in out
    table = provenance.read_table(experiments.study_path("main", "smoke"))
    pd.testing.assert_frame_equal(table, trained, check_exact=True)
    # the study table equals its per-condition tables exactly, every float to the last bit
    stored, missing = experiments.read_results("main", PROFILE)
    assert missing == []
    pd.testing.assert_frame_equal(table, stored, check_exact=True)
    manifest = experiments.study_path("main", "smoke").with_suffix(".manifest.json")
    assert "frozensteer run --study main" in manifest.read_text()
    # a missing policy is named, with the command that trains it
    (tmp_path / "artifacts" / "policies").unlink()
    for path in (tmp_path / "results").rglob("*.json"):
        path.unlink()
    assert cli.main(["run", "--study", "main", "--profile", "smoke"]) == 2
    assert "(train it with `frozensteer train actor --env hopper" in capsys.readouterr().err


def test_part_of_a_study_runs_by_environment_and_is_read_back(trained, env_of, monkeypatch,
                                                               tmp_path, capsys):
    from frozensteer import cli, profiles

    fresh_results(monkeypatch, tmp_path)
    rows, missing = experiments.read_results("main", PROFILE)
    assert len(rows) == 0 and len(missing) == 3
    with pytest.raises(ValueError, match=r"envs \['ant'\] are not in the main study"):
        experiments.run_study("main", PROFILE, envs=["ant"], progress=False)
    with pytest.raises(ValueError, match=r"datasets \['medium-expert'\] are not in the main"):
        experiments.run_study("main", PROFILE, datasets=["medium-expert"], progress=False)
    monkeypatch.setitem(profiles.PROFILES, "smoke", PROFILE)
    assert cli.main(["run", "--study", "main", "--profile", "smoke", "--workers", "1",
                     "--env", "hopper", "--dataset", "medium"]) == 0
    assert "sub-cells cached" in capsys.readouterr().out
    assert not experiments.study_path("main", "smoke").exists()  # only a whole grid writes it
    rows, missing = experiments.read_results("main", PROFILE)
    assert missing == []
    pd.testing.assert_frame_equal(rows, trained)


def test_adding_a_condition_runs_only_that_condition(trained, env_of, monkeypatch, tmp_path):
    from frozensteer.rules import Condition

    fresh_results(monkeypatch, tmp_path)
    experiments.run_study("main", PROFILE, workers=1, progress=False)
    stored = sorted((tmp_path / "results").rglob("*.csv"))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in stored}
    extra = Condition("poe", alpha=0.2)
    monkeypatch.setitem(experiments.CONDITION_SETS, "paper",
                        lambda prof: experiments.paper_conditions(prof) + [extra])
    real, computed = evaluate.evaluate, []

    def spy(make_env, actor, prior, goal, conds, *args, **kwargs):
        computed.append(list(conds))
        return real(make_env, actor, prior, goal, conds, *args, **kwargs)

    monkeypatch.setattr(evaluate, "evaluate", spy)
    table = experiments.run_study("main", PROFILE, workers=1, progress=False)
    assert computed == [[extra]] * 3  # one call per sub-cell, for the new condition only
    for path, (data, stamp) in before.items():  # nothing finished was rewritten
        assert path.read_bytes() == data and path.stat().st_mtime_ns == stamp
    assert len(table) == len(trained) + 3 * 2
    old = table[table["condition"] < 13].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, trained, check_exact=True)
    added = table[table["condition"] == 13]
    assert (added["rule"] == "poe").all() and (added["alpha"] == 0.2).all()


def test_the_actor_s_score_is_the_study_s_frozen_rows(trained, env_of):
    path = training.policy_path("actor", "hopper", "medium", PROFILE)
    scores = training.evaluate_actor(path, "hopper", PROFILE)
    for _, cell in trained[trained["rule"] == "frozen"].groupby("prior_quality"):
        np.testing.assert_array_equal(cell.sort_values("episode")["score"].to_numpy(), scores)


def damage(path, how):
    data = path.read_bytes()
    lines = data.split(b"\n")
    if how == "row boundary":
        path.write_bytes(b"\n".join(lines[:-2]) + b"\n")
    elif how == "mid-row":
        path.write_bytes(data[: len(data) - len(lines[-2]) // 2 - 1])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "binary":
        path.write_bytes(bytes(range(256)) * 4)
    else:  # one flipped bit in a number
        at = data.index(b".", len(lines[0]) + 1) + 1
        path.write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1:])


@pytest.mark.parametrize("how", ["row boundary", "mid-row", "empty", "binary", "bit"])
def test_a_damaged_condition_table_is_named_and_recomputed(trained, env_of, monkeypatch,
                                                             tmp_path, how, capsys):
    from frozensteer import cli, profiles

    fresh_results(monkeypatch, tmp_path)
    monkeypatch.setitem(profiles.PROFILES, "smoke", PROFILE)
    assert cli.main(["run", "--study", "main", "--profile", "smoke", "--workers", "1"]) == 0
    study = experiments.study_path("main", "smoke")
    good = study.read_bytes()
    cell = experiments.sub_cells("main", PROFILE)[1]
    target = experiments.condition_path(cell, experiments.study_conditions("main", PROFILE)[5],
                                        PROFILE)
    original = target.read_bytes()
    damage(target, how)
    # the chapters' reader names the file and the command that repairs it
    with pytest.raises(experiments.DamagedTable, match=rf"{target.name}.*frozensteer run "
                       r"--study main --profile smoke --mode deterministic --env hopper"):
        experiments.read_results("main", PROFILE)
    # the run recomputes it (a rebuildable cache) and rewrites nothing else
    assert cli.main(["run", "--study", "main", "--profile", "smoke", "--workers", "1"]) == 0
    assert "recomputing damaged" in capsys.readouterr().err
    assert target.read_bytes() == original and study.read_bytes() == good


def test_runs_killed_at_random_moments_end_with_the_same_table(trained, env_of, monkeypatch,
                                                                tmp_path):
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    def home(name):
        path = tmp_path / name
        (path / "artifacts").mkdir(parents=True)
        (path / "artifacts" / "policies").symlink_to(
            training.policy_path("actor", "hopper", "medium", PROFILE).parents[2])
        return path

    # the smoke profile with one environment, as the rest of this module runs it
    script = ("import dataclasses, sys; from frozensteer import cli, profiles; "
              "profiles.PROFILES['smoke'] = dataclasses.replace(profiles.PROFILES['smoke'], "
              "envs=('hopper',)); sys.exit(cli.main(['run', '--study', 'main', '--profile', "
              "'smoke', '--workers', '1']))")

    def run(where, kill_after=None):
        # each home its own cache: every run draws what it needs, as the first one did
        env = {**os.environ, "FROZENSTEER_HOME": str(where),
               "FROZENSTEER_CACHE": str(where / "cache")}
        proc = subprocess.Popen([sys.executable, "-c", script], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return None

    whole = home("whole")
    start = time.perf_counter()
    assert run(whole) == 0
    duration = time.perf_counter() - start
    killed, rng, kills = home("killed"), random.Random(0), 0
    for _ in range(4):  # bounded: four kills at seeded random moments of a run's duration
        kills += run(killed, kill_after=rng.uniform(0.2, 0.8) * duration) is None
    assert run(killed) == 0
    study = experiments.study_path("main", "smoke")
    assert kills >= 1  # the test did kill runs
    relative = study.relative_to(paths.home())
    assert (killed / relative).read_bytes() == (whole / relative).read_bytes()


def test_training_seeds_are_an_axis_of_the_grid(trained, env_of, monkeypatch, tmp_path):
    two = dataclasses.replace(PROFILE, training_seeds=(0, 1))
    training.train_actor("hopper", "medium", two, seed=1, progress=False)
    for quality in ("clean", "degraded"):
        training.train_prior("hopper", "medium", quality, two, seed=1, progress=False)
    table = experiments.run_study("main", two, workers=1, progress=False)
    assert len(table) == 2 * len(trained)
    first = table[table["training_seed"] == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, trained, check_exact=True)  # seed 0 as it was
    second = table[table["training_seed"] == 1]
    assert set(second["actor_sha256"]).isdisjoint(first["actor_sha256"])
    assert set(second["prior_id"]).isdisjoint(first["prior_id"])  # the random prior too
    cell = experiments.sub_cells("main", two)[3]
    assert cell.seed == 1 and experiments.sub_cell_dir(cell, two).name.endswith("-seed1")
    from frozensteer import stats

    classes = stats.classify(table, 200, seed=0)
    assert len(classes) == 3 * 12 and (classes["seeds"] == 2).all()


def test_a_profile_runs_its_variants_over_its_variant_envs_only():
    from frozensteer import variants

    smoke, paper = get_profile("smoke"), get_profile("paper")
    for name in variants.of_study("main"):
        assert {c.env for c in experiments.sub_cells(name, smoke)} == set(smoke.variant_envs)
        assert variants.changes(name, smoke)["envs"] == smoke.variant_envs
        assert "envs" not in variants.changes(name, paper)  # every environment at paper
        assert ({c.env for c in experiments.sub_cells(name, paper)}
                == {c.env for c in experiments.sub_cells("main", paper)})
    # the base studies keep every environment of the profile
    assert len({c.env for c in experiments.sub_cells("main", smoke)}) == len(smoke.envs)
    # a seed study is its base study's grid with the other seed's policies
    for study in variants.SEED_STUDIES:
        for seed, name in variants.seed_studies(study).items():
            for prof in (smoke, paper):
                ours = experiments.sub_cells(name, prof)
                base = [c for c in experiments.sub_cells(study, prof)
                        if seed == 0 or study == "antmaze" or c.env in (
                            prof.variant_envs or prof.envs)]
                assert [(c.env, c.dataset, c.prior_quality) for c in ours] == [
                    (c.env, c.dataset, c.prior_quality) for c in base], name
                assert {c.seed for c in ours} == {seed}


def test_each_robustness_variant_changes_only_what_it_names(trained, env_of, monkeypatch):
    from frozensteer import variants

    experiments.build_studies(PROFILE, variants.of_study("main"))  # trains their priors too
    degraded = variants.profile_for("main-degraded-1pct", PROFILE)
    path = training.policy_path("prior", "hopper", "medium", degraded, "degraded")
    # its own file: the 5% prior's stays as it was
    assert path.exists() and path.name == "hopper-medium-degraded-e0.01-s0.01.pt"
    assert path != training.policy_path("prior", "hopper", "medium", PROFILE, "degraded")
    with pytest.raises(ValueError, match="apply to the degraded prior only"):
        training.train_prior("hopper", "medium", "clean", degraded, progress=False)
    main = {(c.env, c.dataset, c.prior_quality): c for c in experiments.sub_cells("main", PROFILE)}
    reaches = {"goal_percentile": {"goal"}, "episodes_per_condition": {"episodes"},
               "degraded_episode_fraction": {"prior"}, "degraded_step_fraction": {"prior"},
               "training_seeds": {"actor", "prior", "seed"}}
    for name in variants.of_study("main"):
        prof = variants.profile_for(name, PROFILE)
        assert variants.profile_for(name, prof) is prof  # applied once, however often asked
        changed = {k for k, v in dataclasses.asdict(prof).items()
                   if k != "variant" and v != getattr(PROFILE, k)}
        assert changed == set(variants.changes(name, PROFILE))
        table = experiments.run_study(name, PROFILE, workers=1, progress=False)
        for cell in experiments.sub_cells(name, PROFILE):
            base = main[(cell.env, cell.dataset, cell.prior_quality)]
            ours, theirs = (experiments.sub_cell_inputs(c, PROFILE) for c in (cell, base))
            actor, prior = experiments._policy_files(base, PROFILE)
            where = {"goal": theirs.index(PROFILE.goal_percentile),
                     "episodes": theirs.index(experiments.episode_seeds("main", PROFILE)),
                     "actor": theirs.index(policy_id(actor)),
                     "prior": theirs.index(experiments._prior_id(prior)),
                     "seed": len(theirs)}  # another training seed is appended to the key
            differ = {i for i, (a, b) in enumerate(itertools.zip_longest(ours, theirs))
                      if a != b}
            assert differ == {0} | {where[w] for k in changed for w in reaches[k]}, name
            rows = table[table["prior_quality"] == cell.prior_quality]
            mine = trained[trained["prior_quality"] == cell.prior_quality]
            frozen = rows[rows["rule"] == "frozen"]
            n = len(mine[mine["rule"] == "frozen"])
            # frozen ignores the prior and its goal: its first episodes are the main study's,
            # unless the actor is another seed's
            named = ["study", "prior_id", "training_seed"]  # the rows name these
            assert frozen.head(n).drop(columns=named).reset_index(drop=True).equals(
                mine[mine["rule"] == "frozen"].drop(columns=named).reset_index(drop=True)
            ) == ("training_seeds" not in changed), name
            # the prior's own episodes move with its goal and its file, not with more episodes
            steered = rows[rows["rule"] == "prior-only"].head(n)["return"].to_numpy()
            same = np.array_equal(steered, mine[mine["rule"] == "prior-only"]["return"])
            assert same == (name == "main-episodes-4x"), name
        assert len(table) == experiments.study_size(name, PROFILE)
        # a variant already computed is read back, not computed again
        real = experiments.compute_rows
        monkeypatch.setattr(experiments, "compute_rows", lambda *a, **k: pytest.fail(name))
        pd.testing.assert_frame_equal(
            experiments.run_study(name, PROFILE, workers=1, progress=False), table)
        monkeypatch.setattr(experiments, "compute_rows", real)
    # the manifest records what the variant changed
    _, path = experiments.run_and_record("main-goal-p50", PROFILE, command="test", workers=1,
                                         progress=False)
    manifest = json.loads(path.with_suffix(".manifest.json").read_text())
    assert manifest["variant_of"] == "main" and manifest["changes"] == {"goal_percentile": 50.0}


def test_a_sub_cell_draws_its_dataset_inputs_once(trained, env_of, monkeypatch):
    from frozensteer.data import transitions

    cell = experiments.sub_cells("main", PROFILE)[2]  # the random prior's sub-cell
    first = experiments.cell_inputs(cell, PROFILE)  # cached by the study run
    monkeypatch.setattr(transitions, "from_minari", lambda *_: pytest.fail("data re-read"))
    again = experiments.cell_inputs(cell, PROFILE)
    np.testing.assert_array_equal(first.selector_states, again.selector_states)
    rows = experiments.compute_rows(cell, PROFILE, experiments.study_conditions("main", PROFILE),
                                    list(range(13)))
    mine = trained[trained["prior_quality"] == "random"].drop(columns="training_seed")
    pd.testing.assert_frame_equal(rows, mine.reset_index(drop=True), check_exact=True)


def test_a_prior_keeps_the_goal_it_is_given_at_deployment(trained, env_of):
    from frozensteer import policy
    from frozensteer.agents import load_actor, load_prior

    cell = experiments.sub_cells("main", PROFILE)[0]  # the clean prior's sub-cell
    prior = load_prior(training.policy_path("prior", "hopper", "medium", PROFILE, "clean"))
    np.testing.assert_array_equal(prior.default_goal,
                                  experiments.cell_inputs(cell, PROFILE).deployment_goal)
    actor = load_actor(training.policy_path("actor", "hopper", "medium", PROFILE))
    steered = policy.SteeredPolicy(actor, prior, "poe", alpha=0.5)  # no goal passed
    assert steered.act(np.zeros(11)).shape == (3,)


def test_a_run_waits_for_a_sub_cell_another_run_holds(trained, env_of, monkeypatch, tmp_path):
    import threading

    fresh_results(monkeypatch, tmp_path)
    experiments.run_study("main", PROFILE, workers=1, progress=False)
    cell = experiments.sub_cells("main", PROFILE)[0]
    folder = experiments.sub_cell_dir(cell, PROFILE)
    saved = {p: p.read_bytes() for p in folder.iterdir()}
    for path in saved:
        path.unlink()
    calls = []
    real = evaluate.evaluate
    monkeypatch.setattr(evaluate, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    planned, plan = threading.Event(), experiments._plan

    def watched(c, *args):
        out = plan(c, *args)
        if c == cell and out[1].todo:
            planned.set()  # the run has seen the sub-cell missing
        return out

    monkeypatch.setattr(experiments, "_plan", watched)
    with provenance.locked(folder):  # another run is computing this sub-cell
        other = threading.Thread(target=experiments.run_study, args=("main", PROFILE),
                                 kwargs={"workers": 1, "progress": False})
        other.start()
        assert planned.wait(timeout=120)
        other.join(timeout=2)
        assert other.is_alive()  # it waits for the lock
        for path, data in saved.items():  # ... while the other run stores the sub-cell
            path.write_bytes(data)
    other.join(timeout=120)
    assert not other.is_alive() and calls == []  # it found the rows and computed none


def test_the_appendix_study_runs_the_critic_rules_from_data_to_table(trained, env_of):
    appendix = dataclasses.replace(PROFILE, envs=("hopper",))
    with pytest.raises(FileNotFoundError, match="frozensteer train successor --env hopper"):
        experiments.run_study("appendix", appendix, workers=1, progress=False,
                              envs=["hopper"], datasets=["medium"])
    assert training.train_critics("hopper", "medium", appendix, progress=False) == \
        training.critic_path("hopper", "medium", appendix)  # kept by the actor's training
    sf = training.train_successor("hopper", "medium", appendix, progress=False)
    assert training.train_successor("hopper", "medium", appendix, progress=False) == sf
    table = experiments.run_study("appendix", appendix, workers=1, progress=False,
                                  envs=["hopper"], datasets=["medium"])
    conds = experiments.study_conditions("appendix", appendix)
    assert len(table) == len(conds) * 2 and set(table["prior_quality"]) == {"clean"}
    # frozen rows: the main study's own, episode for episode
    frozen = table[table["rule"] == "frozen"]
    main = trained[(trained["rule"] == "frozen") & (trained["prior_quality"] == "clean")]
    np.testing.assert_array_equal(frozen["return"].to_numpy(), main["return"].to_numpy())
    # a critic rule moves the action (its distance to the actor is recorded) and is stored
    # under the critic's weights: another critic, another key
    assert (table[table["rule"] == "q-gradient"]["kl_to_actor"] > 0).all()
    cell = experiments.sub_cells("appendix", appendix)[0]
    assert experiments.sub_cell_dir(cell, appendix).name == "hopper-medium-clean"
    inputs = experiments.sub_cell_inputs(cell, appendix)
    assert any(str(part).startswith("critic:") for part in inputs)
    assert any(str(part).startswith("successor:") for part in inputs)
    manifest = training.write_manifest(appendix)
    import json

    listed = json.loads(manifest.read_text())["successors"]
    assert list(listed) == ["successor/hopper-medium.pt"]
    assert listed["successor/hopper-medium.pt"]["summary"]["reward_r2"] <= 1
    from frozensteer import stats

    classes = stats.classify(table, 200, seed=0)
    assert set(classes["rule"]) == {c.rule for c in conds} - {"frozen"}
    assert "q-argmax-16" in experiments.summary(table, appendix)
