"""Behaviour-policy training: checkpoints, the learning curve, and resuming a stopped run."""

import dataclasses
import os
import shutil

import numpy as np
import pytest

from frozensteer.data import behaviour
from frozensteer.profiles import get_profile

pytestmark = pytest.mark.slow  # builds datasets or runs whole pipelines

# a few hundred SAC steps are enough to check the bookkeeping
SMOKE = dataclasses.replace(get_profile("smoke"), sac_eval_every=200)


@pytest.fixture
def tmp_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FROZENSTEER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FROZENSTEER_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_training_resumes_where_it_stopped(tmp_home, monkeypatch):
    profile = dataclasses.replace(SMOKE, sac_steps={"hopper": 400})
    monkeypatch.setattr(behaviour, "STATE_EVERY", 200)
    evaluate = behaviour.evaluate_sac
    calls = []

    def killed_at_second_evaluation(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(behaviour, "evaluate_sac", killed_at_second_evaluation)
    with pytest.raises(KeyboardInterrupt):
        behaviour.train_behaviour("hopper", profile, progress=False)
    out = behaviour.behaviour_dir("hopper", profile)
    curve = behaviour.read_curve(out)
    assert [row["step"] for row in curve] == [200]
    assert (out / "checkpoints" / "step_0000200.pt").exists()
    state = behaviour.state_dir("hopper", profile)
    assert not (state / "lock").exists()  # released on the way out

    monkeypatch.setattr(behaviour, "evaluate_sac", evaluate)
    behaviour.train_behaviour("hopper", profile, progress=False)
    resumed = behaviour.read_curve(out)
    assert [row["step"] for row in resumed] == [200, 400]
    assert resumed[0] == curve[0]
    assert (state / "latest").read_text() == "step_0000400"
    assert [p.name for p in state.glob("step_*")] == ["step_0000400"]


def test_a_finished_run_without_training_state_is_left_as_it_is(tmp_home, monkeypatch):
    # a fresh clone holds the committed checkpoints and curve but no cached training state
    profile = dataclasses.replace(SMOKE, sac_steps={"hopper": 200})
    behaviour.train_behaviour("hopper", profile, progress=False)
    out = behaviour.behaviour_dir("hopper", profile)
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    shutil.rmtree(behaviour.state_dir("hopper", profile))

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(behaviour, "SAC", no_training)
    assert behaviour.train_behaviour("hopper", profile, progress=False) == out
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_second_process_on_the_same_run_is_refused(tmp_home):
    profile = dataclasses.replace(SMOKE, sac_steps={"hopper": 200})
    state = behaviour.state_dir("hopper", profile)
    state.mkdir(parents=True)
    (state / "lock").write_text(str(os.getppid()))  # a live process holds it
    with pytest.raises(RuntimeError, match="being trained by process"):
        behaviour.train_behaviour("hopper", profile, progress=False)


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


def test_state_of_another_home_is_not_resumed(tmp_home, monkeypatch):
    profile = dataclasses.replace(SMOKE, sac_steps={"hopper": 200})
    behaviour.train_behaviour("hopper", profile, progress=False)
    # a fresh clone: same cache, new home without the learning curve
    monkeypatch.setenv("FROZENSTEER_HOME", str(tmp_home / "other-home"))
    out = behaviour.train_behaviour("hopper", profile, progress=False)
    assert [row["step"] for row in behaviour.read_curve(out)] == [200]


def test_a_raised_budget_continues_the_run_with_every_transition(tmp_home, monkeypatch):
    monkeypatch.setattr(behaviour, "STATE_EVERY", 200)
    first = dataclasses.replace(SMOKE, sac_steps={"hopper": 200})
    behaviour.train_behaviour("hopper", first, progress=False)
    state = behaviour.state_dir("hopper", first)
    before = behaviour._load_state(state, "hopper").replay_buffer
    raised = dataclasses.replace(SMOKE, sac_steps={"hopper": 400})
    behaviour.train_behaviour("hopper", raised, progress=False)
    out = behaviour.behaviour_dir("hopper", raised)
    assert [row["step"] for row in behaviour.read_curve(out)] == [200, 400]
    after = behaviour._load_state(state, "hopper").replay_buffer
    assert after.buffer_size == 400 and after.size() == 400
    assert np.array_equal(after.observations[:200], before.observations)  # run order kept


def test_a_grown_buffer_keeps_the_oldest_transitions_first():
    import gymnasium as gym

    space = gym.spaces.Box(-1, 1, (1,))
    buffer = behaviour.ReplayBuffer(3, space, space, device="cpu")
    for i in range(4):  # the 4th overwrites the 1st: the buffer holds 1, 2, 3
        value = np.array([[float(i)]])
        buffer.add(value, value + 0.5, value, np.array([0.0]), np.array([False]), [{}])
    grown = behaviour.grown_buffer(buffer, 5)
    assert grown.observations[:3, 0, 0].tolist() == [1.0, 2.0, 3.0]
    assert grown.next_observations[:3, 0, 0].tolist() == [1.5, 2.5, 3.5]
    assert (grown.pos, grown.full, grown.size()) == (3, False, 3)
    with pytest.raises(ValueError, match="size must be at least"):
        behaviour.grown_buffer(buffer, 2)
