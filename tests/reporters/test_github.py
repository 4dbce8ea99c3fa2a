"""GitHub Actions workflow commands (annotations) and the job summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policies.reporters.github import _cell, command, escape_data, escape_property
from tests.reporters import mixed, run

# https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions: `::name
# key=value,key=value::message`, values with % \r \n : , escaped, the message with % \r \n escaped.
PROPERTY = r"(?:file|line|endLine|col|endColumn|title)=[^,:\r\n]*"
COMMAND = re.compile(rf"^::(error|warning|notice)(?: {PROPERTY}(?:,{PROPERTY})*)?::[^\r\n]*$")


def unescape(text: str) -> str:
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


@pytest.mark.parametrize("text", ["a:b,c", "50% of\nrequests\r", "%0A literal", ""])
def test_escaping_round_trips(text: str) -> None:
    assert unescape(escape_property(text)) == text
    assert unescape(escape_data(text)) == text
    assert "\n" not in escape_data(text) and "," not in escape_property(text)


def test_command_grammar() -> None:
    line = command("error", "two\nlines, 100%", file="a,b.tf", line=3, title="KA001: x", col=None)
    assert COMMAND.match(line), line
    assert line == "::error file=a%2Cb.tf,line=3,title=KA001%3A x::two%0Alines, 100%25"


def test_one_annotation_per_finding_and_input_error(tmp_path: Path) -> None:
    result = run("scan", ".", "--format", "github", cwd=mixed(tmp_path))
    assert result.returncode == 1
    *commands, summary = result.stdout.splitlines()
    assert all(COMMAND.match(line) for line in commands), commands
    assert [line.split(" ", 1)[0] for line in commands] == [
        "::error",
        "::warning",
        "::error",
    ]  # input errors last
    ka001 = next(line for line in commands if "KA001" in line)
    assert ka001.startswith(
        "::error file=broken/main.tf,line=36,title=KA001 keepalive-not-longer-than-idle-timeout::"
    )
    assert unescape(ka001).endswith(
        "\n\nFix: Add `--timeout-keep-alive 65` to the uvicorn command at broken/main.tf:36"
    )
    assert any(
        line.startswith("::error file=bad/main.tf,line=2,title=keepalive-guard input error::")
        for line in commands
    )
    assert summary.startswith("1 error, 1 warning in 4 load balancer targets")
    # with --fail-on warning, the warning is an error annotation too
    strict = run("scan", ".", "--format", "github", "--fail-on", "warning", cwd=tmp_path)
    assert [line.split(" ", 1)[0] for line in strict.stdout.splitlines()[:-1]] == ["::error"] * 3


def test_job_summary_is_appended_when_github_says_where(tmp_path: Path) -> None:
    root = mixed(tmp_path / "repo")
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    result = run("scan", ".", "--format", "github", cwd=root, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 1
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## keepalive-guard fails\n")
    rows = [line for line in text.splitlines() if line.startswith("| ❌") or line.startswith("| ⚠️")]
    assert len(rows) == 2 and rows[0].startswith("| ❌ | KA001 | `broken/main.tf:36` | aws_lb.web → ")
    assert "- `bad/main.tf:2`: HCL syntax error" in text
    assert "- KA001 on `aws_lb.web` (`acknowledged/main.tf:1`): an nginx sidecar terminates" in text
    # other formats do not write it
    summary.unlink()
    run("scan", ".", "--format", "json", cwd=root, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert not summary.exists()


def test_job_summary_cells_are_text_not_markup() -> None:
    assert _cell("a | b <?> c\nd & e") == "a \\| b &lt;?&gt; c<br>d &amp; e"
