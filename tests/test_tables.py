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
