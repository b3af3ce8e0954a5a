"""Statistics: bootstrap CIs, HELP/FROZEN/HURT, the KL-budget selector, IQM."""

import numpy as np
import pandas as pd
import pytest

from frozensteer import stats


def table(shifts, kl=None, episodes=25, seed=0):
    """A one-sub-cell results table: frozen plus PoE at each alpha with a score shift."""
    rng = np.random.default_rng(seed)
    base = rng.normal(50, 5, episodes)
    rows = []
    conds = [("frozen", np.nan, 0.0)] + [("poe", a, s) for a, s in shifts.items()]
    for c, (rule, alpha, shift) in enumerate(conds):
        for e in range(episodes):
            rows.append({"study": "main", "env": "hopper", "dataset": "medium",
                         "prior_quality": "clean", "condition": c, "rule": rule,
                         "alpha": alpha, "beta": np.nan, "episode": e,
                         "kl_to_actor": 0.0 if rule == "frozen" else kl[alpha],
                         "score": base[e] + shift + rng.normal(0, 0.5)})
    return pd.DataFrame(rows)


def test_bootstrap_ci_is_seeded_and_covers_the_mean():
    values = np.random.default_rng(1).normal(3.0, 1.0, 200)
    low, high = stats.bootstrap_ci(values, 2000, seed=0)
    assert (low, high) == stats.bootstrap_ci(values, 2000, seed=0)
    assert low < values.mean() < high and high - low < 0.5
    with pytest.raises(ValueError, match="non-empty 1-d"):
        stats.bootstrap_ci(np.array([]), 100, 0)


def test_classification_is_paired_by_episode():
    rows = table({0.1: 0.0, 0.5: 2.0, 0.9: -2.0}, kl={0.1: 0.1, 0.5: 0.5, 0.9: 2.0})
    classes = stats.classify(rows, 2000, seed=0)
    assert classes.set_index("alpha")["outcome"].to_dict() == {0.1: "FROZEN", 0.5: "HELP",
                                                             0.9: "HURT"}
    # a shift of 2 is small against the spread of 5 between episodes: only pairing finds it,
    # and the unpaired Welch test does not
    assert classes.set_index("alpha").loc[0.5, "welch_p"] > 0.05
    assert stats.split(classes["outcome"]) == {"HELP": 1, "FROZEN": 1, "HURT": 1}


def test_selector_picks_the_largest_alpha_within_budget():
    kl = {0.1: 0.05, 0.3: 0.4, 0.5: 0.9, 0.7: 1.5, 0.9: 4.0}
    assert stats.select_alpha(kl, 1.0) == 0.5
    assert stats.select_alpha(kl, 0.01) == 0.0  # nothing fits: frozen
    assert stats.select_alpha(kl, 10.0) == 0.9
    with pytest.raises(ValueError, match="epsilon must be"):
        stats.select_alpha(kl, -1.0)
    rows = table({0.1: 0.5, 0.3: 1.0, 0.5: 3.0, 0.7: 3.2, 0.9: -5.0}, kl=kl)
    classes = stats.classify(rows, 1000, seed=0)
    picked = stats.selector(rows, classes, 1.0, 1000, seed=0).iloc[0]
    assert picked["alpha_selected"] == 0.5 and picked["alpha_oracle"] == 0.7
    assert picked["near_oracle"] and picked["outcome"] == "HELP"
    assert picked["regret"] == pytest.approx(picked["score_oracle"] - picked["score_selected"])
    frozen = stats.selector(rows, classes, 0.01, 1000, seed=0).iloc[0]
    assert frozen["alpha_selected"] == 0.0 and frozen["outcome"] == "FROZEN"


def test_iqm_over_sub_cells_with_seeded_cis():
    rows = pd.concat([table({0.5: 1.0}, kl={0.5: 0.1}, seed=s).assign(env=env)
                      for s, env in enumerate(["hopper", "walker2d", "halfcheetah", "ant"])])
    a, b = stats.iqm(rows, 500, seed=0), stats.iqm(rows, 500, seed=0)
    pd.testing.assert_frame_equal(a, b)
    assert list(a["rule"]) == ["frozen", "poe"]
    assert (a["ci_low"] <= a["iqm"]).all() and (a["iqm"] <= a["ci_high"]).all()


def test_iqm_over_training_seeds_counts_every_seed_s_episodes_as_runs():
    from scipy.stats import trim_mean

    seeds = [table({0.5: 1.0}, kl={0.5: 0.1}, seed=s).assign(training_seed=s) for s in (0, 1)]
    pooled = stats.iqm(pd.concat(seeds), 200, seed=0).set_index("rule")
    for rule in ("frozen", "poe"):
        scores = pd.concat(seeds).query("rule == @rule")["score"]
        # one sub-cell: the IQM of all 50 episodes of both seeds, not of 25 averaged pairs
        assert pooled.loc[rule, "iqm"] == pytest.approx(trim_mean(scores, 0.25))


def test_condition_scores_give_each_condition_its_mean_and_interval():
    rows = table({0.1: 5.0, 0.5: -5.0}, kl={0.1: 0.1, 0.5: 0.5})
    scores = stats.condition_scores(rows, 1000, seed=0)
    assert list(scores["condition"]) == [0, 1, 2] and (scores["episodes"] == 25).all()
    means = rows.groupby("condition")["score"].mean().to_numpy()
    np.testing.assert_allclose(scores["score"], means)
    assert (scores["ci_low"] < scores["score"]).all() and (scores["score"] < scores["ci_high"]).all()
    assert list(scores["kl_to_actor"]) == [0.0, 0.1, 0.5]


def test_poe_and_kl_reg_episodes_pair_by_start_state():
    rows = table({0.5: 1.0}, kl={0.5: 0.2})
    kl = rows[rows["rule"] == "poe"].assign(rule="kl-reg", condition=2, beta=1.0)
    rows = pd.concat([rows.assign(**{"return": rows["score"], "length": 10}),
                      kl.assign(**{"return": kl["score"], "length": 10})], ignore_index=True)
    pairs = stats.poe_klreg_pairs(rows)
    assert len(pairs) == 25 and pairs["identical"].all()
    rows.loc[rows.index[-1], "length"] = 9  # one KL-Reg episode ends a step earlier
    assert stats.poe_klreg_pairs(rows)["identical"].sum() == 24


def seeded_rows(effects, episodes=25):
    """Rows of one cell: frozen and PoE(0.5) per training seed, PoE shifted by ``effects``."""
    rng = np.random.default_rng(0)
    rows = []
    for seed, effect in enumerate(effects):
        base = 50 + rng.normal(0, 1, episodes)
        for condition, rule, shift in ((0, "frozen", 0.0), (1, "poe", effect)):
            rows += [{"study": "main", "env": "hopper", "dataset": "medium",
                      "prior_quality": "clean", "condition": condition, "rule": rule,
                      "alpha": np.nan if rule == "frozen" else 0.5, "beta": np.nan,
                      "episode": e, "score": base[e] + shift + rng.normal(0, 0.1),
                      "training_seed": seed} for e in range(episodes)]
    return pd.DataFrame(rows)


def test_one_seed_helping_and_two_hurting_is_frozen_over_seeds():
    rows = seeded_rows([10.0, -10.0, -10.0])
    pooled = stats.classify(rows, 2_000, seed=0)
    assert pooled["outcome"].tolist() == ["FROZEN"] and pooled["seeds"].tolist() == [3]
    per_seed = stats.classify_per_seed(rows, 2_000, seed=0)
    assert per_seed["outcome"].tolist() == ["HELP", "HURT", "HURT"]
    agreement = stats.seed_agreement(per_seed).iloc[0]
    assert (agreement["majority"], agreement["agreeing"], agreement["all_agree"]) == (
        "HURT", 2, False)
    assert stats.classify(seeded_rows([-10.0] * 3), 2_000, seed=0)["outcome"].tolist() == [
        "HURT"]


def test_seed_verdicts_give_each_seed_the_pooled_verdict_and_the_agreement():
    rows = seeded_rows([10.0, -10.0, -10.0]).assign(kl_to_actor=0.1)
    by_seed = {s: rows[rows.training_seed == s] for s in (0, 1, 2)}
    verdicts = stats.seed_verdicts(by_seed, 1.0, 2_000, seed=0).iloc[0]
    assert [verdicts[f"seed {s}"] for s in (0, 1, 2)] == ["HELP", "HURT", "HURT"]
    assert verdicts["seeds pooled"] == "FROZEN"
    assert (verdicts["seeds agreeing"], verdicts["all agree"]) == ("2 of 3", False)
    # a seed that has not run the sub-cell is left out of its pooled verdict and agreement
    by_seed[2] = rows.iloc[:0]
    verdicts = stats.seed_verdicts(by_seed, 1.0, 2_000, seed=0).iloc[0]
    assert "seed 2" not in verdicts and verdicts["seeds agreeing"] == "1 of 2"


def test_one_seed_is_the_paired_bootstrap_draw_for_draw():
    rows = seeded_rows([1.0])
    diff = (rows[rows.rule == "poe"]["score"].to_numpy()
            - rows[rows.rule == "frozen"]["score"].to_numpy())
    classes = stats.classify(rows.drop(columns="training_seed"), 500, seed=3)
    assert (classes["ci_low"].iloc[0], classes["ci_high"].iloc[0]) == stats.bootstrap_ci(
        diff, 500, 3)


def test_the_competence_fit_finds_a_known_crossing():
    rng = np.random.default_rng(0)
    x = np.linspace(20, 100, 30)
    points = pd.DataFrame({"frozen_score": x, "gain": 12.0 - 0.2 * x + rng.normal(0, 1, 30)})
    fit = stats.competence_fit(points, "gain", 500, seed=0)
    assert fit["threshold_low"] < 60 < fit["threshold_high"]  # the line crosses 0 at 60
    assert fit["slope_high"] < 0 and fit["share_turning_down"] == 1.0
    flat = stats.competence_fit(points.assign(gain=5.0 + rng.normal(0, 1, 30)), "gain", 500, 0)
    assert flat["slope_low"] < 0 < flat["slope_high"]


def test_the_classification_rules_answer_as_their_tests_do():
    rows = table({0.1: 0.0, 0.5: 2.0, 0.9: -2.0, 0.7: 0.35}, kl={0.1: 0.1, 0.5: 0.5, 0.7: 1.0,
                                                               0.9: 2.0})
    verdicts = stats.outcomes_by_test(stats.classify(rows, 2000, seed=0)).set_index("alpha")
    assert (verdicts["bootstrap"] == verdicts["outcome"]).all()
    # unpaired, a shift of 2 against a spread of 5 is not found; paired, it is, after Holm
    assert verdicts.loc[0.5, "welch"] == "FROZEN" and verdicts.loc[0.5, "paired-holm"] == "HELP"
    assert verdicts.loc[0.9, "paired-holm"] == "HURT"
    # Holm multiplies the smallest p by the number of conditions, and keeps the order
    p = verdicts.sort_values("paired_p")
    assert p["holm_p"].iloc[0] == pytest.approx(min(1.0, 4 * p["paired_p"].iloc[0]))
    assert (np.diff(p["holm_p"].to_numpy()) >= 0).all() and (p["holm_p"] <= 1).all()
    assert verdicts.loc[0.1, "paired-holm"] == "FROZEN"
