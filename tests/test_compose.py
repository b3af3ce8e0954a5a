"""frozensteer.compose: hand-computed values, properties (hypothesis) and bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from frozensteer.compose import (
    DiagGaussian,
    additive,
    alpha_from_beta,
    beta_from_alpha,
    frozen,
    kl,
    kl_reg,
    poe,
    prior_only,
)

# --- hand-computed values ---------------------------------------------------------------
# actor N(0, 1), prior N(2, 0.5^2) in one dimension; alpha = 0.5, beta = 1.
ACTOR = DiagGaussian(np.array([0.0]), np.array([1.0]))
PRIOR = DiagGaussian(np.array([2.0]), np.array([0.5]))


def test_frozen_and_prior_only_return_their_expert():
    assert frozen(ACTOR, PRIOR) is ACTOR
    assert prior_only(ACTOR, PRIOR) is PRIOR


def test_additive_by_hand():
    out = additive(ACTOR, PRIOR, 0.25)
    np.testing.assert_allclose(out.mean, [0.5])  # 0.75 * 0 + 0.25 * 2
    np.testing.assert_allclose(out.std, [1.0])  # the actor's spread


def test_poe_by_hand():
    # lambda = 0.5 * 1 + 0.5 * 4 = 2.5; mean = (0.5 * 0 * 1 + 0.5 * 2 * 4) / 2.5 = 1.6
    out = poe(ACTOR, PRIOR, 0.5)
    np.testing.assert_allclose(out.mean, [1.6])
    np.testing.assert_allclose(out.var, [1 / 2.5])


def test_kl_reg_by_hand():
    # lambda' = 1 + 1 * 4 = 5; mean = (0 + 1 * 2 * 4) / 5 = 1.6; var = 1/5 = (1/2.5) / (1 + 1)
    out = kl_reg(ACTOR, PRIOR, 1.0)
    np.testing.assert_allclose(out.mean, [1.6])
    np.testing.assert_allclose(out.var, [0.2])


def test_kl_by_hand():
    # KL(N(0,1) || N(2,0.25)) = log(0.5/1) + (1 + 4) / (2 * 0.25) - 0.5 = 9.5 - log 2
    np.testing.assert_allclose(kl(ACTOR, PRIOR), 9.5 - math.log(2))
    # summed over the action axis
    two = DiagGaussian(np.zeros(2), np.ones(2))
    shifted = DiagGaussian(np.ones(2), np.ones(2))
    np.testing.assert_allclose(kl(two, shifted), 1.0)


def test_log_prob_and_sample():
    g = DiagGaussian(np.array([1.0, -1.0]), np.array([2.0, 0.5]))
    expected = sum(-0.5 * ((a - m) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)
                   for a, m, s in zip([0.0, 0.0], [1.0, -1.0], [2.0, 0.5]))
    np.testing.assert_allclose(g.log_prob(np.zeros(2)), expected)
    wide = DiagGaussian(np.zeros((20000, 2)), np.array([2.0, 0.5]))
    draws = wide.sample(np.random.default_rng(0))
    np.testing.assert_allclose(draws.std(0), [2.0, 0.5], rtol=0.03)
    same = wide.sample(np.random.default_rng(0))
    np.testing.assert_array_equal(draws, same)
    t = DiagGaussian(torch.zeros(3), torch.ones(3))
    a = t.sample(torch.Generator().manual_seed(1))
    b = t.sample(torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.dtype == torch.float32


def test_attributes():
    g = DiagGaussian(np.zeros((5, 3)), np.full(3, 0.5))
    assert g.mean.shape == g.std.shape == (5, 3)
    np.testing.assert_allclose(g.var, 0.25)
    np.testing.assert_allclose(g.precision, 4.0)


def test_coefficient_maps():
    assert beta_from_alpha(0.5) == 1.0
    assert alpha_from_beta(1.0) == 0.5
    assert beta_from_alpha(0.0) == 0.0
    np.testing.assert_allclose(beta_from_alpha(np.array([0.1, 0.9])), [1 / 9, 9])
    assert isinstance(beta_from_alpha(torch.tensor([0.5])), torch.Tensor)


def test_coefficient_arrays_compose_many_conditions_at_once():
    actor = DiagGaussian(torch.zeros(4, 3), torch.ones(4, 3))
    prior = DiagGaussian(torch.ones(4, 3), torch.ones(4, 3))
    alphas = torch.tensor([0.0, 0.5, 1.0]).reshape(3, 1, 1)
    out = poe(actor, prior, alphas)
    assert out.shape == (3, 4, 3)
    torch.testing.assert_close(out.mean[:, 0, 0], torch.tensor([0.0, 0.5, 1.0]))


# --- properties -------------------------------------------------------------------------

LOG_STD = st.floats(-5.0, 2.0)


@st.composite
def gaussian_pairs(draw, dtype=np.float64):
    """Two diagonal Gaussians of a random shape, std in [exp(-5), exp(2)] as the networks'."""
    batch = draw(st.integers(1, 4))
    dim = draw(st.integers(1, 6))
    shape = (batch, dim)
    means = arrays(np.float64, shape, elements=st.floats(-10, 10))
    log_stds = arrays(np.float64, shape, elements=LOG_STD)
    a = DiagGaussian(draw(means).astype(dtype), np.exp(draw(log_stds)).astype(dtype))
    g = DiagGaussian(draw(means).astype(dtype), np.exp(draw(log_stds)).astype(dtype))
    return a, g


ALPHA = st.floats(0.0, 1.0, exclude_max=True)


@settings(max_examples=200, deadline=None)
@given(gaussian_pairs(), ALPHA)
def test_identity_float64(pair, alpha):
    actor, prior = pair
    beta = beta_from_alpha(alpha)
    p, k = poe(actor, prior, alpha), kl_reg(actor, prior, beta)
    scale = np.maximum(np.abs(actor.mean), np.abs(prior.mean)) + 1
    assert np.all(np.abs(p.mean - k.mean) <= 1e-10 * scale)
    np.testing.assert_allclose(p.var, (1 + beta) * k.var, rtol=1e-10)


@settings(max_examples=200, deadline=None)
@given(gaussian_pairs(np.float32), st.floats(0.0, 0.99))
def test_identity_float32(pair, alpha):
    actor, prior = pair
    beta = beta_from_alpha(alpha)
    p, k = poe(actor, prior, alpha), kl_reg(actor, prior, beta)
    assert p.mean.dtype == k.mean.dtype == np.float32
    scale = np.maximum(np.abs(actor.mean), np.abs(prior.mean)) + 1
    assert np.all(np.abs(p.mean - k.mean) <= 1e-5 * scale)
    np.testing.assert_allclose(p.var, (1 + beta) * k.var, rtol=1e-5)


@settings(max_examples=100, deadline=None)
@given(gaussian_pairs())
def test_endpoints(pair):
    actor, prior = pair
    for out, ref in [(poe(actor, prior, 0.0), actor), (poe(actor, prior, 1.0), prior),
                     (kl_reg(actor, prior, 0.0), actor)]:
        np.testing.assert_allclose(out.mean, ref.mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(out.std, ref.std, rtol=1e-12)


@settings(max_examples=200, deadline=None)
@given(gaussian_pairs(), ALPHA)
def test_poe_mean_between_the_two_means(pair, alpha):
    actor, prior = pair
    mean = poe(actor, prior, alpha).mean
    low = np.minimum(actor.mean, prior.mean)
    high = np.maximum(actor.mean, prior.mean)
    ulp = 4 * np.spacing(np.maximum(np.abs(low), np.abs(high)))
    assert np.all(mean >= low - ulp) and np.all(mean <= high + ulp)


@settings(max_examples=200, deadline=None)
@given(gaussian_pairs())
def test_kl_non_negative_and_zero_only_for_equal(pair):
    p, q = pair
    assert np.all(kl(p, q) >= 0)
    np.testing.assert_array_equal(kl(p, p), 0.0)
    differs = (np.abs(p.mean - q.mean) > 1e-6) | (np.abs(p.std / q.std - 1) > 1e-6)
    assert np.all(kl(p, q)[differs.any(-1)] > 0)


@settings(max_examples=100, deadline=None)
@given(gaussian_pairs(), ALPHA)
def test_torch_and_numpy_agree(pair, alpha):
    a, g = pair
    at = DiagGaussian(torch.from_numpy(a.mean.copy()), torch.from_numpy(a.std.copy()))
    gt = DiagGaussian(torch.from_numpy(g.mean.copy()), torch.from_numpy(g.std.copy()))
    beta = beta_from_alpha(alpha)
    for ours, theirs in [(poe(a, g, alpha), poe(at, gt, alpha)),
                         (kl_reg(a, g, beta), kl_reg(at, gt, beta)),
                         (additive(a, g, alpha), additive(at, gt, alpha))]:
        np.testing.assert_allclose(theirs.mean.numpy(), ours.mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(theirs.std.numpy(), ours.std, rtol=1e-12)
    np.testing.assert_allclose(kl(at, gt).numpy(), kl(a, g), rtol=1e-12, atol=1e-12)


def test_extreme_alpha_and_small_std_stay_finite_and_accurate():
    actor = DiagGaussian(np.array([0.3]), np.array([math.exp(-5)]))
    prior = DiagGaussian(np.array([-0.7]), np.array([math.exp(-5)]))
    for alpha in (1e-12, 1 - 1e-12):
        out = poe(actor, prior, alpha)
        expected_mean = 0.3 + alpha * (-1.0)  # equal precisions: plain interpolation
        np.testing.assert_allclose(out.mean, [expected_mean], rtol=1e-12)
        np.testing.assert_allclose(out.std, [math.exp(-5)], rtol=1e-9)
        k = kl_reg(actor, prior, beta_from_alpha(alpha))
        assert np.all(np.isfinite(k.mean)) and np.all(np.isfinite(k.std))
        np.testing.assert_allclose(k.mean, out.mean, rtol=1e-9)


# --- bad input ----------------------------------------------------------------------------

BAD = [
    (lambda: poe(ACTOR, PRIOR, 1.5), "alpha", "1.5"),
    (lambda: poe(ACTOR, PRIOR, -0.1), "alpha", "-0.1"),
    (lambda: poe(ACTOR, PRIOR, float("nan")), "alpha", "nan"),
    (lambda: additive(ACTOR, PRIOR, np.array([0.5, 2.0])), "alpha", "2.0"),
    (lambda: kl_reg(ACTOR, PRIOR, -1.0), "beta", "-1.0"),
    (lambda: kl_reg(ACTOR, PRIOR, float("inf")), "beta", "inf"),
    (lambda: alpha_from_beta(-2.0), "beta", "-2.0"),
    (lambda: beta_from_alpha(1.0), "alpha", "1.0"),
    (lambda: DiagGaussian(np.zeros(2), np.array([1.0, 0.0])), "std", "0.0"),
    (lambda: DiagGaussian(np.zeros(2), np.array([1.0, -3.0])), "std", "-3.0"),
    (lambda: DiagGaussian(np.zeros(2), np.array([np.nan, 1.0])), "std", "nan"),
    (lambda: DiagGaussian(np.zeros(2), np.array([np.inf, 1.0])), "std", "inf"),
    (lambda: DiagGaussian(np.array([np.nan, 0.0]), np.ones(2)), "mean", "nan"),
    (lambda: DiagGaussian(np.zeros(3), np.ones(4)), "mean", "(3,)"),
    (lambda: poe(ACTOR, DiagGaussian(np.zeros(2), np.ones(2)), 0.5), "prior", "(2,)"),
    (lambda: kl(ACTOR, DiagGaussian(np.zeros((2, 3)), np.ones(3))), "q", "(2, 3)"),
    (lambda: poe(ACTOR, DiagGaussian(torch.zeros(1), torch.ones(1)), 0.5), "prior", "torch"),
    (lambda: poe(ACTOR, DiagGaussian(np.zeros(1, np.float32), np.ones(1, np.float32)), 0.5),
     "prior", "float32"),
    (lambda: poe(ACTOR, PRIOR, "0.5"), "alpha", "'0.5'"),
    (lambda: poe(ACTOR, np.zeros(1), 0.5), "prior", "ndarray"),
]


@pytest.mark.parametrize("call,name,value", BAD)
def test_bad_input_names_argument_and_value(call, name, value):
    with pytest.raises(ValueError) as err:
        call()
    message = str(err.value)
    assert name in message and value in message, message


@pytest.mark.parametrize("mean", [np.zeros(2, dtype=np.int64), np.zeros(2, dtype=bool),
                                  np.zeros(2) + 0j, torch.zeros(2, dtype=torch.int32)])
def test_non_floating_distributions_are_refused(mean):
    std = torch.ones(2) if isinstance(mean, torch.Tensor) else np.ones(2)
    with pytest.raises(ValueError, match="mean must hold real floating-point numbers"):
        DiagGaussian(mean, std)


@pytest.mark.parametrize("xp", [np, torch])
def test_a_coefficient_of_the_wrong_shape_names_itself(xp):
    make = (lambda *s: torch.zeros(*s, dtype=torch.float64)) if xp is torch else (
        lambda *s: np.zeros(s))
    actor = DiagGaussian(make(3, 2), make(3, 2) + 1)
    with pytest.raises(ValueError, match=r"alpha of shape \(4, 1\) does not broadcast"):
        poe(actor, actor, make(4, 1) + 0.5)
    with pytest.raises(ValueError, match=r"beta of shape \(5,\) is ambiguous .* shape \(5, 1\)"):
        kl_reg(actor, actor, make(5) + 0.5)
    # one alpha per row of a batch whose size equals the action dimension: refused, not
    # silently applied per action dimension
    square = DiagGaussian(make(2, 2), make(2, 2) + 1)
    with pytest.raises(ValueError, match=r"alpha of shape \(2,\) is ambiguous"):
        poe(square, square, make(2) + 0.5)
    # the coefficient is checked against the pair's batch, not the actor's alone
    one = DiagGaussian(make(1, 2), make(1, 2) + 1)
    with pytest.raises(ValueError, match=r"alpha of shape \(4, 1\) does not broadcast"):
        poe(one, actor, make(4, 1) + 0.5)
    assert poe(one, actor, make(3, 1) + 0.5).shape == (3, 2)


@pytest.mark.parametrize("xp", [np, torch])
def test_a_gaussian_from_a_log_std_a_number_or_torch(xp):
    mean = xp.zeros((4, 2)) if xp is np else torch.zeros(4, 2, dtype=torch.float64)
    log_std = mean - 1.0
    from_log = DiagGaussian.from_log_std(mean, log_std)
    assert float(from_log.std[0, 0]) == pytest.approx(np.exp(-1.0), rel=1e-15)
    assert float(DiagGaussian.from_log_std(mean, -1.0).std[3, 1]) == float(from_log.std[0, 0])
    plain = DiagGaussian(mean, 0.3)
    assert plain.std.shape == (4, 2) and float(plain.std[2, 1]) == 0.3
    assert plain.std.dtype == mean.dtype
    with pytest.raises(ValueError, match="pass exp\\(log_std\\)"):
        DiagGaussian(mean, -0.5)
    if xp is torch:
        normal = from_log.to_torch()
        assert isinstance(normal, torch.distributions.Normal)
        back = DiagGaussian.from_torch(normal)
        assert torch.equal(back.mean, from_log.mean) and torch.equal(back.std, from_log.std)
    else:
        with pytest.raises(ValueError, match="to_torch needs torch tensors"):
            from_log.to_torch()
    with pytest.raises(ValueError, match="must be a torch.distributions.Normal"):
        DiagGaussian.from_torch((mean, log_std))


def test_an_overflow_of_the_rule_itself_says_so():
    actor = DiagGaussian(torch.zeros(2, dtype=torch.float16),
                         torch.full((2,), 0.003, dtype=torch.float16))
    prior = DiagGaussian(torch.ones(2, dtype=torch.float16),
                         torch.full((2,), 0.003, dtype=torch.float16))
    with pytest.raises(ValueError, match="the composition overflowed in torch.float16"):
        kl_reg(actor, prior, 3.0)
