"""The scan cache: parsed Terraform files keyed by the hash of their content, and whole Terraform
results with what they were read from.

A re-run reads the parse of every unchanged file from here, so after a one-file change only that file
is parsed again; when no input of the Terraform loader changed at all, its result is read from here
instead of being loaded again (`policies.loaders.terraform.load_terraform`). Where it lives:
`$KEEPALIVE_GUARD_CACHE_DIR`, else the platform's user cache directory (`$XDG_CACHE_HOME` or
`~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows) under
`keepalive-guard`. `--no-cache` turns it off.

The entries are in one SQLite database named for the version of keepalive-guard, a stamp of the code of
python-hcl2 and Lark (`code_stamp`) and the entry format, so an upgrade never reads what another version
wrote; the first run of a new version removes the other versions' databases. SQLite makes concurrent
scans safe, and writes go in one transaction at the end of a scan. A cache that cannot be read or written (a read-only home, a locked or
damaged database) is not used, and the scan does not fail: it parses. An entry holds only strings,
numbers and tuples (`marshal`), never objects or code; one that does not decode is parsed again. A
result is a pickle that may name only keepalive-guard's own model classes (`restricted_loads`); the
`_RESULTS` most recent are kept. The cache is a user's own: like any cache, do not restore it from an
untrusted source (a CI cache written by pull requests from forks).
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import io
import os
import pickle
import sqlite3
import sys
from functools import cache
from pathlib import Path
from typing import Any

FORMAT = 1  # the entry format (policies.loaders.terraform.config.entry); bump when it changes
_PREFIX = "parse-"  # only files named so are ever removed: the cache directory may be shared
_WAIT_SECONDS = 5  # for another scan's write to finish
_TABLES = ("entries", "results")  # parses by content hash; Terraform results by scan (load_terraform)
_RESULTS = 16  # results kept: one per scan command line that is run again


def default_directory() -> Path:
    """The user cache directory of keepalive-guard on this platform."""
    if configured := os.environ.get("KEEPALIVE_GUARD_CACHE_DIR"):
        return Path(configured)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "keepalive-guard"
    if sys.platform == "win32" and (local := os.environ.get("LOCALAPPDATA")):
        return Path(local) / "keepalive-guard" / "Cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "keepalive-guard"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@cache
def code_stamp(package: Path = Path(__file__).parent) -> str:
    """The version of keepalive-guard's code that computes a result: its modules' names, sizes and
    modification times, so that a changed installation (or an edited checkout) never reads a result
    an older one computed."""
    stamps = []
    for path in package.rglob("*.py"):
        status = path.stat()
        stamps.append((str(path.relative_to(package)), status.st_size, status.st_mtime_ns))
    return digest(repr(sorted(stamps)))


def _parser_stamp() -> str:
    """A stamp of python-hcl2's and Lark's installed code, found without importing them: a warm scan
    does not need them, and importing them takes longer than the rest of its start."""
    stamps = []
    for name in ("hcl2", "lark"):
        spec = importlib.util.find_spec(name)
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        stamps.append(code_stamp(Path(locations[0])) if locations else name)
    return digest(repr(stamps))[:16]


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        found = super().find_class(module, name) if module.startswith("policies.") else None
        if not isinstance(found, type):
            raise pickle.UnpicklingError(f"{module}.{name} is not a keepalive-guard class")
        return found


def restricted_loads(data: bytes) -> Any:
    """A pickle of keepalive-guard's model: it may create only the classes of the `policies` package
    (and builtin values), never call anything else. The collector is paused meanwhile: unpickling
    creates many objects and no garbage, and collections would take most of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _Unpickler(io.BytesIO(data)).load()
    finally:
        if enabled:
            gc.enable()


class Cache:
    """Entries (bytes) by key in each of `_TABLES`, in `directory`/parse-<versions>.sqlite."""

    def __init__(self, directory: Path) -> None:
        from policies import __version__

        self.directory = directory
        self.path = directory / f"{_PREFIX}{__version__}-{_parser_stamp()}-{FORMAT}.sqlite"
        self._connection: sqlite3.Connection | None = None
        self._usable = True

    def get(self, key: str, table: str = "entries") -> bytes | None:
        assert table in _TABLES
        connection = self._connect(create=False)
        if connection is None:
            return None
        try:
            row = connection.execute(f"SELECT data FROM {table} WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            self._usable = False
            return None
        return bytes(row[0]) if row is not None else None

    def put(self, entries: dict[str, bytes], table: str = "entries") -> None:
        """Store `entries` in one transaction."""
        assert table in _TABLES
        if not entries:
            return
        connection = self._connect(create=True)
        if connection is None:
            return
        try:
            with connection:
                connection.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", entries.items())
                if table == "results":  # the most recently written are the last rows
                    connection.execute(
                        "DELETE FROM results WHERE rowid NOT IN "
                        "(SELECT rowid FROM results ORDER BY rowid DESC LIMIT ?)",
                        (_RESULTS,),
                    )
        except sqlite3.Error:
            self._usable = False

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._connection is not None or not self._usable:
            return self._connection
        if not create and not self.path.is_file():
            return None
        try:
            if not self.path.is_file():
                self.directory.mkdir(parents=True, exist_ok=True)
                for other in self.directory.glob(f"{_PREFIX}*.sqlite*"):
                    if not other.name.startswith(self.path.name):
                        other.unlink(missing_ok=True)
            connection = sqlite3.connect(self.path, timeout=_WAIT_SECONDS)
            connection.execute("PRAGMA journal_mode = WAL")
            for table in _TABLES:
                connection.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, data BLOB NOT NULL)"
                )
        except (OSError, sqlite3.Error):
            self._usable = False
            return None
        self._connection = connection
        return connection
