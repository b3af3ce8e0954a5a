"""Each claim's verdict rule on hand-made tables whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from frozensteer import claims


def picks(study, labels, near=None, quality="clean"):
    return pd.DataFrame({"study": study, "env": [f"e{i}" for i in range(len(labels))],
                         "dataset": "medium", "prior_quality": quality, "outcome": labels,
                         "near_oracle": near if near is not None else [True] * len(labels),
                         "regret": 1.0, "training_seed": 0})


def test_main_split_is_reproduced_only_when_complete_and_equal():
    paper = ["HELP"] * 4 + ["FROZEN"] * 5 + ["HURT"] * 3
    assert claims.main_split(picks("main", paper), 12).verdict == "reproduced"
    assert claims.main_split(picks("main", paper[:11]), 12).verdict == "partly"
    other = ["HELP"] * 3 + ["FROZEN"] * 5 + ["HURT"] * 4
    assert claims.main_split(picks("main", other), 12).verdict == "partly"
    assert claims.main_split(picks("main", ["FROZEN"] * 12), 12).verdict == "not reproduced"
    assert claims.main_split(pd.DataFrame(), 12).verdict == claims.NOT_RUN


def test_selector_is_near_the_oracle_in_over_half():
    assert claims.selector_near_oracle(picks("main", ["HELP"] * 3, [True, True, False]),
                                       1.0).verdict == "reproduced"
    assert claims.selector_near_oracle(picks("main", ["HELP"] * 3, [True, False, False]),
                                       1.0).verdict == "partly"
    assert claims.selector_near_oracle(picks("main", ["HELP"] * 2, [False, False]),
                                       1.0).verdict == "not reproduced"


def classes(dataset, rule, labels, study="harder", quality="clean"):
    return pd.DataFrame({"study": study, "env": "hopper", "dataset": dataset,
                         "prior_quality": quality, "rule": rule, "outcome": labels})


def response(dataset, scores, labels, frozen=50.0, env="hopper"):
    """PoE's classes of one sub-cell at alphas 0.1 ... 0.9 with the given mean scores."""
    return pd.DataFrame({"study": "harder", "env": env, "dataset": dataset,
                         "prior_quality": "clean", "rule": "poe",
                         "alpha": [0.1, 0.3, 0.5, 0.7, 0.9][:len(scores)], "score": scores,
                         "frozen_score": frozen, "outcome": labels})


def test_claim_5_judges_both_halves():
    rows = pd.DataFrame({"study": ["harder"], "env": ["hopper"], "dataset": ["medium-expert"],
                         "prior_quality": ["clean"]})
    me_hurt = response("medium-expert", [40, 40, 40, 40, 40], ["HURT"] * 5)
    me_most = response("medium-expert", [40, 40, 40, 50, 50], ["HURT"] * 3 + ["FROZEN"] * 2)
    me_few = response("medium-expert", [40, 60, 60, 60, 60], ["HURT"] + ["HELP"] * 4)
    # strong: spans 30 points (alpha 0 at 50 included) and some alpha is significant
    mr_strong = response("medium-replay", [52, 60, 70, 40, 45], ["FROZEN", "HELP", "HELP",
                                                                 "HURT", "FROZEN"])
    # a 10-point span that no alpha makes significant is not a strong response
    mr_flat = response("medium-replay", [50, 55, 60, 50, 50], ["FROZEN"] * 5, env="walker2d")
    # significant, but within 10 points of the frozen actor: not strong either
    mr_small = response("medium-replay", [48, 47, 46, 45, 52], ["HURT"] * 4 + ["HELP"],
                        env="ant")

    def judge(*parts):
        return claims.medium_expert_hurt(rows, pd.concat(parts, ignore_index=True), 9)

    assert judge(me_hurt, mr_strong).verdict == "reproduced"
    assert judge(me_hurt, mr_strong, mr_flat, mr_small).verdict == "partly"  # 1 of 3 strong
    assert judge(me_most, mr_strong).verdict == "partly"
    assert judge(me_few, mr_flat, mr_small).verdict == "not reproduced"
    assert judge(me_few, mr_strong).verdict == "partly"
    one_half = judge(me_hurt)  # the medium-replay half not run: at most partly
    assert one_half.verdict == "partly" and "medium-replay half has no results" in one_half.rule
    both = judge(me_few, mr_strong, mr_flat)
    assert ("HURT in 1 of 5" in both.ours and "strongly in 1 of 2 sub-cells" in both.ours
            and "1 of 9 sub-cells run" in both.rule)
    assert claims.medium_expert_hurt(rows, pd.DataFrame(), 9).verdict == claims.NOT_RUN


def test_alpha_response_counts_the_frozen_actor_as_alpha_0():
    from frozensteer import stats

    table = stats.alpha_response(response("medium-replay", [30, 25, 20, 15, 10], ["HURT"] * 5,
                                          frozen=60.0))
    row = table.iloc[0]
    assert (row["best"], row["alpha_best"], row["worst"], row["alpha_worst"]) == (
        60.0, 0.0, 10, 0.9)
    assert row["spread"] == 50 and row["significant"] == 5


def test_claim_8_follows_its_parts():
    def v(verdict):
        return claims.Verdict("c", "", verdict, "")

    down = {"slope": -0.2, "slope_low": -0.4, "slope_high": -0.05, "points": 30}
    flat = {**down, "slope_high": 0.1}
    up = {**down, "slope": 0.2, "slope_low": 0.05, "slope_high": 0.4}
    yes = v("reproduced")
    assert claims.one_mechanism(yes, yes, yes, down).verdict == "reproduced"
    assert claims.one_mechanism(yes, yes, yes, flat).verdict == "partly"  # slope not certain
    assert claims.one_mechanism(yes, v("partly"), yes, down).verdict == "partly"
    no = v("not reproduced")
    assert claims.one_mechanism(no, no, no, up).verdict == "not reproduced"
    assert claims.one_mechanism(yes, yes, v(claims.NOT_RUN), down).verdict == claims.NOT_RUN
    verdict = claims.one_mechanism(yes, yes, v("partly"), down)
    assert "claim 5 partly" in verdict.ours and "slope -0.20" in verdict.ours


def test_tally_counts_every_claim_once():
    table = pd.DataFrame({"verdict": ["reproduced", "partly", "partly", "not yet run",
                                      "not attempted", "not reproduced", "not valid",
                                      "reproduced"]})
    counts = claims.tally(table)
    assert list(counts) == list(claims.VERDICTS) and sum(counts.values()) == len(table)
    assert counts["partly"] == 2 and counts["not attempted"] == 1
    with pytest.raises(ValueError, match="verdicts must be among"):
        claims.tally(pd.DataFrame({"verdict": ["maybe"]}))


def test_graceful_degradation_needs_anchored_poe_and_collapsing_baselines():
    poor = pd.concat([classes("medium", rule, ["HURT", "HURT"], "main", q)
                      for rule in ("additive", "prior-only") for q in ("degraded",)])
    chosen = picks("main", ["FROZEN", "FROZEN"], quality="degraded")
    verdict = claims.graceful_degradation(chosen, poor, chosen, 12)
    assert verdict.verdict == "reproduced"  # PoE HURT 0 of 2; baselines HURT 4 > 2
    chosen = picks("main", ["HURT", "HURT"], quality="degraded")
    assert claims.graceful_degradation(chosen, poor, chosen, 12).verdict == "partly"


def test_antmaze_verdict_depends_on_every_rule_and_the_driver():
    rows = pd.DataFrame({"study": "antmaze", "env": "antmaze", "dataset": "umaze",
                         "prior_quality": "clean", "condition": [0, 1, 2],
                         "rule": ["frozen", "poe", "poe"], "alpha": [np.nan, 0.5, 0.9],
                         "success": [False, True, False]})
    verdict = claims.antmaze_wall(rows, 0.9, 6)
    assert verdict.verdict == "partly"
    assert "best condition poe(0.5) with the clean prior on umaze: 100%" in verdict.ours
    assert claims.antmaze_wall(rows, 0.3, 6).verdict == "not valid"
    assert claims.antmaze_wall(rows.assign(success=False), 0.9, 6).verdict == "reproduced"
    assert claims.antmaze_wall(rows.assign(success=True), 0.9, 6).verdict == "not reproduced"


def test_identity_counts_identical_pairs():
    base = {"study": "main", "env": "hopper", "dataset": "medium", "prior_quality": "clean",
            "alpha": 0.5, "episode": 0, "length": 10}
    rows = pd.DataFrame([{**base, "rule": "poe", "return": 1.0},
                         {**base, "rule": "kl-reg", "return": 1.0}])
    assert claims.identity(rows).verdict == "reproduced"
    rows.loc[1, "return"] = 2.0
    assert claims.identity(rows).verdict == "partly"


def test_a_baseline_overturns_the_picture_only_by_more_help_and_no_more_hurt():
    poe = picks("main", ["HELP", "FROZEN", "HURT", "FROZEN"])

    def baseline(rule, labels, seed=0):
        return pd.DataFrame({"env": [f"e{i}" for i in range(len(labels))], "dataset": "medium",
                             "rule": rule, "outcome": labels, "training_seed": seed})

    # helps where PoE does not, but hurts more: competitive in places, no overturn
    places = baseline("q-argmax-16", ["FROZEN", "HELP", "HURT", "HURT"])
    assert claims.baselines(places, poe, 4).verdict == "reproduced"
    # more HELP than PoE and no more HURT: overturned
    better = pd.concat([places, baseline("sf-gpi", ["HELP", "HELP", "FROZEN", "FROZEN"])])
    verdict = claims.baselines(better, poe, 4)
    assert verdict.verdict == "not reproduced" and "overturned by sf-gpi" in verdict.ours
    # never better anywhere: the "competitive in places" half fails
    assert claims.baselines(baseline("q-gradient", ["FROZEN", "FROZEN", "HURT", "HURT"]), poe,
                            4).verdict == "partly"
    assert claims.baselines(pd.DataFrame(), poe, 4).verdict == claims.NOT_RUN
    # each baseline meets PoE of its own training seed: with seed 1's PoE HELP everywhere,
    # sf-gpi's seed-1 HELPs are no better than PoE there
    poe_both = pd.concat([poe, picks("main", ["HELP"] * 4).assign(training_seed=1)])
    two_seeds = pd.concat([places, baseline("sf-gpi", ["HELP", "HELP", "FROZEN", "FROZEN"], 1)])
    verdict = claims.baselines(two_seeds, poe_both, 8)
    assert "over 8 clean-prior (sub-cell, training seed) pairs" in verdict.ours
    assert "PoE at the KL-budget alpha 5 HELP / 1 HURT" in verdict.ours
    assert "sf-gpi 2 HELP / 0 HURT" in verdict.ours and "overturned" not in verdict.ours


def test_claim_2_names_where_the_clean_prior_hurts():
    poor = pd.concat([classes("medium", rule, ["HURT", "HURT"], "main", "degraded")
                      for rule in ("additive", "prior-only")])
    chosen = pd.concat([picks("main", ["FROZEN", "FROZEN"], quality="degraded"),
                        picks("main", ["HURT", "HELP"], quality="clean")], ignore_index=True)
    verdict = claims.graceful_degradation(chosen, poor, chosen, 12)
    assert verdict.verdict == "reproduced"  # the claim is about poor priors only
    assert "with the clean prior PoE is HURT in 1 of 2 cells (e0)" in verdict.ours


def test_antmaze_row_keeps_poe_best_beside_the_best_condition():
    rows = pd.DataFrame({"study": "antmaze", "env": "antmaze", "dataset": "umaze",
                         "prior_quality": "clean", "condition": [0, 1, 2, 2, 3, 3],
                         "rule": ["frozen", "prior-only", "poe", "poe", "poe", "poe"],
                         "alpha": [np.nan, np.nan, 0.5, 0.5, 0.9, 0.9],
                         "success": [False, True, False, False, True, False]})
    verdict = claims.antmaze_wall(rows, 0.9, 6)
    assert "best condition prior-only with the clean prior on umaze: 100%" in verdict.ours
    assert "best PoE: alpha 0.9 with the clean prior on umaze: 50%" in verdict.ours
