"""Which behaviour policy an actor acts like: distances on given states and along its own
episodes, on hand-made policies whose answer is known."""

import functools

import gymnasium as gym
import numpy as np
import pytest
import torch

from frozensteer.agents import GaussianPolicy, freeze, imitation
from frozensteer.evaluate import evaluate
from frozensteer.rules import Condition

SEEDS = [10, 11, 12]


def actor(seed):
    torch.manual_seed(seed)
    return freeze(GaussianPolicy(11, 3, hidden=(32, 32)))


def acting_like(policy):
    """A behaviour policy that executes exactly what ``policy`` executes."""
    return lambda obs: imitation._executed(policy.double(), obs)


def test_an_actor_is_at_distance_zero_from_itself_and_not_from_another():
    obs = np.random.default_rng(0).normal(size=(50, 11)).astype(np.float32)
    mine, other = actor(0), actor(1)
    distances = imitation.on_states(mine, {"self": acting_like(mine),
                                           "other": acting_like(other)}, obs)
    assert distances["self"] == 0.0
    assert distances["other"] > 0.01


def test_along_episodes_walks_the_frozen_condition_s_episodes():
    mine = actor(0)
    rows = imitation.along_episodes(mine, "hopper", {"self": acting_like(mine)}, SEEDS)
    frozen = evaluate(functools.partial(gym.make, "Hopper-v5"), mine, None, None,
                      [Condition("frozen")], SEEDS)
    ends = rows.groupby("seed")[["length", "terminated"]].first()
    assert ends["length"].tolist() == frozen["length"].tolist()
    assert ends["terminated"].tolist() == frozen["terminated"].tolist()
    # one row per step of every episode, numbered from 0, at distance 0 from itself
    steps = rows.groupby("seed")["step"].agg(["min", "max", "count"])
    assert (steps["min"] == 0).all()
    assert (steps["count"] == ends["length"]).all() and (steps["max"] == ends["length"] - 1).all()
    assert (rows["distance_self"] == 0).all()


def test_unknown_behaviour_levels_are_named(monkeypatch):
    monkeypatch.setattr(imitation, "pick_policies",
                        lambda env, profile: {"medium_step": 10, "expert_step": 20})
    with pytest.raises(ValueError, match="levels must be behaviour levels of hopper"):
        imitation.behaviour_policies("hopper", "smoke", ["random"])
