"""A chapter run away from the repository's results stops with an error that says why."""

import pytest

from frozensteer import experiments, paths
from frozensteer.profiles import get_profile


def test_missing_results_name_the_folder_the_home_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("FROZENSTEER_HOME", str(tmp_path))
    with pytest.raises(paths.MissingResults) as err:
        experiments.read_results("main", "paper")
    message = str(err.value)
    assert str(tmp_path / "results" / "paper") in message
    assert f"FROZENSTEER_HOME={tmp_path}" in message
    assert "clone" in message and "frozensteer reproduce --profile paper" in message
    with pytest.raises(paths.MissingResults, match="datasets"):
        paths.require_results(get_profile("paper"), "datasets")


def test_present_results_and_the_smoke_profile_pass(tmp_path, monkeypatch):
    monkeypatch.setenv("FROZENSTEER_HOME", str(tmp_path))
    # smoke chapters build what they need: an empty home is their starting point
    assert paths.require_results(get_profile("smoke")) == tmp_path / "results" / "smoke"
    assert experiments.read_results("main", "smoke", require=True)[0].empty
    (tmp_path / "results" / "paper").mkdir(parents=True)
    rows, missing = experiments.read_results("main", "paper")  # there, but not yet run
    assert rows.empty and missing
    # the plan of `frozensteer reproduce` reads a profile that has nothing yet
    assert experiments.read_results("main", "quick", require=False)[1]
    with pytest.raises(ValueError, match="part must be one of"):
        paths.require_results(get_profile("paper"), "figures")
