"""The book builds strictly from the chapters executed at the smoke profile.

`make test` executes every chapter with papermill into _build/smoke before pytest runs
(nbval then re-executes them); this test renders those notebooks with Jupyter Book in a
scratch copy of the book, with warnings as errors, as `make book` does.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # builds datasets or runs whole pipelines

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "_build" / "smoke"


def toc_chapters():
    """The executed chapters of the table of contents (static pages, such as the API
    reference, are not notebooks)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [Path(entry["file"]).name for entry in toc["chapters"]
            if entry["file"].startswith("book/executed/")]


def test_every_chapter_source_is_in_the_toc():
    sources = sorted(p.stem for p in (ROOT / "book" / "notebooks").glob("*.md"))
    assert sorted(toc_chapters()) == sources


def test_the_how_to_s_user_code_is_as_short_as_its_prose_says():
    import re

    source = (ROOT / "book" / "notebooks" / "steer.md").read_text()
    cells = re.findall(r"```\{code-cell\} ipython3\n:tags: \[user-code\]\n(.*?)```", source,
                       re.S)
    lines = [line for cell in cells for line in cell.splitlines()
             if line.strip() and not line.strip().startswith("#")]
    said = re.search(r"That is (\d+) lines of user code", source)
    assert cells and said and int(said.group(1)) == len(lines) < 15


def test_book_builds_strictly_at_smoke(tmp_path):
    missing = [c for c in toc_chapters() if not (SMOKE / f"{c}.ipynb").exists()]
    if missing:
        pytest.fail(f"chapters not executed at smoke: {missing}; run `make test`")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "book", tmp_path / "book",
                    ignore=shutil.ignore_patterns("executed"))
    (tmp_path / "book" / "executed").mkdir()
    for chapter in toc_chapters():
        shutil.copy(SMOKE / f"{chapter}.ipynb", tmp_path / "book" / "executed")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jupyter_book), "build", str(tmp_path), "-W", "-n",
                             "--keep-going"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    html = tmp_path / "_build" / "html"
    assert (html / "index.html").exists()
    identity = (html / "book" / "executed" / "identity.html").read_text()
    assert "smoke" in identity  # the profile banner
    assert "fig-anchoring" in identity
    assert remote_assets(html) == {}
    assert "thebe" not in identity.lower()  # live code is off: none of its scripts
    assert identity.count('class="btn search-button-field') == 1  # one search field
    assert "Built from frozensteer" in identity  # the code version (and commit) in the footer
    status = (html / "book" / "status.html").read_text()
    assert all(f"{c}.html" in status for c in toc_chapters())  # one row per chapter


def remote_assets(html: Path) -> dict[str, list[str]]:
    """Page -> its <script> and <link> tags that load from another host. The book serves
    everything itself (MathJax included), so that it reads right offline."""
    tag = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//[^>]*>", re.I)
    found = {}
    for page in sorted(html.rglob("*.html")):
        hits = tag.findall(page.read_text(errors="replace"))
        if hits:
            found[str(page.relative_to(html))] = hits
    return found
