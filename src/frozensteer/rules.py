"""The rule registry: how a condition turns the frozen actor (and a prior) into a policy.

One table, ``RULES``, maps a rule's name to a ``Rule``: the function that composes, the name
of the coefficient it takes (``alpha``, ``beta`` or none), and the extra frozen networks it
needs (a critic, features, ...). A rule's function gets a ``StepContext`` (the actor's and
the prior's distributions for a batch of observations, the observations, the goal, and the
extra networks) and the coefficient, one value per row, and returns a ``DiagGaussian``. A
new rule is one ``register`` call; the engine needs no change.

``Condition`` names a rule and its coefficient and is checked against the registry when it
is made: an unknown rule, or a missing or unexpected coefficient, raises ``ValueError``
naming the rule and the known ones.

The paper's five rules (protocol chapter, "Policies and composition rules") are registered
here; their algebra is ``frozensteer.compose``.  The appendix baselines' critic-guided rules
are registered by ``frozensteer.baselines``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from frozensteer import compose
from frozensteer.compose import DiagGaussian

COEFFICIENTS = ("alpha", "beta")


@dataclass(frozen=True)
class StepContext:
    """What a rule sees at one step, for a batch of rows."""

    actor: DiagGaussian
    prior: DiagGaussian | None  # None when no rule of the batch uses the prior
    obs: Any = None
    goal: Any = None
    networks: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """A composition rule: ``compose(context, coefficient) -> DiagGaussian``."""

    name: str
    compose: Callable[[StepContext, Any], DiagGaussian]
    coefficient: str | None = None  # "alpha", "beta" or None
    needs: tuple[str, ...] = ()  # extra frozen networks, looked up in context.networks
    uses_prior: bool = True
    # coefficients a condition may carry for the record without the rule using them
    # (KL-Reg's matching PoE alpha)
    records: tuple[str, ...] = ()


RULES: dict[str, Rule] = {}


def register(name: str, *, coefficient: str | None = None, needs: tuple[str, ...] = (),
             uses_prior: bool = True, records: tuple[str, ...] = ()):
    """Decorator: register ``fn(context, coefficient)`` as the rule ``name``."""
    if coefficient is not None and coefficient not in COEFFICIENTS:
        raise ValueError(f"coefficient must be one of {list(COEFFICIENTS)} or None, got "
                         f"{coefficient!r}")

    def add(fn):
        if name in RULES:
            raise ValueError(f"rule {name!r} is already registered")
        RULES[name] = Rule(name, fn, coefficient, tuple(needs), uses_prior, tuple(records))
        return fn

    return add


def get_rule(name: str) -> Rule:
    """The registered rule called ``name``; ValueError naming the known ones otherwise."""
    if name not in RULES:
        raise ValueError(f"unknown rule {name!r}: the known rules are {sorted(RULES)} "
                         "(names are lower case)")
    return RULES[name]


@register("frozen", uses_prior=False)
def _frozen(ctx: StepContext, _coefficient) -> DiagGaussian:
    return ctx.actor


@register("prior-only")
def _prior_only(ctx: StepContext, _coefficient) -> DiagGaussian:
    return compose.prior_only(ctx.actor, ctx.prior)


@register("additive", coefficient="alpha")
def _additive(ctx: StepContext, alpha) -> DiagGaussian:
    return compose.additive(ctx.actor, ctx.prior, alpha)


@register("poe", coefficient="alpha")
def _poe(ctx: StepContext, alpha) -> DiagGaussian:
    return compose.poe(ctx.actor, ctx.prior, alpha)


@register("kl-reg", coefficient="beta", records=("alpha",))
def _kl_reg(ctx: StepContext, beta) -> DiagGaussian:
    return compose.kl_reg(ctx.actor, ctx.prior, beta)


def row_generators(obs, salt: str) -> list:
    """One numpy generator per row of ``obs`` (a torch tensor), seeded by the row's bytes
    and ``salt``: a rule that draws noise gets the same draws for the same state whatever
    else shares the batch, so its rows do not depend on the batch."""
    import zlib

    import numpy as np

    words = np.ascontiguousarray(obs.detach().cpu().numpy().astype(np.float64)).view(np.uint32)
    tag = zlib.crc32(salt.encode())
    return [np.random.default_rng([tag, *row.tolist()]) for row in words]


@dataclass(frozen=True)
class Condition:
    """One way of turning (actor, prior) into the executed policy: a registered rule and
    the coefficient it takes.  KL-Reg takes ``beta`` and may also carry the PoE ``alpha``
    it matches (then ``beta`` must be ``alpha / (1 - alpha)``), which the tables record."""

    rule: str
    alpha: float | None = None
    beta: float | None = None

    def __post_init__(self):
        rule = get_rule(self.rule)
        given = {name for name in COEFFICIENTS if getattr(self, name) is not None}
        wanted = {rule.coefficient} - {None}
        allowed = wanted | set(rule.records)
        takes = f"takes {rule.coefficient}" if rule.coefficient else "takes no coefficient"
        if wanted - given:
            raise ValueError(f"rule {self.rule!r} {takes}, but none was given: e.g. "
                             f"Condition({self.rule!r}, {rule.coefficient}=0.5)")
        if given - allowed:
            raise ValueError(f"rule {self.rule!r} {takes}, got {sorted(given - allowed)}")
        for name in given:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} of {self.rule!r} must be a number, got {value!r}")
        if self.alpha is not None:
            compose._check_alpha(self.alpha)
        if self.beta is not None:
            compose._check_beta(self.beta)
        if self.rule == "kl-reg" and self.alpha is not None and \
                self.beta != compose.beta_from_alpha(self.alpha):
            raise ValueError(f"kl-reg with alpha={self.alpha} needs beta = alpha / (1 - alpha)"
                             f" = {compose.beta_from_alpha(self.alpha)!r}, got {self.beta!r}")

    @property
    def spec(self) -> Rule:
        return get_rule(self.rule)

    @property
    def coefficient(self) -> float | None:
        """The value of the coefficient the rule takes (None for a rule without one)."""
        name = self.spec.coefficient
        return None if name is None else getattr(self, name)

    @property
    def label(self) -> str:
        if self.rule == "kl-reg":
            return f"kl-reg(beta={self.beta:.3g})"
        name = self.spec.coefficient
        return self.rule if name is None else f"{self.rule}({name}={getattr(self, name):g})"

    def apply(self, actor: DiagGaussian, prior: DiagGaussian | None = None, *,
              obs=None, goal=None, networks: Mapping[str, Any] | None = None
              ) -> DiagGaussian:
        """The composed Gaussian of this condition."""
        return self.spec.compose(StepContext(actor, prior, obs, goal, networks or {}),
                                 self.coefficient)


def step_seconds(condition: Condition, actor, prior, obs, goal=None,
                 networks: Mapping[str, Any] | None = None, *, steps: int = 50,
                 repeats: int = 3) -> float:
    """What one step of ``condition`` costs on the batch ``obs``: the best, over ``repeats``
    timings of ``steps`` steps, of the mean wall seconds of the actor's forward pass, the
    prior's (where the rule uses it) and the composition, without gradients."""
    import time

    import torch

    if steps < 1 or repeats < 1:
        raise ValueError(f"steps and repeats must be >= 1, got {steps} and {repeats}")
    best = float("inf")
    with torch.no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(steps):
                condition.apply(actor(obs), prior(obs, goal) if condition.spec.uses_prior
                                else None, obs=obs, goal=goal, networks=networks)
            best = min(best, (time.perf_counter() - start) / steps)
    return best


# the appendix baselines and the placebo conditions register their rules on import
from frozensteer import baselines, placebo, successor  # noqa: E402,F401
