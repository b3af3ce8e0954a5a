"""Steering a frozen policy at deployment: the KL-budget selector on your own states, and a
steered policy object that acts.

- ``visited_states(policy, env, seeds)``: the observations your policy meets, to select on;
- ``kl_curve(actor, prior, states, alphas, goal)``: D(alpha), the mean KL(PoE(alpha) ||
  actor) in nats over ``states`` (float64);
- ``select_alpha(actor, prior, states, epsilon, goal)``: the largest alpha whose D is within
  ``epsilon``, on a grid or, with ``alphas=None``, exactly (D is monotone in alpha, so
  bisection finds where it meets the budget); returns a ``Selection`` with the curve used.
  The pick depends on which states are given: pass states your own policy visits;
- ``SteeredPolicy(actor, prior, rule, alpha=..., beta=..., goal=...)``: ``dist(obs)`` (the
  composed ``DiagGaussian``), ``act(obs)`` (its mean, or a sample, clipped to the action
  bounds) and SB3's ``predict`` signature, so ``stable_baselines3``'s ``evaluate_policy``
  runs it.

``actor(obs)`` and ``prior(obs, goal)`` return ``DiagGaussian`` for a batch of torch
observations (frozensteer's own policies do); observations may be numpy or torch, one row or
a batch, any float dtype, and the goal one row for the whole batch.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from frozensteer import compose
from frozensteer.rollout import run_episodes
from frozensteer.rules import Condition

GRID = (0.1, 0.3, 0.5, 0.7, 0.9)


def _batch(obs) -> tuple[torch.Tensor, bool]:
    """Observations as a float64 (B, obs_dim) tensor, and whether one row was given."""
    tensor = torch.as_tensor(np.asarray(obs) if not isinstance(obs, torch.Tensor) else obs)
    if not tensor.is_floating_point():
        tensor = tensor.double()
    if tensor.ndim not in (1, 2):
        raise ValueError(f"obs must be one observation (obs_dim,) or a batch (B, obs_dim), "
                         f"got shape {tuple(tensor.shape)}")
    single = tensor.ndim == 1
    return (tensor[None] if single else tensor).double(), single


def _goal_rows(goal, rows: int, prior) -> torch.Tensor | None:
    """The goal for ``rows`` observations: one row broadcast over the batch."""
    if goal is None:
        return None
    goal = torch.as_tensor(np.asarray(goal, dtype=np.float64)).reshape(1, -1)
    want = getattr(prior, "goal_dim", goal.shape[1])
    if goal.shape[1] != want:
        raise ValueError(f"goal must hold {want} value(s) (the prior's goal_dim), got "
                         f"{goal.shape[1]}: pass one goal row for the whole batch")
    return goal.expand(rows, -1)


@torch.no_grad()
def _pair(actor, prior, obs: torch.Tensor, goal, dtype=torch.float32
          ) -> tuple[compose.DiagGaussian, compose.DiagGaussian]:
    """The actor's and the prior's distributions on ``obs`` given in ``dtype``, as float64
    (float32 inputs: as the grid measures D(alpha); float64: as the engine acts)."""
    a = actor(obs.to(dtype))
    g = prior(obs.to(dtype), None if goal is None else goal.to(dtype))
    return tuple(compose.DiagGaussian(torch.as_tensor(d.mean).double(),
                                      torch.as_tensor(d.std).double()) for d in (a, g))


def visited_states(policy, env, seeds: Sequence[int], *, deterministic: bool = True
                   ) -> np.ndarray:
    """Every observation ``policy`` meets in one episode per reset seed of ``env`` (a
    Gymnasium id, or a function that makes the environment), stacked ``(N, obs_dim)``: the
    states of your own policy to give ``select_alpha``.  ``policy`` has SB3's ``predict``
    (an SB3 model, a ``SteeredPolicy``) or is a function of a batch of observations
    returning actions."""
    if not (hasattr(policy, "predict") or callable(policy)):
        raise ValueError(f"policy must have SB3's predict or be a function of observations, "
                         f"got {type(policy).__name__}")
    make_env = functools.partial(gym.make, env) if isinstance(env, str) else env
    seen = []

    def act(obs, _index):
        seen.append(np.asarray(obs))
        if hasattr(policy, "predict"):
            return policy.predict(obs, deterministic=deterministic)[0]
        return policy(obs)

    run_episodes(make_env, list(seeds), act)
    return np.concatenate(seen)


def kl_curve(actor, prior, states, alphas: Sequence[float] = GRID, goal=None,
             rule: str = "poe") -> dict[float, float]:
    """D(alpha): the mean over ``states`` of KL(rule(alpha) || actor), in nats."""
    obs, _ = _batch(states)
    a, g = _pair(actor, prior, obs, _goal_rows(goal, len(obs), prior))
    return {float(alpha): float(compose.kl(Condition(rule, alpha=alpha).apply(a, g), a).mean())
            for alpha in alphas}


@dataclass(frozen=True)
class Selection:
    """The selector's pick, the budget it met, the curve it read and how many states."""

    alpha: float
    epsilon: float
    curve: dict[float, float]
    n_states: int


def select_alpha(actor, prior, states, epsilon: float = 1.0, *, goal=None,
                 alphas: Sequence[float] | None = GRID, max_states: int = 2048, seed: int = 0,
                 tolerance: float = 1e-6) -> Selection:
    """The largest PoE alpha whose D(alpha) is at most ``epsilon`` nats over ``states`` (at
    most ``max_states`` of them, drawn with ``seed``): on the grid ``alphas`` (0, the frozen
    actor, if none fits), or with ``alphas=None`` the alpha where D meets the budget, to
    ``tolerance``."""
    if not np.isfinite(epsilon) or epsilon < 0:
        raise ValueError(f"epsilon must be a finite number of nats >= 0, got {epsilon!r}")
    states = np.asarray(states.numpy() if isinstance(states, torch.Tensor) else states)
    if states.ndim != 2 or not len(states):
        raise ValueError(f"states must be a non-empty batch (N, obs_dim), got shape "
                         f"{states.shape}")
    if len(states) > max_states:
        states = states[np.random.default_rng(seed).choice(len(states), max_states,
                                                            replace=False)]
    if alphas is not None:
        curve = kl_curve(actor, prior, states, alphas, goal)
        return Selection(max([a for a, d in curve.items() if d <= epsilon], default=0.0),
                         epsilon, curve, len(states))
    curve = {}
    low, high = 0.0, 1.0
    top = kl_curve(actor, prior, states, [1.0], goal)
    curve.update(top)
    if top[1.0] <= epsilon:
        return Selection(1.0, epsilon, curve, len(states))
    while high - low > tolerance:  # D(low) <= epsilon < D(high)
        middle = (low + high) / 2
        d = kl_curve(actor, prior, states, [middle], goal)[middle]
        curve[middle] = d
        low, high = (middle, high) if d <= epsilon else (low, middle)
    return Selection(low, epsilon, dict(sorted(curve.items())), len(states))


class SteeredPolicy:
    """A frozen actor composed with a prior by one rule of the registry, ready to act.

    ``SteeredPolicy(actor, prior, "poe", alpha=0.3, goal=g, action_space=env.action_space)``;
    ``dist(obs)`` is the composed Gaussian, ``act(obs)`` its mean (``deterministic=False``:
    a sample, drawn with ``rng``) clipped to the action bounds, and ``predict`` is SB3's.
    The goal defaults to the one the prior records (``prior.default_goal``), the action
    bounds to the actor's ``action_space`` (``from_sb3`` records it); without bounds,
    actions are not clipped."""

    def __init__(self, actor, prior, rule: str = "poe", *, alpha: float | None = None,
                 beta: float | None = None, goal=None, action_space=None):
        self.condition = Condition(rule, alpha=alpha, beta=beta)  # validated by name
        goal = getattr(prior, "default_goal", None) if goal is None else goal
        if goal is None and getattr(prior, "goal_dim", 0):
            raise ValueError(f"goal is required: the prior is conditioned on a "
                             f"{prior.goal_dim}-dimensional goal and its file records no "
                             "deployment goal (pass goal=...)")
        # the networks in float64, as the evaluation engine runs them: the same episodes
        self.actor, self.prior = (copy.deepcopy(m).double() if isinstance(m, torch.nn.Module)
                                  else m for m in (actor, prior))
        self.goal = goal
        action_space = action_space or getattr(actor, "action_space", None)
        self.low = None if action_space is None else np.asarray(action_space.low)
        self.high = None if action_space is None else np.asarray(action_space.high)

    def dist(self, obs) -> compose.DiagGaussian:
        batch, _ = _batch(obs)
        a, g = _pair(self.actor, self.prior, batch,
                     _goal_rows(self.goal, len(batch), self.prior), torch.float64)
        return self.condition.apply(a, g, obs=batch)

    def act(self, obs, deterministic: bool = True,
            rng: np.random.Generator | None = None) -> np.ndarray:
        _, single = _batch(obs)
        d = self.dist(obs)
        mean, std = d.mean.numpy(), d.std.numpy()
        action = mean if deterministic else mean + std * (rng or np.random.default_rng()
                                                          ).standard_normal(mean.shape)
        if self.low is not None:
            action = np.clip(action, self.low, self.high)
        action = action.astype(np.float32)
        return action[0] if single else action

    def predict(self, observation, state=None, episode_start=None,
                deterministic: bool = True) -> tuple[np.ndarray, None]:
        """SB3's ``predict``: (actions, no recurrent state)."""
        return self.act(observation, deterministic), None
