"""Each claim's verdict rule on hand-made tables whose answer is known."""

import numpy as np
import pandas as pd

from frozensteer import claims


def picks(study, labels, near=None, quality="clean"):
    return pd.DataFrame({"study": study, "env": [f"e{i}" for i in range(len(labels))],
                         "dataset": "medium", "prior_quality": quality, "outcome": labels,
                         "near_oracle": near if near is not None else [True] * len(labels),
                         "regret": 1.0})


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


def test_medium_expert_hurt_at_every_alpha():
    rows = pd.DataFrame({"study": ["harder"], "env": ["hopper"], "dataset": ["medium-expert"],
                         "prior_quality": ["clean"]})
    all_hurt = classes("medium-expert", "poe", ["HURT"] * 5)
    assert claims.medium_expert_hurt(rows, all_hurt, 9).verdict == "reproduced"
    most = classes("medium-expert", "poe", ["HURT"] * 3 + ["FROZEN"] * 2)
    assert claims.medium_expert_hurt(rows, most, 9).verdict == "partly"
    few = classes("medium-expert", "poe", ["HURT"] + ["HELP"] * 4)
    verdict = claims.medium_expert_hurt(rows, few, 9)
    assert verdict.verdict == "not reproduced" and "1 of 9 sub-cells run" in verdict.rule


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

    def baseline(rule, labels):
        return pd.DataFrame({"env": [f"e{i}" for i in range(len(labels))], "dataset": "medium",
                             "rule": rule, "outcome": labels})

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
