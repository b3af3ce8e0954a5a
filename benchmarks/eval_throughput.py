"""Evaluation throughput: the engine against the physics limit and two peers, in one run.

    python benchmarks/eval_throughput.py [--envs halfcheetah hopper antmaze] [--episodes 25]

For each environment, with the committed paper-profile medium actor and its clean prior
(``artifacts/policies/paper/``; the prior's goal held at its training goals' mean plus one
standard deviation; for ``antmaze`` the umaze actor and clean prior in the 700-step
evaluation maze, each episode's goal read from its observation), in env-steps per second:

(a) raw: one Gymnasium environment stepped with pre-drawn uniform random actions, nothing
    else (the best of three runs);
(d) physics: ``mujoco.batch.Batch`` over the sub-cell's number of simulations, stepped with
    random controls and ``frame_skip`` substeps, no policy and no bookkeeping: the limit of
    this machine;
(e) peer: Gymnasium's ``SyncVectorEnv`` over the same number of environments, the actor and
    prior called once per step on all of them, PoE(0.3) composed, for as many vector steps
    as the engine's longest episode;
(c) engine: ``frozensteer.evaluate`` on a full sub-cell (13 conditions x ``--episodes``);
(b) the Gymnasium path: the same sub-cell with ``engine="gymnasium"``, one worker process
    per CPU (the reference path, and the engine before ``frozensteer.batched``).
Prints (c)/(a) (goal: at least 2.5 on HalfCheetah, 2.0 on Hopper), (c)/(d) (at least 0.8),
(c)/(e) (at least 3) and (c)/(b).

    python benchmarks/eval_throughput.py --floor

prints instead the physics floor of the whole paper evaluation (the main, harder and AntMaze
studies): each environment's env steps in the committed study tables (``results/paper``)
over its rate (d), measured here with as many simulations as one of its sub-cells runs; the
sum is the least time any engine can take on this machine (goal of the whole evaluation: at
most 600 s).
"""

import argparse
import functools
import os
import time
from pathlib import Path

import gymnasium as gym
import mujoco
import mujoco.batch
import numpy as np
import pandas as pd
import torch

from collect_throughput import raw_steps_per_second  # the same raw loop, one definition
from frozensteer.agents import load_actor, load_prior
from frozensteer.data import antmaze
from frozensteer.data.envs import gym_id
from frozensteer.evaluate import evaluate
from frozensteer.experiments import conditions

POLICIES = Path(__file__).resolve().parents[1] / "artifacts" / "policies" / "paper"
FLOOR_STUDIES = ("main", "harder", "antmaze")


def make_env(env_name: str):
    """A factory of the evaluation environment of ``env_name``."""
    if env_name == "antmaze":
        return functools.partial(antmaze.eval_env, antmaze.HORIZON, "umaze")
    return functools.partial(gym.make, gym_id(env_name))


def policies(env_name: str):
    if env_name == "antmaze":  # the goal comes with each observation
        actor = load_actor(POLICIES / "actor" / "antmaze-umaze.pt", env=env_name)
        prior = load_prior(POLICIES / "prior" / "antmaze-umaze-clean.pt", env=env_name)
        return actor, prior, None
    actor = load_actor(POLICIES / "actor" / f"{env_name}-medium.pt", env=env_name)
    prior = load_prior(POLICIES / "prior" / f"{env_name}-medium-clean.pt", env=env_name)
    goal = (prior.goal_mean + prior.goal_std).numpy().astype(np.float32)
    return actor, prior, goal


def physics(env_name: str, sims: int, steps: int) -> float:
    env = make_env(env_name)()
    env.reset(seed=0)  # a start state of the task (the model's own may lie in a maze wall)
    base = env.unwrapped
    frame_skip = base.ant_env.frame_skip if env_name == "antmaze" else base.frame_skip
    batch = mujoco.batch.Batch(base.model, sims, nthread=len(os.sched_getaffinity(0)),
                               persistent=True)
    batch.reset()
    batch.bind("qpos")[:] = base.data.qpos
    batch.forward()
    ctrl = batch.bind("ctrl")
    rng = np.random.default_rng(0)
    controls = rng.uniform(-1, 1, (steps, sims, base.model.nu))
    start = time.perf_counter()
    for t in range(steps):
        ctrl[:] = controls[t]
        batch.step(nstep=frame_skip)
    return steps * sims / (time.perf_counter() - start)


def vector_peer(env_name: str, actor, prior, goal, sims: int, steps: int) -> float:
    envs = gym.vector.SyncVectorEnv([make_env(env_name)] * sims)
    obs, _ = envs.reset(seed=list(range(sims)))
    condition = conditions("paper")[5]  # PoE(0.3)
    actor, prior = actor.double(), prior.double()
    start = time.perf_counter()
    for _ in range(steps):
        with torch.no_grad():
            if goal is None:  # the goal view: rows and each episode's goal
                o = torch.as_tensor(obs["observation"], dtype=torch.float64)
                goal_t = torch.as_tensor(obs["desired_goal"], dtype=torch.float64)
            else:
                o = torch.as_tensor(obs, dtype=torch.float64)
                goal_t = torch.as_tensor(goal).reshape(1, -1).expand(sims, -1).double()
            action = condition.apply(actor(o), prior(o, goal_t)).mean.numpy()
        obs, *_ = envs.step(np.clip(action, -1, 1).astype(np.float32))
    return steps * sims / (time.perf_counter() - start)


def engine(env_name: str, actor, prior, goal, episodes: int, **options) -> tuple[float, int]:
    start = time.perf_counter()
    rows = evaluate(make_env(env_name), actor, prior, goal, conditions("paper"),
                    list(range(episodes)), **options)
    return rows["length"].sum() / (time.perf_counter() - start), int(rows["length"].max())


def floor(steps: int) -> None:
    """The physics floor of the paper evaluation: its env steps over the rates (d)."""
    from frozensteer.experiments import episodes_per_condition, study_conditions, study_path

    tables = [pd.read_csv(study_path(s, "paper"), comment="#") for s in FLOOR_STUDIES]
    lengths = pd.concat(tables)
    total = 0.0
    for env_name, env_steps in lengths.groupby("env")["length"].sum().items():
        study = "antmaze" if env_name == "antmaze" else "main"
        sims = len(study_conditions(study, "paper")) * episodes_per_condition(study, "paper")
        rate = physics(env_name, sims, max(1, steps // sims * 4))
        total += env_steps / rate
        print(f"{env_name}: {env_steps:,} env steps at (d) {rate:,.0f} env-steps/s with "
              f"{sims} simulations: {env_steps / rate:,.0f} s")
    print(f"paper evaluation ({', '.join(FLOOR_STUDIES)}; {len(lengths):,} episodes, "
          f"{lengths['length'].sum():,} env steps): physics alone {total:,.0f} s "
          f"(goal of the whole evaluation: <= 600 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["halfcheetah", "hopper"])
    parser.add_argument("--episodes", type=int, default=25)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--floor", action="store_true",
                        help="print the physics floor of the whole paper evaluation instead")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.floor:
        return floor(args.steps)
    goals = {"halfcheetah": 2.5, "hopper": 2.0}
    cores = len(os.sched_getaffinity(0))
    for env_name in args.envs:
        actor, prior, goal = policies(env_name)
        sims = 13 * args.episodes
        a = max(raw_steps_per_second(env_name, args.steps, make_env(env_name))
                for _ in range(3))
        c, longest = engine(env_name, actor, prior, goal, args.episodes)
        b, _ = engine(env_name, actor, prior, goal, args.episodes, engine="gymnasium",
                      workers=cores)
        d = physics(env_name, sims, max(1, args.steps // sims * 4))
        e = vector_peer(env_name, actor, prior, goal, sims, max(1, min(longest, 200)))
        print(f"{env_name}: (a) raw {a:,.0f}   (d) physics {d:,.0f}   (e) SyncVectorEnv "
              f"{e:,.0f}   (b) Gymnasium path {b:,.0f}   (c) engine {c:,.0f} env-steps/s "
              f"(13 x {args.episodes} episodes)")
        print(f"  (c)/(a) = {c / a:.2f} (goal >= {goals.get(env_name, 2.0)})   "
              f"(c)/(d) = {c / d:.2f} (goal >= 0.8)   (c)/(e) = {c / e:.2f} (goal >= 3)   "
              f"(c)/(b) = {c / b:.2f}")


if __name__ == "__main__":
    main()
