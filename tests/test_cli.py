"""The frozensteer command: listings, and errors as one line instead of a traceback."""

import pytest

from frozensteer import cli
from frozensteer.data import behaviour


def test_list_of_an_empty_root(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))
    assert cli.main(["data", "list", "--profile", "quick"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "datasets-quick") in out and "(no datasets)" in out


def test_errors_are_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FROZENSTEER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FROZENSTEER_HOME", str(tmp_path / "home"))
    state = behaviour.state_dir("hopper", "smoke")
    state.mkdir(parents=True)
    (state / "lock").write_text("1")  # pid 1 is alive: another trainer holds the run
    assert cli.main(["data", "train-behaviour", "--env", "hopper", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("frozensteer: error:") and "being trained by process 1" in err


def test_bad_arguments_are_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        cli.main(["data", "build", "--env", "pong"])
    assert "invalid choice: 'pong'" in capsys.readouterr().err
