"""The one store helper: atomic writes, content keys, file digests and verified reads.

Every table, checkpoint and manifest the project writes goes through ``atomic_write`` (a
temporary file beside the target, then a rename: a reader never sees half a file) and is
read back with ``read_table`` (exact float round-trip, and an error naming the file when it
is not a table).  ``content_key`` is the key of a cache entry (a hash of what it depends
on), ``sha256`` the digest of a file's bytes, ``locked`` an inter-process lock for
read-modify-write of a shared file; ``save_manifest`` keeps a manifest that differs only in
its code commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def content_key(parts) -> str:
    """A 16-hex-digit key of ``parts`` (anything JSON can write): the same inputs give the
    same key on every machine, any change gives another."""
    blob = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_json(path: Path, payload) -> Path:
    """``payload`` as indented JSON at ``path``, atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(json.dumps(payload, indent=1) + "\n"))


def write_table(path: Path, table: pd.DataFrame, **options) -> Path:
    """``table`` as CSV at ``path`` (no index), atomically; floats are written in full
    unless ``float_format`` is given, so ``read_table`` gets every value back exactly."""
    return atomic_write(path, lambda tmp: table.to_csv(tmp, index=False, **options))


def read_table(path: Path) -> pd.DataFrame:
    """The CSV table at ``path``, every float exactly as written; a file that is empty or
    not a CSV table raises ValueError naming it."""
    path = Path(path)
    try:
        return pd.read_csv(path, float_precision="round_trip")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not a readable CSV table ({type(err).__name__}: "
                         f"{err})") from err


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
        write_json(path, manifest)
    return path


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` is running (a lock or scratch folder of a dead one is
    stale)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


@contextlib.contextmanager
def locked(path: Path, timeout: float = 600.0):
    """Hold an inter-process lock beside ``path`` (``<path>.lock``) while the block runs:
    read-modify-write of a shared file by concurrent commands loses no update."""
    from filelock import FileLock

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=timeout):
        yield
