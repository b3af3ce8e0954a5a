"""The paper's claims, each judged against this reproduction's results by a stated rule.

One function per claim of the abstract (discussion chapter).  Each takes the result tables
it needs and returns a ``Verdict``: what this reproduction measured, the verdict
(``reproduced``, ``partly``, ``not reproduced``, ``not valid``, ``not yet run`` or ``not
attempted``) and the rule that reached it.  ``verdicts`` runs them all on a profile's tables
(claim 8 is judged from claims 1, 2 and 5 and the actor-competence fit), and ``tally``
counts its verdicts, every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from frozensteer import stats

VERDICTS = ("reproduced", "partly", "not reproduced", "not valid", "not yet run",
            "not attempted")
NOT_RUN = "not yet run"
PAPER_MAIN_SPLIT = {"HELP": 4, "FROZEN": 5, "HURT": 3}
CELL_CONDITION = [*stats.CELL, "condition"]


@dataclass(frozen=True)
class Verdict:
    claim: str
    ours: str
    verdict: str
    rule: str


def _coverage(done: int, total: int) -> str:
    return f"{done} of {total} sub-cells run" + ("" if done == total else
                                                  " (verdict on those only)")


def _rule(text: str, note: str = "") -> str:
    return (text + ("; " + note if note else "")).rstrip("; ")


def identity(rows: pd.DataFrame) -> Verdict:
    """1. PoE(alpha) and KL-Reg(beta(alpha)) execute identical deterministic episodes."""
    claim = ("1. PoE(alpha) and KL-Reg(alpha/(1-alpha)) share their mean; covariances "
             "differ by 1 + beta")
    pairs = stats.poe_klreg_pairs(rows) if len(rows) else pd.DataFrame()
    if len(pairs):
        n, same = len(pairs), int(pairs["identical"].sum())
        verdict = "reproduced" if same == n else "partly"
        ours = (f"proved symbolically (identity chapter); {same:,} of {n:,} paired "
                "deterministic episodes of PoE(alpha) and KL-Reg(beta(alpha)) are identical")
    else:
        verdict, ours = "partly", "proved symbolically (identity chapter); no episodes run yet"
    return Verdict(claim, ours, verdict, "rule: every paired episode identical")


def graceful_degradation(main: pd.DataFrame, classes: pd.DataFrame, picked: pd.DataFrame,
                         n_main: int) -> Verdict:
    """2. Under degraded and random priors PoE stays anchored; additive and prior-only
    collapse (main study)."""
    claim = ("2. Under degraded or random priors PoE stays anchored; additive and prior-only "
             "collapse")
    rule = ("rule: PoE HURT in under half of the cells, and additive and prior-only HURT in "
            "over half of their cells taken together")
    poor = classes[(classes["study"] == "main") & classes["prior_quality"].isin(
        ["degraded", "random"])] if len(classes) else classes
    if not len(poor):
        return Verdict(claim, "no main-study results", NOT_RUN, rule)
    chosen = picked[(picked["study"] == "main")
                    & picked["prior_quality"].isin(["degraded", "random"])]
    n = len(chosen)
    poe_hurt = int((chosen["outcome"] == "HURT").sum())
    add_hurt = int((poor[poor["rule"] == "additive"]["outcome"] == "HURT").sum())
    only_hurt = int((poor[poor["rule"] == "prior-only"]["outcome"] == "HURT").sum())
    ours = (f"over {n} degraded/random-prior cells: PoE at the KL-budget alpha HURT in "
            f"{poe_hurt}, additive(0.5) in {add_hurt}, prior alone in {only_hurt}")
    # outside the claim, which is about poor priors: where a clean prior HURTs with PoE
    clean = picked[(picked["study"] == "main") & (picked["prior_quality"] == "clean")]
    clean_hurt = clean[clean["outcome"] == "HURT"]
    if len(clean):
        ours += (f"; with the clean prior PoE is HURT in {len(clean_hurt)} of {len(clean)} "
                 "cells" + (f" ({', '.join(clean_hurt['env'])})" if len(clean_hurt) else ""))
    anchored, collapse = poe_hurt < n / 2, add_hurt + only_hurt > n
    verdict = ("reproduced" if anchored and collapse else
               "partly" if anchored or collapse else "not reproduced")
    return Verdict(claim, ours, verdict,
                   _rule(rule, _coverage(len(main.drop_duplicates(stats.CELL)), n_main)))


def selector_near_oracle(picked: pd.DataFrame, kl_budget: float) -> Verdict:
    """3. The KL-budget selector picks an alpha near the oracle's."""
    claim, rule = ("3. A KL budget picks alpha near the oracle",
                   "rule: near-oracle in over half of the sub-cells")
    if not len(picked):
        return Verdict(claim, "no results", NOT_RUN, rule)
    n, near = len(picked), int(picked["near_oracle"].sum())
    ours = (f"near-oracle in {near} of {n} sub-cells at epsilon {kl_budget:g} nat, "
            f"mean regret {picked['regret'].mean():.1f} points")
    verdict = "reproduced" if near > n / 2 else "partly" if near else "not reproduced"
    return Verdict(claim, ours, verdict, rule)


def main_split(picked: pd.DataFrame, n_main: int) -> Verdict:
    """4. The main study's split is 4 HELP / 5 FROZEN / 3 HURT."""
    claim = "4. Main study, 12 cells: 4 HELP / 5 FROZEN / 3 HURT"
    rule = ("rule: the same split, or partly if composition both helps and hurts "
            "somewhere")
    main_pick = picked[picked["study"] == "main"] if len(picked) else picked
    if not len(main_pick):
        return Verdict(claim, "no main-study results", NOT_RUN, rule)
    split = stats.split(main_pick["outcome"])
    ours = " / ".join(f"{v} {k}" for k, v in split.items()) + f" over {len(main_pick)} cells"
    mixed = "partly" if split["HELP"] and split["HURT"] else "not reproduced"
    verdict = ("reproduced" if len(main_pick) == n_main and split == PAPER_MAIN_SPLIT
               else mixed)
    return Verdict(claim, ours, verdict, _rule(rule, _coverage(len(main_pick), n_main)))


# a sub-cell "responds strongly to alpha" when PoE's mean score moves by at least this many
# normalised points across alpha in {0} and the grid, and some alpha differs significantly
# from the frozen actor (claim 5's medium-replay half; the abstract gives no number)
STRONG_RESPONSE = 10.0


def _combine(parts: list[str]) -> str:
    """One verdict from the verdicts of a claim's parts: reproduced if all are, not
    reproduced if none is even partly, partly otherwise."""
    if all(p == "reproduced" for p in parts):
        return "reproduced"
    return "not reproduced" if all(p == "not reproduced" for p in parts) else "partly"


def medium_expert_hurt(harder: pd.DataFrame, classes: pd.DataFrame, n_harder: int) -> Verdict:
    """5. Steering hurts the medium-expert actors at every alpha, and the medium-replay
    actors respond strongly to alpha."""
    claim = ("5. Medium-expert HURT in all 9 cells at every alpha; medium-replay responds "
             "strongly to alpha")
    rule = ("rule: two halves, each reproduced, partly or not; the claim is reproduced if "
            "both are, not reproduced if neither is even partly, else partly. Medium-expert: "
            "PoE HURT at every (sub-cell, alpha) (partly: in over half). Medium-replay: a "
            "sub-cell responds strongly when PoE's mean score spans at least "
            f"{STRONG_RESPONSE:g} points over alpha in {{0}} and the grid (alpha 0: the frozen "
            "actor) and some alpha is HELP or HURT; reproduced if over half of the sub-cells "
            "do (partly: some)")
    poe = classes[classes["rule"] == "poe"] if len(classes) else classes
    me = poe[poe["dataset"] == "medium-expert"] if len(poe) else poe
    mr = poe[poe["dataset"] == "medium-replay"] if len(poe) else poe
    if not len(me) and not len(mr):
        return Verdict(claim, "no harder-cell results", NOT_RUN, rule)
    parts, ours = [], []
    if len(me):
        hurt = int((me["outcome"] == "HURT").sum())
        parts.append("reproduced" if hurt == len(me) else "partly" if hurt > len(me) / 2
                     else "not reproduced")
        ours.append(f"medium-expert PoE HURT in {hurt} of {len(me)} (sub-cell, alpha) pairs")
    if len(mr):
        response = stats.alpha_response(mr)
        strong = response[(response["spread"] >= STRONG_RESPONSE)
                          & (response["significant"] > 0)]
        parts.append("reproduced" if len(strong) > len(response) / 2 else "partly"
                     if len(strong) else "not reproduced")
        ours.append(f"medium-replay responds strongly in {len(strong)} of {len(response)} "
                    f"sub-cells (spread of PoE's mean score over alpha from "
                    f"{response['spread'].min():.1f} to {response['spread'].max():.1f} points)")
    verdict = _combine(parts) if len(parts) == 2 else (
        "partly" if parts[0] != "not reproduced" else "not reproduced")
    missing = "" if len(parts) == 2 else (
        "; the " + ("medium-replay" if len(me) else "medium-expert") + " half has no results")
    return Verdict(claim, "; ".join(ours), verdict,
                   _rule(rule + missing,
                         _coverage(len(harder.drop_duplicates(stats.CELL)), n_harder)))


def antmaze_wall(rows: pd.DataFrame, driver_success: float | None, n_cells: int) -> Verdict:
    """6. On AntMaze the BC actor solves no episode, so no rule scores."""
    claim = "6. AntMaze: the BC actor solves no episode, so no rule scores"
    rule = ("rule: no episode of any rule reaches the goal (partly: the frozen actor never "
            "does but a rule does); not valid if the data's own driver reaches the goal in "
            "under half its episodes")
    if not len(rows):
        return Verdict(claim, "no AntMaze results", NOT_RUN, rule)
    # success rates per maze for the frozen actor, and per (sub-cell, condition) for the
    # best condition: a pooled rate would average a working condition away
    frozen = rows[rows["rule"] == "frozen"].groupby("dataset", sort=False)["success"].mean()
    by_condition = rows.groupby(CELL_CONDITION, sort=False)["success"].mean() * 100
    best = by_condition.idxmax()
    label = rows[(rows[CELL_CONDITION] == best).all(axis=1)].iloc[0]
    name = label["rule"] if pd.isna(label["alpha"]) else f"{label['rule']}({label['alpha']:g})"
    driver = "unknown" if driver_success is None else f"{100 * driver_success:.0f}%"
    ours = ("frozen actor " + ", ".join(f"{100 * r:.0f}% on {maze}" for maze, r in frozen.items())
            + f"; best condition {name} with the {best[3]} prior on {best[2]}: "
            f"{by_condition.max():.0f}%")
    poe = rows[rows["rule"] == "poe"]
    if len(poe) and label["rule"] != "poe":  # PoE's own best, which the claim is about
        poe_rate = poe.groupby(CELL_CONDITION, sort=False)["success"].mean() * 100
        top = poe[(poe[CELL_CONDITION] == poe_rate.idxmax()).all(axis=1)].iloc[0]
        ours += (f"; best PoE: alpha {top['alpha']:g} with the {top['prior_quality']} prior "
                 f"on {top['dataset']}: {poe_rate.max():.0f}%")
    ours += f" (data driver: {driver} success)"
    if driver_success is None or driver_success < 0.5:
        verdict = "not valid"
    elif by_condition.max() == 0:
        verdict = "reproduced"
    else:
        verdict = "partly" if frozen.max() == 0 else "not reproduced"
    return Verdict(claim, ours, verdict,
                   _rule(rule, _coverage(len(rows.drop_duplicates(stats.CELL)), n_cells)))


def baselines(appendix_classes: pd.DataFrame, poe_picked: pd.DataFrame, n_appendix: int
              ) -> Verdict:
    """7. The critic-guided and successor-feature baselines do not overturn the picture.

    ``appendix_classes`` is ``stats.classify_per_seed`` of the appendix study and its seed
    studies (each baseline against frozen, per training seed); ``poe_picked`` the selector's
    rows of PoE at the KL-budget alpha with the clean prior on the same sub-cells and seeds
    (``stats.selector_per_seed``).  Each baseline is compared with PoE on the same (sub-cell,
    training seed) pairs."""
    claim = ("7. CQL/IQL-guided steering and successor features are competitive in places but "
             "do not consistently overturn the picture")
    rule = ("rule: a baseline overturns the picture if, over the sub-cells run, it is HELP in "
            "more of them than PoE at the KL-budget alpha and HURT in no more; competitive "
            "in places if some baseline is HELP where PoE is not; CQL-guided steering not "
            "run")
    if not len(appendix_classes):
        return Verdict(claim, "no appendix results", NOT_RUN, rule)
    key = ["env", "dataset", "training_seed"]
    poe = poe_picked.set_index(key)["outcome"]
    cells = appendix_classes.drop_duplicates(key).set_index(key).index
    poe = poe.reindex(cells)
    poe_help, poe_hurt = int((poe == "HELP").sum()), int((poe == "HURT").sum())
    overturn, places, parts = [], 0, []
    for rule_name, mine in appendix_classes.groupby("rule", sort=False):
        outcome = mine.set_index(key)["outcome"].reindex(cells)
        helps, hurts = int((outcome == "HELP").sum()), int((outcome == "HURT").sum())
        parts.append(f"{rule_name} {helps} HELP / {hurts} HURT")
        places += int(((outcome == "HELP") & (poe != "HELP")).sum())
        if helps > poe_help and hurts <= poe_hurt:
            overturn.append(rule_name)
    pairs = (f"{len(cells)} clean-prior sub-cells" if set(cells.get_level_values(2)) == {0}
             else f"{len(cells)} clean-prior (sub-cell, training seed) pairs")
    ours = (f"over {pairs}, PoE at the KL-budget alpha "
            f"{poe_help} HELP / {poe_hurt} HURT; " + ", ".join(parts)
            + (f"; overturned by {', '.join(overturn)}" if overturn else ""))
    verdict = ("not reproduced" if overturn else "reproduced" if places else "partly")
    return Verdict(claim, ours, verdict, _rule(rule, _coverage(len(cells), n_appendix)))


def one_mechanism(identity: Verdict, degradation: Verdict, ceiling: Verdict,
                  competence: dict | None = None) -> Verdict:
    """8. PoE and KL-Reg are one actor-anchored mechanism capped by the actor, judged from
    its parts: one mechanism (claim 1), actor-anchored (claim 2), capped by the actor's
    competence (claim 5, and ``competence``: ``stats.competence_fit`` of PoE's gain at the
    KL-budget alpha against the frozen actor's score over the main and harder sub-cells)."""
    claim = ("8. PoE and KL-Reg are one actor-anchored mechanism capped by the actor's "
             "competence")
    rule = ("rule: its parts are claims 1 (one mechanism), 2 (actor-anchored) and 5 (the "
            "medium-expert ceiling), and the competence fit (harder chapter): PoE's gain over "
            "the frozen actor falls as the actor's own score rises (reproduced if the slope's "
            "95% interval lies below 0, partly if only the fitted slope does); reproduced if "
            "every part is, not reproduced if none is even partly, else partly; not yet run "
            "while claim 1, 2 or 5 is")
    parts = {"1": identity.verdict, "2": degradation.verdict, "5": ceiling.verdict}
    if any(v in (NOT_RUN, "not attempted") for v in parts.values()):
        return Verdict(claim, "; ".join(f"claim {k} {v}" for k, v in parts.items()), NOT_RUN,
                       rule)
    ours = [f"claim {k} {v}" for k, v in parts.items()]
    if competence is not None:
        slope, high = competence["slope"], competence["slope_high"]
        parts["fit"] = ("reproduced" if high < 0 else "partly" if slope < 0
                        else "not reproduced")
        ours.append(f"gain against actor score: slope {slope:.2f} points per point "
                    f"(95% interval {competence['slope_low']:.2f} to {high:.2f}) over "
                    f"{competence['points']} points (sub-cells and training seeds)")
    else:
        rule += "; the competence fit needs at least 3 sub-cells"
    return Verdict(claim, "; ".join(ours), _combine(list(parts.values())), rule)


def tally(table: pd.DataFrame) -> dict[str, int]:
    """How many claims of ``verdicts``' table got each verdict, every verdict listed (zero
    included), so that the counts add up to the number of claims."""
    unknown = set(table["verdict"]) - set(VERDICTS)
    if unknown:
        raise ValueError(f"verdicts must be among {VERDICTS}, got {sorted(unknown)}")
    return {v: int((table["verdict"] == v).sum()) for v in VERDICTS}


def verdicts(main: pd.DataFrame, harder: pd.DataFrame, antmaze: pd.DataFrame, *,
             n_main: int, n_harder: int, n_antmaze: int, driver_success: float | None,
             kl_budget: float, resamples: int, seed: int, test: str = "bootstrap",
             appendix: pd.DataFrame | None = None, n_appendix: int = 0,
             seed_rows: pd.DataFrame | None = None,
             competence: dict | None = None) -> pd.DataFrame:
    """Every claim's verdict, one row each (columns: claim, ours, verdict, rule); HELP,
    FROZEN and HURT decided by the classification rule ``test`` (``stats.TESTS``).
    ``appendix`` holds the appendix study's rows of every training seed run, ``n_appendix``
    how many (sub-cell, seed) pairs it has; ``seed_rows`` the main and harder (and, for
    AntMaze's critic rules, AntMaze) rows of every training seed run, against whose PoE
    claim 7 sets each baseline (default: ``main`` and ``harder`` as given).  ``competence`` is claim 8's ``stats.competence_fit`` (the harder
    chapter's, over every training seed run); without it, the fit over ``main`` and
    ``harder`` as given."""
    if test not in stats.TESTS:
        raise ValueError(f"test must be one of {list(stats.TESTS)}, got {test!r}")
    both = pd.concat([t for t in (main, harder) if len(t)], ignore_index=True) if (
        len(main) or len(harder)) else pd.DataFrame()
    classes = stats.classify(both, resamples, seed) if len(both) else pd.DataFrame()
    if len(classes):
        classes = classes.assign(outcome=stats.outcomes_by_test(classes)[test])
    picked = (stats.selector(both, classes, kl_budget, resamples, seed) if len(both)
              else pd.DataFrame())
    ran_appendix = appendix is not None and len(appendix)
    appendix_classes = (stats.classify_per_seed(appendix, resamples, seed) if ran_appendix
                        else pd.DataFrame())
    if seed_rows is None:  # training seed 0's picks, classified by ``test``
        poe_seeds = picked.assign(training_seed=0) if len(picked) else picked
    else:
        poe_seeds = (stats.selector_per_seed(seed_rows, kl_budget, resamples, seed)
                     if ran_appendix and len(seed_rows) else pd.DataFrame())
    poe_clean = (poe_seeds[poe_seeds["prior_quality"] == "clean"] if len(poe_seeds)
                 else pd.DataFrame(columns=["env", "dataset", "training_seed", "outcome"]))
    found = [identity(both), graceful_degradation(main, classes, picked, n_main),
             selector_near_oracle(picked, kl_budget), main_split(picked, n_main),
             medium_expert_hurt(harder, classes, n_harder),
             antmaze_wall(antmaze, driver_success, n_antmaze),
             baselines(appendix_classes, poe_clean, n_appendix)]
    fit = competence
    if fit is None and len(picked) >= 3:  # gain at the KL-budget alpha against frozen
        points = stats.competence_points(both, kl_budget, resamples, seed)
        if np.ptp(points["frozen_score"].to_numpy(float)) > 0:  # a line needs two scores
            fit = stats.competence_fit(points, "gain_selected", resamples, seed)
    found.append(one_mechanism(found[0], found[1], found[4], fit))
    return pd.DataFrame([vars(v) for v in found])
