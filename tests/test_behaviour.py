"""Behaviour-policy training: checkpoints, the learning curve, and resuming a stopped run."""

import dataclasses

import numpy as np
import pytest

from frozensteer.data import behaviour
from frozensteer.profiles import get_profile


@pytest.fixture
def tmp_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FROZENSTEER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FROZENSTEER_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_training_resumes_where_it_stopped(tmp_home):
    smoke = get_profile("smoke")
    first = dataclasses.replace(smoke, sac_steps={"hopper": 1_000})
    out = behaviour.train_behaviour("hopper", first, progress=False)
    curve = behaviour.read_curve(out)
    assert [row["step"] for row in curve] == [1_000]
    assert (out / "checkpoints" / "step_0001000.pt").exists()

    # a longer budget under the same profile name picks up the saved state
    longer = dataclasses.replace(smoke, sac_steps={"hopper": 2_000})
    behaviour.train_behaviour("hopper", longer, progress=False)
    resumed = behaviour.read_curve(out)
    assert [row["step"] for row in resumed] == [1_000, 2_000]
    assert resumed[0] == curve[0]
    state = behaviour.state_dir("hopper", smoke)
    assert (state / "latest").read_text() == "step_0002000"
    assert [p.name for p in state.glob("step_*")] == ["step_0002000"]


def test_evaluation_is_paired_by_seed(tmp_home):
    import gymnasium as gym
    from frozensteer.rollout import run_episodes

    make = lambda: gym.make("Hopper-v5")  # noqa: E731
    zero = lambda obs, index: np.zeros((len(obs), 3))  # noqa: E731
    a = run_episodes(make, [1, 2, 3], zero)
    b = run_episodes(make, [1, 2, 3], zero)
    np.testing.assert_array_equal(a.returns, b.returns)
    assert len(set(a.returns.round(9))) == 3  # different seeds, different starts
    assert np.all(a.lengths > 0) and a.terminated.dtype == bool
