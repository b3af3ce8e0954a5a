"""Figure functions the chapters call: each draws one result on the axes it is given."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

LEVEL_ORDER = ("random", "medium-replay", "medium", "medium-expert", "expert")
PICK_STYLE = {"medium": dict(color="tab:orange", marker="o"),
              "expert": dict(color="tab:green", marker="*", markersize=12)}


def learning_curve(ax: plt.Axes, env: str, curve: list[dict], budget: int,
                   picks: dict | None = None) -> None:
    """Evaluation return against SAC steps (mean +- std over the evaluation episodes), with
    the medium and expert picks at their re-evaluated returns."""
    if not curve:
        ax.text(0.5, 0.5, "not trained yet", ha="center", va="center", transform=ax.transAxes)
    else:
        steps = np.array([r["step"] for r in curve]) / 1000
        mean = np.array([r["mean_return"] for r in curve])
        std = np.array([r["std_return"] for r in curve])
        ax.plot(steps, mean, color="tab:blue", lw=1.5, label="evaluation (10 episodes)")
        ax.fill_between(steps, mean - std, mean + std, color="tab:blue", alpha=0.2, lw=0)
    if picks:
        reeval = {r["step"]: r["mean_return"] for r in picks["reevaluated"]}
        for level in ("medium", "expert"):
            step = picks[f"{level}_step"]
            ax.plot(step / 1000, reeval[step], ls="none", label=f"{level} pick (re-evaluated)",
                    **PICK_STYLE[level])
        ax.axhline(picks["ref_min_score"], color="grey", ls=":", lw=1, label="random reference")
    done = curve[-1]["step"] if curve else 0
    title = env if done >= budget else f"{env} (trained {done:,} of {budget:,} steps)"
    ax.set_title(title, fontsize=10)
    ax.set_xlim(0, budget / 1000)
    ax.set_xlabel("SAC environment steps (thousands)")
    ax.set_ylabel("return (sum of rewards)")


def dataset_scores(ax: plt.Axes, env: str, table: pd.DataFrame | None) -> None:
    """Distribution of per-episode normalised scores of every dataset level."""
    ax.set_title(env, fontsize=10)
    if table is None:
        ax.text(0.5, 0.5, "datasets not built yet", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_xticks([])
        return
    levels = [lvl for lvl in LEVEL_ORDER if lvl in set(table["level"])]
    data = [table.loc[table["level"] == lvl, "score"].to_numpy() for lvl in levels]
    ax.boxplot(data, showfliers=False, widths=0.6)
    ax.set_xticks(range(1, len(levels) + 1), levels, rotation=30, ha="right")
    ax.set_ylabel("normalised score per episode\n(0 = random, 100 = expert)")


def training_curve(ax: plt.Axes, curve: list[dict], key: str, label: str) -> None:
    """One logged training loss against gradient steps."""
    steps = np.array([r["step"] for r in curve]) / 1000
    ax.plot(steps, [r[key] for r in curve], lw=1.2, label=label)
    ax.set_xlabel("gradient steps (thousands)")


QUALITY_STYLE = {"clean": dict(color="tab:blue", marker="o"),
                 "degraded": dict(color="tab:orange", marker="s"),
                 "random": dict(color="tab:grey", marker="^")}


def condition_scores(ax: plt.Axes, table: pd.DataFrame, labels: list[str], title: str) -> None:
    """Mean normalised score and 95% CI of every condition (x) of one cell, one series per
    prior quality; ``table`` is ``stats.condition_scores`` of that cell, ``labels`` name the
    conditions by index."""
    ax.set_title(title, fontsize=10)
    qualities = [q for q in QUALITY_STYLE if q in set(table["prior_quality"])]
    for k, quality in enumerate(qualities):
        rows = table[table["prior_quality"] == quality].sort_values("condition")
        x = rows["condition"].to_numpy() + (k - (len(qualities) - 1) / 2) * 0.22
        y = rows["score"].to_numpy()
        err = np.vstack([y - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - y])
        ax.errorbar(x, y, yerr=err, ls="none", ms=4, capsize=2, lw=1,
                    label=f"{quality} prior", **QUALITY_STYLE[quality])
        frozen = rows.loc[rows["rule"] == "frozen", "score"]
        if len(frozen):
            ax.axhline(frozen.iloc[0], color=QUALITY_STYLE[quality]["color"], ls=":", lw=0.8)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("normalised score\n(mean, 95% CI)")
    ax.grid(axis="y", alpha=0.3)


RULE_STYLE = {"poe": dict(color="tab:blue", marker="o", label="PoE(alpha)"),
              "additive": dict(color="tab:red", marker="D", label="additive(alpha)"),
              "prior-only": dict(color="tab:purple", marker="X", label="prior only (alpha = 1)"),
              "frozen": dict(color="black", marker="s", label="frozen actor (alpha = 0)")}


def alpha_response(ax: plt.Axes, table: pd.DataFrame, title: str, value: str = "score") -> None:
    """One sub-cell's ``value`` against alpha: the PoE curve from the frozen actor (alpha 0)
    to the prior alone (alpha 1), and additive mixing at the alphas it was run with.
    ``table`` is ``stats.condition_scores`` of that sub-cell; scores get their 95% CI."""
    ax.set_title(title, fontsize=10)
    alpha = table["alpha"].where(table["rule"] != "frozen", 0.0)
    alpha = alpha.where(table["rule"] != "prior-only", 1.0)
    table = table.assign(alpha=alpha)
    frozen = table[table["rule"] == "frozen"]
    for rule in ("poe", "additive"):
        rows = pd.concat([frozen, table[table["rule"] == rule]]).sort_values("alpha")
        if len(rows) < 2:
            continue
        style = RULE_STYLE[rule]
        ax.plot(rows["alpha"], rows[value], color=style["color"], lw=1.2, ms=4,
                marker=style["marker"], label=style["label"])
        if value == "score":
            ax.fill_between(rows["alpha"], rows["ci_low"], rows["ci_high"], lw=0,
                            color=style["color"], alpha=0.15)
    for rule in ("frozen", "prior-only"):
        rows = table[table["rule"] == rule]
        style = RULE_STYLE[rule]
        if value == "score":
            yerr = np.vstack([rows[value] - rows["ci_low"], rows["ci_high"] - rows[value]])
            ax.errorbar(rows["alpha"].to_numpy(), rows[value].to_numpy(), yerr=yerr,
                        ls="none", capsize=3, ms=6,
                        color=style["color"], marker=style["marker"], label=style["label"])
        else:
            ax.plot(rows["alpha"], rows[value], ls="none", ms=6, color=style["color"],
                    marker=style["marker"], label=style["label"])
    ax.set_xlim(-0.05, 1.05)
    ax.set_xlabel("alpha (weight of the prior)")
    ax.set_ylabel({"score": "normalised score\n(mean, 95% CI)",
                   "action_shift": "RMS shift of the mean action\n(action units)",
                   "kl_to_actor": "KL to the actor (nats)"}[value])
    ax.grid(alpha=0.3)


def maze_paths(ax: plt.Axes, walls: np.ndarray, size: float, paths: dict[str, np.ndarray],
               goal: np.ndarray, radius: float) -> None:
    """(x, y) paths on the maze map: wall cells, the success disc around the goal, and one
    line per labelled path from its start (circle) to its end (cross)."""
    for x, y in walls:
        ax.add_patch(plt.Rectangle((x - size / 2, y - size / 2), size, size, color="0.75",
                                   lw=0))
    ax.add_patch(plt.Circle(goal, radius, color="tab:green", alpha=0.4, lw=0,
                            label=f"goal (success radius {radius:g} m)"))
    for k, (label, path) in enumerate(paths.items()):
        color = plt.get_cmap("tab10")(k)
        ax.plot(path[:, 0], path[:, 1], lw=1.2, color=color, label=label)
        ax.plot(*path[0], "o", color=color, ms=5)
        ax.plot(*path[-1], "x", color=color, ms=7)
    ax.set_aspect("equal")
    ax.set_xlim(walls[:, 0].min() - size / 2, walls[:, 0].max() + size / 2)
    ax.set_ylim(walls[:, 1].min() - size / 2, walls[:, 1].max() + size / 2)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")


DATASET_STYLE = {"medium": dict(color="tab:blue", marker="o"),
                 "medium-replay": dict(color="tab:orange", marker="s"),
                 "medium-expert": dict(color="tab:red", marker="^")}


def competence(ax: plt.Axes, points: pd.DataFrame, fit: dict, gain: str = "gain_selected"
               ) -> None:
    """PoE's gain over the frozen actor against the actor's own score, one point per
    (cell, prior quality, training seed) marked by dataset, with the fitted line of
    ``stats.competence_fit`` and its zero crossing."""
    for dataset, group in points.groupby("dataset", sort=False):
        ax.scatter(group["frozen_score"], group[gain], s=28, alpha=0.85, label=dataset,
                   **DATASET_STYLE.get(dataset, {}))
    xs = np.linspace(points["frozen_score"].min() - 5, points["frozen_score"].max() + 5, 50)
    ax.plot(xs, fit["intercept"] + fit["slope"] * xs, color="black", lw=1.2,
            label=f"fit: slope {fit['slope']:.2f} per point of actor score")
    ax.axhline(0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("frozen actor's normalised score")
    ax.set_ylabel("PoE score minus frozen score")
    ax.legend(fontsize=8, frameon=False)
