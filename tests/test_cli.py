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


@pytest.mark.parametrize("argv, message", [
    (["data", "list", "--threads", "0"], "expected an integer >= 1, got 0"),
    (["data", "list", "--threads", "-1"], "expected an integer >= 1, got -1"),
    (["run", "--study", "main", "--workers", "0"], "expected an integer >= 1, got 0"),
    ([], r"required: \{data,train,run,reproduce\}"),
    (["train"], r"required: \{actor,prior,critic,successor\}"),
    (["data"], r"required: \{train-behaviour,build,list\}"),
])
def test_bad_arguments_are_one_line_errors(argv, message, capsys):
    import re

    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_an_address_without_ray_is_refused(capsys):
    assert cli.main(["run", "--study", "main", "--address", "head:6379"]) == 2
    assert "is for the ray executor" in capsys.readouterr().err


def test_every_option_says_what_it_does_and_its_default():
    import argparse

    def parsers(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from parsers(sub)

    for parser in parsers(cli._parser()):
        for action in parser._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS or \
                    action.dest == "help":
                continue
            assert action.help, (parser.prog, action.dest)
            if not action.required and action.default not in (None, False):
                assert "default" in action.help, (parser.prog, action.dest)
