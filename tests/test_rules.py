"""The rule registry: names, coefficients, and a new rule that needs no engine change."""

import functools

import gymnasium as gym
import numpy as np
import pytest
import torch

from frozensteer import rules
from frozensteer.agents import GaussianPolicy, freeze
from frozensteer.compose import DiagGaussian
from frozensteer.evaluate import evaluate
from frozensteer.rules import Condition


@pytest.mark.parametrize("make, message", [
    (lambda: Condition("PoE", 0.3), r"unknown rule 'PoE': the known rules are \['additive'"),
    (lambda: Condition("banana", 0.9), r"unknown rule 'banana'"),
    (lambda: Condition("poe"), r"rule 'poe' takes alpha, but none was given"),
    (lambda: Condition("kl-reg", alpha=0.3), r"rule 'kl-reg' takes beta, but none was given"),
    (lambda: Condition("frozen", alpha=0.5), r"rule 'frozen' takes no coefficient, got \['alpha'\]"),
    (lambda: Condition("poe", alpha=0.3, beta=1.0), r"rule 'poe' takes alpha, got \['beta'\]"),
    (lambda: Condition("poe", alpha=1.5), r"alpha must lie in \[0, 1\], got 1.5"),
    (lambda: Condition("poe", alpha="0.3"), r"alpha of 'poe' must be a number"),
    (lambda: Condition("kl-reg", alpha=0.5, beta=2.0), r"needs beta = alpha / \(1 - alpha\)"),
])
def test_bad_conditions_are_refused_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_every_known_rule_names_its_coefficient():
    assert {name: rule.coefficient for name, rule in rules.RULES.items()} == {
        "frozen": None, "prior-only": None, "additive": "alpha", "poe": "alpha",
        "kl-reg": "beta", "q-argmax-16": None, "q-softmax-16": None, "q-argmax-64": None,
        "q-softmax-64": None, "q-gradient": None, "placebo-tiny": None, "placebo-kl": "alpha",
        "sf-gpi": None}
    assert rules.RULES["sf-gpi"].needs == ("successor",) and rules.RULES["sf-gpi"].uses_prior
    assert all(rules.RULES[name].needs == ("critic",) and not rules.RULES[name].uses_prior
               for name in rules.RULES if name.startswith("q-"))
    assert Condition("kl-reg", alpha=0.5, beta=1.0).coefficient == 1.0
    assert Condition("frozen").coefficient is None


def test_a_registered_rule_with_its_own_network_runs_through_the_engine(monkeypatch):
    monkeypatch.setattr(rules, "RULES", dict(rules.RULES))
    seen = []

    @rules.register("shift", coefficient="alpha", needs=("offset",), uses_prior=False)
    def shift(ctx, alpha):
        seen.append(ctx.prior)
        moved = ctx.actor.mean + alpha * ctx.networks["offset"](ctx.obs)
        return DiagGaussian(moved, ctx.actor.std)

    torch.manual_seed(0)
    actor = freeze(GaussianPolicy(11, 3, hidden=(16, 16)))
    offset = torch.nn.Linear(11, 3)
    make = functools.partial(gym.make, "Hopper-v5")
    conds = [Condition("frozen"), Condition("shift", alpha=0.0), Condition("shift", alpha=0.5)]
    rows = evaluate(make, actor, None, None, conds, [1, 2], networks={"offset": offset})
    returns = rows.groupby("condition")["return"].apply(np.array)
    np.testing.assert_array_equal(returns[0], returns[1])  # alpha 0: the frozen actor
    assert not np.array_equal(returns[0], returns[2])
    assert seen and all(p is None for p in seen)  # no prior was computed for it
    with pytest.raises(ValueError, match=r"rule 'shift' needs the frozen networks \['offset'\]"):
        evaluate(make, actor, None, None, conds, [1])
    with pytest.raises(ValueError, match="already registered"):
        rules.register("shift")(shift)


def test_step_seconds_calls_the_prior_only_for_a_rule_that_uses_it():
    torch.manual_seed(0)
    actor = freeze(GaussianPolicy(11, 3, hidden=(16, 16)))
    calls = []

    def prior(obs, goal):
        calls.append(len(obs))
        return actor(obs)

    obs = torch.zeros(4, 11)
    assert rules.step_seconds(Condition("frozen"), actor, prior, obs, steps=2, repeats=1) > 0
    assert calls == []
    rules.step_seconds(Condition("poe", alpha=0.5), actor, prior, obs, steps=2, repeats=1)
    assert calls == [4, 4]
    with pytest.raises(ValueError, match="steps and repeats must be >= 1"):
        rules.step_seconds(Condition("frozen"), actor, prior, obs, steps=0)
