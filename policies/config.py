"""Project configuration: `.keepalive-guard.toml`, or `[tool.keepalive-guard]` in `pyproject.toml`,
found by walking up from the first scanned path, else from the working directory (a plan written
outside the repository; `--config FILE` names one). Command-line options win
over it.

```toml
[tool.keepalive-guard]
min_margin = 5                       # seconds; KA001 wants keep-alive > idle timeout + 5
strict = true                        # KA002 (keep-alive unknown) is an error
fail_on = "warning"                  # error (default), warning or never
select = ["KA001", "DR001"]          # only these rules (default: all)
ignore = ["KA002"]                   # not these rules
var_files = ["envs/prod.tfvars"]     # Terraform variables for the root modules, before --var-file
excludes = ["legacy", "sandbox/*"]   # not discovered when a directory is scanned
baseline = ".keepalive-guard-baseline.json"
max_file_size = 100                  # MB; larger input files are not read (an input error)

[tool.keepalive-guard.dockerfiles]
"123456789012.dkr.ecr.eu-west-1.amazonaws.com/web" = "services/web/Dockerfile"
```
Paths and patterns are relative to the configuration file's directory. A key or value that is not
understood is an error that names it and the file, never silently ignored.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies import FAIL_ON
from policies.model import RULE_IDS, shown_path

FILES = (".keepalive-guard.toml", "pyproject.toml")


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Exclude:
    """A path pattern and the directory it is relative to: a pattern without `/` matches the name of any
    file or directory below it (`legacy`, `*.generated.tf`), one with `/` the path from there
    (`envs/*/old`); `*` matches across `/`. An excluded directory is not searched."""

    base: Path
    pattern: str


@dataclass(frozen=True)
class Config:
    """What a configuration file sets; None and () where it sets nothing."""

    path: Path | None = None
    min_margin: float | None = None
    strict: bool | None = None
    fail_on: str | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    dockerfiles: tuple[tuple[str, Path], ...] = ()
    var_files: tuple[Path, ...] = ()
    excludes: tuple[Exclude, ...] = ()
    baseline: Path | None = None
    max_file_bytes: int | None = None


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
    except FileNotFoundError:
        raise ConfigError(f"{shown_path(path)}: no such configuration file") from None
    except OSError as error:
        raise ConfigError(f"{shown_path(path)}: cannot read it ({error.strerror or error})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{shown_path(path)}: not valid TOML ({error})") from None
    if path.name == "pyproject.toml":
        tool = document.get("tool")
        section = tool.get("keepalive-guard") if isinstance(tool, dict) else None
        return section if isinstance(section, dict) else None
    return document


def _strings(section: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ConfigError(f"{where}: {key} must be a list of strings, not {value!r}")
    return tuple(item.strip() for item in value)


def _rules(section: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    rules = tuple(rule.upper() for rule in _strings(section, key, where))
    unknown = [rule for rule in rules if rule not in RULE_IDS]
    if unknown:
        raise ConfigError(f"{where}: {key}: unknown rule {unknown[0]!r} (known: {', '.join(RULE_IDS)})")
    return rules


def load(path: Path) -> Config:
    section = _section(path)
    if section is None:
        return Config(path)
    where = shown_path(path) + (" [tool.keepalive-guard]" if path.name == "pyproject.toml" else "")
    known = {
        "min_margin",
        "strict",
        "fail_on",
        "select",
        "ignore",
        "dockerfiles",
        "var_files",
        "excludes",
        "baseline",
        "max_file_size",
    }
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    here = path.parent
    margin = section.get("min_margin")
    if margin is not None and (isinstance(margin, bool) or not isinstance(margin, int | float) or margin < 0):
        raise ConfigError(f"{where}: min_margin must be a number of seconds, 0 or more, not {margin!r}")
    strict = section.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise ConfigError(f"{where}: strict must be true or false, not {strict!r}")
    fail_on = section.get("fail_on")
    if fail_on is not None and fail_on not in FAIL_ON:
        raise ConfigError(f"{where}: fail_on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    dockerfiles = section.get("dockerfiles", {})
    if not isinstance(dockerfiles, dict) or not all(
        isinstance(image, str) and isinstance(file, str) and image and file
        for image, file in dockerfiles.items()
    ):
        raise ConfigError(f"{where}: dockerfiles must be a table of IMAGE = PATH strings")
    baseline = section.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or not baseline.strip()):
        raise ConfigError(f"{where}: baseline must be a file name, not {baseline!r}")
    size = section.get("max_file_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int | float) or size <= 0):
        raise ConfigError(f"{where}: max_file_size must be a size in MB, more than 0, not {size!r}")
    return Config(
        path,
        min_margin=float(margin) if margin is not None else None,
        strict=strict,
        fail_on=fail_on,
        select=_rules(section, "select", where) if "select" in section else None,
        ignore=_rules(section, "ignore", where),
        dockerfiles=tuple((image, here / file) for image, file in dockerfiles.items()),
        var_files=tuple(here / file for file in _strings(section, "var_files", where)),
        excludes=tuple(Exclude(here, pattern) for pattern in _strings(section, "excludes", where)),
        baseline=here / baseline if baseline is not None else None,
        max_file_bytes=int(size * (1 << 20)) if size is not None else None,
    )
