"""Behaviour cloning: Gaussian maximum likelihood of dataset actions (optionally given goals).

Used for the AntMaze frozen actors and, with goals, for every goal-conditioned prior.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm

from frozensteer.agents.networks import GaussianPolicy


@dataclass(frozen=True)
class BCConfig:
    steps: int
    batch_size: int = 256
    lr: float = 3e-4
    hidden: tuple[int, ...] = (256, 256)
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def train_bc(observations: np.ndarray, actions: np.ndarray, config: BCConfig,
             goals: np.ndarray | None = None, *, progress: bool | str = False
             ) -> tuple[GaussianPolicy, list[dict]]:
    """A policy maximising the likelihood of ``actions`` given observations (and goals).

    Inputs are normalised with their own mean and std; the curve logs the mean negative
    log-likelihood about a hundred times over training.
    """
    if config.steps < 0:
        raise ValueError(f"steps must be >= 0, got {config.steps}")
    torch.manual_seed(config.seed)
    goal_dim = 0 if goals is None else goals.shape[1]
    policy = GaussianPolicy(observations.shape[1], actions.shape[1], goal_dim, config.hidden)
    obs = torch.as_tensor(observations, dtype=torch.float32)
    act = torch.as_tensor(actions, dtype=torch.float32)
    goal = None if goals is None else torch.as_tensor(goals, dtype=torch.float32)
    policy.set_input_statistics(obs.mean(0), obs.std(0),
                                *((goal.mean(0), goal.std(0)) if goal is not None else ()))
    optimiser = torch.optim.Adam(policy.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    log_every = max(1, config.steps // 100)
    curve, running = [], 0.0
    for step in tqdm(range(1, config.steps + 1), desc=progress or "BC", disable=not progress,
                     leave=False):
        batch = torch.randint(len(obs), (config.batch_size,), generator=generator)
        dist = policy(obs[batch], None if goal is None else goal[batch])
        loss = -dist.log_prob(act[batch]).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        running += loss.item()
        if step % log_every == 0:
            curve.append({"step": step, "nll": running / log_every})
            running = 0.0
    return policy, curve
