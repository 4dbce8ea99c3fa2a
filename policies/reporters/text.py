"""The console report: what a person reads to act without opening the docs."""

from __future__ import annotations

import os
import re
import textwrap
from typing import TextIO

from policies.model import show
from policies.reporters.base import Report
from policies.rules import Finding, Severity, Target
from policies.scan import Result
from policies.servers.base import Mode

_WIDTH = 100
_COLOURS = {
    "error": "\033[31m",
    "warning": "\033[33m",
    "bold": "\033[1m",
    "dim": "\033[2m",
    "reset": "\033[0m",
}


def colour_for(stream: TextIO) -> bool:
    """Colour on a terminal, unless NO_COLOR is set to anything (https://no-color.org) or TERM=dumb."""
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _paint(text: str, colour: str, enabled: bool) -> str:
    return f"{_COLOURS[colour]}{text}{_COLOURS['reset']}" if enabled else text


_UNIT = re.compile(r"(\d) (s|ms)\b")


def _wrap(text: str, prefix: str = "  ") -> str:
    """Wrap for a terminal, never between a number and its unit."""
    glued = _UNIT.sub("\\1\u00a0\\2", show(text))
    wrapped = textwrap.fill(
        glued,
        _WIDTH,
        initial_indent=prefix,
        subsequent_indent=prefix,
        break_on_hyphens=False,
        break_long_words=False,
    )
    return wrapped.replace("\u00a0", " ")


def _finding(finding: Finding, colour: bool, name_units: bool = False) -> str:
    where = f"{finding.location}: " if finding.location else ""
    severity = _paint(finding.severity.value, finding.severity.value, colour)
    head = f"{where}{severity} {_paint(finding.rule, 'bold', colour)} {finding.name}"
    lines = [head]
    path = finding.chain.path()
    if path and name_units:  # several root modules may each have a module.app.aws_lb.this
        path = f"[{finding.chain.unit}] {path}"
    if path:
        lines.append(_paint(f"  {path}", "dim", colour))
    lines.append(_wrap(finding.message))
    lines.append(_wrap("fix: " + finding.fix, "  "))
    return "\n".join(lines)


def _state(target: Target) -> str:
    """What was concluded about one checked target, for --verbose."""
    server = target.server
    if target.chain.gap is not None:
        return f"not followed: {target.chain.gap.text}"
    if server is None:
        return "no container"
    keep_alive = server.keep_alive
    if keep_alive.mode is Mode.UNKNOWN:
        return f"{'server' if server.name == 'unknown' else server.title}: keep-alive unknown ({keep_alive.evidence.says})"
    return f"{server.title}: {keep_alive.describe()}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(result: Result, context: Report) -> str:
    """One line: what failed and what was checked."""
    errors, warnings = result.count(Severity.ERROR), result.count(Severity.WARNING)
    line = (
        f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in "
        f"{_plural(len(result.targets), 'load balancer target')} ({_plural(len(result.inputs), 'file')} read)"
    )
    if result.suppressed:
        line += f"; {len(result.suppressed)} acknowledged"
    if context.baseline is not None:
        line += f"; {len(result.baselined)} in the baseline {context.baseline}"
        if context.gone:
            line += (
                f" ({_plural(context.gone, 'baseline finding')} no longer found: create the baseline again "
                "to drop them)"
            )
    if result.errors:
        line += f"; {_plural(len(result.errors), 'input')} could not be analysed"
    return line


def render(result: Result, context: Report) -> str:
    colour = context.colour
    name_units = len({target.chain.unit for target in result.targets}) > 1
    blocks = [_finding(finding, colour, name_units) for finding in result.findings]
    for error in result.errors:
        blocks.append(f"{_paint('input error', 'error', colour)}: {error}")
    if context.verbose:
        lines = ["checked:"]
        for target in result.targets:
            lines.append(_wrap(f"{target.chain.path() or target.chain.unit}: {_state(target)}", "  "))
        for skipped in result.skipped:
            lines.append(_wrap(f"skipped {skipped.id} ({skipped.id.location}): {skipped.reason}", "  "))
        for finding, why in result.suppressed:
            text = f"acknowledged {finding.rule} on {why.resource} ({why.location}): {why.reason}"
            lines.append(_wrap(text, "  "))
        for finding in result.baselined:
            text = f"in the baseline: {finding.rule} at {finding.location}: {finding.chain.path()}"
            lines.append(_wrap(text, "  "))
        blocks.append("\n".join(lines))
    blocks.append(_paint(summary(result, context), "bold", colour))
    return "\n\n".join(blocks) + "\n"
