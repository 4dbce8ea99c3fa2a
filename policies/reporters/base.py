"""What every reporter is given besides the scan's result, and what several of them share."""

from __future__ import annotations

from dataclasses import dataclass

from policies.rules import Finding, Target


@dataclass(frozen=True)
class Report:
    verbose: bool = False  # also what was checked, skipped and acknowledged (text)
    colour: bool = False  # ANSI colours (text): on a terminal, unless NO_COLOR is set
    fail_on: str = "error"  # which findings fail the check (`Result.failing`)
    baseline: str | None = None  # the baseline file given, as shown
    gone: int = 0  # findings of the baseline that no longer occur


def target_of(finding: Finding, targets: tuple[Target, ...]) -> Target | None:
    """The checked target a finding is about."""
    key = (finding.chain.unit, finding.chain.resources())
    return next((target for target in targets if (target.chain.unit, target.chain.resources()) == key), None)
