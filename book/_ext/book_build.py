"""What the book's build adds to its pages (a local Sphinx extension; see _config.yml).

- Every page's footer names the code the book was built from: the package version and, in
  a git checkout, the commit (``frozensteer.provenance.git_commit``), linked to the
  repository when ``repository: url:`` names one. Without git, the version alone.
- The ``chapter-status`` directive (the status page) tabulates, for every executed chapter
  of the table of contents, the profile papermill ran it at and how long it took (the
  ``papermill`` metadata of the executed notebook), or the versions of Python and of the
  package's pinned dependencies in the environment that built the book.
- The bibliography is labelled as the text cites (``bibtex_reference_style:
  author_year``): "Fu et al., 2020" rather than pybtex's alpha labels ("[FKN+20]"), by the
  ``author_year`` label style registered here and named in ``bibtex_default_style``.
- While ``repository: url:`` is the committed placeholder (its owner ``OWNER``), the
  repository, issue and launch buttons are left out rather than pointing at no repository;
  the publishing workflow (.github/workflows/book.yml) fills in the repository it runs in.
- One search field per page, the sidebar's: the theme's header repeats it otherwise.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
from datetime import datetime
from importlib import metadata
from pathlib import Path

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

import frozensteer
from frozensteer.provenance import git_commit

LOGGER = logging.getLogger(__name__)
PLACEHOLDER_OWNER = "/OWNER/"


def _uncommitted_changes() -> bool:
    """Whether the checkout's code or chapters (src/, book/) differ from its commit; not the
    configuration, which the publishing workflow edits to name its repository."""
    try:
        return bool(subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":/src", ":/book"],
            capture_output=True, text=True, check=True,
            cwd=Path(frozensteer.__file__).parent).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return False


def code_stamp(repository_url: str = "") -> str:
    """The footer's HTML: the package version, and the commit where git knows it."""
    stamp = f"Built from frozensteer {frozensteer.__version__}"
    commit = git_commit()
    if commit is None:
        return stamp + "."
    short = f"<code>{commit[:12]}</code>"
    if repository_url:
        short = f'<a href="{repository_url.rstrip("/")}/commit/{commit}">{short}</a>'
    dirty = " with uncommitted changes to the code or chapters" if _uncommitted_changes() else ""
    return f"{stamp}, commit {short}{dirty}."


def configure(app, config) -> None:
    options = config.html_theme_options
    url = options.get("repository_url", "")
    if PLACEHOLDER_OWNER in url:
        for button in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
            options[button] = False
        options["launch_buttons"] = {}
        url = ""
        LOGGER.info("book_build: repository url is the placeholder; no repository or "
                    "launch buttons (the publishing workflow sets the url)")
    # one search field, the sidebar's (the header's persistent one duplicated it)
    options["navbar_persistent"] = []
    footer = code_stamp(url)
    extra = options.get("extra_footer", "")
    options["extra_footer"] = f"{extra}<p>{footer}</p>" if extra else f"<p>{footer}</p>"


def _duration(seconds: float) -> str:
    seconds, nbsp = round(seconds), "\u00a0"  # one time, one line
    return (f"{seconds}{nbsp}s" if seconds < 60
            else f"{seconds // 60}{nbsp}min {seconds % 60:02d}{nbsp}s".replace(" ", nbsp))


class BuildStatus(SphinxDirective):
    """``chapter-status chapters``: each executed chapter's profile and execution time;
    ``chapter-status packages``: the versions the book was built with. Both are read when
    the book is built, so the status page cannot fall behind the chapters it describes."""

    required_arguments = 1
    has_content = False

    def run(self):
        kind = self.arguments[0]
        if kind not in ("chapters", "packages"):
            raise self.error(f"chapter-status takes 'chapters' or 'packages', got {kind!r}")
        lines = self._chapters() if kind == "chapters" else self._packages()
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]),
                                self.content_offset, container)
        return container.children

    def _chapters(self) -> list[str]:
        srcdir = Path(self.env.srcdir)
        site_map = getattr(self.env, "external_site_map", None)
        docnames = [re.sub(r"\.(ipynb|md)$", "", d) for d in (site_map or [])]
        rows, total, times = [], 0.0, []
        for docname in docnames:
            path = srcdir / f"{docname}.ipynb"
            if not path.exists():
                continue
            self.env.note_dependency(str(path))
            run = json.loads(path.read_text()).get("metadata", {}).get("papermill")
            if not run:
                rows.append(f"| {{doc}}`/{docname}` | — | — | not executed by papermill |")
                continue
            seconds = run.get("duration") or 0.0
            total += seconds
            times += [datetime.fromisoformat(run[k]) for k in ("start_time", "end_time")
                      if run.get(k)]
            profile = run.get("parameters", {}).get("profile", "?")
            result = "completed" if run.get("exception") is None else "failed"
            rows.append(f"| {{doc}}`/{docname}` | `{profile}` | {_duration(seconds)} | {result} |")
        if not rows:
            raise self.error("chapter-status: no executed chapter of the table of contents "
                             "was found; run `make chapters` (or `make book`) first")
        when = (f", executed from {min(times):%Y-%m-%d %H:%M} to {max(times):%Y-%m-%d %H:%M} UTC"
                if times else "")
        return ["| chapter | profile | execution time | result |",
                "| :-- | :-- | --: | :-- |", *rows,
                f"| **all chapters**{when} | | **{_duration(total)}** | |"]

    def _packages(self) -> list[str]:
        lines = ["| package | version |", "| :-- | :-- |",
                 f"| Python | {platform.python_version()} |",
                 f"| frozensteer | {frozensteer.__version__} |"]
        for requirement in metadata.requires("frozensteer") or []:
            name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0)
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                version = "not installed"
            lines.append(f"| {name} | {version} |")
        return lines


class AuthorYearLabels(BaseLabelStyle):
    """Bibliography labels in the text's author-year form: one author's surname, two joined
    by "and", more as "et al.", then the year; an entry without authors (the reproduced
    paper, whose abstract we have without them) by its arXiv number, else its title."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [" ".join(p.prelast_names + p.last_names) or str(p) for p in people]
            who = (names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2
                   else f"{names[0]} et al." if names
                   else f"arXiv:{entry.fields['eprint']}" if "eprint" in entry.fields
                   else entry.fields.get("title", entry.key))
            yield f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels


def setup(app):
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    app.connect("config-inited", configure)
    app.add_directive("chapter-status", BuildStatus)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
