"""The experiment grid: studies, cells, conditions and episode seeds (PROTOCOL.md sections 3-5).

A study is a list of sub-cells (environment, dataset, prior quality); every sub-cell runs the
same 13 conditions for ``episodes_per_condition`` episodes, episode ``i`` of every condition
resetting with seed ``base_seed + i`` so that conditions are paired by start state.
"""

from __future__ import annotations

from dataclasses import dataclass

from frozensteer import compose
from frozensteer.profiles import Profile, get_profile

PRIOR_QUALITIES = ("clean", "degraded", "random")
STUDIES = ("main", "harder", "antmaze")


@dataclass(frozen=True)
class Condition:
    """One way of turning (actor, prior) into the executed policy."""

    rule: str  # frozen | prior-only | additive | poe | kl-reg
    alpha: float | None = None
    beta: float | None = None

    @property
    def label(self) -> str:
        if self.rule in ("frozen", "prior-only"):
            return self.rule
        if self.rule == "kl-reg":
            return f"kl-reg(beta={self.beta:.3g})"
        return f"{self.rule}(alpha={self.alpha:g})"

    def apply(self, actor: compose.DiagGaussian,
              prior: compose.DiagGaussian) -> compose.DiagGaussian:
        """The composed Gaussian of this condition."""
        if self.rule == "frozen":
            return compose.frozen(actor, prior)
        if self.rule == "prior-only":
            return compose.prior_only(actor, prior)
        if self.rule == "additive":
            return compose.additive(actor, prior, self.alpha)
        if self.rule == "poe":
            return compose.poe(actor, prior, self.alpha)
        return compose.kl_reg(actor, prior, self.beta)


def conditions(profile: Profile | str) -> list[Condition]:
    """The 13 conditions of a sub-cell: frozen, prior-only, additive(0.5), then PoE(alpha)
    and KL-Reg(alpha / (1 - alpha)) for every alpha of the profile."""
    alphas = get_profile(profile).alphas
    out = [Condition("frozen"), Condition("prior-only"), Condition("additive", alpha=0.5)]
    for alpha in alphas:
        out.append(Condition("poe", alpha=alpha))
        out.append(Condition("kl-reg", alpha=alpha, beta=compose.beta_from_alpha(alpha)))
    return out


@dataclass(frozen=True)
class SubCell:
    """One (environment, dataset, prior quality) combination of a study."""

    study: str
    env: str
    dataset: str
    prior_quality: str


def sub_cells(study: str, profile: Profile | str) -> list[SubCell]:
    """The sub-cells of ``study`` (main, harder or antmaze), in a fixed order."""
    prof = get_profile(profile)
    if study == "main":
        pairs = [(env, "medium") for env in prof.envs]
    elif study == "harder":
        pairs = [(env, level) for env in ("hopper", "halfcheetah", "walker2d")
                 for level in ("medium-replay", "medium-expert")]
    elif study == "antmaze":
        pairs = [("antmaze", maze) for maze in ("umaze", "umaze-diverse")]
    else:
        raise ValueError(f"study must be one of {list(STUDIES)}, got {study!r}")
    return [SubCell(study, env, dataset, quality)
            for env, dataset in pairs for quality in PRIOR_QUALITIES]


def episodes_per_condition(study: str, profile: Profile | str) -> int:
    prof = get_profile(profile)
    return prof.antmaze_episodes_per_condition if study == "antmaze" else prof.episodes_per_condition


def episode_seeds(study: str, profile: Profile | str) -> list[int]:
    """Reset seeds of the episodes of every condition of a sub-cell (shared: paired design)."""
    base = get_profile(profile).base_seed
    return [base + i for i in range(episodes_per_condition(study, profile))]


def study_size(study: str, profile: Profile | str) -> int:
    """Total episodes of a study: sub-cells x conditions x episodes per condition."""
    return (len(sub_cells(study, profile)) * len(conditions(profile))
            * episodes_per_condition(study, profile))
