"""How a chapter shows a table: captioned, with human column names, formatted numbers
(thousands separators, fixed decimals), booleans as yes / no, and a light grid that keeps
columns apart.  ``book_table`` is the one function the chapters call."""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

# Column and index names of the library's tables, as a reader should see them.
COLUMN_NAMES = {
    "env": "environment",
    "level": "dataset",
    "prior_quality": "prior",
    "mean_return": "mean return",
    "mean_score": "mean score",
    "score_mean": "mean score",
    "score_std": "std of score",
    "kl_to_actor": "KL to actor (nat)",
    "action_shift": "action shift",
    "alpha_selected": "selected alpha",
    "alpha_oracle": "oracle alpha",
    "score_selected": "score at selected alpha",
    "score_oracle": "oracle score",
    "near_oracle": "near-oracle",
    "outcome": "class",
    "epsilon": "KL budget (nat)",
}

# Borders and padding, so that neighbouring columns cannot run together; numbers align
# right in tabular figures.
TABLE_STYLES = [
    {"selector": "", "props": "border-collapse: collapse; margin: 0.5em 0 1.2em 0; "
                              "font-size: 0.9em;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; "
                                     "font-weight: 600; padding: 0 0 0.4em 0;"},
    {"selector": "th", "props": "padding: 0.3em 0.45em; border-bottom: 1.5px solid #888; "
                                "text-align: left; vertical-align: bottom;"},
    {"selector": "td", "props": "padding: 0.25em 0.45em; border-bottom: 1px solid #ddd; "
                                "vertical-align: top; font-variant-numeric: tabular-nums;"},
    {"selector": "th.row_heading", "props": "vertical-align: top; "
                                            "border-bottom: 1px solid #ddd;"},
]


def human_name(name) -> str:
    """A column or index name as a reader should see it: ``COLUMN_NAMES``, else the name
    with underscores as spaces."""
    if not isinstance(name, str):
        return name
    return COLUMN_NAMES.get(name, name.replace("_", " "))


def _is_whole(column: pd.Series) -> bool:
    values = column.dropna()
    return len(values) > 0 and bool((values == values.round()).all())


def book_table(frame: pd.DataFrame, caption: str, decimals: int = 1,
               formats: dict | None = None, index: bool = False) -> Styler:
    """``frame`` as a captioned book table.

    Column (and, with ``index``, index) names go through ``human_name``; boolean columns
    read yes / no; integer columns, and float columns holding only whole numbers, get
    thousands separators; other float columns get ``decimals`` fixed decimals; missing
    values read "—".  ``formats`` maps a column (by its original or its human name) to a
    format string or function, overriding the default.  The index is hidden unless
    ``index``."""
    frame = frame.copy()
    for name in frame.columns:
        if pd.api.types.is_bool_dtype(frame[name]):
            frame[name] = frame[name].map({True: "yes", False: "no"})
    frame.columns = [human_name(c) for c in frame.columns]
    if index:
        frame.index = frame.index.set_names([human_name(n) for n in frame.index.names])
    spec = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_integer_dtype(column) or (
                pd.api.types.is_float_dtype(column) and _is_whole(column)):
            spec[name] = "{:,.0f}"
        elif pd.api.types.is_float_dtype(column):
            spec[name] = f"{{:,.{decimals}f}}"
    for key, value in (formats or {}).items():
        name = key if key in frame.columns else human_name(key)
        if name not in frame.columns:
            raise KeyError(f"formats names column {key!r}, which the table lacks; its "
                           f"columns are {list(frame.columns)}")
        spec[name] = value
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    styler = (frame.style.format(na_rep="—").format(spec, na_rep="—").set_caption(caption)
              .set_table_styles(TABLE_STYLES))
    if numeric:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
        # and their headers, over the numbers
        styler = styler.set_table_styles(
            [{"selector": f"th.col_heading.col{frame.columns.get_loc(c)}",
              "props": "text-align: right;"} for c in numeric], overwrite=False)
    if not index:
        styler = styler.hide(axis="index")
    return styler


def mean_ci(mean: float, low: float, high: float, decimals: int = 1) -> str:
    """A mean and its interval as one table cell, the interval on a second, smaller line, so
    that a column of them stays narrow: "77.5" over "[75.1, 79.8]"."""
    return (f"{mean:.{decimals}f}<br><span style=\"font-size: 85%; color: #555; "
            f"white-space: nowrap\">[{low:.{decimals}f}, {high:.{decimals}f}]</span>")


def selected_alpha_table(scores: pd.DataFrame, classes: pd.DataFrame, picked: pd.DataFrame,
                         labels: list[str], column: str = "sub-cell") -> pd.DataFrame:
    """One row per sub-cell of ``picked`` (``stats.selector``'s rows): the frozen actor, the
    prior alone, additive mixing at one half and PoE at the selected alpha, each a mean over
    the sub-cell's episodes with its bootstrap 95% interval (``scores``:
    ``stats.condition_scores``, its conditions named by ``labels``); PoE's class there, by
    the paired bootstrap; and the p-value and class that the unpaired Welch t-test gives
    the same comparison (``classes``: ``stats.classify``).  The first column, ``column``,
    names the sub-cell by its environment, its dataset where ``picked`` holds more than
    one, and its prior."""
    from frozensteer import stats

    def ci(row):
        return mean_ci(row["score"], row["ci_low"], row["ci_high"])

    def of(frame, pick):
        return frame[(frame[stats.CELL] == pick[stats.CELL]).all(axis=1)]

    several = picked["dataset"].nunique() > 1
    welch = stats.outcomes_by_test(classes[classes["rule"] == "poe"]) if len(classes) else classes
    out = []
    for _, pick in picked.iterrows():
        by_label = {labels[int(r["condition"])]: r for _, r in of(scores, pick).iterrows()}
        alpha = pick["alpha_selected"]
        test = of(welch, pick)
        test = test[test["alpha"] == alpha]
        out.append({
            column: ", ".join([pick["env"]] + ([pick["dataset"]] if several else [])
                                  + [f"{pick['prior_quality']} prior"]),
            "frozen": ci(by_label["frozen"]), "prior-only": ci(by_label["prior-only"]),
            "additive(0.5)": ci(by_label["additive(alpha=0.5)"]),
            "selected alpha": f"{alpha:g}",
            "PoE at selected alpha": ci(by_label["frozen"] if alpha == 0
                                        else by_label[f"poe(alpha={alpha:g})"]),
            "class": pick["outcome"],
            "Welch p": f"{test['welch_p'].iloc[0]:.2g}" if len(test) else "—",
            "Welch class": test["welch"].iloc[0] if len(test) else "FROZEN"})
    return pd.DataFrame(out)
