"""JUnit XML: one test case per load balancer → target pair, parsed back with the standard library."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from policies.reporters.junit import _xml
from tests.reporters import mixed, run


def junit(root: Path, *args: str) -> tuple[ET.Element, int]:
    result = run("scan", ".", "--format", "junit", *args, cwd=root)
    assert "Traceback" not in result.stderr, result.stderr
    return ET.fromstring(result.stdout), result.returncode


def cases(root: ET.Element) -> dict[str, ET.Element]:
    return {suite.get("name", ""): suite.find("testcase") for suite in root.iter("testsuite")}  # type: ignore[misc]


def test_one_case_per_pair_failures_for_errors(tmp_path: Path) -> None:
    report, code = junit(mixed(tmp_path))
    assert code == 1
    assert report.tag == "testsuites"
    assert {key: report.get(key) for key in ("tests", "failures", "errors")} == {
        "tests": "5",
        "failures": "1",
        "errors": "1",
    }
    by_unit = cases(report)
    assert sorted(by_unit) == ["acknowledged", "broken", "fixed", "input errors", "unknown"]
    broken = by_unit["broken"]
    assert (
        broken.get("name") == 'aws_lb.web → aws_lb_target_group.app → aws_ecs_service.app → container "app"'
    )
    assert broken.get("classname") == "broken"
    assert (broken.get("file"), broken.get("line")) == ("broken/main.tf", "36")
    failure = broken.find("failure")
    assert failure is not None and failure.get("type") == "KA001"
    assert failure.get("message", "").startswith('KA001: uvicorn in container "app"')
    assert "fix: Add `--timeout-keep-alive 65`" in (failure.text or "")
    # a warning does not fail the pair, but is shown
    unknown = by_unit["unknown"]
    assert unknown.find("failure") is None
    assert "warning KA002 keepalive-unknown" in (unknown.findtext("system-out") or "")
    # an acknowledged finding does not fail it either, and says why
    acknowledged = by_unit["acknowledged"]
    assert acknowledged.find("failure") is None
    assert (acknowledged.findtext("system-out") or "").startswith(
        "acknowledged (acknowledged/main.tf:1): an nginx sidecar terminates the ALB connections: "
    )
    fixed = by_unit["fixed"]
    assert list(fixed) == []  # passed
    error = by_unit["input errors"].find("error")
    assert error is not None and error.get("message", "").startswith("HCL syntax error")
    for suite in report.iter("testsuite"):
        assert suite.get("tests") == str(len(suite.findall("testcase")))
        assert suite.get("failures") == str(len(suite.findall("testcase/failure")))


def test_fail_on_decides_what_fails(tmp_path: Path) -> None:
    root = mixed(tmp_path)
    report, code = junit(root, "--fail-on", "warning")
    assert code == 1 and cases(report)["unknown"].find("failure") is not None
    report, code = junit(root, "--fail-on", "never")
    assert code == 2  # no finding fails; bad/ still could not be analysed
    assert report.get("failures") == "0" and report.get("errors") == "1"
    assert "error KA001" in (cases(report)["broken"].findtext("system-out") or "")


def test_nothing_to_check_is_an_empty_report(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "b" {}\n', encoding="utf-8")
    report, code = junit(tmp_path)
    assert code == 0 and report.get("tests") == "0" and list(report) == []


def test_characters_xml_cannot_hold_are_replaced() -> None:
    assert _xml("web\x01\x1f ok\ttab\nline") == "web\ufffd\ufffd ok\ttab\nline"
    ET.fromstring(f"<a b='{_xml(chr(8))}'>{_xml(chr(0))}</a>")  # parses
