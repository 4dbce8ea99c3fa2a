"""What every reporter is given besides the scan's result, and what several of them share."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from policies.rules import Finding, Target
from policies.topology import Chain


@dataclass(frozen=True)
class Report:
    verbose: bool = False  # also what was checked, skipped and acknowledged (text)
    colour: bool = False  # ANSI colours (text): on a terminal, unless NO_COLOR is set
    fail_on: str = "error"  # which findings fail the check (`Result.failing`)
    baseline: str | None = None  # the baseline file given, as shown
    gone: int = 0  # findings of the baseline that no longer occur


def pair(chain: Chain) -> tuple[str, ...]:
    """The load balancer → target pair a chain stands for: its unit and its resources."""
    return (chain.unit, *chain.resources())


def target_of(finding: Finding, targets: tuple[Target, ...]) -> Target | None:
    """The checked target a finding is about."""
    key = pair(finding.chain)
    return next((target for target in targets if pair(target.chain) == key), None)


def repository_root() -> Path:
    """Where the paths of SARIF reports and GitHub annotations start: $GITHUB_WORKSPACE in GitHub
    Actions, else the git work tree holding the working directory, else the working directory. Code
    scanning and annotations place relative paths from the repository's root, wherever the scan ran."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        return Path(workspace).resolve()
    here = Path.cwd().resolve()
    return next((directory for directory in (here, *here.parents) if (directory / ".git").exists()), here)


def from_root(path: str, root: Path) -> str | None:
    """`path` (as reports show it, from the working directory) from `root`, in / form; None when it is
    not below `root`."""
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return None
