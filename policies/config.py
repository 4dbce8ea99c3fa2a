"""Project configuration: `.keepalive-guard.toml`, or `[tool.keepalive-guard]` in `pyproject.toml`,
found by walking up from the first scanned path. Command-line options add to it and win over it.

```toml
[tool.keepalive-guard.dockerfiles]
"123456789012.dkr.ecr.eu-west-1.amazonaws.com/web" = "services/web/Dockerfile"
```
Paths are relative to the configuration file. A key or value that is not understood is an error that
names it and the file, never silently ignored.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.model import shown_path

FILES = (".keepalive-guard.toml", "pyproject.toml")


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    dockerfiles: tuple[tuple[str, Path], ...] = ()


def find(start: Path) -> Path | None:
    """The configuration file that applies to `start`: the nearest one in it or a directory above."""
    directory = start.resolve()
    if not directory.is_dir():
        directory = directory.parent
    for candidate in (directory, *directory.parents):
        for name in FILES:
            path = candidate / name
            if path.is_file() and (name != "pyproject.toml" or _section(path) is not None):
                return path
    return None


def _section(path: Path) -> dict[str, Any] | None:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{shown_path(path)}: not valid TOML ({error})") from None
    if path.name == "pyproject.toml":
        section = document.get("tool", {}).get("keepalive-guard")
        return section if isinstance(section, dict) else None
    return document


def load(path: Path) -> Config:
    section = _section(path)
    if section is None:
        return Config(path)
    where = shown_path(path) + (" [tool.keepalive-guard]" if path.name == "pyproject.toml" else "")
    unknown = sorted(set(section) - {"dockerfiles"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: dockerfiles)")
    dockerfiles = section.get("dockerfiles", {})
    if not isinstance(dockerfiles, dict) or not all(
        isinstance(image, str) and isinstance(file, str) and image and file
        for image, file in dockerfiles.items()
    ):
        raise ConfigError(f"{where}: dockerfiles must be a table of IMAGE = PATH strings")
    return Config(path, tuple((image, path.parent / file) for image, file in dockerfiles.items()))
