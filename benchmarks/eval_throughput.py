"""Evaluation throughput: the engine against a raw loop and a naive evaluation, in one run.

    python benchmarks/eval_throughput.py [--env halfcheetah] [--episodes 25] [--steps 20000]

(a) raw: one environment stepped with pre-drawn uniform random actions, nothing else (the
    best of three runs);
(b) naive: one environment, one condition, one episode at a time, an unbatched actor and
    prior forward per step, composition through ``frozensteer.compose``;
(c) engine: ``frozensteer.evaluate`` on a full sub-cell (13 conditions x ``--episodes``),
    batched forwards, both cores (``--workers``, default 2).
Policies are untrained networks of the paper's size (2 x 256); env-steps per second are
what is measured.  HalfCheetah is the default because its episodes never end early: untrained
policies fall within a few steps in the other environments, and start-up would dominate.
Prints (c)/(a) (goal at least 1.5 on 2 cores) and (c)/(b) (goal at least 5).

It also prints the ceiling on (c)/(a): the engine is run once more in one process on about
one worker's share of the sub-cell, timing only the time spent inside ``env.step``.  However
cheap the rest of the engine, ``n`` cores cannot give more than ``n x`` (raw loop's time per
step) / (time per step inside ``env.step`` in the engine).
"""

import argparse
import functools
import time

import gymnasium as gym
import numpy as np
import torch

from collect_throughput import raw_steps_per_second  # the same raw loop, one definition
from frozensteer.agents import GaussianPolicy, freeze
from frozensteer.data.envs import gym_id
from frozensteer.evaluate import evaluate
from frozensteer.experiments import conditions


def naive(env_name: str, actor, prior, goal, steps: int) -> float:
    env = gym.make(gym_id(env_name))
    condition = conditions("paper")[5]  # PoE(0.3)
    goal_t = torch.as_tensor(goal).reshape(1, -1)
    done, episode, start = 0, 0, time.perf_counter()
    while done < steps:
        obs, _ = env.reset(seed=episode)
        episode += 1
        over = False
        while not over and done < steps:
            with torch.no_grad():
                o = torch.as_tensor(obs, dtype=torch.float32)[None]
                action = condition.apply(actor(o), prior(o, goal_t)).mean[0].numpy()
            obs, _, term, trunc, _ = env.step(np.clip(action, -1, 1))
            over, done = term or trunc, done + 1
    return steps / (time.perf_counter() - start)


class _Timed(gym.Wrapper):
    """Adds the seconds spent in ``step`` to ``_Timed.seconds`` (one process only)."""

    seconds = 0.0

    def step(self, action):
        start = time.perf_counter()
        out = self.env.step(action)
        _Timed.seconds += time.perf_counter() - start
        return out


def seconds_per_step_inside_env(env_name: str, actor, prior, goal, episodes: int) -> float:
    _Timed.seconds = 0.0
    rows = evaluate(lambda: _Timed(gym.make(gym_id(env_name))), actor, prior, goal,
                    conditions("paper"), list(range(episodes)), workers=1)
    return _Timed.seconds / rows["length"].sum()


def engine(env_name: str, actor, prior, goal, episodes: int, workers: int) -> float:
    start = time.perf_counter()
    rows = evaluate(functools.partial(gym.make, gym_id(env_name)), actor, prior, goal,
                    conditions("paper"), list(range(episodes)), workers=workers)
    return rows["length"].sum() / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="halfcheetah")
    parser.add_argument("--episodes", type=int, default=25)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    env = gym.make(gym_id(args.env))
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    torch.manual_seed(0)
    actor = freeze(GaussianPolicy(obs_dim, act_dim))
    prior = freeze(GaussianPolicy(obs_dim, act_dim, goal_dim=1))
    goal = np.array([1.0], dtype=np.float32)
    # best of three: a shared machine's speed drifts, and the raw loop's best is the
    # conservative reference for (c)/(a)
    a = max(raw_steps_per_second(args.env, args.steps) for _ in range(3))
    b = naive(args.env, actor, prior, goal, args.steps)
    c = engine(args.env, actor, prior, goal, args.episodes, args.workers)
    # about one worker's share of the sub-cell (all conditions, episodes / workers), here
    inside = seconds_per_step_inside_env(args.env, actor, prior, goal,
                                         -(-args.episodes // args.workers))
    print(f"{args.env}: (a) raw {a:,.0f}   (b) naive {b:,.0f}   (c) engine {c:,.0f} env-steps/s "
          f"({args.workers} workers, 13 x {args.episodes} episodes)")
    print(f"(c)/(a) = {c / a:.2f} (goal >= 1.5)   (c)/(b) = {c / b:.2f} (goal >= 5)")
    print(f"inside env.step: {inside * 1e6:.1f} us per step in the engine, {1e6 / a:.1f} in the "
          f"raw loop: (c)/(a) cannot exceed {args.workers / (inside * a):.2f} on "
          f"{args.workers} cores")


if __name__ == "__main__":
    main()
