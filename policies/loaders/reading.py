"""How every loader reads an input file: within a size limit, only inside the scanned trees, as UTF-8
text, with a one-line error naming the file (and the line, when known) when it cannot.

The trees are what the scan was asked to read: each directory or file given, widened to the repository
it is in (the nearest directory above holding `.git`), else to the working directory when it holds the
path; and the files given by option (`--var-file`, `--dockerfile`, `--repo-root`). A `file()`, a module
source, a symbolic link or a manifest entry that leads elsewhere (`/etc/passwd`, `~/.aws/credentials`,
`/proc/self/environ`) is not read: scanning a pull request must not copy a CI machine's files into a
report.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from policies.model import InputError

DEFAULT_MAX_MB = 100  # a 52 MB plan of 1,400 services is read in 2.3 s; hand-written files are far smaller
# Deeper `[`/`{` nesting than any configuration has. Decoders recurse per level: PyYAML's C composer,
# which cfn-lint uses, overflows the C stack (a crash, not an exception) at about 25,000 levels.
MAX_NESTING = 1000
_BRACKETS = re.compile(r"[\[\]{}]")


@dataclass(frozen=True)
class Reader:
    max_bytes: int = DEFAULT_MAX_MB << 20
    roots: tuple[str, ...] = ()  # resolved paths files may be read below; () allows any

    @classmethod
    def around(cls, paths: Iterable[Path], given: Iterable[Path] = (), max_bytes: int = 0) -> Reader:
        """The reader for a scan of `paths` (widened to their repository) and the files `given` by
        option."""
        roots = {tree(path) for path in paths} | {str(path.resolve()) for path in given}
        return cls(max_bytes or DEFAULT_MAX_MB << 20, tuple(sorted(roots)))

    def outside(self, path: Path) -> str | None:
        """Why `path` is not read (it leads outside the scanned trees), or None."""
        if not self.roots:
            return None
        resolved = os.path.realpath(path)
        if any(resolved == root or resolved.startswith(root.rstrip("/") + "/") for root in self.roots):
            return None
        where = f", it is {resolved}" if resolved != os.path.abspath(path) else ""
        return f"outside the directories scanned (run from, or scan, a directory holding it{where}): not read"

    def read(self, path: Path, shown: str) -> tuple[str | None, InputError | None]:
        """The text of an input file, or a one-line error saying why it cannot be read."""
        if (why := self.outside(path)) is not None:
            return None, InputError(shown, why)
        try:
            status = path.stat()
            if stat.S_ISDIR(status.st_mode):
                return None, InputError(shown, "is a directory, not a file")
            if status.st_size > self.max_bytes:
                size, limit = _megabytes(status.st_size), _megabytes(self.max_bytes)
                return None, InputError(shown, f"file is {size}, over the {limit} limit (--max-file-size)")
            data = path.read_bytes()
        except OSError as error:
            return None, InputError(shown, f"cannot read: {error.strerror or error}")
        return decode(data, shown)


ANYWHERE = Reader()  # any file, up to the default size: for callers that read what they were given


def decode(data: bytes, shown: str) -> tuple[str | None, InputError | None]:
    """UTF-8 text (a byte order mark allowed), or why `data` is not."""
    if b"\0" in data:
        return None, InputError(shown, "binary file, not text")
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return body.decode("utf-8"), None
    except UnicodeDecodeError as error:
        line = body[: error.start].count(b"\n") + 1
        return None, InputError(shown, f"not UTF-8 text (byte 0x{body[error.start]:02x})", line)


def too_deep(text: str) -> int | None:
    """The line where `[` and `{` nest deeper than `MAX_NESTING`, counting brackets in strings too (a
    real document never has hundreds unbalanced in them); None when they do not."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return None
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > MAX_NESTING:
            return text.count("\n", 0, match.start()) + 1
    return None


def tree(path: Path) -> str:
    """The directory a scan of `path` may read below: its repository (the nearest directory holding
    `.git`), else the working directory when it holds `path`, else `path` (a file's directory)."""
    resolved = Path(os.path.realpath(path))
    start = resolved if resolved.is_dir() else resolved.parent
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return str(directory)
    cwd = Path(os.path.realpath(Path.cwd()))
    return str(cwd) if start.is_relative_to(cwd) else str(start)


def _megabytes(size: int) -> str:
    if size < 1 << 20:
        return f"{size / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{size / (1 << 20):.1f} MB".replace(".0 MB", " MB")
