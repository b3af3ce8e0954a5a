"""The evaluation engine: every condition and episode of a sub-cell in one batched rollout.

``evaluate`` runs ``len(conditions) x len(seeds)`` episodes together.  At every step the
frozen actor and the prior are called once on the observations of all running episodes;
each rule of the registry (``frozensteer.rules``) then composes the rows of every condition
that uses it in one call (one coefficient per row). The prior is not called when no
condition's rule uses it, and a rule that declares extra frozen networks (a critic) finds
them in ``networks``.  Episode ``i``
of every condition resets with ``seeds[i]`` (conditions are paired by start state).

- deterministic mode (the protocol's primary one): the executed action is the composed mean,
  clipped to the action bounds;
- stochastic mode: ``mean + std * noise``, clipped, where the standard-normal noise of
  episode ``i`` at step ``t`` is drawn from ``(noise_seed, seeds[i])`` and shared by every
  condition: conditions differ only in their mean and covariance, never in luck.

Hopper, Walker2d, HalfCheetah, Ant and AntMaze episodes are stepped in one
``mujoco.batch.Batch`` (``frozensteer.batched``, identical episodes to Gymnasium's, in C
threads); the other environments, or ``engine="gymnasium"``, step one Gymnasium environment
per episode.

Networks and compositions run in float64 and the executed action is rounded to float32, so
an episode's actions do not depend on which other episodes share its batch: rows are the same
for any number of ``workers`` (processes, each given an even share of the (condition,
episode) rows), and PoE(alpha) and KL-Reg(alpha / (1 - alpha)), equal to about 1e-16,
execute the very same actions.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import gymnasium as gym
import numpy as np
import pandas as pd
import torch

from frozensteer import batched
from frozensteer.rollout import run_episodes
from frozensteer.rules import Condition, StepContext, get_rule

MODES = ("deterministic", "stochastic")
ENGINES = ("auto", "gymnasium")
COLUMNS = ["condition", "rule", "alpha", "beta", "episode", "seed", "return", "length",
           "terminated", "success"]


def evaluate(make_env: Callable[[], gym.Env], actor, prior, goal: np.ndarray,
             conditions: Sequence[Condition], seeds: Sequence[int], *,
             mode: str = "deterministic", noise_seed: int = 0, workers: int = 1,
             networks: dict | None = None, engine: str = "auto",
             progress: bool | str = False) -> pd.DataFrame:
    """One row per (condition, episode): the outcome of every episode of a sub-cell.

    ``actor(obs)`` and ``prior(obs, goal)`` return ``DiagGaussian``; ``goal`` is the prior's
    goal (one row, held for the whole episode), or None for an environment whose
    observations are dictionaries that carry it (``observation`` and ``desired_goal``, as
    AntMaze's evaluation view).  ``prior`` may be None when no condition's rule uses it.
    ``networks`` holds the extra frozen networks the conditions' rules declare (by name).
    ``make_env`` is a function that makes the environment (picklable when ``workers > 1``),
    or a Gymnasium id.  ``engine`` "auto" steps the
    environments ``frozensteer.batched`` reproduces in a MuJoCo batch, "gymnasium" always
    steps Gymnasium's (the reference path: both give the same rows).
    """
    if isinstance(make_env, str):
        make_env = functools.partial(gym.make, make_env)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    if not conditions or not seeds:
        raise ValueError("conditions and seeds must not be empty, got "
                         f"{len(conditions)} conditions and {len(seeds)} seeds")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    networks = dict(networks or {})
    for c in conditions:
        if not isinstance(c, Condition):
            raise ValueError(f"conditions must be frozensteer.rules.Condition, got {c!r}")
        missing = [n for n in c.spec.needs if n not in networks]
        if missing:
            raise ValueError(f"rule {c.rule!r} needs the frozen networks {missing}: pass "
                             f"them as networks={{{missing[0]!r}: ...}}")
    if prior is None and any(c.spec.uses_prior for c in conditions):
        raise ValueError("prior is None, but the rules "
                         f"{sorted({c.rule for c in conditions if c.spec.uses_prior})} use it")
    args = (make_env, actor, prior, None if goal is None else np.asarray(goal, np.float32),
            mode, noise_seed, list(conditions), list(seeds), networks, engine, workers)
    # the grid's rows (condition-major), split evenly: a worker may hold part of a condition
    shares = [s for s in np.array_split(np.arange(len(conditions) * len(seeds)), workers)
              if len(s)]
    if len(shares) == 1:
        rows = _run(*args, shares[0], progress)
    else:
        with ProcessPoolExecutor(len(shares)) as pool:
            futures = [pool.submit(_run, *args, share, False) for share in shares]
            rows = pd.concat([f.result() for f in futures], ignore_index=True)
    return rows[COLUMNS]


def _run(make_env, actor, prior, goal, mode, noise_seed, conditions, seeds, networks, engine,
         workers, grid_rows, progress) -> pd.DataFrame:
    """The episodes of ``grid_rows`` (positions in the condition-major grid of conditions x
    seeds)."""
    torch.set_num_threads(1)
    actor = copy.deepcopy(actor).double()
    prior = None if prior is None else copy.deepcopy(prior).double()
    networks = {name: copy.deepcopy(net).double() for name, net in networks.items()}
    n_episodes = len(seeds)
    probe = make_env()
    space = probe.action_space
    if engine == "auto" and batched.supports(probe):
        threads = max(1, len(os.sched_getaffinity(0)) // workers)
        runner = functools.partial(batched.run_batched, threads=threads)
    else:
        runner = run_episodes
    probe.close()
    goal_t = None if goal is None else torch.as_tensor(goal, dtype=torch.float64).reshape(1, -1)
    condition, episode = grid_rows // n_episodes, grid_rows % n_episodes
    # per episode of this worker: its rule and coefficients (0 where a rule has none), so
    # that each rule composes the whole batch once and keeps its own rows (arithmetic is
    # elementwise: a row's result does not depend on the other rows)
    rule = np.array([conditions[c].rule for c in condition])
    specs = {r: get_rule(r) for r in set(rule.tolist())}
    uses_prior = any(spec.uses_prior for spec in specs.values())
    alphas = np.array([_number(conditions[c].alpha) for c in condition])
    betas = np.array([_number(conditions[c].beta) for c in condition])
    coefficients = {"alpha": torch.from_numpy(np.nan_to_num(alphas))[:, None],
                    "beta": torch.from_numpy(np.nan_to_num(betas))[:, None]}
    rngs = [np.random.default_rng([noise_seed, seed]) for seed in seeds]

    @torch.no_grad()
    def policy(obs: np.ndarray | dict, index: np.ndarray) -> np.ndarray:
        if isinstance(obs, dict):  # the environment names each episode's goal
            goals = torch.as_tensor(obs["desired_goal"], dtype=torch.float64)
            obs = obs["observation"]
        else:
            goals = None if goal_t is None else goal_t.expand(len(index), -1)
        obs_t = torch.as_tensor(obs, dtype=torch.float64)
        a = actor(obs_t)
        context = StepContext(a, prior(obs_t, goals) if uses_prior else None, obs_t, goals,
                              networks)
        mean, std = np.empty(a.shape), np.empty(a.shape)
        rules, held = rule[index], torch.from_numpy(index)
        for r in set(rules.tolist()):
            rows, spec = rules == r, specs[r]
            coefficient = (None if spec.coefficient is None
                           else coefficients[spec.coefficient][held])
            dist = spec.compose(context, coefficient)
            mean[rows], std[rows] = dist.mean.numpy()[rows], dist.std.numpy()[rows]
        if mode == "stochastic":
            # every running row is at the same step, so episode e's noise is one draw,
            # shared by every condition; finished episodes keep their stream untouched
            running = episode[index]
            live = np.unique(running)
            noise = np.zeros((n_episodes, space.shape[0]))
            noise[live] = [rngs[e].standard_normal(space.shape[0]) for e in live]
            mean += std * noise[running]
        return np.clip(mean, space.low, space.high).astype(np.float32)

    flat_seeds = [seeds[e] for e in episode]
    out = runner(make_env, flat_seeds, policy, progress=progress)
    return pd.DataFrame({
        "condition": condition, "rule": rule,
        "alpha": alphas, "beta": betas,
        "episode": episode, "seed": flat_seeds,
        "return": out.returns, "length": out.lengths, "terminated": out.terminated,
        "success": out.success})


def _number(value: float | None) -> float:
    return np.nan if value is None else float(value)
