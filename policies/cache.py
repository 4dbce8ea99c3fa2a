"""The parse cache: parsed Terraform files on disk, keyed by the hash of their content.

A re-run reads the parse of every unchanged file from here, so after a one-file change only that file
is parsed again. Where it lives: `$KEEPALIVE_GUARD_CACHE_DIR`, else the platform's user cache directory
(`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows)
under `keepalive-guard`. `--no-cache` turns it off.

The entries are in one SQLite database named for the versions of keepalive-guard, python-hcl2 and lark
and the entry format, so an upgrade never reads what another version wrote; the first run of a new
version removes the other versions' databases. SQLite makes concurrent scans safe, and writes go in one
transaction at the end of a scan. A cache that cannot be read or written (a read-only home, a locked or
damaged database) is not used, and the scan does not fail: it parses. An entry holds only strings,
numbers and tuples (`marshal`), never objects or code; one that does not decode is parsed again. The
cache is a user's own: like any cache, do not restore it from an untrusted source (a CI cache written
by pull requests from forks).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
from pathlib import Path

FORMAT = 1  # the entry format (policies.loaders.terraform.config.entry); bump when it changes
_PREFIX = "parse-"  # only files named so are ever removed: the cache directory may be shared
_WAIT_SECONDS = 5  # for another scan's write to finish


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


class Cache:
    """Entries (bytes) by key, in `directory`/parse-<versions>.sqlite."""

    def __init__(self, directory: Path) -> None:
        import lark
        from hcl2.version import version as hcl2_version

        from policies import __version__

        self.directory = directory
        versions = f"{__version__}-hcl2-{hcl2_version}-lark-{lark.__version__}-{FORMAT}"
        self.path = directory / f"{_PREFIX}{versions}.sqlite"
        self._connection: sqlite3.Connection | None = None
        self._usable = True

    def get(self, key: str) -> bytes | None:
        connection = self._connect(create=False)
        if connection is None:
            return None
        try:
            row = connection.execute("SELECT data FROM entries WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            self._usable = False
            return None
        return bytes(row[0]) if row is not None else None

    def put(self, entries: dict[str, bytes]) -> None:
        """Store `entries` in one transaction."""
        if not entries:
            return
        connection = self._connect(create=True)
        if connection is None:
            return
        try:
            with connection:
                connection.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?)", entries.items())
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
            connection.execute(
                "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, data BLOB NOT NULL)"
            )
        except (OSError, sqlite3.Error):
            self._usable = False
            return None
        self._connection = connection
        return connection
