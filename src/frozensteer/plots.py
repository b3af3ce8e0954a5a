"""Figure functions the chapters call: each draws one result on the axes it is given.

Importing this module sets the book's figure style (``BOOK_STYLE``: 150 dpi, fonts legible
at the column width); ``figure_legend``, ``legend_outside`` and ``legend_below`` keep
legends off the data."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

# The book's figure style, set once here for every chapter that imports this module: 150 dpi
# (the PNG the page shows), and fonts legible when a figure about 8 inches wide is shown in
# the book's column of about 750 px.  Chapters size figures at most ``FIGURE_WIDTH`` wide.
FIGURE_WIDTH = 8.0
BOOK_STYLE = {
    "figure.dpi": 150, "savefig.dpi": 150, "savefig.bbox": "tight",
    "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10,
    "xtick.labelsize": 9.5, "ytick.labelsize": 9.5, "legend.fontsize": 9.5,
    "figure.titlesize": 11, "legend.frameon": False,
}


def use_book_style() -> None:
    """Apply ``BOOK_STYLE`` to matplotlib (done when this module is imported)."""
    plt.rcParams.update(BOOK_STYLE)


use_book_style()


def figure_legend(fig: plt.Figure, axes, ncol: int = 3, **kwargs) -> bool:
    """One legend for a figure of panels, below them and off the data: every distinct label
    of ``axes`` once, in order of first appearance.  Leave room for it with
    ``fig.tight_layout(rect=(0, bottom, 1, 1))``.  Returns whether there was anything to
    show."""
    handles, names = [], []
    for ax in np.atleast_1d(axes).flat:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            if name not in names and not name.startswith("_"):
                handles.append(handle)
                names.append(name)
    if handles:
        fig.legend(handles, names, loc="lower center", ncol=ncol, **kwargs)
    return bool(handles)


def legend_outside(ax: plt.Axes, **kwargs) -> None:
    """The axes' legend to the right of its panel, off the data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, **kwargs)


def legend_below(ax: plt.Axes, ncol: int = 2, **kwargs) -> None:
    """The axes' legend under its panel (below the x label), off the data."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, **kwargs)


# Colours of the environments and line styles of the datasets, wherever a figure draws
# several environments or datasets on one panel.
ENV_COLOR = {"hopper": "tab:blue", "halfcheetah": "tab:orange", "walker2d": "tab:green",
             "ant": "tab:red", "antmaze": "tab:purple"}
DATASET_LINESTYLE = {"medium": "-", "medium-replay": "--", "medium-expert": ":",
                     "umaze": "-", "umaze-diverse": "--"}

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
    ax.set_title(title)
    ax.set_xlim(0, budget / 1000)
    ax.set_xlabel("SAC environment steps (thousands)")
    ax.set_ylabel("return (sum of rewards)")


def dataset_scores(ax: plt.Axes, env: str, table: pd.DataFrame | None) -> None:
    """Distribution of per-episode normalised scores of every dataset level."""
    ax.set_title(env)
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


def training_curve(ax: plt.Axes, curve: list[dict], key: str, label: str,
                   env: str | None = None, dataset: str | None = None) -> None:
    """One logged training loss against gradient steps; with ``env`` and ``dataset``, in the
    environment's colour (``ENV_COLOR``) and the dataset's line style
    (``DATASET_LINESTYLE``), so that many curves on one panel stay identifiable."""
    steps = np.array([r["step"] for r in curve]) / 1000
    style = {}
    if env is not None:
        style["color"] = ENV_COLOR.get(env)
    if dataset is not None:
        style["ls"] = DATASET_LINESTYLE.get(dataset, "-")
    ax.plot(steps, [r[key] for r in curve], lw=1.3, label=label, **style)
    ax.set_xlabel("gradient steps (thousands)")


QUALITY_STYLE = {"clean": dict(color="tab:blue", marker="o"),
                 "degraded": dict(color="tab:orange", marker="s"),
                 "random": dict(color="tab:grey", marker="^")}


RULE_NAMES = {"poe": "PoE", "kl-reg": "KL-Reg", "additive": "additive",
              "prior-only": "prior only", "frozen": "frozen"}


def short_label(label: str) -> str:
    """A condition's label (``Condition.label``) short enough for a tick:
    "poe(alpha=0.1)" reads "PoE 0.1", "kl-reg(beta=0.111)" reads "KL-Reg 0.111"."""
    rule, _, rest = label.partition("(")
    name = RULE_NAMES.get(rule, rule)
    if not rest:
        return name
    return f"{name} {rest.rstrip(')').partition('=')[2]}"


def condition_scores(ax: plt.Axes, table: pd.DataFrame, labels: list[str], title: str) -> None:
    """Mean normalised score and 95% CI of every condition (x) of one cell, one series per
    prior quality, and the frozen actor's mean (the same actor for every prior) as one grey
    dotted line; ``table`` is ``stats.condition_scores`` of that cell, ``labels`` name the
    conditions by index (``Condition.label``; the ticks show ``short_label``)."""
    ax.set_title(title)
    qualities = [q for q in QUALITY_STYLE if q in set(table["prior_quality"])]
    for k, quality in enumerate(qualities):
        rows = table[table["prior_quality"] == quality].sort_values("condition")
        x = rows["condition"].to_numpy() + (k - (len(qualities) - 1) / 2) * 0.22
        y = rows["score"].to_numpy()
        err = np.vstack([y - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - y])
        ax.errorbar(x, y, yerr=err, ls="none", ms=4, capsize=2, lw=1,
                    label=f"{quality} prior", **QUALITY_STYLE[quality])
    frozen = table.loc[table["rule"] == "frozen", "score"]
    if len(frozen):
        ax.axhline(frozen.mean(), color="0.35", ls=":", lw=1.2, label="frozen actor")
    condition_ticks(ax, labels)
    ax.set_ylabel("normalised score\n(mean, 95% CI)")
    ax.grid(axis="y", alpha=0.3)


def condition_ticks(ax: plt.Axes, labels: list[str]) -> None:
    """Conditions as x ticks, in their short form, at an angle that stays legible."""
    ax.set_xticks(range(len(labels)), [short_label(lbl) for lbl in labels], rotation=50,
                  ha="right", rotation_mode="anchor")


RULE_STYLE = {"poe": dict(color="tab:blue", marker="o", label="PoE(alpha)"),
              "additive": dict(color="tab:red", marker="D", label="additive(alpha)"),
              "prior-only": dict(color="tab:purple", marker="X", label="prior only (alpha = 1)"),
              "frozen": dict(color="black", marker="s", label="frozen actor (alpha = 0)")}


def alpha_response(ax: plt.Axes, table: pd.DataFrame, title: str, value: str = "score") -> None:
    """One sub-cell's ``value`` against alpha: the PoE curve from the frozen actor (alpha 0)
    to the prior alone (alpha 1), and additive mixing at the alphas it was run with.
    ``table`` is ``stats.condition_scores`` of that sub-cell; scores get their 95% CI.
    Additive mixing is drawn as points at its alphas, not as a line: the grid runs it at
    one or few alphas."""
    ax.set_title(title)
    alpha = table["alpha"].where(table["rule"] != "frozen", 0.0)
    alpha = alpha.where(table["rule"] != "prior-only", 1.0)
    table = table.assign(alpha=alpha)
    frozen = table[table["rule"] == "frozen"]
    # PoE is a curve over the grid, from the frozen actor at alpha 0
    rows = pd.concat([frozen, table[table["rule"] == "poe"]]).sort_values("alpha")
    if len(rows) >= 2:
        style = RULE_STYLE["poe"]
        ax.plot(rows["alpha"], rows[value], color=style["color"], lw=1.2, ms=4,
                marker=style["marker"], label=style["label"])
        if value == "score":
            ax.fill_between(rows["alpha"], rows["ci_low"], rows["ci_high"], lw=0,
                            color=style["color"], alpha=0.15)
    # additive mixing, the frozen actor and the prior alone are points: only the alphas
    # that were run, with no line invented between them
    for rule in ("additive", "frozen", "prior-only"):
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


def maze_map(ax: plt.Axes, walls: np.ndarray, size: float, goal: np.ndarray | None = None,
             radius: float | None = None, wall: float = 1.0) -> None:
    """The maze's wall cells (grey), the success disc around ``goal`` (green) when one is
    given, equal axes in metres, cropped to the free cells plus ``wall`` m of the outer
    wall."""
    for x, y in walls:
        ax.add_patch(plt.Rectangle((x - size / 2, y - size / 2), size, size, color="0.8",
                                   lw=0))
    if goal is not None:
        ax.add_patch(plt.Circle(goal, radius, color="tab:green", alpha=0.45, lw=0,
                                label=f"goal (success radius {radius:g} m)"))
    ax.set_aspect("equal")
    # the outer ring of wall cells: show only ``wall`` m of it
    ax.set_xlim(walls[:, 0].min() + size / 2 - wall, walls[:, 0].max() - size / 2 + wall)
    ax.set_ylim(walls[:, 1].min() + size / 2 - wall, walls[:, 1].max() - size / 2 + wall)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")


def maze_paths(ax: plt.Axes, walls: np.ndarray, size: float, paths: dict[str, np.ndarray],
               goal: np.ndarray, radius: float, colors: list | None = None) -> None:
    """(x, y) paths on the maze map (``maze_map``): the success disc around the goal, and
    one line per labelled path from its start (circle) to its end (cross), in ``colors``
    (default: the tab10 cycle without its green, the goal's colour)."""
    maze_map(ax, walls, size, goal, radius)
    cycle = [c for k, c in enumerate(plt.get_cmap("tab10").colors) if k != 2]
    for k, (label, path) in enumerate(paths.items()):
        color = colors[k] if colors else cycle[k % len(cycle)]
        ax.plot(path[:, 0], path[:, 1], lw=1.4, color=color, label=label)
        ax.plot(*path[0], "o", color=color, ms=6)
        ax.plot(*path[-1], "x", color=color, ms=8, mew=2)


def maze_endpoints(ax: plt.Axes, walls: np.ndarray, size: float, starts: np.ndarray,
                   goals: np.ndarray, notes: dict[tuple[float, float], str],
                   goal: np.ndarray, radius: float) -> None:
    """Where a dataset's episodes start (blue) and where their goals lie (red) on the maze
    map, with the evaluation goal's success disc and a note at each cell centre in
    ``notes`` (e.g. how many episodes start and end there)."""
    maze_map(ax, walls, size, goal, radius)
    ax.plot(starts[:, 0], starts[:, 1], ".", ms=2, alpha=0.35, color="tab:blue",
            label="episode starts")
    ax.plot(goals[:, 0], goals[:, 1], ".", ms=2, alpha=0.35, color="tab:red",
            label="episode goals")
    for (x, y), text in notes.items():
        ax.text(x, y, text, ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.6", alpha=0.85))


def maze_success(ax: plt.Axes, table: pd.DataFrame, title: str) -> None:
    """Success rate against alpha in one maze, one colour per prior quality: the frozen
    actor at alpha 0, PoE(alpha), the prior alone at alpha 1 (mean and 95% CI, joined by a
    line), and additive mixing at the alphas it was run with (hollow diamonds, drawn a
    little to the right).  ``table`` is ``stats.condition_scores`` of the maze's
    sub-cells."""
    ax.set_title(title)
    qualities = [q for q in QUALITY_STYLE if q in set(table["prior_quality"])]
    for k, quality in enumerate(qualities):
        rows = table[table["prior_quality"] == quality]
        alpha = rows["alpha"].where(rows["rule"] != "frozen", 0.0)
        rows = rows.assign(alpha=alpha.where(rows["rule"] != "prior-only", 1.0))
        style = QUALITY_STYLE[quality]
        shift = (k - (len(qualities) - 1) / 2) * 0.012  # keep equal points apart
        line = rows[rows["rule"].isin(["frozen", "poe", "prior-only"])].sort_values("alpha")
        err = np.vstack([line["score"] - line["ci_low"], line["ci_high"] - line["score"]])
        ax.errorbar(line["alpha"] + shift, line["score"], yerr=err, color=style["color"],
                    marker=style["marker"], ms=5, lw=1.4, capsize=2, label=f"{quality} prior")
        mixed = rows[rows["rule"] == "additive"]
        if len(mixed):
            err = np.vstack([mixed["score"] - mixed["ci_low"],
                             mixed["ci_high"] - mixed["score"]])
            ax.errorbar(mixed["alpha"] + 0.04 + shift, mixed["score"], yerr=err, ls="none",
                        marker="D", ms=6, mfc="white", mec=style["color"],
                        color=style["color"], capsize=2,
                        label="additive(alpha), hollow" if k == 0 else None)
    ticks = [0.0] + sorted(set(table.loc[table["rule"] == "poe", "alpha"])) + [1.0]
    ax.set_xticks(ticks, ["0\nfrozen"] + [f"{a:g}" for a in ticks[1:-1]] + ["1\nprior"])
    ax.set_xlim(-0.06, 1.06)
    ax.set_ylim(-4, 104)
    ax.set_xlabel("alpha (weight of the prior)")
    ax.set_ylabel("success rate (%)\n(mean, 95% CI)")
    ax.grid(alpha=0.3)


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
    legend_below(ax)


def imitation(axes, walks: pd.DataFrame, smooth: int = 25) -> None:
    """An actor's distance to each behaviour policy along its own episodes
    (``agents.imitation.along_episodes`` with a ``training_seed`` column) on two panels, to
    the expert policy and to the medium policy: per seed, the mean over the episodes still
    running at each step, averaged over ``smooth`` steps; a dotted line at the mean length of
    the seed's episodes that fell."""
    for ax, level in zip(axes, ("expert", "medium")):
        for i, (seed, own) in enumerate(walks.groupby("training_seed")):
            mean = own.groupby("step")[f"distance_{level}"].mean().rolling(
                smooth, min_periods=1).mean()
            ax.plot(mean.index, mean.to_numpy(), color=f"C{i}", lw=1.4, label=f"seed {seed}")
            ends = own.groupby("episode")[["length", "terminated"]].first()
            if ends["terminated"].any():
                ax.axvline(ends.loc[ends["terminated"], "length"].mean(), color=f"C{i}",
                           lw=0.9, ls=":")
        ax.set_title(f"to the {level} policy's action")
        ax.set_xlabel("step of the actor's own episode")
    top = max(line.get_ydata().max() for ax in axes for line in ax.get_lines()
              if len(line.get_ydata()) > 2)
    for ax in axes:
        ax.set_ylim(0, 1.05 * top)
    axes[0].set_ylabel("distance of the actor's action\n(RMS over dimensions)")


QUALITY_LINESTYLE = {"clean": "-", "degraded": "--", "random": ":"}


def divergence_curves(ax: plt.Axes, table: pd.DataFrame, budgets, default: float,
                      title: str, n_labels: int = 1) -> None:
    """D(alpha), PoE's mean KL divergence from the actor, against alpha for every
    (environment, prior quality) of one dataset: colour by environment (``ENV_COLOR``),
    marker and line style by prior quality; the KL budgets as horizontal lines (dashed: the
    default), and the ``n_labels`` lines that leave the actor fastest (largest D at the
    smallest alpha) named at their first point.  ``table`` holds PoE's rows, one per
    (env, prior_quality, alpha), with a ``kl_to_actor`` column."""
    ax.set_title(title)
    first = []
    for (env, quality), mine in table.groupby(["env", "prior_quality"], sort=False):
        curve = mine.sort_values("alpha")
        style = QUALITY_STYLE[quality]
        ax.plot(curve["alpha"], curve["kl_to_actor"], lw=1.2, ms=4, marker=style["marker"],
                color=ENV_COLOR.get(env, "black"), ls=QUALITY_LINESTYLE[quality], alpha=0.85)
        first.append((curve["kl_to_actor"].iloc[0], curve["alpha"].iloc[0], env, quality))
    for value, alpha, env, quality in sorted(first, reverse=True)[:n_labels]:
        ax.annotate(f"{env}, {quality}", (alpha, value), xytext=(6, 2),
                    textcoords="offset points", fontsize=8.5,
                    color=ENV_COLOR.get(env, "black"),
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    for eps in budgets:
        ax.axhline(eps, color="grey", ls="--" if eps == default else ":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("alpha (weight of the prior)")
    ax.grid(alpha=0.3)


def divergence_legend(fig: plt.Figure, envs, qualities, ncol: int = 4) -> None:
    """The legend of ``divergence_curves`` below the figure: a colour per environment, a
    marker and line style per prior quality."""
    handles = [plt.Line2D([], [], color=ENV_COLOR.get(e, "black"), lw=2, label=e)
               for e in envs]
    handles += [plt.Line2D([], [], color="0.3", ls=QUALITY_LINESTYLE[q],
                           marker=QUALITY_STYLE[q]["marker"], label=f"{q} prior")
                for q in qualities]
    fig.legend(handles=handles, loc="lower center", ncol=ncol)
