"""The experiment grid: studies, sub-cells, conditions and episode seeds (protocol chapter,
sections 3-5).

A study is a list of sub-cells (environment, dataset, prior quality, training seed); every
sub-cell runs the conditions of its study's named condition set (``CONDITION_SETS``: the
paper's 13 for the main, harder and AntMaze studies, the baselines for the appendix, the
placebos for the placebo study) for the family's episodes per condition, episode ``i`` of
every condition resetting with seed ``base_seed + i`` so that conditions are paired by start
state.

Results are keyed and stored per (sub-cell, condition): adding a condition to a study runs
only that condition's episodes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from frozensteer import __version__, compose, paths, provenance, variants
from frozensteer.agents.checkpoint import policy_id
from frozensteer.families import family
from frozensteer.profiles import Profile, get_profile
from frozensteer.rules import Condition

PRIOR_QUALITIES = ("clean", "degraded", "random")
BASE_STUDIES, STUDIES = variants.BASE_STUDIES, variants.STUDIES
RANDOM_PRIOR_SEED = 0  # the random prior of training seed s starts from seed RANDOM_PRIOR_SEED + s
ROWS_VERSION = 2  # bumped whenever the columns or content of a condition's rows change


def paper_conditions(profile: Profile | str) -> list[Condition]:
    """The paper's 13 conditions: frozen, prior-only, additive(0.5), then PoE(alpha) and
    KL-Reg(alpha / (1 - alpha)) for every alpha of the profile."""
    alphas = get_profile(profile).alphas
    out = [Condition("frozen"), Condition("prior-only"), Condition("additive", alpha=0.5)]
    for alpha in alphas:
        out.append(Condition("poe", alpha=alpha))
        out.append(Condition("kl-reg", alpha=alpha, beta=compose.beta_from_alpha(alpha)))
    return out


CRITIC_RULES = ("q-argmax-16", "q-argmax-64", "q-softmax-16", "q-softmax-64", "q-gradient")


def critic_conditions(profile: Profile | str) -> list[Condition]:
    """The critic-guided appendix baselines (``frozensteer.baselines``) beside the frozen
    actor: AntMaze's appendix study, whose critics are trained apart from its actors."""
    return [Condition("frozen")] + [Condition(rule) for rule in CRITIC_RULES]


def appendix_conditions(profile: Profile | str) -> list[Condition]:
    """The appendix baselines beside the frozen actor: steering by the actor's own IQL
    critic, and SF/GPI (the critic rules use no prior; PoE's rows come from the main and
    harder studies' clean-prior sub-cells, paired by seed)."""
    return critic_conditions(profile) + [Condition("sf-gpi")]


def placebo_conditions(profile: Profile | str) -> list[Condition]:
    """Frozen and the placebos of ``frozensteer.placebo``: a tiny random move, and a random
    move as far from the actor as PoE(alpha), for every alpha of the profile."""
    return [Condition("frozen"), Condition("placebo-tiny")] + [
        Condition("placebo-kl", alpha=alpha) for alpha in get_profile(profile).alphas]


# named condition sets, and the one each study runs
CONDITION_SETS: dict[str, Callable[[Profile], list[Condition]]] = {
    "paper": paper_conditions, "appendix": appendix_conditions, "critic": critic_conditions,
    "placebo": placebo_conditions}
STUDY_CONDITIONS = {"main": "paper", "harder": "paper", "antmaze": "paper",
                    "appendix": "appendix", "appendix-antmaze": "critic", "placebo": "placebo"}


def conditions(profile: Profile | str, name: str = "paper") -> list[Condition]:
    """The condition set called ``name`` at ``profile``."""
    if name not in CONDITION_SETS:
        raise ValueError(f"condition set must be one of {sorted(CONDITION_SETS)}, got {name!r}")
    out = CONDITION_SETS[name](get_profile(profile))
    slugs = [condition_slug(c) for c in out]
    if len(set(slugs)) != len(slugs):
        raise ValueError(f"condition set {name!r} names two conditions alike: {slugs}")
    return out


def study_conditions(study: str, profile: Profile | str) -> list[Condition]:
    """The conditions every sub-cell of ``study`` runs."""
    _check_study(study)
    return conditions(profile, STUDY_CONDITIONS[variants.base_study(study)])


def _check_study(study: str) -> None:
    if study not in STUDIES:
        raise ValueError(f"study must be one of {list(STUDIES)}, got {study!r}")


@dataclass(frozen=True)
class SubCell:
    """One (environment, dataset, prior quality, training seed) combination of a study: the
    actor and prior of training seed ``seed`` (the random prior: its initialisation seed)."""

    study: str
    env: str
    dataset: str
    prior_quality: str
    seed: int = 0


def sub_cells(study: str, profile: Profile | str) -> list[SubCell]:
    """The sub-cells of ``study`` (main, harder or antmaze), in a fixed order: every cell and
    prior quality for each of the profile's training seeds (a variant: its base study's
    sub-cells, at its profile, of the prior qualities it can move)."""
    _check_study(study)
    prof = variants.profile_for(study, profile)
    base = variants.base_study(study)
    main = [(env, "medium") for env in prof.envs]
    harder = [(env, dataset) for env in ("hopper", "halfcheetah", "walker2d")
              if env in prof.envs for dataset in ("medium-replay", "medium-expert")]
    if base == "appendix":  # every locomotion cell with its critic and its clean prior
        return [SubCell(study, env, dataset, "clean", seed) for seed in prof.training_seeds
                for env, dataset in main + harder]
    mazes = [("antmaze", maze) for maze in ("umaze", "umaze-diverse")]
    if base == "appendix-antmaze":  # each maze with its critics (the prior is not used)
        return [SubCell(study, env, maze, "clean", seed) for seed in prof.training_seeds
                for env, maze in mazes]
    pairs = {"main": main, "harder": harder, "placebo": main + harder,  # the placebos: every
             # locomotion sub-cell, as far from the actor as its PoE
             "antmaze": mazes}[base]
    qualities = (variants.VARIANTS[study].qualities if study in variants.VARIANTS
                 else PRIOR_QUALITIES)
    return [SubCell(study, env, dataset, quality, seed) for seed in prof.training_seeds
            for env, dataset in pairs for quality in PRIOR_QUALITIES if quality in qualities]


def actor_cells(profile: Profile | str) -> list[tuple[str, str]]:
    """Every (environment, dataset) of the MuJoCo studies: each needs an actor and priors."""
    return list(dict.fromkeys((c.env, c.dataset) for study in ("main", "harder")
                              for c in sub_cells(study, profile)))


def episodes_per_condition(study: str, profile: Profile | str) -> int:
    prof = variants.profile_for(study, profile)
    return family(sub_cells(study, prof)[0].env).episodes_per_condition(prof)


def episode_seeds(study: str, profile: Profile | str) -> list[int]:
    """Reset seeds of the episodes of every condition of a sub-cell (shared: paired design)."""
    base = variants.profile_for(study, profile).base_seed
    return [base + i for i in range(episodes_per_condition(study, profile))]


def study_size(study: str, profile: Profile | str) -> int:
    """Total episodes of a study: sub-cells x conditions x episodes per condition."""
    return (len(sub_cells(study, profile)) * len(study_conditions(study, profile))
            * episodes_per_condition(study, profile))


# --- the store: one table per (sub-cell, condition) ------------------------------------------
#
# results/<profile>/<study>/<env>-<dataset>-<quality>[-<mode>]/<condition>.csv holds the rows
# of one condition of one sub-cell; beside it <condition>.json records the key of everything
# the rows depend on (policy files, dataset key, the condition, seeds, mode, code version)
# and the sha256 and row count of the CSV as written.  A table whose key differs is stale, one
# whose bytes differ from the digest is damaged: both are recomputed by a run, never trusted.
# A study is the concatenation of its sub-cells' conditions in grid order.


def condition_slug(condition: Condition) -> str:
    """A file name for a condition: its label without brackets, e.g. ``poe-alpha0.3``."""
    return (condition.label.replace("(", "-").replace(")", "").replace("=", "")
            .replace(",", "-").replace(" ", ""))


def sub_cell_dir(cell: SubCell, profile: Profile | str, mode: str = "deterministic") -> Path:
    suffix = ("" if mode == "deterministic" else f"-{mode}") + (f"-seed{cell.seed}" if cell.seed
                                                                   else "")
    return (paths.results() / get_profile(profile).name / cell.study
            / f"{cell.env}-{cell.dataset}-{cell.prior_quality}{suffix}")


def condition_path(cell: SubCell, condition: Condition, profile: Profile | str,
                   mode: str = "deterministic") -> Path:
    return sub_cell_dir(cell, profile, mode) / f"{condition_slug(condition)}.csv"


def record_path(table: Path) -> Path:
    """The JSON record beside a stored table: its key, sha256 and row count."""
    return Path(table).with_suffix(".json")


def _policy_files(cell: SubCell, prof: Profile) -> tuple[Path, Path | None]:
    from frozensteer.agents.training import policy_path, train_command

    actor = policy_path("actor", cell.env, cell.dataset, prof, seed=cell.seed)
    prior = (None if cell.prior_quality == "random" else
             policy_path("prior", cell.env, cell.dataset, prof, cell.prior_quality, cell.seed))
    commands = {actor: train_command("actor", cell.env, cell.dataset, prof, seed=cell.seed),
                prior: train_command("prior", cell.env, cell.dataset, prof, cell.prior_quality,
                                     seed=cell.seed, fraction=prof.degraded_episode_fraction)}
    missing = [p for p in (actor, prior) if p is not None and not p.exists()]
    if missing:
        raise FileNotFoundError(f"sub-cell {cell} needs " + " and ".join(
            f"{p} (train it with `{commands[p]}`)" for p in missing))
    return actor, prior


def _network_files(cell: SubCell, prof: Profile) -> dict[str, Path]:
    """The extra frozen networks the rules of ``cell``'s study need, by name: the actor's
    IQL critics and the SF/GPI baseline's successor features for the appendix's rules."""
    from frozensteer.agents.training import critic_path, successor_path, train_command

    needs = {n for c in study_conditions(cell.study, prof) for n in c.spec.needs}
    files = {}
    for name, where in (("critic", critic_path), ("successor", successor_path)):
        if name not in needs:
            continue
        files[name] = where(cell.env, cell.dataset, prof, cell.seed)
        if not files[name].exists():
            raise FileNotFoundError(
                f"sub-cell {cell} needs {files[name]}: make it with "
                f"`{train_command(name, cell.env, cell.dataset, prof, seed=cell.seed)}`")
    unknown = needs - set(files)
    if unknown:
        raise ValueError(f"the rules of the {cell.study} study need networks {sorted(unknown)}, "
                         "which no sub-cell provides")
    return files


def sub_cell_inputs(cell: SubCell, profile: Profile | str, mode: str = "deterministic",
                    dataset_key: str | None = None) -> list:
    """Everything a sub-cell's rows depend on but the condition (cheap: no data is read
    beyond the dataset's key, and none if ``dataset_key`` is given)."""
    from frozensteer.evaluate import MODES

    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    prof = variants.profile_for(cell.study, profile)
    actor, prior = _policy_files(cell, prof)
    if dataset_key is None:
        from frozensteer.agents.training import dataset_key as key_of
        from frozensteer.data import datasets

        dataset_key = key_of(datasets.load_dataset(datasets.local_id(cell.env, cell.dataset),
                                                   prof))
    return ([cell.study, cell.env, cell.dataset, cell.prior_quality, mode,
             episode_seeds(cell.study, prof), prof.goal_percentile, prof.selector_states,
             prof.selector_seed, dataset_key, policy_id(actor), _prior_id(prior, cell.seed),
             __version__, ROWS_VERSION]
            # a shortened horizon (smoke only) and a training seed other than 0 join the key;
            # their absence leaves it as it was
            + ([prof.eval_horizon] if prof.eval_horizon is not None else [])
            + ([f"training-seed-{cell.seed}"] if cell.seed else [])
            + [f"{name}:{_network_id(path)}"
               for name, path in sorted(_network_files(cell, prof).items())])


def _network_id(path: Path) -> str:
    """The weights digest of a rule's extra network file, verified."""
    from frozensteer.agents.checkpoint import read_critics, read_successor

    read = read_successor if path.parent.name == "successor" else read_critics
    return read(path)["weights_sha256"]


def _load_network(name: str, path: Path, env: str):
    from frozensteer.agents.checkpoint import load_critics, load_successor

    return load_successor(path) if name == "successor" else load_critics(path, env=env)


def condition_key(inputs: list, condition: Condition) -> str:
    """The key of one condition's rows: the sub-cell's inputs and the condition exactly."""
    return provenance.content_key([inputs, condition.rule, condition.alpha, condition.beta])


def _prior_id(prior: Path | None, seed: int = 0) -> str:
    return (f"random-init-seed-{RANDOM_PRIOR_SEED + seed}" if prior is None
            else policy_id(prior))


def store_rows(path: Path, key: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Write one condition's rows and their record atomically; return them as read back."""
    record = record_path(path)
    record.unlink(missing_ok=True)  # a crash between the two writes leaves no stale record
    provenance.write_table(path, rows)
    provenance.write_json(record, {"key": key, "sha256": provenance.sha256(path),
                                   "rows": len(rows)})
    return provenance.read_table(path)


class DamagedTable(ValueError):
    """A stored table whose bytes are not those recorded when it was written."""


def read_rows(path: Path, key: str | None = None) -> pd.DataFrame | None:
    """One condition's stored rows, verified against their record: None if there are none
    or they were stored under another ``key`` (given: stale); ``DamagedTable`` naming the
    file if its bytes or row count differ from the record."""
    record = record_path(path)
    if not path.exists() or not record.exists():
        return None
    try:
        meta = json.loads(record.read_text())
        digest, n, stored_key = meta["sha256"], meta["rows"], meta["key"]
    except (ValueError, KeyError, TypeError) as err:
        raise DamagedTable(f"{record} is not a valid record ({err})") from err
    if key is not None and stored_key != key:
        return None
    if provenance.sha256(path) != digest:
        raise DamagedTable(f"{path} differs from the sha256 recorded when it was written")
    rows = provenance.read_table(path)
    if len(rows) != n:
        raise DamagedTable(f"{path} holds {len(rows)} rows, {n} were written")
    return rows


CELL_INPUTS_VERSION = 1  # bumped whenever what cell_inputs draws from a dataset changes


@dataclass(frozen=True)
class CellInputs:
    """What a sub-cell needs of its dataset, drawn once per (dataset, training seed) and
    cached: the prior's deployment goal (None when each episode's observation carries it),
    the goal of the distance measurements, the selector's dataset states, and the random
    prior's weights (it is initialised with the dataset's input statistics)."""

    deployment_goal: np.ndarray | None
    distance_goal: np.ndarray
    selector_states: np.ndarray
    random_prior: dict


def cell_inputs(cell: SubCell, profile: Profile | str) -> CellInputs:
    """The ``CellInputs`` of ``cell``'s dataset and training seed, from the cache under
    ``FROZENSTEER_CACHE`` (keyed on the dataset's key and the profile's settings), or drawn
    from the dataset and cached: loading a million transitions is a sub-cell's largest
    cost outside the episodes themselves."""
    from frozensteer.agents.prior import fit_prior
    from frozensteer.agents.training import dataset_key
    from frozensteer.data import datasets
    from frozensteer.data.transitions import from_minari

    prof = variants.profile_for(cell.study, profile)
    fam = family(cell.env)
    dataset = datasets.load_dataset(datasets.local_id(cell.env, cell.dataset), prof)
    key = provenance.content_key([dataset_key(dataset), cell.env, cell.dataset,
                                  prof.goal_percentile, prof.selector_states,
                                  prof.selector_seed, RANDOM_PRIOR_SEED + cell.seed,
                                  __version__, CELL_INPUTS_VERSION])
    path = (paths.cache() / "cell_inputs" / prof.name
            / f"{cell.env}-{cell.dataset}-seed{cell.seed}-{key}.pt")
    try:
        stored = torch.load(path, weights_only=True)
        return CellInputs(**{k: v.numpy() if isinstance(v, torch.Tensor) else v
                             for k, v in stored.items()})
    except FileNotFoundError:
        pass
    except Exception as err:  # noqa: BLE001 - unreadable: a rebuildable cache, drawn again
        warnings.warn(f"cell inputs {path} cannot be read ({err}); drawing them again",
                      stacklevel=2)
    transitions = from_minari(dataset)
    states = transitions.observations[np.random.default_rng(prof.selector_seed).choice(
        len(transitions), size=min(prof.selector_states, len(transitions)), replace=False)]
    prior = fit_prior(transitions, "random", prof, seed=RANDOM_PRIOR_SEED + cell.seed,
                      goals=fam.hindsight_goals(transitions))[0]
    found = {"deployment_goal": fam.deployment_goal(transitions, prof),
             "distance_goal": fam.distance_goal(transitions, cell.dataset, prof),
             "selector_states": states,
             "random_prior": {"network": prior.config(), "state_dict": prior.state_dict()}}
    provenance.atomic_write(path, lambda tmp: torch.save(
        {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in found.items()},
        tmp))
    return CellInputs(**found)


def compute_rows(cell: SubCell, profile: Profile | str, conds: Sequence[Condition],
                 positions: Sequence[int], mode: str = "deterministic", workers: int = 1,
                 progress: bool | str = False) -> pd.DataFrame:
    """Run the episodes of ``conds`` on a sub-cell (no cache); one tidy row per episode,
    ``condition`` giving each condition's position in its study's set (``positions``)."""
    from frozensteer.agents import GaussianPolicy, freeze, load_actor, load_prior
    from frozensteer.agents.training import dataset_key
    from frozensteer.data import datasets
    from frozensteer.evaluate import evaluate

    prof = variants.profile_for(cell.study, profile)
    fam = family(cell.env)
    actor_file, prior_file = _policy_files(cell, prof)
    dataset_id = datasets.local_id(cell.env, cell.dataset)
    dataset = datasets.load_dataset(dataset_id, prof)
    inputs = cell_inputs(cell, prof)
    actor = load_actor(actor_file, env=cell.env)
    networks = {name: _load_network(name, path, cell.env)
                for name, path in _network_files(cell, prof).items()}
    if prior_file is None:
        net = inputs.random_prior["network"]
        prior = GaussianPolicy(net["obs_dim"], net["act_dim"], net["goal_dim"],
                               tuple(net["hidden"]))
        prior.load_state_dict(inputs.random_prior["state_dict"])
        prior = freeze(prior)
    else:
        prior = load_prior(prior_file, env=cell.env)
    conds = list(conds)
    rows = evaluate(fam.make_eval_env(cell.env, cell.dataset, prof), actor, prior,
                    inputs.deployment_goal, conds,
                    episode_seeds(cell.study, prof), mode=mode, workers=workers,
                    networks=networks, progress=progress)
    kl, shift = distance_to_actor(actor, prior, inputs.distance_goal, inputs.selector_states,
                                  conds, networks)
    rows.insert(rows.columns.get_loc("beta") + 1, "kl_to_actor", kl[rows["condition"]])
    rows.insert(rows.columns.get_loc("kl_to_actor") + 1, "action_shift",
                shift[rows["condition"]])
    rows["condition"] = np.asarray(positions)[rows["condition"]]
    for i, (name, value) in enumerate(zip(("study", "env", "dataset", "prior_quality"),
                                          (cell.study, cell.env, cell.dataset,
                                           cell.prior_quality))):
        rows.insert(i, name, value)
    rows.insert(rows.columns.get_loc("return") + 1, "score",
                fam.score(rows["return"].to_numpy(), rows["success"].to_numpy(), dataset))
    return rows.assign(mode=mode, profile=prof.name, code_version=__version__,
                       dataset_id=dataset_id, dataset_key=dataset_key(dataset),
                       actor_sha256=policy_id(actor_file),
                       prior_id=_prior_id(prior_file, cell.seed))


@torch.no_grad()
def distance_to_actor(actor, prior, goal, states, conds: list[Condition],
                      networks: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per condition, how far the rule moves the policy from the actor, averaged over
    ``states``: KL(composed || actor) in nats (the KL-budget selector's D(alpha) for PoE),
    and the root-mean-square distance between the composed and the actor's mean actions
    (action units, per action dimension, before clipping).  ``prior`` may be None when no
    condition uses it; the rules' extra ``networks`` run in float64, as in the engine."""
    import copy

    obs = torch.as_tensor(states, dtype=torch.float32)
    a = actor(obs)
    a = compose.DiagGaussian(a.mean.double(), a.std.double())
    goal_t = g = None
    if prior is not None:
        goal_t = torch.as_tensor(goal, dtype=torch.float32).expand(len(obs), -1)
        g = prior(obs, goal_t)
        g = compose.DiagGaussian(g.mean.double(), g.std.double())
        goal_t = goal_t.double()
    networks = {name: copy.deepcopy(net).double() for name, net in (networks or {}).items()}
    composed = [c.apply(a, g, obs=obs.double(), goal=goal_t, networks=networks)
                for c in conds]
    kl = np.array([float(compose.kl(d, a).mean()) for d in composed])
    shift = np.array([float(((d.mean - a.mean) ** 2).mean().sqrt()) for d in composed])
    return kl, shift


@dataclass
class _Pending:
    """The conditions of one sub-cell that have no valid stored rows yet."""

    cell: SubCell
    todo: list[int]  # positions in the study's condition set
    keys: list[str]
    paths: list[Path]


def _plan(cell: SubCell, prof: Profile, mode: str, conds: list[Condition]
          ) -> tuple[list[pd.DataFrame | None], _Pending]:
    inputs = sub_cell_inputs(cell, prof, mode)
    keys = [condition_key(inputs, c) for c in conds]
    paths_ = [condition_path(cell, c, prof, mode) for c in conds]
    tables = []
    for path, key in zip(paths_, keys):
        try:
            tables.append(read_rows(path, key))
        except (DamagedTable, ValueError) as err:  # a rebuildable cache: recompute it
            tqdm.write(f"frozensteer: recomputing damaged {path.name} of {cell}: {err}",
                       file=sys.stderr)
            tables.append(None)
    todo = [i for i, t in enumerate(tables) if t is None]
    return tables, _Pending(cell, todo, [keys[i] for i in todo], [paths_[i] for i in todo])


def _store_pending(pending: _Pending, rows: pd.DataFrame, tables: list) -> None:
    for i, key, path in zip(pending.todo, pending.keys, pending.paths):
        tables[i] = store_rows(path, key, rows[rows["condition"] == i].reset_index(drop=True))


def _assemble(cell: SubCell, tables: list[pd.DataFrame]) -> pd.DataFrame:
    """A sub-cell's rows in condition order, each condition numbered by its position, with
    the sub-cell's ``training_seed`` (not stored: the folder says it)."""
    return pd.concat([t.assign(condition=i, training_seed=cell.seed)
                      for i, t in enumerate(tables)], ignore_index=True)


def run_sub_cell(cell: SubCell, profile: Profile | str, *, mode: str = "deterministic",
                 workers: int = 1, progress: bool | str = False) -> list[pd.DataFrame]:
    """The stored tables of a sub-cell's conditions, in order: each read from its store, or
    run (only the missing ones, together) and stored atomically, under a lock per sub-cell
    so that two runs never compute the same rows."""
    prof = variants.profile_for(cell.study, profile)
    conds = study_conditions(cell.study, prof)
    with provenance.locked(sub_cell_dir(cell, prof, mode)):
        tables, pending = _plan(cell, prof, mode, conds)
        if pending.todo:
            rows = compute_rows(cell, prof, [conds[i] for i in pending.todo], pending.todo,
                                mode, workers, progress)
            _store_pending(pending, rows, tables)
    return tables


EXECUTORS = ("local", "ray")


def run_study(study: str, profile: Profile | str, *, mode: str = "deterministic",
              executor: str = "local", address: str | None = None, workers: int = 2,
              envs: Sequence[str] | None = None, datasets: Sequence[str] | None = None,
              progress: bool = True) -> pd.DataFrame:
    """Every sub-cell of ``study`` (or of its ``envs`` and ``datasets`` only) as one tidy
    table, in grid order.

    Stored conditions are read back (verified); the missing ones of each sub-cell run
    together on ``executor``: ``local`` (one sub-cell at a time, its rows split over
    ``workers`` processes, under a lock per sub-cell so two runs never compute the same
    rows) or ``ray`` (one Ray task per sub-cell on the cluster at ``address``, or a local
    Ray instance if None; every node needs this checkout, its artifacts and datasets at the
    same paths).  Each finished sub-cell is stored at once, so an interrupted run resumes
    where it stopped.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {list(EXECUTORS)}, got {executor!r}")
    if executor == "local" and address is not None:
        raise ValueError(f"address {address!r} is for the ray executor: pass --executor ray, "
                         "or drop --address")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    prof = variants.profile_for(study, profile)
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
    conds = study_conditions(study, prof)
    plans = [_plan(cell, prof, mode, conds) for cell in cells]
    todo = [i for i, (_, pending) in enumerate(plans) if pending.todo]
    bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc=f"{study} study",
               unit="sub-cell", disable=not progress)
    if executor == "local":
        for i in todo:  # planned again under the sub-cell's lock: another run may have
            cell = cells[i]  # stored some of its conditions meanwhile
            plans[i] = (run_sub_cell(cell, prof, mode=mode, workers=workers,
                                     progress=progress and f"{cell.env} {cell.dataset} "
                                                           f"{cell.prior_quality}"), None)
            bar.update()
    elif todo:
        for i, rows in _ray_map([plans[i][1] for i in todo], todo, conds, prof, mode,
                                address):
            _store_pending(plans[i][1], rows, plans[i][0])
            bar.update()
    bar.close()
    return pd.concat([_assemble(cell, tables) for cell, (tables, _) in zip(cells, plans)],
                     ignore_index=True)


def _ray_map(pendings: list[_Pending], todo: list[int], conds: list[Condition],
             prof: Profile, mode: str, address: str | None):
    """Yield (index, rows) as Ray finishes each sub-cell's missing conditions."""
    import ray

    with ray_session(address):
        task = ray.remote(num_cpus=1)(compute_rows)
        running = {task.remote(p.cell, prof, [conds[j] for j in p.todo], p.todo, mode): i
                   for i, p in zip(todo, pendings)}
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            yield running.pop(done[0]), ray.get(done[0])


@contextlib.contextmanager
def ray_session(address: str | None):
    """Ray, connected to the cluster at ``address`` (None: a local instance), with the
    variables its workers need to find this checkout's files; left as found if already up."""
    import ray

    passed = ("FROZENSTEER_HOME", "FROZENSTEER_CACHE", "MINARI_DATASETS_PATH")
    env_vars = {name: os.environ[name] for name in passed if name in os.environ}
    env_vars.setdefault("FROZENSTEER_HOME", str(paths.home()))
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, runtime_env={"env_vars": env_vars},
                 include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def build_studies(profile: Profile | str, studies: Sequence[str],
                  modes: Sequence[str] = ("deterministic",)) -> None:
    """Build the data, train the policies and run the sub-cells of ``studies`` that are
    missing (``frozensteer.reproduce``'s plan, without the book): what a chapter does at a
    profile with ``build_in_book`` (minutes at smoke). Only the steps whose output is not
    there run (the plan's quick look, ``reproduce.present``); ``frozensteer reproduce`` is
    the thorough check of what is there, and the chapters verify every table they read."""
    from frozensteer import reproduce

    steps = [s for s in reproduce.plan(profile, studies, modes=modes, book=False)
             if not reproduce.present(s, profile)]
    reproduce.execute(steps, profile, workers=1, progress=False)


def read_results(study: str, profile: Profile | str, mode: str = "deterministic", *,
                 require: bool = True) -> tuple[pd.DataFrame, list[SubCell]]:
    """The stored rows of every sub-cell of ``study`` whose conditions all have stored
    tables, and the sub-cells that lack any.  Reads and verifies files only (no dataset or
    key check): this is what the chapters show; ``run_study`` decides whether a sub-cell is
    up to date.  A damaged table raises ``DamagedTable`` naming it and the repair.  With
    ``require`` (the chapters' case) a profile whose results folder is missing altogether
    raises ``paths.MissingResults`` rather than reporting every sub-cell as not yet run."""
    prof = variants.profile_for(study, profile)
    if require:
        paths.require_results(prof)
    conds = study_conditions(study, prof)
    found, missing = [], []
    for cell in sub_cells(study, prof):
        tables = []
        for c in conds:
            path = condition_path(cell, c, prof, mode)
            try:
                tables.append(read_rows(path))
            except ValueError as err:
                raise DamagedTable(
                    f"{err}; repair it with `frozensteer run --study {study} --profile "
                    f"{prof.name} --mode {mode} --env {cell.env} --dataset {cell.dataset}`"
                ) from err
        if any(t is None for t in tables):
            missing.append(cell)
        else:
            found.append(_assemble(cell, tables))
    return (pd.concat(found, ignore_index=True) if found else pd.DataFrame()), missing


def read_seed_results(study: str, profile: Profile | str, mode: str = "deterministic"
                      ) -> dict[int, tuple[pd.DataFrame, list[SubCell]]]:
    """``read_results`` of ``study`` and of each of its seed variants, by training seed; the
    rows carry the base study's name, so that the seeds pool into one table."""
    return {seed: (rows.assign(study=study) if len(rows) else rows, missing)
            for seed, name in variants.seed_studies(study).items()
            for rows, missing in [read_results(name, profile, mode)]}


def seed_progress(study: str, profile: Profile | str,
                  runs: dict[int, tuple[pd.DataFrame, list[SubCell]]] | None = None
                  ) -> dict[int, tuple[int, int]]:
    """Training seed -> (sub-cells run, sub-cells) of ``study`` and its seed studies;
    ``runs`` is ``read_seed_results(study, profile)`` where the caller has it."""
    runs = read_seed_results(study, profile) if runs is None else runs
    names = variants.seed_studies(study)
    return {s: (len(cells) - len(lacking), len(cells)) for s, (_, lacking) in runs.items()
            for cells in [sub_cells(names[s], profile)]}


def study_path(study: str, profile: Profile | str, mode: str = "deterministic") -> Path:
    suffix = "" if mode == "deterministic" else f"-{mode}"
    return paths.results() / get_profile(profile).name / f"{study}{suffix}.csv"


def run_and_record(study: str, profile: Profile | str, *, command: str, **options
                   ) -> tuple[pd.DataFrame, Path | None]:
    """``run_study``, then the study table and its manifest (command, profile, wall time,
    code version and commit, checkpoint hashes) beside the per-condition tables.  A run over
    some ``envs`` or ``datasets`` only stores its sub-cells and returns no path."""
    prof = variants.profile_for(study, profile)
    start = time.perf_counter()
    table = run_study(study, prof, **options)
    if options.get("envs") is not None or options.get("datasets") is not None:
        return table, None  # part of a study: its sub-cells are stored, the study table is not
    path = study_path(study, prof, options.get("mode", "deterministic"))
    provenance.write_table(path, table)
    manifest = {
        "study": study, "profile": prof.name, "command": command, "episodes": len(table),
        # a robustness variant: the study it varies and the settings it changes
        **({"variant_of": variants.base_study(study),
            "changes": variants.changes(study, profile)} if study in variants.VARIANTS else {}),
        "wall_s_this_call": round(time.perf_counter() - start, 1),
        "code_version": __version__, "code_commit": provenance.git_commit(),
        "table_sha256": provenance.sha256(path),
        "actors": sorted(set(table["actor_sha256"])), "priors": sorted(set(table["prior_id"])),
        "datasets": sorted(set(table["dataset_key"]))}
    provenance.write_json(path.with_suffix(".manifest.json"), manifest)
    return table, path


def summary(table: pd.DataFrame, profile: Profile | str) -> str:
    """HELP / FROZEN / HURT of PoE at the selected alpha, and the sub-cells' scores (for a
    study without PoE, such as the appendix: every rule against frozen)."""
    from frozensteer import stats

    prof = get_profile(profile)
    classes = stats.classify(table, prof.bootstrap_resamples, prof.bootstrap_seed)
    if not (table["rule"] == "poe").any():  # the appendix: each rule against frozen
        lines = [f"{'sub-cell':<32} {'rule':<14} {'frozen':>8} {'score':>8} {'class':>7}"]
        for _, r in classes.iterrows():
            lines.append(f"{r['env'] + ' ' + r['dataset']:<32} {r['rule']:<14} "
                         f"{r['frozen_score']:>8.1f} {r['score']:>8.1f} {r['outcome']:>7}")
        return "\n".join(lines)
    picked = stats.selector(table, classes, prof.kl_budget, prof.bootstrap_resamples,
                            prof.bootstrap_seed)
    counts = stats.split(picked["outcome"])
    lines = [f"PoE at the KL-budget alpha (epsilon {prof.kl_budget:g} nat): "
             + ", ".join(f"{k} {v}" for k, v in counts.items()),
             f"{'sub-cell':<40} {'frozen':>8} {'alpha':>6} {'PoE':>8} {'class':>7}"]
    for _, r in picked.iterrows():
        frozen = classes[(classes["env"] == r["env"]) & (classes["dataset"] == r["dataset"])
                         & (classes["prior_quality"] == r["prior_quality"])]["frozen_score"]
        name = f"{r['env']} {r['dataset']} {r['prior_quality']}"
        lines.append(f"{name:<40} {frozen.iloc[0]:>8.1f} {r['alpha_selected']:>6.1f} "
                     f"{r['score_selected']:>8.1f} {r['outcome']:>7}")
    return "\n".join(lines)
