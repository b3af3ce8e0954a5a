"""Dataset collection throughput against raw environment stepping, measured in one run.

    python benchmarks/collect_throughput.py [--transitions 20000] [--envs hopper halfcheetah]

(a) raw: one environment, a loop of ``env.step`` with pre-drawn uniform random actions;
(b) collection: ``frozensteer.data.collect`` with a SAC actor of the behaviour architecture
    (one batched forward per step over 64 environments), recording every transition.
Prints transitions per second of both and the ratio (b)/(a); the goal is at least 0.7.
"""

import argparse
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.sac.policies import SACPolicy

from frozensteer.data.collect import collect
from frozensteer.data.envs import gym_id
from frozensteer.data.picks import load_behaviour


def raw_steps_per_second(env_name: str, steps: int, make=None) -> float:
    """Steps per second of one environment (``gym.make`` of ``env_name``, or ``make()``)."""
    env = make() if make is not None else gym.make(gym_id(env_name))
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, *env.action_space.shape)).astype(np.float32)
    env.reset(seed=0)
    start = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - start)


def collect_steps_per_second(env_name: str, steps: int) -> float:
    env = gym.make(gym_id(env_name))
    policy = SACPolicy(env.observation_space, env.action_space, lr_schedule=lambda _: 0.0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "actor.pt"
        torch.save(policy.actor.state_dict(), path)
        act = load_behaviour(env_name, path)  # what the recipe collects with
    start = time.perf_counter()
    episodes = collect(lambda: gym.make(gym_id(env_name)), act, steps, seed=0)
    assert sum(len(e) for e in episodes) == steps
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=20_000)
    parser.add_argument("--envs", nargs="+", default=["hopper", "halfcheetah"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    for env_name in args.envs:
        raw = raw_steps_per_second(env_name, args.transitions)
        ours = collect_steps_per_second(env_name, args.transitions)
        print(f"{env_name:12s} raw stepping {raw:8.0f} steps/s   collection {ours:8.0f} "
              f"steps/s   ratio {ours / raw:.2f} (goal >= 0.7)")


if __name__ == "__main__":
    main()
