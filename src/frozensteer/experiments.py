"""The experiment grid: studies, cells, conditions and episode seeds (PROTOCOL.md sections 3-5).

A study is a list of sub-cells (environment, dataset, prior quality); every sub-cell runs the
same 13 conditions for ``episodes_per_condition`` episodes, episode ``i`` of every condition
resetting with seed ``base_seed + i`` so that conditions are paired by start state.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from frozensteer import __version__, compose, paths, provenance
from frozensteer.profiles import Profile, get_profile

PRIOR_QUALITIES = ("clean", "degraded", "random")
STUDIES = ("main", "harder", "antmaze")
RANDOM_PRIOR_SEED = 0  # the seeded initialisation every random prior starts from


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


# --- running the grid -----------------------------------------------------------------------
#
# A sub-cell's rows are cached in results/<profile>/<study>/<env>-<dataset>-<quality>.csv
# beside a .key file: the hash of everything the rows depend on (actor and prior files,
# dataset content, conditions, seeds, mode, code version).  A study is the concatenation of
# its sub-cells in grid order; finished sub-cells are never recomputed, so a killed run
# resumes where it stopped and ends with the same table.


def sub_cell_path(cell: SubCell, profile: Profile | str, mode: str = "deterministic") -> Path:
    suffix = "" if mode == "deterministic" else f"-{mode}"
    return (paths.results() / get_profile(profile).name / cell.study
            / f"{cell.env}-{cell.dataset}-{cell.prior_quality}{suffix}.csv")


def prepare(cell: SubCell, profile: Profile | str) -> dict:
    """Everything a sub-cell's episodes need, loaded: policies, goal, references, hashes."""
    from frozensteer.agents import freeze, load_actor, load_prior
    from frozensteer.agents.prior import deployment_goal, train_prior
    from frozensteer.agents.training import dataset_key, policy_path
    from frozensteer.data import datasets
    from frozensteer.data.transitions import from_minari

    prof = get_profile(profile)
    actor_file = policy_path("actor", cell.env, cell.dataset, prof)
    missing = [p for p in [actor_file] if not p.exists()]
    prior_file = None
    if cell.prior_quality != "random":
        prior_file = policy_path("prior", cell.env, cell.dataset, prof, cell.prior_quality)
        missing += [p for p in [prior_file] if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"sub-cell {cell} needs {', '.join(map(str, missing))}: train it with "
            f"`frozensteer train actor|prior --env {cell.env} --dataset {cell.dataset} "
            f"--profile {prof.name}`")
    dataset_id = datasets.local_id(cell.env, cell.dataset)
    dataset = datasets.load_dataset(dataset_id, prof)
    transitions = from_minari(dataset)
    if prior_file is None:
        prior, _ = train_prior(transitions, "random", prof, seed=RANDOM_PRIOR_SEED)
        prior, prior_id = freeze(prior), f"random-init-seed-{RANDOM_PRIOR_SEED}"
    else:
        prior, prior_id = load_prior(prior_file, env=cell.env), provenance.sha256(prior_file)
    meta = dataset.storage.metadata
    rng = np.random.default_rng(prof.selector_seed)
    states = transitions.observations[
        rng.choice(len(transitions), size=min(prof.selector_states, len(transitions)),
                   replace=False)]
    return {"actor": load_actor(actor_file, env=cell.env), "prior": prior, "states": states,
            "goal": deployment_goal(transitions, prof.goal_percentile),
            "ref_min_score": meta["ref_min_score"], "ref_max_score": meta["ref_max_score"],
            "dataset_id": dataset_id, "dataset_key": dataset_key(dataset),
            "actor_sha256": provenance.sha256(actor_file), "prior_id": prior_id}


def run_sub_cell(cell: SubCell, profile: Profile | str, *, mode: str = "deterministic",
                 workers: int = 1, progress: bool | str = False) -> pd.DataFrame:
    """The rows of one sub-cell: read from its cache, or run and cached atomically."""
    from frozensteer.data.envs import gym_id
    from frozensteer.evaluate import evaluate

    prof = get_profile(profile)
    inputs = prepare(cell, prof)
    seeds = episode_seeds(cell.study, prof)
    conds = conditions(prof)
    key = _key(cell, prof, mode, inputs, conds, seeds)
    path = sub_cell_path(cell, prof, mode)
    key_file = path.with_suffix(".key")
    if path.exists() and key_file.exists() and key_file.read_text().strip() == key:
        return pd.read_csv(path)
    rows = evaluate(functools.partial(gym.make, gym_id(cell.env)), inputs["actor"],
                    inputs["prior"], inputs["goal"], conds, seeds, mode=mode, workers=workers,
                    progress=progress)
    kl = kl_to_actor(inputs["actor"], inputs["prior"], inputs["goal"], inputs["states"], conds)
    rows.insert(rows.columns.get_loc("beta") + 1, "kl_to_actor", kl[rows["condition"]])
    span = inputs["ref_max_score"] - inputs["ref_min_score"]
    rows.insert(0, "study", cell.study)
    rows.insert(1, "env", cell.env)
    rows.insert(2, "dataset", cell.dataset)
    rows.insert(3, "prior_quality", cell.prior_quality)
    rows.insert(rows.columns.get_loc("return") + 1, "score",
                100 * (rows["return"] - inputs["ref_min_score"]) / span)
    rows = rows.assign(mode=mode, profile=prof.name, code_version=__version__,
                       dataset_id=inputs["dataset_id"], dataset_key=inputs["dataset_key"],
                       actor_sha256=inputs["actor_sha256"], prior_id=inputs["prior_id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    rows.to_csv(tmp, index=False)
    key_file.unlink(missing_ok=True)  # a crash between the two writes leaves no stale key
    tmp.replace(path)
    key_file.write_text(key + "\n")
    return pd.read_csv(path)


@torch.no_grad()
def kl_to_actor(actor, prior, goal, states, conds: list[Condition]) -> np.ndarray:
    """Per condition, the mean over ``states`` of KL(composed || actor), in nats: how far
    the rule moves the policy (the KL-budget selector's D(alpha) for PoE)."""
    obs = torch.as_tensor(states, dtype=torch.float32)
    a = actor(obs)
    g = prior(obs, torch.as_tensor(goal, dtype=torch.float32).expand(len(obs), -1))
    a, g = (compose.DiagGaussian(d.mean.double(), d.std.double()) for d in (a, g))
    return np.array([float(compose.kl(c.apply(a, g), a).mean()) for c in conds])


def _key(cell, prof, mode, inputs, conds, seeds) -> str:
    blob = json.dumps([cell.study, cell.env, cell.dataset, cell.prior_quality, mode,
                       [c.label for c in conds], seeds, inputs["dataset_key"],
                       inputs["actor_sha256"], inputs["prior_id"],
                       [float(g) for g in inputs["goal"]], __version__])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_study(study: str, profile: Profile | str, *, mode: str = "deterministic",
              workers: int = 2, progress: bool = True) -> pd.DataFrame:
    """Every sub-cell of ``study`` (cached ones read back), as one tidy table."""
    prof = get_profile(profile)
    cells = sub_cells(study, prof)
    tables = []
    for cell in tqdm(cells, desc=f"{study} study", unit="sub-cell", disable=not progress):
        tables.append(run_sub_cell(cell, prof, mode=mode, workers=workers,
                                   progress=progress and f"{cell.env} {cell.dataset} "
                                                         f"{cell.prior_quality}"))
    return pd.concat(tables, ignore_index=True)
