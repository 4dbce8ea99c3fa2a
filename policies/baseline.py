"""Baselines: accept the findings a repository has today, fail only on new ones.

`keepalive-guard baseline create PATH... -o .keepalive-guard-baseline.json` records each finding's
fingerprint; `scan --baseline FILE` then reports findings whose fingerprint is recorded as baselined,
not as findings. A fingerprint is the rule and the resources the finding concerns (the unit, load
balancer, target group, service, task definition and container, by address or logical id), never a
line number or a value: moving code or changing a value that is still wrong keeps the fingerprint, and
fixing or renaming a resource retires it. Units (root modules, plans, templates) are taken relative to
the baseline file's directory, so the scan may run from anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from policies import __version__
from policies.model import shown_path
from policies.rules import Finding
from policies.scan import Result

SCHEMA_VERSION = 1
DEFAULT = Path(".keepalive-guard-baseline.json")


class BaselineError(Exception):
    """A baseline file that cannot be used; the message names the file."""


def _unit(unit: str, root: Path | None) -> str:
    """The unit as a path from `root` when it is a path (a root module, a plan, a template)."""
    if root is None or not Path(unit).exists():
        return unit
    try:
        return Path(os.path.relpath(Path(unit).resolve(), root.resolve())).as_posix()
    except ValueError:  # another drive
        return unit


def fingerprint(finding: Finding, root: Path | None = None) -> str:
    """What identifies the finding across scans: its rule and the resources it concerns."""
    parts = (finding.rule, _unit(finding.chain.unit, root), *finding.chain.resources())
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Baseline:
    path: Path
    fingerprints: Counter[str]


def create(result: Result, path: Path) -> str:
    """The baseline document of a scan's findings, to be written to `path`."""
    root = path.parent
    entries = []
    for finding in result.findings:
        chain = finding.chain
        entries.append(
            {
                "fingerprint": fingerprint(finding, root),
                "rule": finding.rule,
                "unit": _unit(chain.unit, root),
                "load_balancer": chain.load_balancer.id.address if chain.load_balancer else None,
                "target_group": chain.target_group.id.address if chain.target_group else None,
                "service": chain.service.id.address if chain.service else None,
                "container": chain.container.name if chain.container else None,
                "message": finding.message,
            }
        )
    document = {"schema_version": SCHEMA_VERSION, "version": __version__, "findings": entries}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def read(path: Path) -> Baseline:
    shown = shown_path(path)
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(
            f"{shown}: no such baseline; create it with `keepalive-guard baseline create PATH... -o {shown}`"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"{shown}: cannot read the baseline ({error})") from None
    except json.JSONDecodeError as error:
        raise BaselineError(f"{shown}:{error.lineno}: not a baseline, not valid JSON ({error.msg})") from None
    entries = document.get("findings") if isinstance(document, dict) else None
    if (
        not isinstance(entries, list)
        or type(document.get("schema_version")) is not int
        or document["schema_version"] != SCHEMA_VERSION
        or not all(isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str) for entry in entries)
    ):
        raise BaselineError(
            f"{shown}: not a keepalive-guard baseline (schema_version {SCHEMA_VERSION} with findings, each "
            "with a fingerprint)"
        )
    return Baseline(path, Counter(entry["fingerprint"] for entry in entries))


def apply(result: Result, baseline: Baseline) -> tuple[Result, int]:
    """The result with the findings the baseline records moved to `baselined`, and how many of the
    baseline's findings no longer occur."""
    left = baseline.fingerprints.copy()
    new, known = [], []
    for finding in result.findings:
        key = fingerprint(finding, baseline.path.parent)
        if left[key] > 0:
            left[key] -= 1
            known.append(finding)
        else:
            new.append(finding)
    return replace(result, findings=tuple(new), baselined=tuple(known)), sum(left.values())
