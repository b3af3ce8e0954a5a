"""Placebo conditions: as far from the actor as PoE, in no direction the prior knows."""

import torch

from frozensteer import compose
from frozensteer.compose import DiagGaussian
from frozensteer.rules import Condition


def gaussians(rows=6, shift=0.5):
    torch.manual_seed(0)
    obs = torch.randn(rows, 11, dtype=torch.float64)
    actor = DiagGaussian(torch.zeros(rows, 3, dtype=torch.float64),
                         torch.full((rows, 3), 0.3, dtype=torch.float64))
    prior = DiagGaussian(torch.full((rows, 3), shift, dtype=torch.float64),
                         torch.full((rows, 3), 0.2, dtype=torch.float64))
    return obs, actor, prior


def test_the_kl_placebo_is_as_far_as_poe_and_blind_to_the_prior_s_direction():
    obs, actor, prior = gaussians()
    placebo = Condition("placebo-kl", alpha=0.5).apply(actor, prior, obs=obs)
    poe = compose.poe(actor, prior, 0.5)
    torch.testing.assert_close(compose.kl(placebo, actor), compose.kl(poe, actor))
    assert torch.equal(placebo.std, actor.std)
    # a prior pulling the other way, as strongly: the same placebo, action for action
    _, _, opposite = gaussians(shift=-0.5)
    assert torch.equal(Condition("placebo-kl", alpha=0.5).apply(actor, opposite, obs=obs).mean,
                       placebo.mean)
    # the same state alone gives the same row: the direction is seeded by the state
    alone = Condition("placebo-kl", alpha=0.5).apply(
        DiagGaussian(actor.mean[3:4], actor.std[3:4]),
        DiagGaussian(prior.mean[3:4], prior.std[3:4]), obs=obs[3:4])
    assert torch.equal(alone.mean[0], placebo.mean[3])


def test_the_tiny_placebo_moves_a_thousandth_of_a_standard_deviation():
    obs, actor, prior = gaussians()
    tiny = Condition("placebo-tiny").apply(actor, None, obs=obs)
    moved = ((tiny.mean - actor.mean) / actor.std).norm(dim=-1)
    torch.testing.assert_close(moved, torch.full((6,), 1e-3, dtype=torch.float64))
    directions = (tiny.mean - actor.mean) / actor.std
    assert not torch.allclose(directions[0], directions[1])  # a direction per state
