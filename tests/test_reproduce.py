"""``frozensteer reproduce`` at the smoke profile on hopper: the plan, resuming, Ray."""

import dataclasses
import shutil

import pandas as pd
import pytest

from frozensteer import evaluate, experiments, reproduce
from frozensteer.agents import training
from frozensteer.agents.checkpoint import policy_id
from frozensteer.profiles import get_profile

pytestmark = pytest.mark.slow  # trains policies and runs a study

PROFILE = dataclasses.replace(get_profile("smoke"), envs=("hopper",))
LABELS = ["data hopper", "actor hopper/medium", "prior hopper/medium clean",
          "prior hopper/medium degraded", "study main"]


def main_plan():
    return reproduce.plan(PROFILE, ["main"], modes=["deterministic"], book=False)


@pytest.fixture(scope="module")
def reproduced(built, tmp_path_factory):
    """The main study reproduced from the data alone, in a home of its own."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in built["mp_env"].items():
            mp.setenv(key, value)
        mp.setenv("FROZENSTEER_HOME", str(home))
        steps = main_plan()
        before = reproduce.describe(steps, PROFILE)
        rows = reproduce.execute(steps, PROFILE, workers=1, progress=False)
        table = pd.read_csv(experiments.study_path("main", PROFILE))
    return {"home": home, "before": before, "rows": rows, "table": table}


def test_the_plan_orders_the_steps_and_knows_what_is_there(reproduced):
    assert [r["step"] for r in reproduced["before"]] == LABELS
    # the data were built by the fixture; nothing else existed in the empty home
    assert [r["present"] for r in reproduced["before"]] == [True, False, False, False, False]
    assert [r["status"] for r in reproduced["rows"]] == ["verified", "ran", "ran", "ran", "ran"]
    assert reproduced["rows"][1]["command"] == (
        "frozensteer train actor --env hopper --dataset medium --profile smoke")
    steps = main_plan()
    assert reproduce.needs(steps, 3) == [0] and reproduce.needs(steps, 4) == [0, 1, 2, 3]
    assert len(reproduced["table"]) == experiments.study_size("main", PROFILE)


def test_the_plan_lists_exactly_what_was_deleted_and_redoes_only_that(
        reproduced, env_of, monkeypatch):
    monkeypatch.setenv("FROZENSTEER_HOME", str(reproduced["home"]))
    steps = main_plan()
    assert all(r["present"] for r in reproduce.describe(steps, PROFILE))
    prior = training.policy_path("prior", "hopper", "medium", PROFILE, "degraded")
    weights = policy_id(prior)  # the digest of its weights, which the rows' keys hold
    prior.unlink()
    missing = [r["step"] for r in reproduce.describe(steps, PROFILE) if not r["present"]]
    assert missing == ["prior hopper/medium degraded"]
    calls = []
    real = evaluate.evaluate
    monkeypatch.setattr(evaluate, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    rows = reproduce.execute(steps, PROFILE, workers=1, progress=False)
    assert [r["status"] for r in rows] == ["verified"] * 3 + ["ran", "verified"]
    assert policy_id(prior) == weights  # the same seed trains the same prior ...
    assert not calls  # ... so every stored row is still valid: no episode ran again
    pd.testing.assert_frame_equal(pd.read_csv(experiments.study_path("main", PROFILE)),
                                  reproduced["table"])


def _home_with_policies(reproduced, home):
    """A home with a copy of the reproduced policies (and their scores), and no study."""
    shutil.copytree(reproduced["home"] / "artifacts", home / "artifacts")
    shutil.copytree(reproduced["home"] / "results" / "policies", home / "results" / "policies")
    return home


def test_an_interrupted_reproduction_resumes_to_identical_tables(
        reproduced, env_of, monkeypatch, tmp_path):
    monkeypatch.setenv("FROZENSTEER_HOME", str(_home_with_policies(reproduced, tmp_path)))
    real, calls = evaluate.evaluate, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second sub-cell: as if Ctrl-C came mid-study
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluate, "evaluate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reproduce.execute(main_plan(), PROFILE, workers=1, progress=False)
    monkeypatch.setattr(evaluate, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    rows = reproduce.execute(main_plan(), PROFILE, workers=1, progress=False)
    assert rows[-1]["status"] == "ran" and len(calls) == 2 + 2  # the first sub-cell was kept
    pd.testing.assert_frame_equal(pd.read_csv(experiments.study_path("main", PROFILE)),
                                  reproduced["table"])


def test_two_local_workers_train_side_by_side_to_the_same_files(
        reproduced, env_of, monkeypatch, tmp_path):
    monkeypatch.setenv("FROZENSTEER_HOME", str(_home_with_policies(reproduced, tmp_path)))
    priors = [training.policy_path("prior", "hopper", "medium", PROFILE, quality)
              for quality in ("clean", "degraded")]
    weights = [policy_id(p) for p in priors]
    for prior in priors:
        prior.unlink()  # two worker processes train them again, at the same time
    rows = reproduce.execute(main_plan(), PROFILE, workers=2, progress=False)
    assert [r["status"] for r in rows] == ["verified", "verified", "ran", "ran", "ran"]
    assert [policy_id(p) for p in priors] == weights
    pd.testing.assert_frame_equal(pd.read_csv(experiments.study_path("main", PROFILE)),
                                  reproduced["table"])


def test_the_ray_executor_trains_and_runs_to_the_same_tables(
        reproduced, env_of, monkeypatch, tmp_path):
    home = _home_with_policies(reproduced, tmp_path)
    monkeypatch.setenv("FROZENSTEER_HOME", str(home))
    clean = training.policy_path("prior", "hopper", "medium", PROFILE, "clean")
    weights = policy_id(clean)
    clean.unlink()  # a Ray task trains it again
    rows = reproduce.execute(main_plan(), PROFILE, executor="ray", progress=False)
    assert [r["status"] for r in rows] == ["verified", "verified", "ran", "verified", "ran"]
    assert policy_id(clean) == weights
    pd.testing.assert_frame_equal(pd.read_csv(experiments.study_path("main", PROFILE)),
                                  reproduced["table"])
    with pytest.raises(ValueError, match="executor must be one of"):
        reproduce.execute(main_plan(), PROFILE, executor="slurm", progress=False)


def test_the_cli_prints_the_plan_with_estimates(reproduced, env_of, monkeypatch, capsys):
    from frozensteer import cli, profiles

    monkeypatch.setenv("FROZENSTEER_HOME", str(reproduced["home"]))
    monkeypatch.setitem(profiles.PROFILES, "smoke", PROFILE)
    assert cli.main(["reproduce", "--profile", "smoke", "--study", "main", "--plan"]) == 0
    out = capsys.readouterr().out
    assert "study main (stochastic)" in out and "make book PROFILE=smoke" in out
    assert "present" in out and "to do" in out  # the stochastic rows and the book are not
    assert cli.main(["reproduce", "--address", "x:1", "--plan"]) == 2
    assert "--address x:1 needs --executor ray" in capsys.readouterr().err
