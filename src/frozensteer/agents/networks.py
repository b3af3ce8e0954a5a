"""The Gaussian policy network shared by frozen actors and goal-conditioned priors.

An MLP (two hidden layers of 256 ReLU units by default) maps the normalised observation,
and for priors the normalised goal, to a mean and a state-dependent log standard deviation
clamped to [-5, 2] (protocol chapter, "Policies and composition rules").  Its forward pass returns a
``frozensteer.compose.DiagGaussian`` so that composition rules apply directly.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from frozensteer.compose import DiagGaussian

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class GaussianPolicy(nn.Module):
    """``pi(a | s[, g]) = N(mu(s, g), diag sigma(s, g)^2)`` on normalised inputs."""

    def __init__(self, obs_dim: int, act_dim: int, goal_dim: int = 0,
                 hidden: tuple[int, ...] = (256, 256)):
        super().__init__()
        self.obs_dim, self.act_dim, self.goal_dim = obs_dim, act_dim, goal_dim
        self.hidden = tuple(hidden)
        layers, width = [], obs_dim + goal_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        self.trunk = nn.Sequential(*layers)
        self.mean = nn.Linear(width, act_dim)
        self.log_std = nn.Linear(width, act_dim)
        # input statistics of the training dataset (identity until set)
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))
        self.register_buffer("goal_mean", torch.zeros(goal_dim))
        self.register_buffer("goal_std", torch.ones(goal_dim))
        self.default_goal = None  # a prior's deployment goal, where its file records one

    def set_input_statistics(self, obs_mean, obs_std, goal_mean=None, goal_std=None) -> None:
        """Normalise inputs with dataset statistics (std floored at 1e-3)."""
        self.obs_mean.copy_(torch.as_tensor(obs_mean, dtype=torch.float32))
        self.obs_std.copy_(torch.as_tensor(obs_std, dtype=torch.float32).clamp_min(1e-3))
        if self.goal_dim:
            self.goal_mean.copy_(torch.as_tensor(goal_mean, dtype=torch.float32))
            self.goal_std.copy_(torch.as_tensor(goal_std, dtype=torch.float32).clamp_min(1e-3))

    def forward(self, obs, goal=None) -> DiagGaussian:
        """The Gaussian over actions at ``obs`` (and, for a prior, ``goal``).

        ``obs``: numpy or torch, one observation ``(obs_dim,)`` or a batch ``(B, obs_dim)``,
        in raw units (they are normalised here with the training dataset's statistics).
        ``goal`` (priors only): ``(B, goal_dim)``, or one goal for the whole batch as a
        number, ``(goal_dim,)`` or ``(1, goal_dim)``; None uses the goal recorded with the
        prior (``default_goal``).  The network runs in its own dtype; the result is a
        ``DiagGaussian`` of torch tensors in the floating dtype of ``obs`` (float32 for
        integer input), one row per observation."""
        obs, dtype = self._observations(obs)
        x = (obs - self.obs_mean) / self.obs_std
        if self.goal_dim:
            goal = self._goals(goal, obs)
            x = torch.cat([x, (goal - self.goal_mean) / self.goal_std], dim=-1)
        elif goal is not None:
            raise ValueError("goal must be None: this policy takes no goal")
        h = self.trunk(x)
        log_std = self.log_std(h).clamp(LOG_STD_MIN, LOG_STD_MAX)
        return DiagGaussian(self.mean(h).to(dtype), log_std.exp().to(dtype))

    def _observations(self, obs) -> tuple[torch.Tensor, torch.dtype]:
        """``obs`` as a tensor in the network's dtype, and the dtype to answer in."""
        if not isinstance(obs, torch.Tensor):
            obs = torch.as_tensor(np.asarray(obs))
        dtype = obs.dtype if obs.is_floating_point() else torch.float32
        if obs.ndim not in (1, 2) or obs.shape[-1] != self.obs_dim:
            raise ValueError(f"obs must be one observation ({self.obs_dim},) or a batch "
                             f"(B, {self.obs_dim}), got shape {tuple(obs.shape)}: is it "
                             "another environment's observation?")
        return obs.to(self.obs_mean.dtype), dtype

    def _goals(self, goal, obs: torch.Tensor) -> torch.Tensor:
        """The goal for every row of ``obs``: one goal is broadcast over the batch."""
        if goal is None:
            goal = getattr(self, "default_goal", None)
            if goal is None:
                raise ValueError(f"goal is required: this policy is conditioned on a "
                                 f"{self.goal_dim}-dimensional goal and records no "
                                 "deployment goal (pass goal=...)")
        if not isinstance(goal, torch.Tensor):
            goal = torch.as_tensor(np.asarray(goal, dtype=np.float64))
        goal = goal.to(self.obs_mean.dtype)
        shape = tuple(goal.shape)
        if goal.ndim == 0 and self.goal_dim == 1:
            goal = goal.reshape(1)
        if goal.ndim == 2 and goal.shape == (1, self.goal_dim) and obs.ndim == 1:
            goal = goal[0]
        if goal.ndim == 1 and goal.shape[0] == self.goal_dim:
            goal = goal if obs.ndim == 1 else goal.expand(len(obs), -1)
        elif goal.ndim == 2 and goal.shape[1] == self.goal_dim and obs.ndim == 2 and \
                goal.shape[0] in (1, len(obs)):
            goal = goal.expand(len(obs), -1)
        else:
            rows = "one observation" if obs.ndim == 1 else f"a batch of {len(obs)}"
            raise ValueError(f"goal must have goal_dim={self.goal_dim} value(s) per row, for "
                             f"{rows}: shape ({self.goal_dim},) for one goal, or "
                             f"(B, {self.goal_dim}) with B = the batch; got shape {shape}")
        return goal

    def config(self) -> dict:
        return {"obs_dim": self.obs_dim, "act_dim": self.act_dim, "goal_dim": self.goal_dim,
                "hidden": list(self.hidden)}


class FrozenError(RuntimeError):
    """Raised when something tries to train a frozen policy."""


class FrozenPolicy(GaussianPolicy):
    """A ``GaussianPolicy`` for inference only: training mode and gradients are refused.

    A plain subclass (not a patched instance), so frozen policies copy, pickle and move to
    worker processes like any module.
    """

    def train(self, mode: bool = True) -> FrozenPolicy:
        if mode:
            raise FrozenError("this policy is frozen: it cannot be put in training mode; "
                              "compose it with a prior instead of retraining it")
        return super().train(False)

    def requires_grad_(self, requires_grad: bool = True) -> FrozenPolicy:
        if requires_grad:
            raise FrozenError("this policy is frozen: its parameters cannot require grad")
        return super().requires_grad_(False)


def freeze(policy: GaussianPolicy) -> FrozenPolicy:
    """An inference-only copy of ``policy``: no gradients, eval mode, training refused."""
    frozen = FrozenPolicy(policy.obs_dim, policy.act_dim, policy.goal_dim, policy.hidden)
    frozen.load_state_dict(policy.state_dict())
    return frozen.requires_grad_(False).eval()
