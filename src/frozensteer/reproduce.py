"""One command from nothing to the book (``frozensteer reproduce``).

``plan`` lists every step the studies of a profile need, in dependency order: each
environment's datasets, every actor (trained, then scored), prior, critic and successor file
of every training seed the studies name, every study in every mode the book reads, then the
book. ``execute`` runs them here, or with ``executor="ray"`` as Ray tasks (one CPU each:
the training jobs with their dependencies, then each study's sub-cells).

Every step is idempotent: its trainer or the study runner reuses what is stored and intact
(checking keys and digests as always) and computes only what is missing, so a reproduction
can be interrupted at any point and started again. ``present`` is the plan's quick look
(does the file exist?); running a present step is the thorough check.
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import subprocess
import time
from dataclasses import dataclass

from frozensteer import experiments, paths, variants
from frozensteer.profiles import PROFILES, Profile, get_profile

# the modes the book reads each study in (the practice chapter samples the main and harder
# studies too); every other study runs deterministic only
MODES = {"main": ("deterministic", "stochastic"), "harder": ("deterministic", "stochastic")}
TRAINING_KINDS = ("data", "actor", "prior", "critic", "successor")


@dataclass(frozen=True)
class Step:
    """One step of a reproduction: ``kind`` is data, actor, prior, critic, successor, study
    or book; a degraded prior's ``fraction`` (of episodes and of steps) is set only where a
    variant changes it."""

    kind: str
    env: str | None = None
    dataset: str | None = None
    quality: str | None = None
    seed: int = 0
    fraction: float | None = None
    study: str | None = None
    mode: str = "deterministic"

    def label(self) -> str:
        if self.kind == "data":
            return f"data {self.env}"
        if self.kind == "study":
            return f"study {self.study}" + ("" if self.mode == "deterministic"
                                            else f" ({self.mode})")
        if self.kind == "book":
            return "book"
        return " ".join([self.kind, f"{self.env}/{self.dataset}"]
                        + ([self.quality] if self.quality else [])
                        + ([f"fraction {self.fraction:g}"] if self.fraction else [])
                        + ([f"seed {self.seed}"] if self.seed else []))

    def command(self, profile: Profile | str) -> str:
        """The command that runs this step alone."""
        from frozensteer.agents.training import train_command

        name = get_profile(profile).name
        if self.kind == "data":
            return f"frozensteer data build --env {self.env} --profile {name}"
        if self.kind == "study":
            return (f"frozensteer run --study {self.study} --profile {name}"
                    + ("" if self.mode == "deterministic" else f" --mode {self.mode}"))
        if self.kind == "book":
            return f"make book PROFILE={name}"
        return train_command(self.kind, self.env, self.dataset, name, self.quality,
                             seed=self.seed, fraction=self.fraction)


def plan(profile: Profile | str, studies=None, modes=None, book: bool = True) -> list[Step]:
    """Every step of ``studies`` (default: all of them, robustness variants included) at
    ``profile``, dependencies first; ``modes`` (default ``MODES``, else deterministic) are
    the modes each study runs in."""
    prof = get_profile(profile)
    studies = list(experiments.STUDIES if studies is None else studies)
    training, runs = {}, []
    for study in studies:
        experiments.sub_cells(study, prof)  # an unknown study is named here
        sprof = variants.profile_for(study, prof)
        needs = {n for c in experiments.study_conditions(study, prof) for n in c.spec.needs}
        for cell in experiments.sub_cells(study, prof):
            at = dict(env=cell.env, dataset=cell.dataset, seed=cell.seed)
            training[Step("data", cell.env)] = None
            training[Step("actor", **at)] = None
            if cell.prior_quality != "random":
                training[Step("prior", quality=cell.prior_quality,
                              fraction=_fraction(sprof, cell.prior_quality), **at)] = None
            for kind in ("critic", "successor"):
                if kind in needs:
                    training[Step(kind, **at)] = None
        for mode in (modes or MODES.get(study, ("deterministic",))):
            runs.append(Step("study", study=study, mode=mode))
    order = {kind: i for i, kind in enumerate(TRAINING_KINDS)}
    steps = sorted(training, key=lambda s: order[s.kind])  # stable: the studies' order within
    return steps + runs + ([Step("book")] if book else [])


def _fraction(prof: Profile, quality: str) -> float | None:
    named = PROFILES.get(prof.name, prof)
    if quality == "degraded" and prof.degraded_episode_fraction != \
            named.degraded_episode_fraction:
        return prof.degraded_episode_fraction
    return None


def _with_fraction(prof: Profile, fraction: float | None) -> Profile:
    from frozensteer.agents.training import with_degraded_fraction

    return with_degraded_fraction(prof, fraction)


def needs(steps: list[Step], index: int) -> list[int]:
    """The indices of the earlier steps that step ``index`` needs."""
    step = steps[index]
    if step.kind in ("study", "book"):  # every training step (and, for the book, study)
        return [i for i, s in enumerate(steps[:index])
                if s.kind in TRAINING_KINDS or step.kind == "book"]
    if step.kind == "data":
        return []
    wanted = [Step("data", step.env)]
    at = dict(env=step.env, dataset=step.dataset, seed=step.seed)
    if step.kind in ("critic", "successor"):
        wanted.append(Step("actor", **at))
    if step.kind == "successor":
        wanted.append(Step("prior", quality="clean", **at))
    return [i for i, s in enumerate(steps[:index]) if s in wanted]


# --- what is there, and how long the rest takes --------------------------------------------

def present(step: Step, profile: Profile | str) -> bool:
    """Whether the step's output exists (running the step checks it thoroughly)."""
    from frozensteer.agents import training
    from frozensteer.data import datasets
    from frozensteer.families import family

    prof = get_profile(profile)
    if step.kind == "data":
        return all((datasets.dataset_path(datasets.local_id(step.env, level), prof)
                    / "data").exists() for level in family(step.env).levels)
    if step.kind == "actor":
        scores = training.actor_scores_path(prof)
        if not (training.policy_path("actor", step.env, step.dataset, prof, seed=step.seed)
                .exists() and scores.exists()):
            return False
        table = training.read_actor_scores(scores)
        return bool(((table["env"] == step.env) & (table["dataset"] == step.dataset)
                     & (table["seed"] == step.seed)).any())
    if step.kind == "prior":
        return training.policy_path("prior", step.env, step.dataset,
                                    _with_fraction(prof, step.fraction), step.quality,
                                    step.seed).exists()
    if step.kind in ("critic", "successor"):
        where = training.critic_path if step.kind == "critic" else training.successor_path
        return where(step.env, step.dataset, prof, step.seed).exists()
    if step.kind == "study":
        return (experiments.study_path(step.study, prof, step.mode).exists()
                and not experiments.read_results(step.study, prof, step.mode,
                                                    require=False)[1])
    if step.kind == "book":
        index = paths.home() / "_build" / "html" / "index.html"
        newest = max((p.stat().st_mtime for p in (paths.results() / prof.name).rglob("*")
                      if p.is_file()), default=0)
        return index.exists() and index.stat().st_mtime > newest
    raise ValueError(f"step kind must be one of {TRAINING_KINDS + ('study', 'book')}, got "
                     f"{step.kind!r}")


def estimate_s(step: Step, profile: Profile | str) -> float | None:
    """Seconds the step would take, from rates measured by earlier runs (the committed
    manifests: training wall time per update of the same kind of file and environment, study
    wall time per episode of the same study); None where nothing was measured."""
    prof = get_profile(profile)
    if step.kind == "critic" and not present(Step("actor", step.env, step.dataset,
                                                  seed=step.seed), prof):
        return 0.0  # the actor's training, still to run, keeps its critics
    if step.kind in ("actor", "critic", "prior"):
        from frozensteer.families import family

        apart = step.kind == "critic" and family(step.env).actor_algorithm == "bc"
        bc = not apart and (step.kind == "prior" or family(step.env).actor_algorithm == "bc")
        steps = prof.bc_steps if bc else prof.iql_steps
        if step.quality == "degraded":
            steps *= _with_fraction(prof, step.fraction).degraded_step_fraction
        # critics trained again for an actor trained before critics were kept cost at most
        # what the actor's whole training cost; critics trained apart from a behaviour-cloned
        # actor, what earlier such critics cost
        kind = "actor" if step.kind == "critic" and not apart else step.kind
        rates = [r for r in _training_rates(prof)
                 if (r["kind"], r["env"], r["quality"]) == (kind, step.env, step.quality)]
        return steps * statistics.median(r["s_per_step"] for r in rates) if rates else None
    if step.kind == "study":
        missing = experiments.read_results(step.study, prof, step.mode, require=False)[1]
        if not missing:
            return 0.0
        rate = _study_rate(variants.base_study(step.study), prof, step.mode)
        per_cell = (len(experiments.study_conditions(step.study, prof))
                    * experiments.episodes_per_condition(step.study, prof))
        return None if rate is None else rate * per_cell * len(missing)
    return None


def _training_rates(prof: Profile) -> list[dict]:
    """Seconds per update of every policy file with a recorded wall time, in the manifests
    of ``prof`` and of the paper profile."""
    rates = []
    for name in dict.fromkeys([prof.name, "paper"]):
        path = paths.artifacts() / "policies" / name / "manifest.json"
        if not path.exists():
            continue
        for entry in json.loads(path.read_text()).get("policies", {}).values():
            config, wall = entry["config"], entry.get("train_wall_s")
            if not wall or not config.get("steps"):
                continue
            quality = config.get("quality") if entry["kind"] == "prior" else None
            steps = config["steps"] * (config.get("degraded_step_fraction", 1)
                                       if quality == "degraded" else 1)
            rates.append({"kind": entry["kind"], "env": entry["env"], "quality": quality,
                          "s_per_step": wall / steps})
    return rates


def _study_rate(study: str, prof: Profile, mode: str) -> float | None:
    """Seconds per episode of the last full run of ``study`` recorded at ``prof`` (else at
    paper, scaled by the episodes' step limit)."""
    for name in dict.fromkeys([prof.name, "paper"]):
        path = experiments.study_path(study, name, mode).with_suffix(".manifest.json")
        if path.exists():
            record = json.loads(path.read_text())
            if record.get("episodes") and record.get("wall_s_this_call"):
                scale = 1.0 if name == prof.name or prof.eval_horizon is None else (
                    prof.eval_horizon / 1000)
                return record["wall_s_this_call"] / record["episodes"] * scale
    return None


def describe(steps: list[Step], profile: Profile | str) -> list[dict]:
    """The plan as rows: each step, whether its output is present, its estimated time and
    the command that runs it alone."""
    prof = get_profile(profile)
    rows = []
    for step in steps:
        there = present(step, prof)
        rows.append({"step": step.label(), "present": there,
                     "estimate_s": 0.0 if there else estimate_s(step, prof),
                     "command": step.command(prof)})
    return rows


def format_rows(rows: list[dict], time_key: str = "estimate_s") -> str:
    """A plain-text table of plan or summary rows."""
    width = max([len(r["step"]) for r in rows] + [4])
    lines = [f"{'step':<{width}}  {'status':<10} {'time':>9}  command"]
    for r in rows:
        status = r.get("status") or ("present" if r["present"] else "to do")
        lines.append(f"{r['step']:<{width}}  {status:<10} {_duration(r[time_key]):>9}  "
                     f"{r['command']}")
    known = [r[time_key] for r in rows if r[time_key] is not None]
    unknown = sum(r[time_key] is None for r in rows)
    lines.append(f"total {_duration(sum(known))}" + (
        f" and {unknown} step(s) never measured" if unknown else ""))
    return "\n".join(lines)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.0f} s"
    hours, minutes = divmod(math.ceil(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


# --- running it --------------------------------------------------------------------------

def run_step(step: Step, profile: Profile | str, workers: int = 2, executor: str = "local",
             address: str | None = None) -> None:
    """Run one step (reusing what is stored and intact)."""
    from frozensteer.agents import training
    from frozensteer.families import family

    prof = get_profile(profile)
    at = dict(seed=step.seed, progress=False)
    if step.kind == "data":
        family(step.env).build_data(step.env, prof, progress=False)
    elif step.kind == "actor":
        training.train_scored_actor(step.env, step.dataset, prof, **at)
    elif step.kind == "prior":
        training.train_prior(step.env, step.dataset, step.quality,
                             _with_fraction(prof, step.fraction), **at)
    elif step.kind == "critic":
        training.train_critics(step.env, step.dataset, prof, **at)
    elif step.kind == "successor":
        training.train_successor(step.env, step.dataset, prof, **at)
    elif step.kind == "study":
        options = dict(mode=step.mode, executor=executor, address=address, workers=workers,
                       progress=False)
        if present(step, prof):  # read back and verified; its record keeps its measured time
            experiments.run_study(step.study, prof, **options)
        else:
            experiments.run_and_record(step.study, prof, command=step.command(prof), **options)
    elif step.kind == "book":
        if not (paths.home() / "Makefile").exists():
            raise FileNotFoundError(f"the book is built from a checkout of the repository; no "
                                    f"Makefile in {paths.home()}: clone it and run "
                                    f"`{step.command(prof)}` there")
        subprocess.run(["make", "book", f"PROFILE={prof.name}"], cwd=paths.home(), check=True)
    else:
        raise ValueError(f"unknown step kind {step.kind!r}")
    if step.kind in TRAINING_KINDS[1:]:
        training.write_manifest(prof)


def execute(steps: list[Step], profile: Profile | str, *, executor: str = "local",
            address: str | None = None, workers: int = 2, progress: bool = True
            ) -> list[dict]:
    """Run ``steps`` in order (``executor="ray"``: the training steps as Ray tasks, each
    after the steps it needs, then the studies' sub-cells as Ray tasks); one row per step:
    its status (ran, or verified where its output was there before), wall time and
    command."""
    from tqdm import tqdm

    if executor not in ("local", "ray"):
        raise ValueError(f"executor must be one of ['local', 'ray'], got {executor!r}")
    prof = get_profile(profile)
    before = [present(s, prof) for s in steps]
    rows = [None] * len(steps)
    bar = tqdm(total=len(steps), desc="reproduce", unit="step", disable=not progress)

    def done(i: int, wall_s: float) -> None:
        rows[i] = {"step": steps[i].label(), "status": "verified" if before[i] else "ran",
                   "wall_s": wall_s, "command": steps[i].command(prof)}
        bar.update()
        if progress:
            bar.write(f"[{bar.n}/{len(steps)}] {rows[i]['step']}: {rows[i]['status']} in "
                      f"{_duration(wall_s)}")

    with experiments.ray_session(address) if executor == "ray" else \
            contextlib.nullcontext():
        first = 0
        if executor == "ray" or workers > 1:
            train = [i for i, s in enumerate(steps) if s.kind in TRAINING_KINDS]
            if train != list(range(len(train))):
                raise ValueError(f"with executor={executor!r} and workers={workers} the "
                                 "training steps must come first, as plan() orders them")
            parallel = (_ray_training(steps, train, prof, address) if executor == "ray"
                        else _local_training(steps, train, prof, workers))
            for i, wall_s in parallel:
                done(i, wall_s)
            first = len(train)
        for i in range(first, len(steps)):
            start = time.perf_counter()
            run_step(steps[i], prof, workers, executor, address)
            done(i, time.perf_counter() - start)
    bar.close()
    return rows


def _timed_step(step: Step, prof: Profile, *_needed) -> float:
    """A Ray task: run the step (after the steps whose results are ``_needed``)."""
    import torch

    torch.set_num_threads(1)  # one CPU per task
    start = time.perf_counter()
    run_step(step, prof)
    return time.perf_counter() - start


def _local_training(steps: list[Step], train: list[int], prof: Profile, workers: int):
    """Yield (index, wall seconds) as each training step finishes, ``workers`` processes at
    once, each step started once the steps it needs have finished."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    waiting, finished, running = list(train), set(), {}
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        while waiting or running:
            ready = [i for i in waiting if finished.issuperset(needs(steps, i))]
            for i in ready[:workers - len(running)]:
                waiting.remove(i)
                running[pool.submit(_timed_step, steps[i], prof)] = i
            if not running:
                raise RuntimeError(f"steps {waiting} wait for steps that are not in the plan")
            for future in wait(running, return_when=FIRST_COMPLETED).done:
                i = running.pop(future)
                wall_s = future.result()  # a failed step stops the reproduction here
                finished.add(i)
                yield i, wall_s
    finally:
        pool.shutdown(cancel_futures=True)


def _ray_training(steps: list[Step], train: list[int], prof: Profile, address: str | None):
    """Yield (index, wall seconds) as Ray finishes each training step, every one a task of
    one CPU started once the steps it needs have finished (Ray retries a task whose worker
    died)."""
    import ray

    with experiments.ray_session(address):
        task = ray.remote(num_cpus=1, max_retries=2)(_timed_step)
        refs = {}
        for i in train:
            refs[i] = task.remote(steps[i], prof, *[refs[j] for j in needs(steps, i)])
        running = {ref: i for i, ref in refs.items()}
        while running:
            finished, _ = ray.wait(list(running), num_returns=1)
            yield running.pop(finished[0]), ray.get(finished[0])
