"""Provenance of committed artifacts: file hashes and the code commit that made them."""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
from pathlib import Path


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def git_commit() -> str | None:
    """The commit the package's source tree is at (None outside a git checkout)."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def save_manifest(path: Path, manifest: dict) -> Path:
    """Write ``manifest`` as JSON at ``path``, unless it differs from the one there only in
    ``code_commit``: rebuilding from unchanged artifacts keeps the commit that made them."""
    path = Path(path)
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        previous = None
    if previous is None or {**previous, "code_commit": None} != {**manifest, "code_commit": None}:
        path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path


@contextlib.contextmanager
def locked(path: Path, timeout: float = 600.0):
    """Hold an inter-process lock beside ``path`` (``<path>.lock``) while the block runs:
    read-modify-write of a shared file by concurrent commands loses no update."""
    from filelock import FileLock

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=timeout):
        yield
