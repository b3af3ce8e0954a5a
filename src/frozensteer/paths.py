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


def cache() -> Path:
    return Path(os.environ.get("FROZENSTEER_CACHE", Path.home() / ".cache" / "frozensteer"))
