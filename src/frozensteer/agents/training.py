"""Training frozen actors and priors on a dataset, cached under their provenance key.

``train_actor`` and ``train_prior`` return the path of a checkpoint under
``artifacts/policies/<profile>/``; a checkpoint whose key (kind, environment, dataset key,
training config, code version) matches is reused, anything else retrains.
``evaluate_actor`` scores a frozen actor in its environment (deterministic mean actions,
clipped to the action bounds); ``record_actor_score`` keeps those scores, beside the
dataset's and CORL's, in ``results/policies/<profile>/actors.csv``; ``write_manifest``
lists every policy file of a profile with its provenance.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from frozensteer import paths
from frozensteer.agents.bc import BCConfig, train_bc
from frozensteer.agents.checkpoint import (cache_key, load_critics, load_policy, read_checkpoint,
                                           read_critics, recorded_goal, save_critics,
                                           save_policy)
from frozensteer.agents.iql import IQLConfig, train_iql
from frozensteer.agents.prior import QUALITIES, fit_prior
from frozensteer.data import datasets
from frozensteer.data.transitions import from_minari
from frozensteer.families import family
from frozensteer.profiles import PROFILES, Profile, get_profile
from frozensteer.provenance import (content_key, git_commit, locked, read_table, sha256,
                                   write_json, write_table)

# CORL's published IQL scores on D4RL's own (v2) data (the "Last Scores" Gym-MuJoCo table
# of CORL's README, mean over its seeds): a yardstick only, the data differ.
CORL_IQL = {("halfcheetah", "medium"): 48.31, ("halfcheetah", "medium-replay"): 44.46,
            ("halfcheetah", "medium-expert"): 94.74, ("hopper", "medium"): 67.53,
            ("hopper", "medium-replay"): 97.43, ("hopper", "medium-expert"): 107.42,
            ("walker2d", "medium"): 80.91, ("walker2d", "medium-replay"): 82.15,
            ("walker2d", "medium-expert"): 111.72}
# The IQL paper's own D4RL table (Kostrikov et al., 2022, table 1; -v2 datasets), the
# primary source for the same yardstick
IQL_PAPER = {("halfcheetah", "medium"): 47.4, ("hopper", "medium"): 66.3,
             ("walker2d", "medium"): 78.3, ("halfcheetah", "medium-replay"): 44.2,
             ("hopper", "medium-replay"): 94.7, ("walker2d", "medium-replay"): 73.9,
             ("halfcheetah", "medium-expert"): 86.7, ("hopper", "medium-expert"): 91.5,
             ("walker2d", "medium-expert"): 109.6}


def policy_path(kind: str, env: str, dataset: str, profile: Profile | str,
                quality: str | None = None, seed: int = 0) -> Path:
    """``artifacts/policies/<profile>/<kind>/<env>-<dataset>[-<quality>][-seed<s>].pt``: the
    training seed 0 keeps the plain name (the files trained before seeds were an axis); a
    degraded prior at other fractions than its named profile's has them in its name."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    prof = get_profile(profile)
    name = (f"{env}-{dataset}" + (f"-{quality}" if quality else "")
            + (_degraded_tag(prof) if quality == "degraded" else "")
            + (f"-seed{seed}" if seed else ""))
    return paths.artifacts() / "policies" / prof.name / kind / f"{name}.pt"


def _degraded_tag(prof: Profile) -> str:
    """``-e<episode fraction>-s<step fraction>`` for a degraded prior trained at fractions
    other than its named profile's (a robustness variant's), else nothing."""
    named = PROFILES.get(prof.name)
    fractions = (prof.degraded_episode_fraction, prof.degraded_step_fraction)
    if named is not None and fractions == (named.degraded_episode_fraction,
                                           named.degraded_step_fraction):
        return ""
    return f"-e{fractions[0]:g}-s{fractions[1]:g}"


def with_degraded_fraction(profile: Profile | str, fraction: float | None) -> Profile:
    """``profile`` with its degraded priors trained on ``fraction`` of the episodes and of
    the steps (None: as it is)."""
    prof = get_profile(profile)
    return prof if fraction is None else dataclasses.replace(
        prof, degraded_episode_fraction=fraction, degraded_step_fraction=fraction)


def critic_path(env: str, dataset: str, profile: Profile | str, seed: int = 0) -> Path:
    """The IQL critics (twin Q and V) trained beside the actor of the same name."""
    actor = policy_path("actor", env, dataset, profile, seed=seed)
    return actor.parents[1] / "critic" / actor.name


def unfinished_path(kind: str, env: str, dataset: str, profile: Profile | str,
                    quality: str | None = None, seed: int = 0) -> Path:
    """The resumable training state of a policy still being trained (small: networks and
    optimisers, no data; committed at the paper profile so a later session can go on)."""
    path = policy_path(kind, env, dataset, profile, quality, seed)
    return path.parents[1] / "unfinished" / f"{kind}-{path.name}"


def dataset_key(minari_dataset) -> str:
    """What a policy trained on ``dataset`` depends on, portably.

    For a dataset of the local recipe: its input key (picks, checkpoint hashes, sizes,
    seeds). The bytes of policy-collected data differ between CPU types (float rounding in
    the behaviour network's forward pass), so a content hash would retrain on every machine;
    the recipe key is the same wherever the same committed inputs are used. For any other
    dataset (a real Minari one): the sha256 of its data files.
    """
    recipe_key = minari_dataset.storage.metadata.get("frozensteer_key")
    return (f"recipe:{recipe_key}" if recipe_key
            else f"sha256:{datasets.content_digest(minari_dataset)}")


def train_actor(env: str, dataset: str, profile: Profile | str, *, seed: int = 0,
                progress: bool = True, device: str = "cpu") -> Path:
    """The frozen actor of ``frozensteer/<env>/<dataset>-v0`` for training ``seed`` (trained
    unless cached): IQL for locomotion, its critics saved at ``critic_path``, behaviour
    cloning for AntMaze (the AntMaze chapter, book/notebooks/antmaze.md); ``device`` is the
    torch device of IQL training."""
    prof = get_profile(profile)
    policy_path("actor", env, dataset, prof, seed=seed)  # checks the seed before any work
    dataset_id = datasets.local_id(env, dataset)
    minari_dataset = datasets.load_dataset(dataset_id, prof)
    if family(env).actor_algorithm == "bc":
        bc = BCConfig(steps=prof.bc_steps, batch_size=prof.batch_size, seed=seed)
        return _cached("actor", env, dataset, prof, None, seed, dataset_id, minari_dataset,
                       {"algorithm": "bc", **bc.as_dict()},
                       lambda data, _key: train_bc(data.observations, data.actions, bc,
                                                   progress=progress and f"BC {env}"))
    config = IQLConfig(steps=prof.iql_steps, batch_size=prof.batch_size, seed=seed)
    state = unfinished_path("actor", env, dataset, prof, seed=seed)
    path = _cached("actor", env, dataset, prof, None, seed, dataset_id, minari_dataset,
                   config.as_dict(),
                   lambda data, key: train_iql(data, config, progress=progress and f"IQL {env}",
                                               state=state, state_key=key,
                                               save_every=save_every(config.steps),
                                               device=device))
    critic_file = critic_path(env, dataset, prof, seed)
    if critic_file.exists():
        record_critic_report(critic_file, env, dataset, prof, config)
    return path


def train_critics(env: str, dataset: str, profile: Profile | str, *, seed: int = 0,
                  progress: bool = True, device: str = "cpu") -> Path:
    """The IQL critics of the actor of ``env``, ``dataset`` and ``seed``: the ones its
    training kept, or, for an actor trained before critics were kept, trained again
    (critics only: the same config, seed and minibatches as the actor's run, so the same
    critics) and saved at ``critic_path`` with the actor's key.  A behaviour-cloned actor
    (AntMaze) gets critics trained apart from it on its data, with its family's recipe
    (``Family.critic_data``) and training ``seed``."""
    prof = get_profile(profile)
    actor_file = policy_path("actor", env, dataset, prof, seed=seed)
    if not actor_file.exists():
        raise FileNotFoundError(f"no actor at {actor_file}: train it first with `frozensteer "
                                f"train actor --env {env} --dataset {dataset} --profile "
                                f"{prof.name}" + (f" --seed {seed}`" if seed else "`"))
    actor = read_checkpoint(actor_file)
    critic_file = critic_path(env, dataset, prof, seed)
    fam = family(env)
    if fam.actor_algorithm == "iql":
        config = IQLConfig(**{**actor["config"], "hidden": tuple(actor["config"]["hidden"])})
        state_key = actor["key"] + ":critics"
    else:
        config = IQLConfig(steps=prof.iql_steps, batch_size=prof.batch_size, seed=seed,
                           expectile=fam.critic_expectile)
        state_key = actor["key"] + ":critics:" + content_key(config.as_dict())
    if critic_file.exists():
        old = read_critics(critic_file)
        if old["actor_key"] == actor["key"] and (fam.actor_algorithm == "iql" or json.dumps(
                old["config"], sort_keys=True) == json.dumps(config.as_dict(), sort_keys=True)):
            record_critic_report(critic_file, env, dataset, prof, config)
            return critic_file
    minari_dataset = datasets.load_dataset(actor["dataset_id"], prof)
    if dataset_key(minari_dataset) != actor["dataset_key"]:
        raise ValueError(f"the dataset {actor['dataset_id']} is not the one the actor at "
                         f"{actor_file} was trained on; rebuild it (`frozensteer data build "
                         f"--env {env} --profile {prof.name}`) or retrain the actor")
    data, goal_dim, scale = from_minari(minari_dataset), 0, None
    if fam.actor_algorithm != "iql":
        data, goal_dim, scale = fam.critic_data(minari_dataset, data)
    state = critic_file.parents[1] / "unfinished" / f"critic-{critic_file.name}"
    _, _, critics = train_iql(data, config, progress=progress and f"IQL critics {env}",
                              state=state, state_key=state_key,
                              save_every=save_every(config.steps), device=device,
                              critics_only=True, scale=scale)
    if goal_dim:
        critics.split_goal(goal_dim)
    save_critics(critic_file, critics, actor_key=actor["key"], env=env,
                 dataset_id=actor["dataset_id"], dataset_key=actor["dataset_key"],
                 config=config.as_dict())
    state.unlink(missing_ok=True)
    record_critic_report(critic_file, env, dataset, prof, config)
    return critic_file


def successor_path(env: str, dataset: str, profile: Profile | str, seed: int = 0) -> Path:
    """The SF/GPI baseline's networks for the actor of the same name and its clean prior."""
    actor = policy_path("actor", env, dataset, profile, seed=seed)
    return actor.parents[1] / "successor" / actor.name


def train_successor(env: str, dataset: str, profile: Profile | str, *, seed: int = 0,
                    progress: bool = True) -> Path:
    """The successor features (``frozensteer.successor``) of the library made of the actor
    of ``env``, ``dataset`` and ``seed``, its clean prior at the deployment goal and their
    PoE, fitted on the dataset (reused while the actor, prior, data and config are the
    same)."""
    from frozensteer.agents.checkpoint import (load_successor, policy_id, read_successor,
                                               save_successor)
    from frozensteer.successor import SFConfig, fit_successor

    prof = get_profile(profile)
    actor_file = policy_path("actor", env, dataset, prof, seed=seed)
    prior_file = policy_path("prior", env, dataset, prof, "clean", seed)
    for needed, kind in ((actor_file, "actor"), (prior_file, "prior --quality clean")):
        if not needed.exists():
            raise FileNotFoundError(f"no {needed}: train it with `frozensteer train {kind} "
                                    f"--env {env} --dataset {dataset} --profile {prof.name}"
                                    + (f" --seed {seed}`" if seed else "`"))
    config = SFConfig(feature_steps=prof.sf_feature_steps, psi_steps=prof.sf_psi_steps,
                      batch_size=prof.batch_size, seed=seed)
    actor_key, prior_id = read_checkpoint(actor_file)["key"], policy_id(prior_file)
    path = successor_path(env, dataset, prof, seed)
    if path.exists():
        try:
            old = read_successor(path)
            if (old["actor_key"], old["prior_id"], old["network"]["config"]) == (
                    actor_key, prior_id, {**config.as_dict(), "hidden": list(config.hidden)}):
                return path
        except ValueError as err:  # a damaged file is fitted again
            warnings.warn(f"{err}; fitting it again", stacklevel=2)
    minari_dataset = datasets.load_dataset(datasets.local_id(env, dataset), prof)
    data = from_minari(minari_dataset)
    goal = family(env).deployment_goal(data, prof)
    model, summary = fit_successor(data, load_policy(actor_file, env=env),
                                   load_policy(prior_file, env=env), goal, config,
                                   progress=progress and f"SF {env}")
    saved = save_successor(path, model, actor_key=actor_key, prior_id=prior_id, goal=goal,
                           env=env, dataset_id=datasets.local_id(env, dataset),
                           dataset_key=dataset_key(minari_dataset), summary=summary)
    load_successor(saved)  # reads back
    return saved


CRITIC_REPORT_VERSION = 2  # 2: Q of the actor's action, and held-out episodes


def critic_report_path(critic_file: Path) -> Path:
    """``results/policies/<profile>/critics/<name>.csv``: the critics read against their data."""
    return paths.results() / "policies" / critic_file.parents[1].name / "critics" / (
        critic_file.stem + ".csv")


def record_critic_report(critic_file: Path, env: str, dataset: str, prof: Profile,
                         config: IQLConfig) -> Path:
    """Write (unless up to date) ``critics.report`` of the critics at ``critic_file`` on
    their dataset, by part: a medium-expert dataset's medium and expert episodes apart."""
    from frozensteer.agents import critics as critic_checks

    out = critic_report_path(critic_file)
    digest = read_critics(critic_file)["weights_sha256"]
    if out.exists():
        old = read_table(out)
        if set(old["critic_weights_sha256"]) == {digest} and \
                set(old.get("report_version", [1])) == {CRITIC_REPORT_VERSION}:
            return out
    minari_dataset = datasets.load_dataset(datasets.local_id(env, dataset), prof)
    data, goals, held_out = from_minari(minari_dataset), None, None
    fam = family(env)
    if fam.critic_expectile is not None:  # critics trained apart: their rewards, their goals
        trained_on, goal_dim, _ = fam.critic_data(minari_dataset, data)
        data = dataclasses.replace(data, rewards=trained_on.rewards)
        goals = trained_on.observations[:, -goal_dim:]
    else:  # fresh episodes of the behaviour policies (a maze's planner has no such recipe)
        held_out = critic_checks.held_out(env, dataset, prof,
                                          min(20_000, prof.dataset_transitions))
    parts = np.full(len(data), dataset, dtype=object)
    if dataset == "medium-expert":
        medium = datasets.load_dataset(datasets.local_id(env, "medium"), prof).total_episodes
        parts = np.where(data.episode < medium, "medium part", "expert part")
    seed = config.seed
    actor = load_policy(policy_path("actor", env, dataset, prof, seed=seed), env=env)
    table = critic_checks.report(load_critics(critic_file, env=env), data, parts,
                                 discount=config.discount, temperature=config.temperature,
                                 max_weight=config.max_weight, actor=actor,
                                 held_out_transitions=held_out, goals=goals)
    return write_table(out, table.assign(env=env, dataset=dataset,
                                          critic_weights_sha256=digest,
                                          report_version=CRITIC_REPORT_VERSION))


def save_every(steps: int) -> int:
    """How often IQL saves its training state: every 10,000 steps, or every twentieth of a
    shorter run, so a killed run of any length loses at most that much."""
    return max(1, min(10_000, steps // 20))


def train_prior(env: str, dataset: str, quality: str, profile: Profile | str, *,
                seed: int = 0, progress: bool = True) -> Path:
    """A goal-conditioned prior of ``quality`` on ``frozensteer/<env>/<dataset>-v0``."""
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {list(QUALITIES)}, got {quality!r}")
    prof = get_profile(profile)
    policy_path("prior", env, dataset, prof, quality, seed)  # checks the seed before any work
    if quality != "degraded" and _degraded_tag(prof):  # it would replace the committed file
        raise ValueError(f"degraded fractions other than profile {prof.name}'s apply to the "
                         f"degraded prior only, got quality {quality!r}: pass --quality "
                         "degraded, or drop --degraded-fraction")
    dataset_id = datasets.local_id(env, dataset)
    minari_dataset = datasets.load_dataset(dataset_id, prof)
    config = {"quality": quality, "seed": seed, **BCConfig(
        steps=prof.bc_steps, batch_size=prof.batch_size, seed=seed).as_dict(),
        "degraded_episode_fraction": prof.degraded_episode_fraction,
        "degraded_step_fraction": prof.degraded_step_fraction}
    fam = family(env)
    if fam.prior_goal is not None:
        config["goal"] = fam.prior_goal
    path = _cached("prior", env, dataset, prof, quality, seed, dataset_id, minari_dataset,
                   config, lambda data, _key: fit_prior(data, quality, prof, seed=seed,
                                                        goals=fam.hindsight_goals(data, seed),
                                                        progress=progress
                                                        and f"prior {env} {quality}"))
    if not fam.goal_in_observation and recorded_goal(path, read_checkpoint(path)) is None:
        _record_goal(path, minari_dataset, prof)
    return path


def _record_goal(path: Path, minari_dataset, prof: Profile) -> None:
    """Keep the deployment goal of a prior trained before files kept it in its manifest
    entry, computed from the data it was trained on (the file, and so every result keyed on
    its sha256, stays as it is)."""
    if datasets.content_digest(minari_dataset) != read_checkpoint(path)["dataset_hash"]:
        raise ValueError(f"the dataset of {path} differs from the one it was trained on: its "
                         "deployment goal cannot be recovered from it; retrain the prior")
    goal = family(read_checkpoint(path)["env"]).deployment_goal(from_minari(minari_dataset),
                                                                prof)
    with locked(path.parents[1] / "manifest.json"):
        _write_policy_manifest(prof, path.parents[1],
                               goals={path.name: [float(x) for x in goal]})


def _cached(kind, env, dataset, prof, quality, seed, dataset_id, minari_dataset, config,
            fit) -> Path:
    """The policy file for these inputs: reused if its key matches, else ``fit`` on the
    dataset's transitions; ``fit`` returns (policy, curve) or, for IQL, (policy, curve,
    critics), whose critics are saved beside the policy."""
    path = policy_path(kind, env, dataset, prof, quality, seed)
    data_key = dataset_key(minari_dataset)
    key = cache_key(kind, env, data_key, config)
    if path.exists():
        try:
            if read_checkpoint(path)["key"] == key:
                return path
        except ValueError as err:  # a broken or damaged file is replaced below
            warnings.warn(f"{err}; training it again", stacklevel=2)
    start = time.perf_counter()
    data = from_minari(minari_dataset)
    policy, curve, *critics = fit(data, key)
    # a resumable trainer's curve counts its time over every session it ran in
    wall_s = curve[-1].get("wall_s") if curve else None
    saved = save_policy(path, policy, kind=kind, env=env, dataset_id=dataset_id,
                        dataset_key=data_key,
                        dataset_hash=datasets.content_digest(minari_dataset),
                        config=config, curve=curve,
                        wall_s=wall_s or round(time.perf_counter() - start, 1),
                        deployment_goal=(family(env).deployment_goal(data, prof)
                                         if kind == "prior" else None))
    if critics:
        save_critics(critic_path(env, dataset, prof, seed), critics[0], actor_key=key,
                     env=env, dataset_id=dataset_id, dataset_key=data_key, config=config)
    unfinished_path(kind, env, dataset, prof, quality, seed).unlink(missing_ok=True)
    return saved


def evaluate_actor(path: Path, env: str, profile: Profile | str,
                   episodes: int | None = None) -> np.ndarray:
    """Scores of the frozen actor at ``path`` over the profile's seeded episodes: the rows
    of the ``frozen`` condition of every study sub-cell of this actor, by the same engine
    (``frozensteer.evaluate``: float64 networks, mean actions clipped to the action bounds,
    reset seeds ``base_seed + i``) and the same score (``Family.score``)."""
    from frozensteer.evaluate import evaluate
    from frozensteer.rules import Condition

    prof = get_profile(profile)
    fam = family(env)
    actor = load_policy(path, env=env, kind="actor")
    dataset_id = read_checkpoint(path)["dataset_id"]
    _, dataset = datasets.parse_local_id(dataset_id)
    seeds = [prof.base_seed + i for i in range(episodes or fam.episodes_per_condition(prof))]
    rows = evaluate(fam.make_eval_env(env, dataset, prof), actor, None, None,
                    [Condition("frozen")], seeds)
    minari_dataset = (None if fam.goal_in_observation
                      else datasets.load_dataset(dataset_id, prof))
    return fam.score(rows["return"].to_numpy(), rows["success"].to_numpy(), minari_dataset)


def train_scored_actor(env: str, dataset: str, profile: Profile | str, *, seed: int = 0,
                       progress: bool = True, device: str = "cpu") -> tuple[Path, pd.Series]:
    """``train_actor``, and the actor's row of the score table: evaluated and recorded when
    the actor is new or has no row yet, else read back."""
    prof = get_profile(profile)
    path = policy_path("actor", env, dataset, prof, seed=seed)
    before = path.stat().st_mtime_ns if path.exists() else None
    path = train_actor(env, dataset, prof, seed=seed, progress=progress, device=device)
    scores = actor_scores_path(prof)

    def row(table):
        mine = table[(table["env"] == env) & (table["dataset"] == dataset)
                     & (table["seed"] == seed)]
        return mine.iloc[0] if len(mine) else None

    found = row(read_actor_scores(scores)) if scores.exists() else None
    if found is None or path.stat().st_mtime_ns != before:  # a new actor: score it
        found = row(record_actor_score(env, dataset, prof, evaluate_actor(path, env, prof),
                                       seed=seed))
    return path, found


def actor_scores_path(profile: Profile | str) -> Path:
    return paths.results() / "policies" / get_profile(profile).name / "actors.csv"


def record_actor_score(env: str, dataset: str, profile: Profile | str,
                       scores: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Store an actor's evaluation beside its dataset's mean score and CORL's number (one
    row per environment, dataset and training seed)."""
    prof = get_profile(profile)
    summary = datasets.summary(datasets.local_id(env, dataset), prof)
    row = {"env": env, "dataset": dataset, "seed": seed, "episodes": len(scores),
           "score_mean": float(np.mean(scores)), "score_std": float(np.std(scores)),
           "dataset_score_mean": summary["mean_score"],
           "corl_iql_d4rl": CORL_IQL.get((env, dataset), np.nan)}
    path = actor_scores_path(prof)
    with locked(path):  # concurrent trainers each add their own row
        return _replace_score_row(path, row)


def read_actor_scores(path: Path) -> pd.DataFrame:
    """The actors' score table, in today's columns whatever version wrote it."""
    table = read_table(path).rename(columns={"level": "dataset"})  # its name until 0.1.0
    if "seed" not in table:  # tables written before seeds were an axis hold seed 0
        table.insert(table.columns.get_loc("dataset") + 1, "seed", 0)
    return table


def _replace_score_row(path: Path, row: dict) -> pd.DataFrame:
    env, dataset, seed = row["env"], row["dataset"], row["seed"]
    table = pd.DataFrame([row])
    if path.exists():
        old = read_actor_scores(path)
        old = old[~((old["env"] == env) & (old["dataset"] == dataset) & (old["seed"] == seed))]
        table = pd.concat([old, table], ignore_index=True) if len(old) else table
    table = table.sort_values(["env", "dataset", "seed"], ignore_index=True)
    write_table(path, table, float_format="%.4g")
    return table


def train_command(kind: str, env: str, dataset: str, profile: Profile | str,
                  quality: str | None = None, *, seed: int = 0,
                  fraction: float | None = None) -> str:
    """The ``frozensteer train`` command that trains (or reuses) this file: ``kind`` is
    actor, prior, critic or successor; a prior names its ``quality``, and a degraded one its
    ``fraction`` of episodes and steps where it is not the named profile's."""
    prof = get_profile(profile)
    named = PROFILES.get(prof.name, prof)
    command = f"frozensteer train {kind} --env {env} --dataset {dataset} --profile {named.name}"
    if kind == "prior":
        command += f" --quality {quality}"
        if quality == "degraded" and fraction not in (None, named.degraded_episode_fraction):
            command += f" --degraded-fraction {fraction:g}"
    return command + (f" --seed {seed}" if seed else "")


def write_manifest(profile: Profile | str) -> Path:
    """``artifacts/policies/<profile>/manifest.json``: every policy file and its provenance."""
    prof = get_profile(profile)
    root = paths.artifacts() / "policies" / prof.name
    with locked(root / "manifest.json"):  # concurrent trainers each list their own file
        return _write_policy_manifest(prof, root)


def _write_policy_manifest(prof: Profile, root: Path, goals: dict | None = None) -> Path:
    """Rebuild the manifest from the files under ``root``; a prior's deployment goal comes
    from its file, or from ``goals`` (file name -> goal), or from the manifest's own entry
    for the same file (priors trained before files kept their goal)."""
    previous = json.loads((root / "manifest.json").read_text()).get("policies", {}) \
        if (root / "manifest.json").exists() else {}
    policies = {}
    for path in sorted(root.glob("*/*.pt")):
        if path.parent.name in ("unfinished", "critic", "successor"):
            continue
        ck = read_checkpoint(path)
        _, dataset = datasets.parse_local_id(ck["dataset_id"])
        quality = ck["config"].get("quality") if ck["kind"] == "prior" else None
        command = train_command(ck["kind"], ck["env"], dataset, prof, quality,
                                seed=ck["config"].get("seed", 0),
                                fraction=ck["config"].get("degraded_episode_fraction"))
        policies[str(path.relative_to(root))] = {
            "sha256": sha256(path), "command": command, "kind": ck["kind"], "env": ck["env"],
            "dataset_id": ck["dataset_id"], "dataset_key": ck["dataset_key"],
            "dataset_sha256_when_trained": ck["dataset_hash"],
            "config": ck["config"], "key": ck["key"], "code_version": ck["code_version"],
            "train_wall_s": ck.get("wall_s")}
        name = str(path.relative_to(root))
        kept = previous.get(name, {})
        goal = ck.get("deployment_goal") or (goals or {}).get(path.name) or (
            kept.get("deployment_goal") if kept.get("sha256") == policies[name]["sha256"]
            else None)
        if goal is not None and ck["kind"] == "prior":
            policies[name]["deployment_goal"] = goal
    critics = {}
    for path in sorted(root.glob("critic/*.pt")):
        ck = read_critics(path)
        _, dataset = datasets.parse_local_id(ck["dataset_id"])
        seed = ck["config"].get("seed", 0)
        critics[str(path.relative_to(root))] = {
            "sha256": sha256(path), "weights_sha256": ck["weights_sha256"],
            "command": train_command("critic", ck["env"], dataset, prof, seed=seed),
            "actor_key": ck["actor_key"]}
    from frozensteer.agents.checkpoint import read_successor

    successors = {}
    for path in sorted(root.glob("successor/*.pt")):
        sf = read_successor(path)
        _, dataset = datasets.parse_local_id(sf["dataset_id"])
        seed = sf["network"]["config"].get("seed", 0)
        successors[str(path.relative_to(root))] = {
            "sha256": sha256(path), "weights_sha256": sf["weights_sha256"],
            "command": train_command("successor", sf["env"], dataset, prof, seed=seed),
            "actor_key": sf["actor_key"], "prior_id": sf["prior_id"],
            "summary": sf["summary"]}
    manifest = {"profile": prof.name, "code_commit": git_commit(),
                "note": "weights only (no optimiser state); a policy is retrained when its "
                        "dataset, config or code version changes; the IQL actors' twin Q and "
                        "V are under critic/ (kept by the actor's training, or trained again "
                        "alone with its config and seed by `frozensteer train critic`)",
                "policies": policies, "critics": critics,
                **({"successors": successors} if successors else {})}
    return write_json(root / "manifest.json", manifest)


def train_all(profile: Profile | str, cells: list[tuple[str, str]]) -> None:
    """Build every dataset and train every actor (scored) and prior file of ``cells``
    ((environment, dataset) pairs) that is missing at ``profile``: minutes at smoke, days at
    paper.  Reused where cached."""
    prof = get_profile(profile)
    for env in dict.fromkeys(env for env, _ in cells):
        family(env).build_data(env, prof, progress=False)
    for env, dataset in cells:
        train_scored_actor(env, dataset, prof, progress=False)
        for quality in ("clean", "degraded"):
            train_prior(env, dataset, quality, prof, progress=False)
    write_manifest(prof)
