"""What the Terraform loader reads from the file system, recorded so that a cached result can be checked
without loading again (`policies.loaders.terraform.load_terraform`; the cache's "results" table).

Every read and probe of the loader goes through `Files`, which notes what it found: a file's content
(its SHA-256, with its size, modification time and inode so that an unchanged file need not be read
again), a directory listing (with the directory's own: adding, removing or renaming an entry changes
its modification time), whether a path is a file or a directory. `unchanged(probes)` is true when every
probe finds the same again; loading again would then read exactly the same inputs, so it would give the
same result. A file or directory modified within `_RACY_NS` of being read is always read again when
checked, as git does for its index: its modification time may not change on a second write within the
clock's granularity.
"""

from __future__ import annotations

import fnmatch
import os
import time
from pathlib import Path
from typing import Any

from policies.cache import digest
from policies.loaders.reading import Reader
from policies.model import InputError

_RACY_NS = 2_000_000_000  # coarser than any file system's modification time granularity (FAT: 2 s)

Probe = tuple[str, str]  # (operation, path or path/pattern)
_CHECKS = {"is_file": os.path.isfile, "exists": os.path.exists}


def _stamp(path: str) -> tuple[int, int, int] | None:
    """(size, modification time, inode) of a file or directory, None when it cannot be trusted to show a
    change."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    if time.time_ns() - status.st_mtime_ns < _RACY_NS:
        return None
    return status.st_size, status.st_mtime_ns, status.st_ino


def _content(text: str | None, error: InputError | None) -> str:
    return digest(text) if text is not None else f"error: {error.message if error else ''}"


def _listing(name: str) -> tuple[list[str], list[str]]:
    """The names that match the pattern `name` ends with in its directory, sorted, and those of them
    that are not directories: what `Path.glob` and `Path.is_dir` give, from one directory read."""
    directory, pattern = os.path.split(name)
    try:
        entries = {entry.name: entry for entry in os.scandir(directory)}
    except OSError:
        return [], []
    names = sorted(fnmatch.filter(entries, pattern))
    return names, [name for name in names if not entries[name].is_dir()]


def _directory(name: str) -> str | None:
    resolved = os.path.realpath(name)
    return resolved if os.path.isdir(resolved) else None


class Files:
    """The file system as the loader sees it; `probes` is what it has seen."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.probes: dict[Probe, Any] = {}

    def read(self, path: Path, shown: str) -> tuple[str | None, InputError | None]:
        """`Reader.read`: the text of a file, or why it cannot be read."""
        stamp = _stamp(str(path))  # before reading: a change while reading then shows next time
        text, error = self.reader.read(path, shown)
        self.probes["read", str(path)] = (stamp, _content(text, error))
        return text, error

    def glob(self, directory: Path, pattern: str) -> list[Path]:
        """The entries of `directory` that match `pattern`, sorted."""
        return [directory / name for name in self._list("glob", directory, pattern)]

    def files(self, directory: Path, pattern: str) -> list[Path]:
        """The entries of `directory` that match `pattern` and are not directories, sorted."""
        return [directory / name for name in self._list("files", directory, pattern)]

    def _list(self, operation: str, directory: Path, pattern: str) -> list[str]:
        stamp = _stamp(str(directory))  # before listing: a change while listing then shows next time
        names = _listing(str(directory / pattern))[operation == "files"]
        self.probes[operation, str(directory / pattern)] = (stamp, names)
        return names

    def is_file(self, path: Path) -> bool:
        return self._check("is_file", path)

    def exists(self, path: Path) -> bool:
        return self._check("exists", path)

    def _check(self, operation: str, path: Path) -> bool:
        found = self.probes[operation, str(path)] = _CHECKS[operation](path)  # as `_finds` checks it again
        return bool(found)

    def directory(self, path: Path) -> Path | None:
        """`path` resolved (symbolic links, `..`) when it is a directory, else None."""
        found = self.probes["directory", str(path)] = _directory(str(path))
        return Path(found) if found is not None else None


def unchanged(probes: dict[Probe, Any], reader: Reader) -> bool:
    """Whether every probe finds on the file system what it found when it was recorded by `reader`."""
    return all(_finds(operation, name, found, reader) for (operation, name), found in probes.items())


def _finds(operation: str, name: str, found: Any, reader: Reader) -> bool:
    if operation == "read":
        stamp, content = found
        trusted = stamp is not None and _stamp(name) == stamp
        return trusted or bool(_content(*reader.read(Path(name), name)) == content)
    if operation in ("glob", "files"):
        stamp, names = found
        trusted = stamp is not None and _stamp(os.path.dirname(name)) == stamp
        return trusted or bool(_listing(name)[operation == "files"] == names)
    if operation == "directory":
        return bool(_directory(name) == found)
    return operation in _CHECKS and bool(_CHECKS[operation](name) == found)
