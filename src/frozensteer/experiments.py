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
import time
from collections.abc import Sequence
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
ROWS_VERSION = 2  # bumped whenever the columns or content of a sub-cell's rows change


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
        return apply_rule(self.rule, actor, prior, self.alpha, self.beta)


def apply_rule(rule: str, actor: compose.DiagGaussian, prior: compose.DiagGaussian,
               alpha=None, beta=None) -> compose.DiagGaussian:
    """Compose with ``rule``; ``alpha`` and ``beta`` may be arrays (one coefficient per row)."""
    if rule == "frozen":
        return compose.frozen(actor, prior)
    if rule == "prior-only":
        return compose.prior_only(actor, prior)
    if rule == "additive":
        return compose.additive(actor, prior, alpha)
    if rule == "poe":
        return compose.poe(actor, prior, alpha)
    return compose.kl_reg(actor, prior, beta)


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


def actor_cells(profile: Profile | str) -> list[tuple[str, str]]:
    """Every (environment, dataset) of the MuJoCo studies: each needs an actor and priors."""
    return list(dict.fromkeys((c.env, c.dataset) for study in ("main", "harder")
                              for c in sub_cells(study, profile)))


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


def _policy_files(cell: SubCell, prof: Profile) -> tuple[Path, Path | None]:
    from frozensteer.agents.training import policy_path

    actor = policy_path("actor", cell.env, cell.dataset, prof)
    prior = (None if cell.prior_quality == "random" else
             policy_path("prior", cell.env, cell.dataset, prof, cell.prior_quality))
    missing = [str(p) for p in (actor, prior) if p is not None and not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"sub-cell {cell} needs {', '.join(missing)}: train it with `frozensteer train "
            f"actor|prior --env {cell.env} --dataset {cell.dataset} --profile {prof.name}`")
    return actor, prior


def sub_cell_key(cell: SubCell, profile: Profile | str, mode: str = "deterministic") -> str:
    """Hash of everything a sub-cell's rows depend on (cheap: no data is read)."""
    from frozensteer.agents.training import dataset_key
    from frozensteer.data import datasets

    prof = get_profile(profile)
    actor, prior = _policy_files(cell, prof)
    dataset = datasets.load_dataset(datasets.local_id(cell.env, cell.dataset), prof)
    blob = json.dumps([cell.study, cell.env, cell.dataset, cell.prior_quality, mode,
                       [c.label for c in conditions(prof)], episode_seeds(cell.study, prof),
                       prof.goal_percentile, prof.selector_states, prof.selector_seed,
                       dataset_key(dataset), provenance.sha256(actor),
                       _prior_id(prior), __version__, ROWS_VERSION]
                      # a shortened horizon (smoke only) joins the key; None leaves it as it was
                      + ([prof.eval_horizon] if prof.eval_horizon is not None else []))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _prior_id(prior: Path | None) -> str:
    return f"random-init-seed-{RANDOM_PRIOR_SEED}" if prior is None else provenance.sha256(prior)


def compute_sub_cell(cell: SubCell, profile: Profile | str, mode: str = "deterministic",
                     workers: int = 1, progress: bool | str = False) -> pd.DataFrame:
    """Run every condition and episode of a sub-cell; one tidy row per episode (no cache)."""
    from frozensteer.agents import freeze, load_actor, load_prior
    from frozensteer.agents.prior import deployment_goal, train_prior
    from frozensteer.agents.training import dataset_key, hindsight_goals
    from frozensteer.data import datasets
    from frozensteer.data.envs import gym_id
    from frozensteer.data.transitions import from_minari
    from frozensteer.evaluate import evaluate

    prof = get_profile(profile)
    actor_file, prior_file = _policy_files(cell, prof)
    dataset_id = datasets.local_id(cell.env, cell.dataset)
    dataset = datasets.load_dataset(dataset_id, prof)
    transitions = from_minari(dataset)
    actor = load_actor(actor_file, env=cell.env)
    if prior_file is None:
        prior = freeze(train_prior(transitions, "random", prof, seed=RANDOM_PRIOR_SEED,
                                   goals=hindsight_goals(cell.env, transitions))[0])
    else:
        prior = load_prior(prior_file, env=cell.env)
    states = transitions.observations[np.random.default_rng(prof.selector_seed).choice(
        len(transitions), size=min(prof.selector_states, len(transitions)), replace=False)]
    conds = conditions(prof)

    if cell.env == "antmaze":  # each episode's observations carry its goal
        from frozensteer.data import antmaze

        make_env = functools.partial(antmaze.eval_env, prof.eval_horizon or antmaze.HORIZON)
        goal, distance_goal = None, antmaze.eval_goal()
    else:
        limit = {} if prof.eval_horizon is None else {"max_episode_steps": prof.eval_horizon}
        make_env = functools.partial(gym.make, gym_id(cell.env), **limit)
        goal = distance_goal = deployment_goal(transitions, prof.goal_percentile)
    rows = evaluate(make_env, actor, prior, goal, conds, episode_seeds(cell.study, prof),
                    mode=mode, workers=workers, progress=progress)
    kl, shift = distance_to_actor(actor, prior, distance_goal, states, conds)
    rows.insert(rows.columns.get_loc("beta") + 1, "kl_to_actor", kl[rows["condition"]])
    rows.insert(rows.columns.get_loc("kl_to_actor") + 1, "action_shift",
                shift[rows["condition"]])
    for i, (name, value) in enumerate(zip(("study", "env", "dataset", "prior_quality"),
                                          (cell.study, cell.env, cell.dataset,
                                           cell.prior_quality))):
        rows.insert(i, name, value)
    meta = dataset.storage.metadata
    span = meta["ref_max_score"] - meta["ref_min_score"]
    rows.insert(rows.columns.get_loc("return") + 1, "score",
                100.0 * rows["success"] if cell.env == "antmaze" else
                100 * (rows["return"] - meta["ref_min_score"]) / span)
    return rows.assign(mode=mode, profile=prof.name, code_version=__version__,
                       dataset_id=dataset_id, dataset_key=dataset_key(dataset),
                       actor_sha256=provenance.sha256(actor_file),
                       prior_id=_prior_id(prior_file))


@torch.no_grad()
def distance_to_actor(actor, prior, goal, states, conds: list[Condition]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per condition, how far the rule moves the policy from the actor, averaged over
    ``states``: KL(composed || actor) in nats (the KL-budget selector's D(alpha) for PoE),
    and the root-mean-square distance between the composed and the actor's mean actions
    (action units, per action dimension, before clipping)."""
    obs = torch.as_tensor(states, dtype=torch.float32)
    a = actor(obs)
    g = prior(obs, torch.as_tensor(goal, dtype=torch.float32).expand(len(obs), -1))
    a, g = (compose.DiagGaussian(d.mean.double(), d.std.double()) for d in (a, g))
    composed = [c.apply(a, g) for c in conds]
    kl = np.array([float(compose.kl(d, a).mean()) for d in composed])
    shift = np.array([float(((d.mean - a.mean) ** 2).mean().sqrt()) for d in composed])
    return kl, shift


def cached_rows(cell: SubCell, profile: Profile | str, mode: str, key: str
                ) -> pd.DataFrame | None:
    path = sub_cell_path(cell, profile, mode)
    key_file = path.with_suffix(".key")
    if path.exists() and key_file.exists() and key_file.read_text().strip() == key:
        return pd.read_csv(path)
    return None


def store_rows(cell: SubCell, profile: Profile | str, mode: str, key: str,
               rows: pd.DataFrame) -> pd.DataFrame:
    """Write a sub-cell's rows and key atomically; return them as read back."""
    path = sub_cell_path(cell, profile, mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    key_file = path.with_suffix(".key")
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    rows.to_csv(tmp, index=False)
    key_file.unlink(missing_ok=True)  # a crash between the two writes leaves no stale key
    tmp.replace(path)
    key_file.write_text(key + "\n")
    return pd.read_csv(path)


def run_sub_cell(cell: SubCell, profile: Profile | str, *, mode: str = "deterministic",
                 workers: int = 1, progress: bool | str = False) -> pd.DataFrame:
    """The rows of one sub-cell: read from its cache, or run and cached atomically."""
    key = sub_cell_key(cell, profile, mode)
    cached = cached_rows(cell, profile, mode, key)
    if cached is not None:
        return cached
    return store_rows(cell, profile, mode, key,
                      compute_sub_cell(cell, profile, mode, workers, progress))


EXECUTORS = ("local", "ray")


def run_study(study: str, profile: Profile | str, *, mode: str = "deterministic",
              executor: str = "local", address: str | None = None, workers: int = 2,
              envs: Sequence[str] | None = None, datasets: Sequence[str] | None = None,
              progress: bool = True) -> pd.DataFrame:
    """Every sub-cell of ``study`` (or of its ``envs`` and ``datasets`` only) as one tidy
    table, in grid order.

    Cached sub-cells are read back; the others run on ``executor``: ``local`` (one sub-cell
    at a time, its conditions split over ``workers`` processes) or ``ray`` (one Ray task
    per sub-cell on the cluster at ``address``, or a local Ray instance if None; every node
    needs this checkout, its artifacts and datasets at the same paths).  Each finished
    sub-cell is stored at once, so an interrupted run resumes where it stopped.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {list(EXECUTORS)}, got {executor!r}")
    prof = get_profile(profile)
    cells = sub_cells(study, prof)
    for name, wanted in (("env", envs), ("dataset", datasets)):
        if wanted is None:
            continue
        present = {getattr(cell, name) for cell in cells}
        unknown = sorted(set(wanted) - present)
        if unknown:
            raise ValueError(f"{name}s {unknown} are not in the {study} study, whose {name}s "
                             f"are {sorted(present)}")
        cells = [cell for cell in cells if getattr(cell, name) in wanted]
    keys = [sub_cell_key(cell, prof, mode) for cell in cells]
    tables = [cached_rows(cell, prof, mode, key) for cell, key in zip(cells, keys)]
    todo = [i for i, table in enumerate(tables) if table is None]
    bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc=f"{study} study",
               unit="sub-cell", disable=not progress)
    if executor == "local":
        for i in todo:
            rows = compute_sub_cell(cells[i], prof, mode, workers,
                                    progress and f"{cells[i].env} {cells[i].dataset} "
                                                 f"{cells[i].prior_quality}")
            tables[i] = store_rows(cells[i], prof, mode, keys[i], rows)
            bar.update()
    elif todo:
        for i, rows in _ray_map(todo, cells, prof, mode, address):
            tables[i] = store_rows(cells[i], prof, mode, keys[i], rows)
            bar.update()
    bar.close()
    return pd.concat(tables, ignore_index=True)


def _ray_map(todo: list[int], cells: list[SubCell], prof: Profile, mode: str,
             address: str | None):
    """Yield (index, rows) as Ray finishes each sub-cell."""
    import ray

    passed = ("FROZENSTEER_HOME", "FROZENSTEER_CACHE", "MINARI_DATASETS_PATH")
    env_vars = {name: os.environ[name] for name in passed if name in os.environ}
    env_vars.setdefault("FROZENSTEER_HOME", str(paths.home()))
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, runtime_env={"env_vars": env_vars},
                 include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(compute_sub_cell)
        pending = {task.remote(cells[i], prof, mode): i for i in todo}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            yield pending.pop(done[0]), ray.get(done[0])
    finally:
        if started:
            ray.shutdown()


def build_studies(profile: Profile | str, studies: Sequence[str],
                  modes: Sequence[str] = ("deterministic",)) -> None:
    """Build the data, train the policies and run the sub-cells of ``studies`` that are
    missing: what a chapter does at a profile with ``build_in_book`` (minutes at smoke)."""
    from frozensteer.agents import training

    training.train_all(profile, list(dict.fromkeys(
        (c.env, c.dataset) for study in studies for c in sub_cells(study, profile))))
    for study in studies:
        for mode in modes:
            run_study(study, profile, mode=mode, workers=1, progress=False)


def read_results(study: str, profile: Profile | str, mode: str = "deterministic"
                 ) -> tuple[pd.DataFrame, list[SubCell]]:
    """The stored rows of every sub-cell of ``study`` that has a results file, and the
    sub-cells that have none.  Reads files only (no dataset or key check): this is what the
    chapters show; ``run_study`` is what decides whether a sub-cell is up to date."""
    found, missing = [], []
    for cell in sub_cells(study, profile):
        path = sub_cell_path(cell, profile, mode)
        if path.exists():
            found.append(pd.read_csv(path))
        else:
            missing.append(cell)
    return (pd.concat(found, ignore_index=True) if found else pd.DataFrame()), missing


def study_path(study: str, profile: Profile | str, mode: str = "deterministic") -> Path:
    suffix = "" if mode == "deterministic" else f"-{mode}"
    return paths.results() / get_profile(profile).name / f"{study}{suffix}.csv"


def run_and_record(study: str, profile: Profile | str, *, command: str, **options
                   ) -> tuple[pd.DataFrame, Path | None]:
    """``run_study``, then the study table and its manifest (command, profile, wall time,
    code version and commit, checkpoint hashes) beside the per-sub-cell files.  A run over
    some ``envs`` or ``datasets`` only caches its sub-cells and returns no path."""
    prof = get_profile(profile)
    start = time.perf_counter()
    table = run_study(study, prof, **options)
    if options.get("envs") is not None or options.get("datasets") is not None:
        return table, None  # part of a study: its sub-cells are cached, the study table is not
    path = study_path(study, prof, options.get("mode", "deterministic"))
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    table.to_csv(tmp, index=False)
    tmp.replace(path)
    manifest = {
        "study": study, "profile": prof.name, "command": command, "episodes": len(table),
        "wall_s_this_call": round(time.perf_counter() - start, 1),
        "code_version": __version__, "code_commit": provenance.git_commit(),
        "table_sha256": provenance.sha256(path),
        "actors": sorted(set(table["actor_sha256"])), "priors": sorted(set(table["prior_id"])),
        "datasets": sorted(set(table["dataset_key"]))}
    path.with_suffix(".manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return table, path


def summary(table: pd.DataFrame, profile: Profile | str) -> str:
    """HELP / FROZEN / HURT of PoE at the selected alpha, and the sub-cells' scores."""
    from frozensteer import stats

    prof = get_profile(profile)
    classes = stats.classify(table, prof.bootstrap_resamples, prof.bootstrap_seed)
    picked = stats.selector(table, classes, prof.kl_budget, prof.bootstrap_resamples,
                            prof.bootstrap_seed)
    counts = stats.split(picked["label"])
    lines = [f"PoE at the KL-budget alpha (epsilon {prof.kl_budget:g} nat): "
             + ", ".join(f"{k} {v}" for k, v in counts.items()),
             f"{'sub-cell':<40} {'frozen':>8} {'alpha':>6} {'PoE':>8} {'class':>7}"]
    for _, r in picked.iterrows():
        frozen = classes[(classes["env"] == r["env"]) & (classes["dataset"] == r["dataset"])
                         & (classes["prior_quality"] == r["prior_quality"])]["frozen_score"]
        name = f"{r['env']} {r['dataset']} {r['prior_quality']}"
        lines.append(f"{name:<40} {frozen.iloc[0]:>8.1f} {r['alpha_selected']:>6.1f} "
                     f"{r['score_selected']:>8.1f} {r['label']:>7}")
    return "\n".join(lines)
