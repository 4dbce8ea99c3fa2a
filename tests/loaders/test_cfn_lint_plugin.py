"""The cfn-lint plugin, run through the real cfn-lint command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import line_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cloudformation" / "web.yaml"


def rules_directory() -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "policies", "cfn-lint-rules"], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def cfn_lint(template: Path) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "cfn-lint"  # the console script installed with cfn-lint
    command = [str(executable), template.name, "--format", "parseable"]
    return subprocess.run(
        [*command, "--append-rules", rules_directory()],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=template.parent,
    )


def matches(completed: subprocess.CompletedProcess[str]) -> list[tuple[str, int, str]]:
    """(rule id, line, message) of each parseable line: file:line:col:endline:endcol:rule:message."""
    found = []
    for text in completed.stdout.splitlines():
        _file, line, _column, _end_line, _end_column, rule, message = text.split(":", 6)
        assert not rule.startswith("E0"), text  # the template could not be read at all
        if rule[1:].startswith("9"):  # keepalive-guard's, not cfn-lint's own rules
            found.append((rule, int(line), message))
    return found


def test_the_rules_directory_is_installed_with_the_package() -> None:
    directory = Path(rules_directory())
    assert (directory / "keepalive_guard.py").is_file()


def test_cfn_lint_reports_the_same_finding_at_the_same_line() -> None:
    completed = cfn_lint(EXAMPLE)
    assert completed.returncode == 2, completed.stderr  # cfn-lint: an error was found
    command = line_of(EXAMPLE.read_text(), "--keep-alive=5")
    ((rule, line, message),) = matches(completed)
    assert (rule, line) == ("E9001", command)
    assert message.startswith(
        'gunicorn (gthread worker) in container "web" of Service closes idle keep-alive'
    )
    assert message.endswith(
        f"Fix: Change `--keep-alive=5` to `--keep-alive 65` in the gunicorn command at web.yaml:{command}"
    )


def test_cfn_lint_ignore_checks_silence_a_rule(tmp_path: Path) -> None:
    marker = "    Type: AWS::ECS::TaskDefinition\n"
    ignored = "    Metadata:\n      cfn-lint:\n        config:\n          ignore_checks: [E9001]\n"
    path = tmp_path / "web.yaml"
    path.write_text(EXAMPLE.read_text().replace(marker, marker + ignored))
    assert matches(cfn_lint(path)) == []


def test_a_keepalive_guard_ignore_comment_silences_the_rule(tmp_path: Path) -> None:
    marker = "  TaskDefinition:\n"
    path = tmp_path / "web.yaml"
    comment = "  # keepalive-guard:ignore KA001 the image runs nginx in front of gunicorn\n"
    path.write_text(EXAMPLE.read_text().replace(marker, comment + marker))
    assert matches(cfn_lint(path)) == []
    path.write_text(EXAMPLE.read_text().replace(marker, comment.replace("KA001", "DR001") + marker))
    assert [rule for rule, _, _ in matches(cfn_lint(path))] == ["E9001"]  # another rule's comment


def test_an_unknown_server_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    text = EXAMPLE.read_text()
    start = text.index("          Command:")
    end = text.index("  Service:")
    path.write_text(text[:start] + "          Command: [./bin/start-server]\n" + text[end:])
    completed = cfn_lint(path)
    assert completed.returncode == 4, completed.stdout + completed.stderr  # cfn-lint: a warning was found
    assert [rule for rule, _, _ in matches(completed)] == ["W9001"]


def test_a_finding_inside_a_nested_stack_is_reported_at_the_stack(tmp_path: Path) -> None:
    nested = Path(__file__).parent.parent / "fixtures" / "cloudformation" / "nested"
    for name in ("parent.yaml", "groups.yaml", "service.yaml"):
        (tmp_path / name).write_text((nested / name).read_text())
    completed = cfn_lint(tmp_path / "parent.yaml")
    found = {(rule, line) for rule, line, _message in matches(completed)}
    parent = (tmp_path / "parent.yaml").read_text()
    # KA001 is at service.yaml's command: cfn-lint shows it at the stack resource nesting it
    assert found == {("E9001", line_of(parent, "  Api:")), ("W9001", line_of(parent, "  Workers:"))}
