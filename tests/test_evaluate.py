"""The evaluation engine on real Hopper rollouts: pairing, the identity, workers, modes."""

import functools

import gymnasium as gym
import numpy as np
import pytest
import pandas as pd
import torch

from frozensteer.agents import GaussianPolicy, freeze
from frozensteer.evaluate import evaluate
from frozensteer.experiments import conditions
from frozensteer.rules import Condition

make_hopper = functools.partial(gym.make, "Hopper-v5")


def policy(seed, goal_dim=0):
    torch.manual_seed(seed)
    return freeze(GaussianPolicy(11, 3, goal_dim, hidden=(32, 32)))


ACTOR, PRIOR, GOAL = policy(0), policy(1, goal_dim=1), np.array([2.0])
SEEDS = [10, 11, 12]


def run(conds, **kwargs):
    return evaluate(make_hopper, ACTOR, PRIOR, GOAL, conds, SEEDS, **kwargs)


def test_one_row_per_condition_and_episode_paired_by_seed():
    conds = conditions("smoke")
    rows = run(conds)
    assert len(rows) == len(conds) * len(SEEDS)
    assert rows.groupby("condition")["seed"].apply(list).map(lambda s: s == SEEDS).all()
    frozen, poe_zero = rows[rows.rule == "frozen"], run([Condition("poe", alpha=0.0)])
    # PoE(0) is the frozen actor: same seeds, same episodes
    np.testing.assert_array_equal(frozen["return"], poe_zero["return"])
    assert rows["length"].min() > 0 and np.isnan(frozen["alpha"]).all()


def test_poe_and_kl_reg_execute_identical_episodes_in_deterministic_mode():
    # HalfCheetah never terminates: 1,000 chaotic steps would amplify any difference
    torch.manual_seed(2)
    actor, prior = (freeze(GaussianPolicy(17, 6, g, hidden=(32, 32))) for g in (0, 1))
    rows = evaluate(functools.partial(gym.make, "HalfCheetah-v5"), actor, prior, GOAL,
                    conditions("smoke"), [10, 11])
    poe = rows[rows.rule == "poe"].sort_values(["alpha", "episode"])
    kl = rows[rows.rule == "kl-reg"].sort_values(["alpha", "episode"])
    assert len(poe) == 5 * 2 and (poe["length"] == 1000).all()
    np.testing.assert_array_equal(poe["return"].to_numpy(), kl["return"].to_numpy())
    np.testing.assert_array_equal(poe["length"].to_numpy(), kl["length"].to_numpy())
    # and the conditions do differ from each other: the test could fail
    assert poe["return"].nunique() == len(poe)


@pytest.mark.parametrize("mode", ["deterministic", "stochastic"])
def test_rows_do_not_depend_on_workers(mode):
    # 39 rows split 20/19 and 13/13/13: the first split cuts a condition's episodes in two
    conds = conditions("smoke")
    one = run(conds, mode=mode)
    for workers in (2, 3):
        pd.testing.assert_frame_equal(one, run(conds, mode=mode, workers=workers))


@pytest.mark.parametrize("mode", ["deterministic", "stochastic"])
def test_a_condition_s_rows_do_not_depend_on_the_other_conditions_run_with_it(mode):
    # what lets the store compute only a study's missing conditions
    conds = conditions("smoke")
    whole = run(conds, mode=mode)
    for i in (0, 4, 12):
        alone = run([conds[i]], mode=mode).drop(columns="condition")
        part = whole[whole["condition"] == i].drop(columns="condition").reset_index(drop=True)
        pd.testing.assert_frame_equal(alone, part, check_exact=True)


def test_a_rule_that_needs_no_prior_runs_without_one():
    frozen = run([Condition("frozen")])
    alone = evaluate(make_hopper, ACTOR, None, None, [Condition("frozen")], SEEDS)
    pd.testing.assert_frame_equal(alone, frozen, check_exact=True)
    with pytest.raises(ValueError, match=r"prior is None, but the rules \['poe'\] use it"):
        evaluate(make_hopper, ACTOR, None, None, [Condition("poe", alpha=0.5)], SEEDS)


def test_stochastic_mode_shares_noise_and_separates_poe_from_kl_reg():
    conds = [Condition("poe", alpha=0.5), Condition("kl-reg", alpha=0.5, beta=1.0)]
    a, b = run(conds, mode="stochastic"), run(conds, mode="stochastic")
    pd.testing.assert_frame_equal(a, b)  # seeded
    poe, kl = a[a.rule == "poe"]["return"], a[a.rule == "kl-reg"]["return"]
    assert not np.array_equal(poe.to_numpy(), kl.to_numpy())  # the covariance differs
    other = run(conds, mode="stochastic", noise_seed=1)
    assert not np.array_equal(a["return"].to_numpy(), other["return"].to_numpy())


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="mode must be one of"):
        run(conditions("smoke"), mode="greedy")
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        run(conditions("smoke"), workers=0)
    with pytest.raises(ValueError, match="must not be empty"):
        run([])
