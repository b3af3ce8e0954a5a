"""Statistics of the results tables (protocol chapter, "Statistics and the KL-budget selector"), all with fixed seeds.

- ``bootstrap_ci``: percentile bootstrap CI of a mean; ``condition_scores``: the mean score
  and CI of every condition of every sub-cell; ``poe_klreg_pairs``: PoE and KL-Reg
  episodes paired by start state;
- ``classify``: every composed condition of every cell and prior quality against frozen,
  paired by episode within each training seed: HELP if the 95% CI of the mean score
  difference lies above 0, HURT if below, else FROZEN, with the Welch t-test p-value beside
  it; over several training seeds the CI is ``seed_bootstrap_ci``'s (seeds resampled, then
  paired episodes within each), so that it covers the luck of training as well as that of
  the episodes; ``classify_per_seed`` and ``seed_agreement`` give the per-seed breakdown,
  ``seed_verdicts`` that of PoE at the KL-budget alpha;
- ``select_alpha`` / ``selector``: the KL-budget selector (largest alpha whose mean
  KL(PoE(alpha) || actor) over dataset states is within epsilon), its oracle in hindsight,
  near-oracle and regret;
- ``iqm``: interquartile mean over sub-cells with stratified-bootstrap CIs (rliable).

Every function reads the tidy per-episode table that ``frozensteer.experiments`` writes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from rliable import library as rly
from rliable import metrics
from scipy import stats as scipy_stats

CELL = ["study", "env", "dataset", "prior_quality"]
OUTCOMES = ("HELP", "FROZEN", "HURT")


def bootstrap_ci(values: np.ndarray, resamples: int, seed: int, level: float = 0.95
                 ) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values``."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"values must be a non-empty 1-d array, got shape {values.shape}")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(len(values), size=(resamples, len(values)))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def seed_bootstrap_ci(diffs: list[np.ndarray], resamples: int, seed: int,
                      level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean over training seeds of each seed's mean paired
    difference: each resample draws the seeds with replacement, then the episodes of each
    drawn seed with replacement.  With one seed it is ``bootstrap_ci`` of that seed's
    differences, draw for draw."""
    diffs = [np.asarray(d, dtype=float) for d in diffs]
    if not diffs or any(d.ndim != 1 or len(d) == 0 for d in diffs):
        raise ValueError("diffs must be one non-empty 1-d array per training seed, got "
                         f"shapes {[d.shape for d in diffs]}")
    if len(diffs) == 1:
        return bootstrap_ci(diffs[0], resamples, seed, level)
    if len({len(d) for d in diffs}) != 1:
        raise ValueError(f"every seed needs the same episodes, got {[len(d) for d in diffs]}")
    values = np.stack(diffs)  # seeds x episodes
    n_seeds, n_episodes = values.shape
    rng = np.random.default_rng(seed)
    seeds = rng.integers(n_seeds, size=(resamples, n_seeds, 1))
    episodes = rng.integers(n_episodes, size=(resamples, n_seeds, n_episodes))
    means = values[seeds, episodes].mean(axis=(1, 2))
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _training_seeds(rows: pd.DataFrame) -> pd.Series:
    """Each row's training seed (0 for tables written before seeds were an axis)."""
    if "training_seed" in rows:
        return rows["training_seed"]
    return pd.Series(0, index=rows.index)


def condition_scores(rows: pd.DataFrame, resamples: int, seed: int) -> pd.DataFrame:
    """One row per (sub-cell, condition): mean normalised score, its bootstrap 95% CI, the
    episode count, and how far the rule moves the policy (``kl_to_actor``, ``action_shift``)."""
    out = []
    for (*cell, condition), group in rows.groupby(CELL + ["condition"], sort=False):
        low, high = bootstrap_ci(group["score"].to_numpy(), resamples, seed)
        first = group.iloc[0]
        out.append({**dict(zip(CELL, cell)), "condition": condition, "rule": first["rule"],
                    "alpha": first["alpha"], "beta": first["beta"],
                    "score": group["score"].mean(), "ci_low": low, "ci_high": high,
                    "episodes": len(group), "kl_to_actor": first["kl_to_actor"],
                    "action_shift": first.get("action_shift", np.nan)})
    return pd.DataFrame(out)


def poe_klreg_pairs(rows: pd.DataFrame) -> pd.DataFrame:
    """PoE(alpha) and KL-Reg(beta(alpha)) episodes of the same sub-cell, alpha and start
    state side by side (suffixes ``_poe`` and ``_kl``), with ``identical``: same return and
    length, exactly."""
    key = CELL + ["alpha", "episode"]
    poe = rows[rows["rule"] == "poe"].set_index(key)
    kl = rows[rows["rule"] == "kl-reg"].set_index(key)
    pairs = poe.join(kl, lsuffix="_poe", rsuffix="_kl", how="inner")
    return pairs.assign(identical=(pairs["return_poe"] == pairs["return_kl"])
                        & (pairs["length_poe"] == pairs["length_kl"]))


def outcome(low: float, high: float) -> str:
    """HELP if a CI of (composed - frozen) lies above 0, HURT if below, FROZEN otherwise."""
    return "HELP" if low > 0 else "HURT" if high < 0 else "FROZEN"


def classify(rows: pd.DataFrame, resamples: int, seed: int) -> pd.DataFrame:
    """One row per (cell and prior quality, composed condition): the score difference to
    frozen, paired by episode within each training seed, over every seed the rows hold."""
    out = []
    rows = rows.assign(training_seed=_training_seeds(rows))
    for cell, group in rows.groupby(CELL, sort=False):
        frozen = {s: g.set_index("episode")["score"]
                  for s, g in group[group["rule"] == "frozen"].groupby("training_seed")}
        for condition, cond in group[group["rule"] != "frozen"].groupby("condition"):
            paired = [(cs.set_index("episode")["score"].loc[frozen[s].index], frozen[s])
                      for s, cs in cond.groupby("training_seed")]
            diffs = [(scores - base).to_numpy() for scores, base in paired]
            low, high = seed_bootstrap_ci(diffs, resamples, seed)
            scores = pd.concat([scores for scores, _ in paired])
            base = pd.concat([base for _, base in paired])
            welch = scipy_stats.ttest_ind(scores, base, equal_var=False).pvalue
            paired = scipy_stats.ttest_1samp(np.concatenate(diffs), 0.0).pvalue
            first = cond.iloc[0]
            out.append({**dict(zip(CELL, cell)), "condition": condition, "rule": first["rule"],
                        "alpha": first["alpha"], "beta": first["beta"],
                        "score": scores.mean(), "frozen_score": base.mean(),
                        "diff": np.mean([d.mean() for d in diffs]) if len(diffs) > 1
                        else diffs[0].mean(), "ci_low": low, "ci_high": high,
                        "outcome": outcome(low, high), "seeds": len(diffs),
                        "welch_p": float(welch) if np.isfinite(welch) else 1.0,
                        "paired_p": float(paired) if np.isfinite(paired) else 1.0})
    return pd.DataFrame(out)


TESTS = ("bootstrap", "welch", "paired-holm")


def outcomes_by_test(classes: pd.DataFrame, level: float = 0.05) -> pd.DataFrame:
    """``classes`` (``classify``'s rows) with the verdict of each classification rule:
    ``bootstrap`` (the protocol's: the paired bootstrap CI of the difference, as
    ``outcome``), ``welch`` (Welch's unpaired t-test at ``level``) and ``paired-holm`` (the
    paired t-test of the per-episode differences, its p-values corrected by Holm's
    step-down method over the conditions of each sub-cell), each HELP or HURT by the sign
    of the mean difference where significant, FROZEN otherwise."""
    out = classes.assign(bootstrap=classes["outcome"])
    sign = np.where(out["diff"] > 0, "HELP", "HURT")
    out["welch"] = np.where(out["welch_p"] < level, sign, "FROZEN")
    out["holm_p"] = out.groupby(CELL, sort=False)["paired_p"].transform(_holm)
    out["paired-holm"] = np.where(out["holm_p"] < level, sign, "FROZEN")
    return out


def _holm(p: pd.Series) -> pd.Series:
    """Holm's step-down adjusted p-values: the k-th smallest of m times (m - k + 1), made
    monotone and capped at 1."""
    order = np.argsort(p.to_numpy(), kind="stable")
    m = len(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate(
        (m - np.arange(m)) * p.to_numpy()[order]))
    out = np.empty(m)
    out[order] = adjusted
    return pd.Series(out, index=p.index)


def classify_per_seed(rows: pd.DataFrame, resamples: int, seed: int) -> pd.DataFrame:
    """``classify`` of each training seed alone, with its ``training_seed``."""
    seeds = _training_seeds(rows)
    return pd.concat([classify(rows[seeds == s], resamples, seed).assign(training_seed=s)
                      for s in sorted(seeds.unique())], ignore_index=True)


def seed_agreement(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per (cell and prior quality, condition), from ``classify_per_seed``: how many seeds
    there are, how many share the most common outcome, and whether all agree."""
    def agreement(group: pd.DataFrame) -> pd.Series:
        counts = group["outcome"].value_counts()
        return pd.Series({"rule": group["rule"].iloc[0], "alpha": group["alpha"].iloc[0],
                          "seeds": len(group), "majority": counts.index[0],
                          "agreeing": int(counts.iloc[0]), "all_agree": len(counts) == 1})

    return (per_seed.groupby(CELL + ["condition"], sort=False)[list(per_seed.columns)]
            .apply(agreement).reset_index())


def seed_verdicts(seed_rows: dict[int, pd.DataFrame], epsilon: float, resamples: int,
                  seed: int) -> pd.DataFrame:
    """Per sub-cell, PoE's class at the KL-budget alpha under each training seed's rows
    (``seed <k>``, empty where that seed has not run the sub-cell), pooled over the seeds
    that ran it (``seeds pooled``: ``classify`` pairs each seed with its own frozen actor, and
    the selector averages D(alpha) over them), and ``seeds agreeing``: how many of the seeds
    that ran it share the most common verdict."""
    verdicts = {f"seed {s}": selector(rows, classify(rows, resamples, seed), epsilon,
                                      resamples, seed).set_index(CELL)["outcome"]
                for s, rows in seed_rows.items() if len(rows)}
    if not verdicts:
        return pd.DataFrame()
    pooled = pd.concat([rows for rows in seed_rows.values() if len(rows)], ignore_index=True)
    table = pd.DataFrame(verdicts)
    single = table.copy()
    table["seeds pooled"] = selector(pooled, classify(pooled, resamples, seed), epsilon,
                                     resamples, seed).set_index(CELL)["outcome"]
    table["seeds agreeing"] = [f"{int((r.dropna() == r.dropna().mode()[0]).sum())} of "
                               f"{r.notna().sum()}" for _, r in single.iterrows()]
    table["all agree"] = single.nunique(axis=1) == 1
    return table.reset_index()


def several_seeds(by_seed: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``seed_verdicts`` for sub-cells that more than one training seed has
    run."""
    if not len(by_seed):
        return by_seed
    return by_seed[by_seed["seeds agreeing"].str.split(" of ").str[1].astype(int) > 1]


def select_alpha(kl_by_alpha: dict[float, float], epsilon: float) -> float:
    """The largest alpha whose KL to the actor is at most ``epsilon`` (0: stay frozen)."""
    if not np.isfinite(epsilon) or epsilon < 0:
        raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon}")
    within = [alpha for alpha, kl in kl_by_alpha.items() if kl <= epsilon]
    return max(within, default=0.0)


def selector(rows: pd.DataFrame, classes: pd.DataFrame, epsilon: float, resamples: int,
             seed: int) -> pd.DataFrame:
    """Per sub-cell: the selected alpha against the oracle, and PoE's class at the selection.

    ``rows`` needs a ``kl_to_actor`` column (mean KL over the sampled dataset states);
    ``classes`` is ``classify(rows, ...)``.  The oracle is the alpha in {0} + A with the best
    mean score (alpha 0 is frozen); near-oracle means the selected alpha's mean lies inside
    the oracle's bootstrap CI.
    """
    out = []
    for cell, group in rows.groupby(CELL, sort=False):
        poe = group[group["rule"] == "poe"].assign(training_seed=_training_seeds(group))
        # D(alpha): each seed's (one value per condition), averaged over the seeds
        kl = (poe.groupby(["alpha", "training_seed"])["kl_to_actor"].first()
              .groupby("alpha").mean().to_dict())
        chosen = select_alpha(kl, epsilon)
        by_alpha = {0.0: group[group["rule"] == "frozen"]["score"].to_numpy()}
        by_alpha |= {a: s["score"].to_numpy() for a, s in poe.groupby("alpha")}
        means = {a: s.mean() for a, s in by_alpha.items()}
        oracle = max(means, key=means.get)
        low, high = bootstrap_ci(by_alpha[oracle], resamples, seed)
        mine = classes.set_index(CELL + ["rule", "alpha"]).sort_index()
        cls = "FROZEN" if chosen == 0 else mine.loc[(*cell, "poe", chosen), "outcome"]
        out.append({**dict(zip(CELL, cell)), "epsilon": epsilon, "alpha_selected": chosen,
                    "alpha_oracle": oracle, "score_selected": means[chosen],
                    "score_oracle": means[oracle], "oracle_ci_low": low,
                    "oracle_ci_high": high, "near_oracle": bool(low <= means[chosen] <= high),
                    "regret": means[oracle] - means[chosen], "outcome": cls})
    return pd.DataFrame(out)


def selector_per_seed(rows: pd.DataFrame, epsilon: float, resamples: int, seed: int
                      ) -> pd.DataFrame:
    """``selector`` of each training seed alone (its own D(alpha) and classes), with its
    ``training_seed``: PoE at the KL-budget alpha of every (sub-cell, seed)."""
    seeds = _training_seeds(rows)
    return pd.concat([selector(mine, classify(mine, resamples, seed), epsilon, resamples,
                               seed).assign(training_seed=s)
                      for s in sorted(seeds.unique()) for mine in [rows[seeds == s]]],
                     ignore_index=True)


def alpha_response(classes: pd.DataFrame) -> pd.DataFrame:
    """Per sub-cell, from ``classify``'s rows: how much PoE's mean score moves with alpha,
    the frozen actor (alpha 0) included.  ``frozen``, ``best`` and ``worst`` (mean scores over
    alpha in {0} and the grid, with ``alpha_best`` and ``alpha_worst``), ``spread`` (best minus
    worst) and ``significant``: how many of PoE's alphas are HELP or HURT."""
    out = []
    poe = classes[classes["rule"] == "poe"]
    for cell, group in poe.groupby(CELL, sort=False):
        means = {0.0: group["frozen_score"].iloc[0]} | dict(zip(group["alpha"],
                                                               group["score"]))
        best, worst = max(means, key=means.get), min(means, key=means.get)
        out.append({**dict(zip(CELL, cell)), "frozen": means[0.0], "best": means[best],
                    "alpha_best": best, "worst": means[worst], "alpha_worst": worst,
                    "spread": means[best] - means[worst],
                    "significant": int((group["outcome"] != "FROZEN").sum()),
                    "alphas": len(group)})
    return pd.DataFrame(out)


def split(outcomes: pd.Series) -> dict[str, int]:
    """Counts of HELP / FROZEN / HURT."""
    counts = outcomes.value_counts()
    return {name: int(counts.get(name, 0)) for name in OUTCOMES}


def competence_points(rows: pd.DataFrame, epsilon: float, resamples: int, seed: int
                      ) -> pd.DataFrame:
    """One point per (cell and prior quality, training seed): the frozen actor's own mean
    score and the gain of PoE over it, at the KL-budget alpha (``gain_selected``) and at
    every alpha of the grid (``gain_<alpha>``).  The data of the actor-competence question:
    does steering stop helping above some actor score?"""
    seeds = _training_seeds(rows)
    out = []
    for _, pick in selector_per_seed(rows, epsilon, resamples, seed).iterrows():
        s = pick["training_seed"]
        mine = rows[seeds == s]
        cell = mine[(mine[CELL] == pick[CELL]).all(axis=1)]
        frozen = cell[cell["rule"] == "frozen"]["score"].mean()
        poe = cell[cell["rule"] == "poe"].groupby("alpha")["score"].mean()
        out.append({**pick[CELL].to_dict(), "training_seed": s, "frozen_score": frozen,
                    "alpha_selected": pick["alpha_selected"],
                    "gain_selected": pick["score_selected"] - frozen,
                    **{f"gain_{a:g}": m - frozen for a, m in poe.items()}})
    return pd.DataFrame(out)


def competence_fit(points: pd.DataFrame, gain: str, resamples: int, seed: int
                   ) -> dict[str, float]:
    """A straight line ``gain = intercept + slope * frozen_score`` through the points, and
    the actor score where it crosses zero (``threshold``: above it the fitted gain is
    negative when the slope is), with 95% percentile-bootstrap CIs over the points.  The
    threshold's interval is taken over the resamples whose line turns down within the range
    of actor scores observed (``share_crossing_in_range`` of them): a crossing outside the
    data is an extrapolation, not an estimate."""
    x, y = points["frozen_score"].to_numpy(float), points[gain].to_numpy(float)
    if len(x) < 3:
        raise ValueError(f"points must hold at least 3 rows to fit a line, got {len(x)}")

    def fit(xs, ys):
        slope, intercept = np.polyfit(xs, ys, 1)
        return slope, intercept, (-intercept / slope if slope < 0 else np.nan)

    slope, intercept, threshold = fit(x, y)
    rng = np.random.default_rng(seed)
    draws = np.array([fit(x[i], y[i]) for i in rng.integers(len(x), size=(resamples, len(x)))
                      if np.ptp(x[i]) > 0])
    slope_low, slope_high = np.percentile(draws[:, 0], [2.5, 97.5])
    crossing = draws[:, 2]
    inside = crossing[(crossing >= x.min()) & (crossing <= x.max())]
    low, high = np.percentile(inside, [2.5, 97.5]) if len(inside) else (np.nan, np.nan)
    return {"slope": slope, "slope_low": slope_low, "slope_high": slope_high,
            "intercept": intercept, "threshold": threshold, "threshold_low": low,
            "threshold_high": high, "share_turning_down": float(np.mean(draws[:, 0] < 0)),
            "share_crossing_in_range": len(inside) / len(draws), "score_min": x.min(),
            "score_max": x.max(), "points": len(x)}


def iqm(rows: pd.DataFrame, resamples: int, seed: int) -> pd.DataFrame:
    """Interquartile mean of scores per condition over sub-cells, with stratified-bootstrap
    95% CIs (rliable; sub-cells are tasks, and the runs of a task are its episodes under every
    training seed in ``rows``: the bootstrap resamples seeds and episodes within each
    sub-cell)."""
    conditions = rows.drop_duplicates("condition").set_index("condition")
    rows = rows.assign(training_seed=_training_seeds(rows))
    matrices = {}
    for condition, group in rows.groupby("condition"):
        wide = group.pivot_table(index=["training_seed", "episode"], columns=CELL,
                                 values="score")
        matrices[condition] = wide.to_numpy()
    # rliable 1.2.0 draws its resampling indices from numpy's global generator (its
    # random_state reaches only arch): seed that too, and put it back afterwards
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():  # arch's notice about rliable's use of random_state
            warnings.filterwarnings("ignore", "random_state is deprecated", FutureWarning)
            points, intervals = rly.get_interval_estimates(
                matrices, lambda scores: np.array([metrics.aggregate_iqm(scores)]),
                reps=resamples, random_state=np.random.RandomState(seed))
    finally:
        np.random.set_state(saved)
    return pd.DataFrame([{"condition": c, "rule": conditions.loc[c, "rule"],
                          "alpha": conditions.loc[c, "alpha"], "iqm": float(points[c][0]),
                          "ci_low": float(intervals[c][0, 0]),
                          "ci_high": float(intervals[c][1, 0])} for c in matrices])
