"""The book's table and figure conventions: frozensteer.tables and the style of plots."""

import matplotlib
import pandas as pd
import pytest

from frozensteer import plots, tables
from frozensteer.profiles import PROFILES, Profile, setting_rows


def test_book_table_formats_numbers_names_and_booleans():
    frame = pd.DataFrame({"env": ["hopper", "ant"], "transitions": [1_000_000, 80_000],
                          "mean_return": [3234.3, 89.4], "near_oracle": [True, False],
                          "whole": [12135.0, 7.0], "score": [float("nan"), 1.25]})
    html = tables.book_table(frame, "A caption").to_html()
    assert "<caption>A caption</caption>" in html
    for text in ("environment", "mean return", "near-oracle", "1,000,000", "80,000",
                 "3,234.3", "89.4", "yes", "no", "12,135", "—", "1.2"):
        assert text in html, text
    for raw in ("mean_return", "near_oracle", "89.400000", "1000000", "True", "nan"):
        assert raw not in html, raw


def test_book_table_formats_override_and_index():
    frame = pd.DataFrame({"alpha": [0.1, 0.9]}, index=pd.Index(["a", "b"], name="env"))
    html = tables.book_table(frame, "c", formats={"alpha": "{:g}"}, index=True).to_html()
    assert ">0.1<" in html and ">0.9<" in html and "environment" in html
    with pytest.raises(KeyError, match="lacks"):
        tables.book_table(frame, "c", formats={"missing": "{:g}"})


def test_book_style_is_applied_on_import():
    assert matplotlib.rcParams["figure.dpi"] >= 150
    assert matplotlib.rcParams["savefig.dpi"] >= 150


def test_short_labels_of_conditions():
    assert plots.short_label("poe(alpha=0.1)") == "PoE 0.1"
    assert plots.short_label("kl-reg(beta=0.111)") == "KL-Reg 0.111"
    assert plots.short_label("prior-only") == "prior only"


def test_every_profile_setting_has_a_human_label():
    rows = setting_rows(PROFILES)
    labels = list(rows.index)
    assert not any("_" in label for label in labels), labels
    assert len(labels) == len(set(labels))
    # dict-valued settings: one row per key, so no cell holds a whole dictionary
    assert "SAC environment steps: halfcheetah" in labels
    assert rows.loc["SAC environment steps: halfcheetah", "paper"] == "1,000,000"
    fields = {f for f in Profile.__dataclass_fields__ if f not in ("name", "variant")}
    from frozensteer.profiles import SETTING_LABELS
    assert fields <= set(SETTING_LABELS)


def test_mean_ci_keeps_the_interval_on_its_own_line():
    cell = tables.mean_ci(77.54, 75.06, 79.81)
    assert cell.startswith("77.5<br>") and "[75.1, 79.8]" in cell


def test_every_figure_is_named_described_and_referenced():
    import re
    from pathlib import Path

    for source in sorted((Path(__file__).parents[1] / "book" / "notebooks").glob("*.md")):
        text = source.read_text()
        for block in re.findall(r"```\{glue:figure\}[^\n]*\n(.*?)\n\n", text, re.S):
            name = re.search(r"^:name: (\S+)", block, re.M)
            assert name, f"{source.name}: a glue:figure without :name:"
            assert re.search(r"^:alt: \S", block, re.M), f"{source.name}: {name[1]} lacks :alt:"
            assert f"{{numref}}`{name[1]}`" in text, f"{source.name}: {name[1]} not referenced"
        assert "plt.show()" not in text, f"{source.name}: a figure outside glue:figure"


def test_the_selected_alpha_table_gives_each_sub_cell_its_pick_and_both_tests():
    import numpy as np

    from frozensteer import stats

    rng = np.random.default_rng(0)
    base = rng.normal(50, 5, 25)
    conditions = [("frozen", np.nan, 0.0, 0.0), ("prior-only", np.nan, -9.0, 9.0),
                  ("additive", 0.5, -4.0, 3.0), ("poe", 0.1, 0.0, 0.2), ("poe", 0.5, 3.0, 0.8)]
    labels = ["frozen", "prior-only", "additive(alpha=0.5)", "poe(alpha=0.1)",
              "poe(alpha=0.5)"]
    rows = pd.DataFrame([
        {"study": "harder", "env": "hopper", "dataset": dataset, "prior_quality": "clean",
         "condition": c, "rule": rule, "alpha": alpha, "beta": np.nan, "episode": e,
         "kl_to_actor": kl, "score": base[e] + shift + rng.normal(0, 0.5)}
        for dataset in ("medium-replay", "medium-expert")
        for c, (rule, alpha, shift, kl) in enumerate(conditions) for e in range(25)])
    scores = stats.condition_scores(rows, 500, 0)
    classes = stats.classify(rows, 500, 0)
    picked = stats.selector(rows, classes, 1.0, 500, 0)
    table = tables.selected_alpha_table(scores, classes, picked, labels)
    assert list(table["sub-cell"]) == ["hopper, medium-replay, clean prior",
                                       "hopper, medium-expert, clean prior"]
    first = table.iloc[0]
    assert first["selected alpha"] == "0.5" and first["class"] == "HELP"
    poe = scores[(scores["dataset"] == "medium-replay") & (scores["condition"] == 4)]
    assert first["PoE at selected alpha"].split("<br>")[0] == f"{poe['score'].iloc[0]:.1f}"
    welch = classes[(classes["rule"] == "poe") & (classes["alpha"] == 0.5)
                    & (classes["dataset"] == "medium-replay")]
    assert first["Welch p"] == f"{welch['welch_p'].iloc[0]:.2g}"
    assert first["Welch class"] == ("HELP" if welch["welch_p"].iloc[0] < 0.05 else "FROZEN")
    # a budget that admits no alpha keeps the actor: FROZEN by both tests, no p-value
    kept = tables.selected_alpha_table(scores, classes, stats.selector(rows, classes, 0.01,
                                                                       500, 0), labels)
    assert set(kept["selected alpha"]) == {"0"} and set(kept["Welch p"]) == {"—"}
    assert kept["PoE at selected alpha"].equals(kept["frozen"])
