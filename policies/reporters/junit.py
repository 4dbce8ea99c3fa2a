"""JUnit XML, as the test reporters of GitLab, Jenkins, Azure DevOps and GitHub Actions read it.

One test suite per unit (a Terraform root module, a plan, a template), one test case per load balancer
→ target pair checked. A pair fails (`<failure>`) when a finding about it fails the check (`--fail-on`);
other findings, acknowledged and baselined ones are listed in its `<system-out>`. Inputs that could
not be analysed are test cases of their own suite, in `<error>`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from policies.model import show
from policies.reporters.base import Report, target_of
from policies.rules import Finding, Target
from policies.scan import Result


def _text(finding: Finding) -> str:
    where = f"{finding.location}: " if finding.location else ""
    return f"{where}{finding.severity.value} {finding.rule} {finding.name}\n{show(finding.message)}\nfix: {show(finding.fix)}"


def _case(suite: ET.Element, name: str, file: str | None, line: int | None) -> ET.Element:
    case = ET.SubElement(suite, "testcase", classname=suite.get("name", ""), name=name, time="0")
    if file:
        case.set("file", file)
    if line:
        case.set("line", str(line))
    return case


def render(result: Result, context: Report) -> str:
    failing = set(map(id, result.failing(context.fail_on)))
    about: dict[int, list[tuple[Finding, str]]] = {}  # findings by the index of their target
    orphans: list[tuple[Finding, str]] = []
    listed = [
        *((finding, "") for finding in result.findings),
        *((finding, f"acknowledged ({why.location}): {why.reason}") for finding, why in result.suppressed),
        *((finding, f"in the baseline {context.baseline}") for finding in result.baselined),
    ]
    for finding, note in listed:
        target = target_of(finding, result.targets)
        if target is None:
            orphans.append((finding, note))
        else:
            about.setdefault(result.targets.index(target), []).append((finding, note))
    root = ET.Element("testsuites", name="keepalive-guard")
    suites: dict[str, ET.Element] = {}

    def suite(name: str) -> ET.Element:
        if name not in suites:
            suites[name] = ET.SubElement(root, "testsuite", name=name)
        return suites[name]

    cases: list[tuple[ET.Element, list[tuple[Finding, str]], Target | None]] = []
    for index, target in enumerate(result.targets):
        chain = target.chain
        place = chain.load_balancer.id.location if chain.load_balancer else None
        case = _case(
            suite(chain.unit),
            chain.path() or chain.unit,
            place.path if place else None,
            place.line if place else None,
        )
        cases.append((case, about.get(index, []), target))
    for finding, note in orphans:
        place = finding.location
        case = _case(
            suite(finding.chain.unit),
            finding.chain.path() or finding.rule,
            place.path if place else None,
            place.line if place else None,
        )
        cases.append((case, [(finding, note)], None))
    for case, findings, _ in cases:
        failures = [finding for finding, _ in findings if id(finding) in failing]
        if failures:
            first = failures[0]
            if first.location:
                case.set("file", first.location.path)
                if first.location.line:
                    case.set("line", str(first.location.line))
            rules = ", ".join(dict.fromkeys(finding.rule for finding in failures))
            failure = ET.SubElement(case, "failure", message=f"{rules}: {show(first.message)}", type=rules)
            failure.text = "\n\n".join(_text(finding) for finding in failures)
        others = [
            (f"{note}: " if note else "") + _text(finding)
            for finding, note in findings
            if id(finding) not in failing
        ]
        if others:
            ET.SubElement(case, "system-out").text = "\n\n".join(others)
    if result.errors:
        errors = suite("input errors")
        for error in result.errors:
            case = _case(
                errors, f"{error.path}{f':{error.line}' if error.line else ''}", error.path, error.line
            )
            ET.SubElement(case, "error", message=error.message, type="input error").text = str(error)
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for element in suites.values():
        counts = {
            "tests": len(element.findall("testcase")),
            "failures": len(element.findall("testcase/failure")),
            "errors": len(element.findall("testcase/error")),
            "skipped": 0,
        }
        for key, value in counts.items():
            element.set(key, str(value))
            total[key] += value
        element.set("time", "0")
    for key, value in total.items():
        root.set(key, str(value))
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
