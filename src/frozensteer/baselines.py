"""The appendix baselines as rules of the registry: the frozen actor steered by a critic.

A critic-guided rule takes no prior: it reads a frozen critic (``networks["critic"]``, an
object with ``q(obs, action)``, the smaller of twin Q values, as ``agents.iql.Critics``; a
goal-conditioned one, with ``goal_dim`` > 0 as AntMaze's, gets ``q(obs, action, goal)`` with
the context's goal) and changes which action the frozen actor's Gaussian executes.  No
network is updated.

- ``q-argmax-16``, ``q-argmax-64`` (IDQL's resampling of a Gaussian actor, V-GPS's
  selection): draw N actions from the actor's Gaussian, clipped to the action bounds, add
  its mean as a candidate, and execute the candidate with the highest Q;
- ``q-softmax-16``, ``q-softmax-64``: sample one of the same candidates with probability
  softmax(Q / T), T = ``SOFTMAX_TEMPERATURE`` in the critic's scaled reward units;
- ``q-gradient`` (PA-RL's action optimisation): from the actor's mean, ``GRADIENT_STEPS``
  steps of gradient ascent on Q (kept only where they raise it), each projected back into
  the trust region of KL to the actor at most ``KL_BUDGET`` nats (the paper profile's KL
  budget) and into the bounds.

The candidates' noise is drawn per row from a generator seeded with the row's observation
(its bytes) and the rule's name: the same state gives the same candidates whatever else
shares the batch, so rows do not depend on the batch and episodes are reproducible.  The
composed Gaussian is the chosen action with the actor's standard deviation.
"""

from __future__ import annotations

import numpy as np
import torch

from frozensteer.compose import DiagGaussian
from frozensteer.rules import StepContext, register, row_generators

ACTION_LOW, ACTION_HIGH = -1.0, 1.0  # the bounds of every locomotion action dimension
SOFTMAX_TEMPERATURE = 1.0
KL_BUDGET = 1.0
GRADIENT_STEPS = 10
GRADIENT_RATE = 0.1  # nats of KL per step, before backtracking


def candidates(ctx: StepContext, n: int, salt: str) -> torch.Tensor:
    """(B, n + 1, act_dim): the actor's mean, then ``n`` draws of its Gaussian, clipped."""
    mean, std = ctx.actor.mean, ctx.actor.std
    noise = np.stack([g.standard_normal((n, mean.shape[-1]))
                      for g in row_generators(ctx.obs, salt)])
    draws = mean[:, None] + std[:, None] * torch.as_tensor(noise, dtype=mean.dtype)
    return torch.cat([mean[:, None], draws], dim=1).clamp(ACTION_LOW, ACTION_HIGH)


def candidate_values(critic, obs: torch.Tensor, actions: torch.Tensor,
                     goal: torch.Tensor | None = None) -> torch.Tensor:
    """(B, K): Q of each of the K candidate actions of each row (at its row of ``goal``,
    for a goal-conditioned critic)."""
    rows, k, _ = actions.shape

    def flat(x):
        return x[:, None].expand(rows, k, x.shape[-1]).reshape(rows * k, -1)

    if goal is not None and getattr(critic, "goal_dim", 0):
        goal = flat(torch.as_tensor(goal).expand(rows, -1))
    return q_value(critic, flat(obs), actions.reshape(rows * k, -1), goal).reshape(rows, k)


def q_value(critic, obs: torch.Tensor, action: torch.Tensor, goal=None) -> torch.Tensor:
    """The critic's Q of ``action`` at ``obs``, at ``goal`` if the critic reads one."""
    if getattr(critic, "goal_dim", 0):
        return critic.q(obs, action, goal)
    return critic.q(obs, action)


def _executing(ctx: StepContext, action: torch.Tensor) -> DiagGaussian:
    return DiagGaussian(action, ctx.actor.std)


def q_argmax(ctx: StepContext, n: int) -> DiagGaussian:
    """The candidate with the highest Q."""
    actions = candidates(ctx, n, f"q-argmax-{n}")
    best = candidate_values(ctx.networks["critic"], ctx.obs, actions, ctx.goal).argmax(dim=1)
    return _executing(ctx, actions[torch.arange(len(actions)), best])


def q_softmax(ctx: StepContext, n: int) -> DiagGaussian:
    """A candidate drawn with probability softmax(Q / T) (its own seeded uniform per row)."""
    salt = f"q-softmax-{n}"
    actions = candidates(ctx, n, salt)
    q = candidate_values(ctx.networks["critic"], ctx.obs, actions, ctx.goal)
    p = torch.softmax(q / SOFTMAX_TEMPERATURE, dim=1).numpy()
    u = [g.random() for g in row_generators(ctx.obs, salt + "/choice")]
    pick = [min(int(np.searchsorted(np.cumsum(row), x, side="right")), len(row) - 1)
            for row, x in zip(p, u)]
    return _executing(ctx, actions[torch.arange(len(actions)), torch.as_tensor(pick)])


def trust_region(mean: torch.Tensor, std: torch.Tensor, action: torch.Tensor,
                 budget: float) -> torch.Tensor:
    """``action`` moved towards ``mean`` until KL(N(action, std) || N(mean, std)) =
    0.5 sum((action - mean) / std)^2 is at most ``budget``, then clipped to the bounds."""
    shift = action - mean
    kl = 0.5 * ((shift / std) ** 2).sum(-1, keepdim=True)
    scale = torch.sqrt(torch.clamp(budget / kl.clamp_min(1e-300), max=1.0))
    return (mean + shift * scale).clamp(ACTION_LOW, ACTION_HIGH)


def q_gradient(ctx: StepContext, _coefficient=None) -> DiagGaussian:
    """Projected natural-gradient ascent on Q from the actor's mean, with backtracking: a
    step moves ``GRADIENT_RATE`` nats of KL along the actor-variance-preconditioned gradient
    and is kept only where it raises Q (elsewhere the row's step is quartered), so Q never
    falls and the scale of Q does not matter."""
    critic, mean, std = ctx.networks["critic"], ctx.actor.mean, ctx.actor.std
    action = trust_region(mean, std, mean, KL_BUDGET)
    rate = torch.full(mean.shape[:-1] + (1,), GRADIENT_RATE, dtype=mean.dtype)
    for _ in range(GRADIENT_STEPS):
        with torch.enable_grad():
            point = action.detach().requires_grad_(True)
            value = q_value(critic, ctx.obs, point, ctx.goal)
            grad, = torch.autograd.grad(value.sum(), point)
        direction = std**2 * grad  # the natural gradient of a diagonal Gaussian's mean
        size = 0.5 * ((direction / std) ** 2).sum(-1, keepdim=True)  # KL of a unit step
        trial = trust_region(mean, std, action + direction * torch.sqrt(
            rate / size.clamp_min(1e-300)), KL_BUDGET)
        better = (q_value(critic, ctx.obs, trial, ctx.goal) > value.detach())[..., None]
        action = torch.where(better, trial, action)
        rate = torch.where(better, rate, rate / 4)
    return _executing(ctx, action.detach())


for _n in (16, 64):
    register(f"q-argmax-{_n}", needs=("critic",), uses_prior=False)(
        lambda ctx, _c, n=_n: q_argmax(ctx, n))
    register(f"q-softmax-{_n}", needs=("critic",), uses_prior=False)(
        lambda ctx, _c, n=_n: q_softmax(ctx, n))
register("q-gradient", needs=("critic",), uses_prior=False)(q_gradient)
