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
