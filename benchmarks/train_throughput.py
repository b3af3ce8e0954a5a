"""Training throughput of the frozen-actor and prior trainers against bare loops, in one run.

    python benchmarks/train_throughput.py [--steps 2000] [--threads 2]

At paper sizes (1,000,000 hopper-shaped transitions, batch 256, 2x256 networks) it times
(a) ``train_iql`` and ``train_bc`` as the project calls them (progress bar, loss curve) and
(b) bare loops over the same networks and losses, with nothing else.  It prints updates per
second of each and the ratio (a)/(b); the goal is at least 0.9: the framework adds nothing.
"""

import argparse
import copy
import time

import numpy as np
import torch

from frozensteer.agents.bc import BCConfig, train_bc
from frozensteer.agents.iql import IQLConfig, mlp, train_iql
from frozensteer.agents.networks import GaussianPolicy
from frozensteer.data.transitions import Transitions

OBS, ACT, N, BATCH = 11, 3, 1_000_000, 256


def synthetic() -> Transitions:
    rng = np.random.default_rng(0)
    episode = np.repeat(np.arange(N // 1000), 1000)
    return Transitions(
        observations=rng.normal(size=(N, OBS)).astype(np.float32),
        actions=rng.uniform(-1, 1, (N, ACT)).astype(np.float32),
        rewards=rng.normal(size=N).astype(np.float32),
        next_observations=rng.normal(size=(N, OBS)).astype(np.float32),
        terminals=rng.random(N) < 0.001, episode=episode)


def bare_iql(data: Transitions, steps: int) -> None:
    obs, next_obs = torch.as_tensor(data.observations), torch.as_tensor(data.next_observations)
    mean, std = obs.mean(0), obs.std(0)
    actions, rewards = torch.as_tensor(data.actions), torch.as_tensor(data.rewards)
    live = 1.0 - torch.as_tensor(data.terminals, dtype=torch.float32)
    actor = GaussianPolicy(OBS, ACT)
    q1, q2, value = mlp(OBS + ACT, (256, 256)), mlp(OBS + ACT, (256, 256)), mlp(OBS, (256, 256))
    q1_t, q2_t = copy.deepcopy(q1), copy.deepcopy(q2)
    q_opt = torch.optim.Adam([*q1.parameters(), *q2.parameters()], lr=3e-4)
    v_opt = torch.optim.Adam(value.parameters(), lr=3e-4)
    pi_opt = torch.optim.Adam(actor.parameters(), lr=3e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(pi_opt, steps)
    for _ in range(steps):
        i = torch.randint(N, (BATCH,))
        s, a = (obs[i] - mean) / std, actions[i]
        sa = torch.cat([s, a], -1)
        with torch.no_grad():
            tq = torch.min(q1_t(sa), q2_t(sa)).squeeze(-1)
        d = tq - value(s).squeeze(-1)
        v_loss = (torch.abs(0.7 - (d < 0).float()) * d**2).mean()
        v_opt.zero_grad()
        v_loss.backward()
        v_opt.step()
        with torch.no_grad():
            y = rewards[i] + 0.99 * live[i] * value((next_obs[i] - mean) / std).squeeze(-1)
        q_loss = ((q1(sa).squeeze(-1) - y) ** 2).mean() + ((q2(sa).squeeze(-1) - y) ** 2).mean()
        q_opt.zero_grad()
        q_loss.backward()
        q_opt.step()
        with torch.no_grad():
            for p, pt in zip([*q1.parameters(), *q2.parameters()],
                             [*q1_t.parameters(), *q2_t.parameters()]):
                pt.lerp_(p, 0.005)
        w = torch.exp(3.0 * d.detach()).clamp(max=100.0)
        pi_loss = -(w * actor(obs[i]).log_prob(a)).mean()
        pi_opt.zero_grad()
        pi_loss.backward()
        pi_opt.step()
        schedule.step()


def bare_bc(data: Transitions, steps: int) -> None:
    obs, act = torch.as_tensor(data.observations), torch.as_tensor(data.actions)
    goal = torch.as_tensor(data.rewards[:, None])
    policy = GaussianPolicy(OBS, ACT, 1)
    opt = torch.optim.Adam(policy.parameters(), lr=3e-4)
    for _ in range(steps):
        i = torch.randint(N, (BATCH,))
        loss = -policy(obs[i], goal[i]).log_prob(act[i]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def rate(fn, steps: int) -> float:
    start = time.perf_counter()
    fn()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data, n = synthetic(), args.steps
    goals = data.rewards[:, None]
    rate(lambda: bare_bc(data, 50), 50)  # warm-up
    cases = {
        "IQL": (lambda: train_iql(data, IQLConfig(steps=n), progress="IQL"),
                lambda: bare_iql(data, n)),
        "BC": (lambda: train_bc(data.observations, data.actions, BCConfig(steps=n), goals,
                                progress="BC"),
               lambda: bare_bc(data, n)),
    }
    print(f"{n} updates, batch {BATCH}, {N:,} transitions, {args.threads} threads")
    for name, (framework, bare) in cases.items():
        a, b = rate(framework, n), rate(bare, n)
        print(f"{name:4s} frozensteer {a:7.1f} updates/s   bare loop {b:7.1f} updates/s   "
              f"ratio {a / b:.2f} (goal >= 0.9)")


if __name__ == "__main__":
    main()
