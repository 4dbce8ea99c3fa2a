"""GitHub Actions: one workflow command per finding, which GitHub shows as an annotation on the line
(https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions) at its path from
the repository's root (`repository_root`), and a Markdown job
summary (`job_summary`, appended to $GITHUB_STEP_SUMMARY by the command line).

    ::error file=main.tf,line=16,title=KA001 keepalive-not-longer-than-idle-timeout::gunicorn … Fix: …

Findings that fail the check (`--fail-on`) are `::error`, the others `::warning`; inputs that could not
be analysed are `::error` too. Acknowledged and baselined findings are in the summary only.
"""

from __future__ import annotations

from pathlib import Path

from policies.model import InputError, show
from policies.reporters.base import Report, from_root, repository_root
from policies.reporters.text import summary
from policies.rules import Finding
from policies.scan import Result


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    given = ",".join(
        f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None
    )
    return f"::{name}{' ' + given if given else ''}::{escape_data(message)}"


def _file(path: str, root: Path) -> str:
    """A path as GitHub places annotations: from the repository's root."""
    return from_root(path, root) or path


def _annotation(finding: Finding, failing: bool, root: Path) -> str:
    where = finding.location
    return command(
        "error" if failing else "warning",
        f"{show(finding.message)}\n\nFix: {show(finding.fix)}",
        file=_file(where.path, root) if where else None,
        line=where.line if where else None,
        title=f"{finding.rule} {finding.name}",
    )


def _input_error(error: InputError, root: Path) -> str:
    where = _file(error.path, root)
    return command("error", error.message, file=where, line=error.line, title="keepalive-guard input error")


def render(result: Result, context: Report) -> str:
    root = repository_root()
    failing = set(map(id, result.failing(context.fail_on)))
    lines = [_annotation(finding, id(finding) in failing, root) for finding in result.findings]
    lines += [_input_error(error, root) for error in result.errors]
    lines.append(summary(result, context))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    escaped = show(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("|", "\\|").replace("\n", "<br>")


def job_summary(result: Result, context: Report) -> str:
    """The Markdown for $GITHUB_STEP_SUMMARY."""
    failing = set(map(id, result.failing(context.fail_on)))
    verdict = "fails" if failing else "passes"
    out = [f"## keepalive-guard {verdict}", "", summary(result, context), ""]
    if result.findings:
        out += ["| | rule | where | load balancer → target | finding | fix |", "|---|---|---|---|---|---|"]
        for finding in result.findings:
            mark = "❌" if id(finding) in failing else "⚠️"
            where = f"`{finding.location}`" if finding.location else ""
            out.append(
                f"| {mark} | {finding.rule} | {where} | {_cell(finding.chain.path())} | "
                f"{_cell(finding.message)} | {_cell(finding.fix)} |"
            )
        out.append("")
    if result.errors:
        out += ["### Inputs that could not be analysed", ""]
        out += [
            f"- `{error.path}{f':{error.line}' if error.line else ''}`: {_cell(error.message)}"
            for error in result.errors
        ]
        out.append("")
    if result.suppressed:
        out += ["<details><summary>Acknowledged findings</summary>", ""]
        out += [
            f"- {finding.rule} on `{why.resource}` (`{why.location}`): {_cell(why.reason)}"
            for finding, why in result.suppressed
        ]
        out += ["", "</details>", ""]
    if result.baselined:
        out += [f"<details><summary>Findings in the baseline {context.baseline}</summary>", ""]
        out += [
            f"- {finding.rule} at `{finding.location}`: {_cell(finding.chain.path())}"
            for finding in result.baselined
        ]
        out += ["", "</details>", ""]
    return "\n".join(out) + "\n"
