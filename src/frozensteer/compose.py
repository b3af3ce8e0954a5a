"""Diagonal-Gaussian algebra and the five composition rules of a frozen actor with a prior.

Everything here is closed form and works the same on numpy arrays and torch tensors, in
float32 and float64, for any batch shape (the last axis is the action dimension) with
broadcasting.  Coefficients ``alpha`` and ``beta`` may be Python numbers or arrays that
broadcast against the batch, so one call can compose many conditions at once.

The rules (protocol chapter, "Policies and composition rules"), per action dimension:

=================  ===========================================  =============================
rule               mean                                         variance
=================  ===========================================  =============================
frozen             mu_A                                         s_A^2
prior-only         mu_G                                         s_G^2
additive(alpha)    (1 - alpha) mu_A + alpha mu_G                s_A^2
PoE(alpha)         ((1-alpha) mu_A/s_A^2 + alpha mu_G/s_G^2)/l  1/l, l = (1-alpha)/s_A^2
                                                                + alpha/s_G^2
KL-Reg(beta)       (mu_A/s_A^2 + beta mu_G/s_G^2)/l'            1/l', l' = 1/s_A^2 + beta/s_G^2
=================  ===========================================  =============================

KL-Reg(beta) maximises E_pi[beta log pi_G] - KL(pi || pi_A).  With beta = alpha/(1 - alpha)
its mean equals the PoE(alpha) mean and its covariance is the PoE covariance divided by
1 + beta.

Means are computed as ``mu_A + w (mu_G - mu_A)`` with the prior's weight ``w`` in [0, 1],
which keeps them between the two means and accurate when alpha is near 0 or 1 and the
standard deviations are as small as exp(-5).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

Array = Any  # a numpy array or a torch tensor


class DiagGaussian:
    """A diagonal Gaussian over actions: ``N(mean, diag(std**2))``.

    ``mean`` and ``std`` are numpy arrays or torch tensors (both of the same kind) whose
    shapes broadcast; the last axis is the action dimension.  Both are stored broadcast to
    their common shape.
    """

    def __init__(self, mean: Array, std: Array | float):
        if isinstance(std, (int, float, np.number)) and not isinstance(std, bool) and \
                isinstance(mean, (torch.Tensor, np.ndarray)):  # one spread for every entry
            std = (torch.full_like(mean, float(std)) if isinstance(mean, torch.Tensor)
                   else np.full_like(mean, float(std)))
        _same_backend(mean=mean, std=std)
        _check_floating(mean=mean, std=std)
        _check_finite("mean", mean)
        _check_finite("std", std)
        bad = ~(std > 0)
        if bad.any():
            raise ValueError(
                f"std must be positive, got {_first(std, bad)}: standard deviations are "
                "square roots of variances (pass exp(log_std), not log_std)"
            )
        shape = _broadcast_shape(mean=mean, std=std)
        self.mean = _broadcast_to(mean, shape)
        self.std = _broadcast_to(std, shape)

    @classmethod
    def from_log_std(cls, mean: Array, log_std: Array | float) -> DiagGaussian:
        """``N(mean, diag(exp(log_std)**2))``: for networks that output a log standard
        deviation (SB3's and most offline-RL code's convention)."""
        if isinstance(log_std, (int, float, np.number)) and not isinstance(log_std, bool):
            return cls(mean, math.exp(log_std))
        _same_backend(mean=mean, log_std=log_std)
        return cls(mean, _xp(log_std).exp(log_std))

    @classmethod
    def from_torch(cls, normal: torch.distributions.Normal) -> DiagGaussian:
        """The same Gaussian as a ``torch.distributions.Normal`` (independent per action
        dimension)."""
        if not isinstance(normal, torch.distributions.Normal):
            raise ValueError(f"normal must be a torch.distributions.Normal, got "
                             f"{type(normal).__name__}")
        return cls(normal.mean, normal.stddev)

    def to_torch(self) -> torch.distributions.Normal:
        """This Gaussian as a ``torch.distributions.Normal`` (tensors only)."""
        if not isinstance(self.mean, torch.Tensor):
            raise ValueError("to_torch needs torch tensors, got numpy arrays: build the "
                             "DiagGaussian from torch.as_tensor(mean), torch.as_tensor(std)")
        return torch.distributions.Normal(self.mean, self.std)

    @property
    def var(self) -> Array:
        return self.std**2

    @property
    def precision(self) -> Array:
        return 1.0 / self.var

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.mean.shape)

    def log_prob(self, action: Array) -> Array:
        """Log-density of ``action``, summed over the last (action) axis."""
        _same_backend(mean=self.mean, action=action)
        _broadcast_shape(mean=self.mean, action=action)
        xp = _xp(self.mean)
        z = (action - self.mean) / self.std
        per_dim = -0.5 * z**2 - xp.log(self.std) - 0.5 * math.log(2 * math.pi)
        return per_dim.sum(-1)

    def sample(self, generator: np.random.Generator | torch.Generator | None = None) -> Array:
        """One draw per batch element: a numpy Generator for arrays, a torch one for tensors."""
        if isinstance(self.mean, torch.Tensor):
            noise = torch.randn(self.mean.shape, generator=generator, dtype=self.mean.dtype,
                                device=self.mean.device)
        else:
            rng = generator if generator is not None else np.random.default_rng()
            noise = rng.standard_normal(self.mean.shape).astype(self.mean.dtype, copy=False)
        return self.mean + self.std * noise

    def __repr__(self) -> str:
        return f"DiagGaussian(shape={self.shape}, dtype={self.mean.dtype})"


# --- the five rules ---------------------------------------------------------------------


def frozen(actor: DiagGaussian, prior: DiagGaussian) -> DiagGaussian:
    """The frozen actor alone (the prior is ignored, but must match it)."""
    _check_pair(actor, prior)
    return actor


def prior_only(actor: DiagGaussian, prior: DiagGaussian) -> DiagGaussian:
    """The goal-conditioned prior alone (the actor is ignored, but must match it)."""
    _check_pair(actor, prior)
    return prior


def additive(actor: DiagGaussian, prior: DiagGaussian, alpha: Array) -> DiagGaussian:
    """Mean interpolation ``(1 - alpha) mu_A + alpha mu_G`` with the actor's spread."""
    _check_pair(actor, prior)
    alpha = _cast(_check_alpha(alpha, _batch_like(actor, prior)), actor.mean)
    mean = actor.mean + alpha * (prior.mean - actor.mean)
    return DiagGaussian(mean, actor.std + 0 * mean)


def poe(actor: DiagGaussian, prior: DiagGaussian, alpha: Array) -> DiagGaussian:
    """Product of experts ``pi_A^(1-alpha) pi_G^alpha``, normalised (alpha in [0, 1])."""
    _check_pair(actor, prior)
    alpha = _check_alpha(alpha, _batch_like(actor, prior))
    # 1 - alpha in float64 before casting: float32 cannot resolve it near alpha = 1
    actor_term = _cast(1 - alpha, actor.mean) * actor.precision
    prior_term = _cast(alpha, actor.mean) * prior.precision
    return _precision_weighted(actor, prior, actor_term, prior_term)


def kl_reg(actor: DiagGaussian, prior: DiagGaussian, beta: Array) -> DiagGaussian:
    """The maximiser of ``E_pi[beta log pi_G] - KL(pi || pi_A)``: ``pi_A pi_G^beta``, normalised."""
    _check_pair(actor, prior)
    beta = _cast(_check_beta(beta, _batch_like(actor, prior)), actor.mean)
    actor_term = actor.precision + 0 * beta
    prior_term = beta * prior.precision
    return _precision_weighted(actor, prior, actor_term, prior_term)


def _precision_weighted(actor, prior, actor_term, prior_term) -> DiagGaussian:
    precision = actor_term + prior_term
    weight = prior_term / precision  # the prior's share, in [0, 1]
    mean = actor.mean + weight * (prior.mean - actor.mean)
    xp = _xp(mean)
    if not bool(xp.isfinite(precision).all()) or not bool(xp.isfinite(mean).all()):
        raise ValueError(
            f"the composition overflowed in {mean.dtype}: precisions 1/std^2 of the inputs "
            "(up to 1/exp(-5)^2 = 22026 per distribution) exceed its range; compose in float32 "
            "or float64, e.g. DiagGaussian(mean.double(), std.double())")
    return DiagGaussian(mean, xp.sqrt(1.0 / precision))


# --- divergences and coefficient maps ---------------------------------------------------


def kl(p: DiagGaussian, q: DiagGaussian) -> Array:
    """KL(p || q) in closed form, summed over the last (action) axis.

    Written as ``0.5 (x - log1p(x)) + (mu_p - mu_q)^2 / (2 s_q^2)`` with
    ``x = (s_p^2 - s_q^2) / s_q^2``, which is never negative and exactly 0 for equal
    arguments.
    """
    _check_pair(p, q, names=("p", "q"))
    xp = _xp(p.mean)
    x = (p.var - q.var) / q.var
    per_dim = 0.5 * (x - xp.log1p(x)) + 0.5 * (p.mean - q.mean) ** 2 / q.var
    return per_dim.sum(-1)


def beta_from_alpha(alpha: Array) -> Array:
    """The KL-Reg coefficient matching PoE(alpha): ``beta = alpha / (1 - alpha)``."""
    given, alpha = alpha, _check_alpha(alpha)
    bad = alpha == 1
    if bad.any():
        raise ValueError(
            "alpha must be below 1 to map to beta, got 1.0: PoE(1) is the prior alone, "
            "which KL-Reg reaches only as beta -> infinity (use prior_only)"
        )
    return _like_input(alpha / (1 - alpha), given)


def alpha_from_beta(beta: Array) -> Array:
    """The PoE coefficient matching KL-Reg(beta): ``alpha = beta / (1 + beta)``."""
    given, beta = beta, _check_beta(beta)
    return _like_input(beta / (1 + beta), given)


# --- validation helpers -----------------------------------------------------------------


def _xp(x):
    return torch if isinstance(x, torch.Tensor) else np


def _same_backend(**arrays) -> None:
    kinds = {name: isinstance(a, torch.Tensor) for name, a in arrays.items()}
    if len(set(kinds.values())) > 1:
        detail = ", ".join(f"{n} is {'a torch tensor' if t else type(a).__name__}"
                           for (n, a), t in zip(arrays.items(), kinds.values()))
        raise ValueError(f"{' and '.join(arrays)} must all be numpy arrays or all torch "
                         f"tensors, got: {detail}; convert one of them")
    for name, a in arrays.items():
        if not isinstance(a, (torch.Tensor, np.ndarray)):
            raise ValueError(f"{name} must be a numpy array or a torch tensor, got "
                             f"{type(a).__name__}: wrap it with numpy.asarray or torch.as_tensor")


def _check_floating(**arrays) -> None:
    for name, a in arrays.items():
        floating = (a.is_floating_point() if isinstance(a, torch.Tensor)
                    else np.issubdtype(a.dtype, np.floating))
        if not floating:
            raise ValueError(f"{name} must hold real floating-point numbers (float16, float32 "
                             f"or float64), got dtype {a.dtype}: cast it, e.g. with "
                             ".astype(np.float64) or .double()")


def _first(x, mask) -> float:
    """The first entry of ``x`` where ``mask`` holds, as a Python float (for messages)."""
    flat_mask = mask.reshape(-1)
    flat = _broadcast_to(x, tuple(mask.shape)).reshape(-1)
    index = int(np.flatnonzero(np.asarray(flat_mask))[0])
    return float(flat[index])


def _check_finite(name: str, x) -> None:
    bad = ~_xp(x).isfinite(x)
    if bad.any():
        raise ValueError(f"{name} must be finite, got {_first(x, bad)}: check the network "
                         "outputs or data that produced it")


def _broadcast_shape(**arrays) -> tuple[int, ...]:
    shapes = {name: tuple(a.shape) for name, a in arrays.items()}
    try:
        return tuple(np.broadcast_shapes(*shapes.values()))
    except ValueError:
        detail = ", ".join(f"{n} {s}" for n, s in shapes.items())
        raise ValueError(f"shapes do not broadcast: {detail}; the last axis is the action "
                         "dimension and batch axes must match or be 1") from None


def _broadcast_to(x, shape):
    return torch.broadcast_to(x, shape) if isinstance(x, torch.Tensor) else np.broadcast_to(x, shape)


def _check_pair(a: DiagGaussian, b: DiagGaussian, names=("actor", "prior")) -> None:
    for name, g in zip(names, (a, b)):
        if not isinstance(g, DiagGaussian):
            raise ValueError(f"{name} must be a DiagGaussian, got {type(g).__name__}: "
                             "build it with DiagGaussian(mean, std)")
    _same_backend(**{f"{names[0]}.mean": a.mean, f"{names[1]}.mean": b.mean})
    if a.mean.dtype != b.mean.dtype:
        raise ValueError(f"{names[0]} and {names[1]} must share a dtype, got {a.mean.dtype} "
                         f"and {b.mean.dtype}: cast one of them")
    if a.shape[-1:] != b.shape[-1:]:
        raise ValueError(f"{names[0]} and {names[1]} must have the same action dimension "
                         f"(last axis), got shapes {a.shape} and {b.shape}")
    _broadcast_shape(**{f"{names[0]}.mean": a.mean, f"{names[1]}.mean": b.mean})


def _as_coefficient(name: str, value, like):
    """``value`` as a float64 array of the backend of ``like`` (numpy if none)."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        if like is not None:
            _same_backend(**{name: value, "actor.mean": like})
    elif isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}")
    if isinstance(value, (torch.Tensor, np.ndarray)):
        if isinstance(value, torch.Tensor) and value.is_complex() or \
                isinstance(value, np.ndarray) and np.iscomplexobj(value):
            raise ValueError(f"{name} must be real, got dtype {value.dtype}")
        if like is not None and value.ndim == 1 and value.shape[0] > 1 and like.ndim > 1:
            raise ValueError(f"{name} of shape {tuple(value.shape)} is ambiguous against the "
                             f"batch of shape {tuple(like.shape)} (it would apply per action "
                             f"dimension, or fail): give one {name} per row as shape "
                             f"({value.shape[0]}, 1), or per action dimension as shape "
                             f"(1, {value.shape[0]})")
        if like is not None:
            try:
                np.broadcast_shapes(tuple(value.shape), tuple(like.shape))
            except ValueError:
                raise ValueError(f"{name} of shape {tuple(value.shape)} does not broadcast "
                                 f"against the batch of shape {tuple(like.shape)}: give one "
                                 f"{name} per row as shape ({like.shape[0]}, 1), or a number"
                                 ) from None
    if isinstance(like, torch.Tensor) or isinstance(value, torch.Tensor):
        return torch.as_tensor(value, dtype=torch.float64)
    return np.asarray(value, dtype=np.float64)


def _batch_like(actor: DiagGaussian, prior: DiagGaussian):
    """The actor's mean broadcast to the pair's common shape: what a coefficient must
    broadcast against."""
    return _broadcast_to(actor.mean, _broadcast_shape(actor=actor.mean, prior=prior.mean))


def _cast(coefficient, like):
    """A validated coefficient in the dtype (and device) of the distribution ``like``."""
    if isinstance(like, torch.Tensor):
        return coefficient.to(dtype=like.dtype, device=like.device)
    return coefficient.astype(like.dtype)


def _like_input(result, given):
    """A Python float for a number given, the array or tensor itself otherwise."""
    return result if isinstance(given, (torch.Tensor, np.ndarray)) else float(result)


def _check_alpha(alpha, like=None):
    a = _as_coefficient("alpha", alpha, like)
    bad = ~((a >= 0) & (a <= 1))  # NaN fails both comparisons
    if bad.any():
        raise ValueError(f"alpha must lie in [0, 1], got {_first(a, bad)}: 0 is the frozen "
                         "actor, 1 the prior alone")
    return a


def _check_beta(beta, like=None):
    b = _as_coefficient("beta", beta, like)
    bad = ~((b >= 0) & _xp(b).isfinite(b))
    if bad.any():
        raise ValueError(f"beta must be finite and non-negative, got {_first(b, bad)}: 0 is "
                         "the frozen actor; use alpha_from_beta / beta_from_alpha to convert")
    return b
