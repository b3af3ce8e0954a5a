"""Where the project keeps committed artifacts, result tables and rebuildable caches.

``FROZENSTEER_HOME`` (default: the repository root, or the working directory for an
installed package) holds ``artifacts/`` and ``results/``, which are committed.
``FROZENSTEER_CACHE`` (default ``~/.cache/frozensteer``) holds what can be rebuilt: resumable
training state and intermediate files.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def home() -> Path:
    """The folder that holds ``artifacts/`` and ``results/``."""
    if "FROZENSTEER_HOME" in os.environ:
        return Path(os.environ["FROZENSTEER_HOME"])
    return _REPO if (_REPO / "pyproject.toml").exists() else Path.cwd()


def artifacts() -> Path:
    """The committed artifacts: behaviour checkpoints, policy files, their manifests."""
    return home() / "artifacts"


def results() -> Path:
    """The result tables: datasets' episodes, actors' scores, the studies' conditions."""
    return home() / "results"


class MissingResults(FileNotFoundError):
    """The committed tables a chapter reads are not under ``FROZENSTEER_HOME``."""


# the folders under results/ that hold a profile's tables: the studies', the datasets' and
# the actors' (``results/<profile>``, ``results/datasets/<profile>``, ...)
RESULT_PARTS = ("studies", "datasets", "policies")
_WHAT = {"studies": "study", "datasets": "dataset", "policies": "actor score"}


def require_results(profile, part: str = "studies") -> Path:
    """The folder of ``profile``'s committed ``part`` tables (``RESULT_PARTS``), or
    ``MissingResults`` naming it, where ``FROZENSTEER_HOME`` points and how to get the
    tables.  A profile that builds what it needs in the book (``build_in_book``: smoke) is
    never refused: its chapters make the folder.  This is what keeps a chapter executed away
    from the repository from showing "not yet run" where the results exist but are elsewhere.

    ``profile`` is a ``frozensteer.profiles.Profile`` (anything with ``name`` and
    ``build_in_book``)."""
    if part not in RESULT_PARTS:
        raise ValueError(f"part must be one of {RESULT_PARTS}, got {part!r}")
    folder = results() / profile.name if part == "studies" else results() / part / profile.name
    if profile.build_in_book or folder.is_dir():
        return folder
    where = (f"FROZENSTEER_HOME={os.environ['FROZENSTEER_HOME']}"
             if "FROZENSTEER_HOME" in os.environ else
             f"FROZENSTEER_HOME is not set, so the home is {home()}")
    raise MissingResults(
        f"no {_WHAT[part]} tables of the {profile.name} profile at {folder} ({where}). The "
        f"chapters "
        f"read the committed result tables under results/ of a clone of the frozensteer "
        f"repository: run the notebook inside a clone, or set FROZENSTEER_HOME to a clone's "
        f"root; or build the tables here with `frozensteer reproduce --profile "
        f"{profile.name}` (`--plan` first lists the steps and their estimated times).")


def cache() -> Path:
    return Path(os.environ.get("FROZENSTEER_CACHE", Path.home() / ".cache" / "frozensteer"))
