"""JUnit XML, as the test reporters of GitLab, Jenkins, Azure DevOps and GitHub Actions read it.

One test suite per unit (a Terraform root module, a plan, a template), one test case per load balancer
→ target pair checked. A pair fails (`<failure>`) when a finding about it fails the check (`--fail-on`);
other findings, acknowledged and baselined ones are listed in its `<system-out>`. Inputs that could
not be analysed are test cases of their own suite, in `<error>`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from policies.model import Location, show
from policies.reporters.base import Report, pair
from policies.rules import Finding
from policies.scan import Result

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot hold


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _text(finding: Finding) -> str:
    where = f"{finding.location}: " if finding.location else ""
    head = f"{where}{finding.severity.value} {finding.rule} {finding.name}"
    return _xml(f"{head}\n{show(finding.message)}\nfix: {show(finding.fix)}")


def _case(suite: ET.Element, name: str, place: Location | None) -> ET.Element:
    case = ET.SubElement(suite, "testcase", classname=suite.get("name", ""), name=_xml(name), time="0")
    if place is not None:
        case.set("file", place.path)
        if place.line:
            case.set("line", str(place.line))
    return case


def _verdict(case: ET.Element, findings: list[tuple[Finding, str]], failing: set[int]) -> None:
    """A failure for the findings that fail the check, at the first one; the others in the output."""
    failures = [finding for finding, _ in findings if id(finding) in failing]
    if failures:
        first = failures[0]
        if first.location is not None:
            case.set("file", first.location.path)
            case.attrib.pop("line", None)
            if first.location.line:
                case.set("line", str(first.location.line))
        rules = ", ".join(dict.fromkeys(finding.rule for finding in failures))
        failure = ET.SubElement(case, "failure", message=_xml(f"{rules}: {show(first.message)}"), type=rules)
        failure.text = "\n\n".join(_text(finding) for finding in failures)
    others = [
        (f"{note}: " if note else "") + _text(finding)
        for finding, note in findings
        if id(finding) not in failing
    ]
    if others:
        ET.SubElement(case, "system-out").text = "\n\n".join(others)


def render(result: Result, context: Report) -> str:
    failing = set(map(id, result.failing(context.fail_on)))
    listed = [
        *((finding, "") for finding in result.findings),
        *((finding, f"acknowledged ({why.location}): {why.reason}") for finding, why in result.suppressed),
        *((finding, f"in the baseline {context.baseline}") for finding in result.baselined),
    ]
    about: dict[tuple[str, ...], list[tuple[Finding, str]]] = {}
    for finding, note in listed:
        about.setdefault(pair(finding.chain), []).append((finding, note))
    # every pair checked; a finding about no pair checked (none is expected) gets a case of its own
    pairs = {pair(target.chain): target.chain for target in result.targets}
    for finding, _ in listed:
        pairs.setdefault(pair(finding.chain), finding.chain)
    root = ET.Element("testsuites", name="keepalive-guard")
    suites: dict[str, ET.Element] = {}
    for key, chain in pairs.items():
        if chain.unit not in suites:
            suites[chain.unit] = ET.SubElement(root, "testsuite", name=chain.unit)
        place = chain.load_balancer.id.location if chain.load_balancer else None
        _verdict(_case(suites[chain.unit], chain.path() or chain.unit, place), about.get(key, []), failing)
    if result.errors:
        suites["input errors"] = errors = ET.SubElement(root, "testsuite", name="input errors")
        for error in result.errors:
            place = Location(error.path, error.line)
            case = _case(errors, str(place), place)
            error_element = ET.SubElement(case, "error", message=_xml(error.message), type="input error")
            error_element.text = _xml(str(error))
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in suites.values():
        counts = {
            "tests": len(suite.findall("testcase")),
            "failures": len(suite.findall("testcase/failure")),
            "errors": len(suite.findall("testcase/error")),
            "skipped": 0,
        }
        for name, value in counts.items():
            suite.set(name, str(value))
            totals[name] += value
        suite.set("time", "0")
    for name, value in totals.items():
        root.set(name, str(value))
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
