"""Outside policies as frozen actors: anything that gives a Gaussian over actions.

A frozen actor, for ``frozensteer``, is a callable ``actor(obs) -> DiagGaussian`` over the
environment's actions whose mean is the action it would execute.  These adapters make one:

- ``from_sb3(model_or_policy, squash="delta")``: a Stable-Baselines3 SAC (or any policy whose
  actor has ``get_action_dist_params``).  SAC executes ``tanh(u)``, ``u ~ N(mu, sigma)``,
  rescaled to the action bounds, which is not Gaussian.  ``squash="delta"`` linearises tanh
  at ``mu`` (the delta method): mean ``tanh(mu)``, standard deviation
  ``(1 - tanh(mu)^2) sigma``, both rescaled to the bounds and the std floored at
  ``min_std`` (it vanishes where tanh saturates); its mean is SB3's own deterministic
  action (equal to SB3's ``predict(obs, deterministic=True)`` within 1e-6: SB3 rescales to
  the bounds in float32, the adapter in the dtype of the observations), so alpha = 0
  executes SB3's policy.  ``squash="none"`` takes the pre-squash
  ``N(mu, sigma)`` as if it were over actions: the engine then executes ``clip(mu)``, a
  different policy, and D(alpha) is measured on the unsquashed Gaussian.
- ``from_callable(fn, output=...)``: any function of a batch of observations returning
  ``(mean, std)``, ``(mean, log_std)`` or a ``torch.distributions.Normal``.

Both are torch modules (``torch.nn.Module``), so the evaluation engine's float64 copy works; the wrapped
network keeps its own dtype (SB3's casts observations to float32), and the result comes back
in the dtype of the observations.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from frozensteer.compose import DiagGaussian

SQUASHES = ("delta", "none")
OUTPUTS = ("mean_std", "mean_log_std", "torch_normal")


class _Frozen(torch.nn.Module):
    """An actor around an outside network, hidden from ``.double()`` and from training."""

    def __init__(self, net):
        super().__init__()
        self._outside = [net]  # a list: not a submodule, so .double() leaves its dtype

    def train(self, mode: bool = True):
        return super().train(False)


class SB3Actor(_Frozen):
    """A Stable-Baselines3 actor as a frozen ``DiagGaussian`` actor (see ``from_sb3``)."""

    def __init__(self, actor, low, high, squash: str, min_std: float):
        super().__init__(actor)
        self.squash, self.min_std = squash, min_std
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float64))
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float64))

    @torch.no_grad()
    def forward(self, obs: torch.Tensor) -> DiagGaussian:
        obs = torch.as_tensor(obs)
        mu, log_std, _ = self._outside[0].get_action_dist_params(obs.float())
        mu, std = mu.to(obs.dtype), log_std.exp().to(obs.dtype)
        if self.squash == "none":
            return DiagGaussian(mu, std)
        low, high = self.low.to(obs.dtype), self.high.to(obs.dtype)
        half = (high - low) / 2
        t = torch.tanh(mu)
        return DiagGaussian(low + (t + 1) * half,
                            ((1 - t**2) * std * half).clamp_min(self.min_std))


def from_sb3(model, *, squash: str = "delta", min_std: float = math.exp(-5)) -> SB3Actor:
    """A frozen actor from an SB3 SAC model, or its policy (``model.policy``)."""
    if squash not in SQUASHES:
        raise ValueError(f"squash must be one of {list(SQUASHES)}, got {squash!r}: 'delta' "
                         "keeps SB3's own deterministic action, 'none' takes the unsquashed "
                         "Gaussian")
    policy = getattr(model, "policy", model)
    actor = getattr(policy, "actor", None)
    if actor is None or not hasattr(actor, "get_action_dist_params"):
        raise ValueError(f"from_sb3 needs an SB3 model or policy whose actor has "
                         f"get_action_dist_params (SAC), got {type(model).__name__}")
    space = policy.action_space
    adapted = SB3Actor(actor, space.low, space.high, squash, min_std).eval()
    adapted.action_space = space  # SteeredPolicy clips to it
    return adapted


class CallableActor(_Frozen):
    """A function of observations as a frozen ``DiagGaussian`` actor (see
    ``from_callable``)."""

    def __init__(self, fn, output: str):
        super().__init__(fn)
        self.output = output

    @torch.no_grad()
    def forward(self, obs: torch.Tensor) -> DiagGaussian:
        obs = torch.as_tensor(obs)
        out = self._outside[0](obs)
        if self.output == "torch_normal":
            if not isinstance(out, torch.distributions.Normal):
                raise ValueError(f"output='torch_normal' needs the function to return a "
                                 f"torch.distributions.Normal, got {type(out).__name__}")
            mean, spread = out.mean, out.stddev
        else:
            mean, spread = out
            spread = torch.as_tensor(spread)
            if self.output == "mean_log_std":
                spread = spread.exp()
        return DiagGaussian(torch.as_tensor(mean).to(obs.dtype), spread.to(obs.dtype))


def from_callable(fn: Callable, *, output: str = "mean_std") -> CallableActor:
    """A frozen actor from ``fn(obs)`` returning (mean, std), (mean, log_std) or a torch
    ``Normal`` (``output`` "mean_std", "mean_log_std" or "torch_normal")."""
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {list(OUTPUTS)}, got {output!r}")
    if not callable(fn):
        raise ValueError(f"fn must be callable, got {type(fn).__name__}")
    return CallableActor(fn, output).eval()
