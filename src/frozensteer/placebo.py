"""Placebo conditions: the frozen actor moved in directions that carry no goal information.

MuJoCo locomotion is chaotic: any change of action changes the whole trajectory, and with
one training seed and 25 paired episodes a change that knows nothing of the goal may still
come out HELP or HURT.  The rate at which these placebos are classified HELP or HURT is the
false-positive rate of the classification, against which every verdict is read.

- ``placebo-tiny``: the actor's mean moved by ``TINY`` of its standard deviation along a
  random direction;
- ``placebo-kl(alpha)``: the actor's mean moved along a random direction by as much as makes
  its KL divergence from the actor equal that of PoE(alpha) with the sub-cell's prior at the
  same state (KL(N(mu + d, s) || N(mu, s)) = 0.5 sum (d / s)^2): PoE's distance from the
  actor, with none of its direction.

The direction is drawn afresh at every step, from a generator seeded with the state
(``rules.row_generators``), uniformly on the sphere of the actor-whitened action space; the
standard deviation stays the actor's.
"""

from __future__ import annotations

import numpy as np
import torch

from frozensteer import compose
from frozensteer.compose import DiagGaussian
from frozensteer.rules import StepContext, register, row_generators

TINY = 1e-3


def directions(ctx: StepContext, salt: str) -> torch.Tensor:
    """(B, act_dim): a seeded uniform unit vector per row."""
    mean = ctx.actor.mean
    draws = np.stack([g.standard_normal(mean.shape[-1]) for g in row_generators(ctx.obs, salt)])
    draws /= np.linalg.norm(draws, axis=1, keepdims=True)
    return torch.as_tensor(draws, dtype=mean.dtype)


@register("placebo-tiny", uses_prior=False)
def _tiny(ctx: StepContext, _coefficient) -> DiagGaussian:
    mean, std = ctx.actor.mean, ctx.actor.std
    return DiagGaussian(mean + TINY * std * directions(ctx, "placebo-tiny"), std)


@register("placebo-kl", coefficient="alpha")
def _kl_matched(ctx: StepContext, alpha) -> DiagGaussian:
    mean, std = ctx.actor.mean, ctx.actor.std
    target = compose.kl(compose.poe(ctx.actor, ctx.prior, alpha), ctx.actor)  # per row
    radius = torch.sqrt(2 * target)[..., None]  # 0.5 |d / s|^2 = target
    return DiagGaussian(mean + radius * std * directions(ctx, "placebo-kl"), std)
