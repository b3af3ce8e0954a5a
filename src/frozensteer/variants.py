"""Robustness variants: a study run again with one choice of the protocol changed (the
robustness chapter).

Only the paper's abstract is public, so the protocol fixes choices the paper may have made
otherwise. A variant is a study of its own, named ``<study>-<what changed>``, whose sub-cells
are its base study's (those whose rows the change can move) and whose profile is the base
profile with the fields in ``changes`` replaced. Everything downstream reads the changed
profile, so each change reaches exactly the keys it should: the deployment goal's percentile
the cell inputs and the sub-cell key, the degraded prior's fractions the prior's file (named
for them, see ``training.policy_path``) and so its sha256, the training seed the actor's and
the prior's files, the episodes per condition the episode seeds. Episode ``i`` still resets with seed ``base_seed + i``: a variant's episodes
start where its base study's do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from frozensteer.profiles import Profile, get_profile

ALL_QUALITIES = ("clean", "degraded", "random")
# the studies run again with the actors and priors of each other training seed, as
# ``<study>-seed<k>`` (seed 0 is the study itself)
SEED_STUDIES = ("main", "harder", "antmaze", "appendix")
OTHER_TRAINING_SEEDS = (1, 2)


@dataclass(frozen=True)
class Variant:
    """``study`` with the profile fields that ``changes`` (of the base profile) returns
    replaced, on the sub-cells of the prior ``qualities`` whose rows the change can move;
    ``question`` says what it tests."""

    study: str
    changes: Callable[[Profile], dict]
    question: str
    qualities: tuple[str, ...] = ALL_QUALITIES


def _goal(percentile: float) -> Variant:
    return Variant("main", lambda prof: {"goal_percentile": float(percentile)},
                   f"the prior's deployment goal at the {percentile:g}th percentile of the "
                   "dataset's episode goals, instead of the 90th")


def _degraded(percent: float) -> Variant:
    return Variant("main", lambda prof: {"degraded_episode_fraction": percent / 100,
                                         "degraded_step_fraction": percent / 100},
                   f"degraded priors trained on {percent:g}% of the episodes for {percent:g}% "
                   "of the steps, instead of 5%", qualities=("degraded",))


VARIANTS: dict[str, Variant] = {
    **{f"main-goal-p{p:g}": _goal(p) for p in (50, 75, 99)},
    **{f"main-degraded-{pct:g}pct": _degraded(pct) for pct in (1, 25)},
    **{f"{study}-seed{seed}": Variant(
        study, lambda prof, seed=seed: {"training_seeds": (seed,)},
        f"the actors and priors of training seed {seed} instead of seed 0 (the random prior: "
        f"its initialisation seed {seed})")
       for study in SEED_STUDIES for seed in OTHER_TRAINING_SEEDS},
    "main-episodes-4x": Variant(
        "main", lambda prof: {"episodes_per_condition": 4 * prof.episodes_per_condition},
        "four times the episodes per condition (100 at the paper profile instead of 25; the "
        "first quarter are the main study's)"),
}


BASE_STUDIES = ("main", "harder", "antmaze", "appendix", "appendix-antmaze", "placebo")
# the base studies, then the robustness variants, each a study
STUDIES = BASE_STUDIES + tuple(VARIANTS)


def of_study(study: str) -> list[str]:
    """The variants whose base is ``study``, in their fixed order."""
    return [name for name, variant in VARIANTS.items() if variant.study == study]


def seed_studies(study: str) -> dict[int, str]:
    """Training seed -> the study that runs ``study``'s grid with that seed's policies."""
    if study not in SEED_STUDIES:
        raise ValueError(f"study must be one of {list(SEED_STUDIES)} to have seed variants, "
                         f"got {study!r}")
    return {0: study, **{seed: f"{study}-seed{seed}" for seed in OTHER_TRAINING_SEEDS}}


def base_study(study: str) -> str:
    """The study whose grid and conditions ``study`` runs: itself, or a variant's base."""
    return VARIANTS[study].study if study in VARIANTS else study


def changes(study: str, profile: Profile | str) -> dict:
    """The profile fields variant ``study`` changes, and their values, at ``profile`` (its
    base profile): the variant's own, and ``envs`` where the profile runs variants over
    ``variant_envs`` only."""
    prof = get_profile(profile)
    envs = tuple(e for e in prof.envs if prof.variant_envs is None or e in prof.variant_envs)
    return {**({"envs": envs} if envs != prof.envs else {}), **VARIANTS[study].changes(prof)}


def profile_for(study: str, profile: Profile | str) -> Profile:
    """The profile ``study`` runs at: ``profile``, with a variant's changes.  Idempotent: a
    profile already changed is returned as it is."""
    prof = get_profile(profile)
    if prof.variant is not None and prof.variant != study:
        raise ValueError(f"profile {prof.name!r} carries the changes of variant "
                         f"{prof.variant!r}, not of study {study!r}: pass the named profile")
    if study not in VARIANTS or prof.variant == study:
        return prof
    return dataclasses.replace(prof, **changes(study, prof), variant=study)


def changed_fields(profile: Profile) -> dict:
    """The fields in which ``profile`` differs from the named profile it derives from."""
    named = get_profile(profile.name)
    return {k: v for k, v in dataclasses.asdict(profile).items()
            if k != "variant" and v != getattr(named, k)}
