"""The paper's claims, each judged against this reproduction's results by a stated rule.

One function per claim of the abstract (discussion chapter).  Each takes the result tables
it needs and returns a ``Verdict``: what this reproduction measured, the verdict
(``reproduced``, ``partly``, ``not reproduced``, ``not valid`` or ``not yet run``) and the
rule that reached it.  ``verdicts`` runs them all on a profile's tables.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def medium_expert_hurt(harder: pd.DataFrame, classes: pd.DataFrame, n_harder: int) -> Verdict:
    """5. Steering hurts the medium-expert actors at every alpha."""
    claim = ("5. Medium-expert HURT in all 9 cells at every alpha; medium-replay responds "
             "strongly to alpha")
    rule = "rule: medium-expert HURT at every alpha (partly: in most)"
    me = classes[(classes["dataset"] == "medium-expert") & (classes["rule"] == "poe")] if len(
        classes) else classes
    if not len(me):
        return Verdict(claim, "no harder-cell results", NOT_RUN, rule)
    hurt = int((me["outcome"] == "HURT").sum())
    ours = f"medium-expert PoE HURT in {hurt} of {len(me)} (sub-cell, alpha) pairs"
    verdict = ("reproduced" if hurt == len(me) else "partly" if hurt > len(me) / 2
               else "not reproduced")
    return Verdict(claim, ours, verdict,
                   _rule(rule, _coverage(len(harder.drop_duplicates(stats.CELL)), n_harder)))


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
            f"{by_condition.max():.0f}% (data driver: {driver} success)")
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

    ``appendix_classes`` is ``stats.classify`` of the appendix study (each baseline against
    frozen); ``poe_picked`` the selector's rows of PoE at the KL-budget alpha with the clean
    prior on the same sub-cells."""
    claim = ("7. CQL/IQL-guided steering and successor features are competitive in places but "
             "do not consistently overturn the picture")
    rule = ("rule: a baseline overturns the picture if, over the sub-cells run, it is HELP in "
            "more of them than PoE at the KL-budget alpha and HURT in no more; competitive "
            "in places if some baseline is HELP where PoE is not; CQL-guided steering not "
            "run")
    if not len(appendix_classes):
        return Verdict(claim, "no appendix results", NOT_RUN, rule)
    key = ["env", "dataset"]
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
    ours = (f"over {len(cells)} clean-prior sub-cells, PoE at the KL-budget alpha "
            f"{poe_help} HELP / {poe_hurt} HURT; " + ", ".join(parts)
            + (f"; overturned by {', '.join(overturn)}" if overturn else ""))
    verdict = ("not reproduced" if overturn else "reproduced" if places else "partly")
    return Verdict(claim, ours, verdict, _rule(rule, _coverage(len(cells), n_appendix)))


def one_mechanism() -> Verdict:
    """8. PoE and KL-Reg are one actor-anchored mechanism capped by the actor."""
    return Verdict("8. PoE and KL-Reg are one actor-anchored mechanism capped by the actor's "
                   "competence", "follows from 1, 2 and 5 together", "see 1, 2, 5", "")


def verdicts(main: pd.DataFrame, harder: pd.DataFrame, antmaze: pd.DataFrame, *,
             n_main: int, n_harder: int, n_antmaze: int, driver_success: float | None,
             kl_budget: float, resamples: int, seed: int, test: str = "bootstrap",
             appendix: pd.DataFrame | None = None, n_appendix: int = 0) -> pd.DataFrame:
    """Every claim's verdict, one row each (columns: claim, ours, verdict, rule); HELP,
    FROZEN and HURT decided by the classification rule ``test`` (``stats.TESTS``)."""
    if test not in stats.TESTS:
        raise ValueError(f"test must be one of {list(stats.TESTS)}, got {test!r}")
    both = pd.concat([t for t in (main, harder) if len(t)], ignore_index=True) if (
        len(main) or len(harder)) else pd.DataFrame()
    classes = stats.classify(both, resamples, seed) if len(both) else pd.DataFrame()
    if len(classes):
        classes = classes.assign(outcome=stats.outcomes_by_test(classes)[test])
    picked = (stats.selector(both, classes, kl_budget, resamples, seed) if len(both)
              else pd.DataFrame())
    appendix_classes = (stats.classify(appendix, resamples, seed)
                        if appendix is not None and len(appendix) else pd.DataFrame())
    poe_clean = (picked[picked["prior_quality"] == "clean"] if len(picked)
                 else pd.DataFrame(columns=["env", "dataset", "outcome"]))
    found = [identity(both), graceful_degradation(main, classes, picked, n_main),
             selector_near_oracle(picked, kl_budget), main_split(picked, n_main),
             medium_expert_hurt(harder, classes, n_harder),
             antmaze_wall(antmaze, driver_success, n_antmaze),
             baselines(appendix_classes, poe_clean, n_appendix), one_mechanism()]
    return pd.DataFrame([vars(v) for v in found])
