"""The pinned environment: exact pins, the same in pyproject.toml and environment.yml."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def test_every_direct_dependency_is_pinned_exactly():
    for requirement in pyproject_pins():
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[0-9][0-9A-Za-z.+]*", requirement), requirement


def test_jupyter_book_is_1x_and_mujoco_is_pinned():
    pins = dict(r.split("==") for r in pyproject_pins())
    assert pins["jupyter-book"].startswith("1.")
    assert "mujoco" in pins


def test_environment_yml_repeats_the_pins():
    listed = re.findall(r'^\s+- "([^"]+==[^"]+)"$', (ROOT / "environment.yml").read_text(),
                        flags=re.M)
    assert listed == pyproject_pins()


def test_constraints_agree_with_the_pins():
    constraints = dict(line.split("==", 1) for line in
                       (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    normalise = lambda name: re.sub(r"[-_.]+", "-", name).lower()  # noqa: E731
    constraints = {normalise(k): v for k, v in constraints.items()}
    for requirement in pyproject_pins():
        name, version = requirement.split("==")
        assert constraints[normalise(name.split("[")[0])] == version, requirement


def test_citation_cites_the_package_version():
    import yaml

    import frozensteer

    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert str(citation["version"]) == frozensteer.__version__
