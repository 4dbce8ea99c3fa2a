"""SARIF 2.1.0 (OASIS), as GitHub code scanning, GitLab and IDE viewers read it.

One run: the rules with their documentation (help text and link); one result per finding at the place
to act, with the other side of the mismatch as related locations; acknowledged findings as results
with an in-source suppression and baselined ones with an external one (`baselineState` "unchanged",
new ones "new"); inputs that could not be analysed as tool execution notifications. Paths are
relative to `%SRCROOT%`, the repository's root (`repository_root`), wherever the scan ran;
`partialFingerprints` carry the finding's fingerprint (`policies.baseline.fingerprint`) with units from
that root too, equal to a baseline's kept at the root.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from policies import HOME, __version__, rule_url
from policies.baseline import fingerprint
from policies.model import Location, Suppression, show
from policies.reporters.base import Report, from_root, repository_root, target_of
from policies.rules import RULES, Finding, Rule, Severity, Target, documentation
from policies.scan import Result
from policies.servers.base import Mode

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
ROOT = "%SRCROOT%"


def _rule(rule: Rule) -> dict[str, Any]:
    text = documentation(rule) or rule.summary
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": f"Reports when {rule.summary}."},
        "fullDescription": {"text": text.split("\n\n", 1)[0].replace("\n", " ")},
        "help": {"text": text, "markdown": text},
        "helpUri": rule_url(rule.id),
        "defaultConfiguration": {"level": rule.severity.value},
        "properties": {"tags": ["reliability", "aws", "load-balancer"], "precision": "very-high"},
    }


def _physical(location: Location, root: Path) -> dict[str, Any] | None:
    path = Path(location.path)
    if not path.is_file():  # e.g. "--parameter Name", or a template the CDK guard holds in memory
        return None
    relative = from_root(location.path, root)
    artifact = (
        {"uri": quote(relative), "uriBaseId": ROOT}
        if relative is not None
        else {"uri": path.resolve().as_uri()}
    )
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if location.line:
        physical["region"] = {"startLine": location.line}
    return physical


def _label(location: Location, target: Target | None) -> str:
    """What a location of a finding is: one side of the mismatch or the other."""
    if target is None:
        return "related location"
    chain, server = target.chain, target.server
    balancer, group = chain.load_balancer, chain.target_group
    if balancer is not None and location == balancer.idle_timeout.location:
        return f"the load balancer's idle timeout ({_value(balancer.idle_timeout.value)})"
    if group is not None and location == group.deregistration_delay.location:
        return f"the target group's deregistration delay ({_value(group.deregistration_delay.value)})"
    if server is not None:
        if location == server.keep_alive.evidence.location:
            if server.keep_alive.mode is Mode.UNKNOWN:
                return f"where the keep-alive of the server in container {_container(target)} is decided"
            return f"{server.title}: {show(server.keep_alive.describe())}"
        timeout = server.request_timeout
        if timeout is not None and location == timeout.evidence.location:
            return f"{server.title}: requests may take up to {_value(timeout.seconds)}"
        if location == server.remedy_location:
            return f"where to set the keep-alive of {server.title}"
    return "related location"


def _value(seconds: float | None) -> str:
    return "unknown" if seconds is None else f"{seconds:g} s"


def _container(target: Target) -> str:
    return f'"{target.chain.container.name}"' if target.chain.container else "?"


def _locations(finding: Finding, root: Path) -> list[dict[str, Any]]:
    """The finding's locations that are files; else the files of the resources it concerns."""
    chain = finding.chain
    resources = [
        part.id.location
        for part in (chain.task_definition, chain.service, chain.target_group, chain.load_balancer)
        if part is not None
    ]
    for candidates in (finding.locations, resources):
        found = [(place, _physical(place, root)) for place in candidates]
        if any(physical is not None for _, physical in found):
            return [{"place": place, "physical": physical} for place, physical in found if physical]
    return []


def _suppression(why: Suppression, root: Path) -> dict[str, Any]:
    suppression: dict[str, Any] = {"kind": "inSource", "status": "accepted", "justification": why.reason}
    physical = _physical(why.location, root)
    if physical is not None:
        suppression["location"] = {"physicalLocation": physical}
    return suppression


def _result(
    finding: Finding, result: Result, root: Path, suppressions: list[dict[str, Any]], state: str | None
) -> dict[str, Any]:
    index = next(i for i, rule in enumerate(RULES) if rule.id == finding.rule)
    target = target_of(finding, result.targets)
    places = _locations(finding, root)
    document: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": "error" if finding.severity is Severity.ERROR else "warning",
        "message": {"text": f"{show(finding.message)} Fix: {show(finding.fix)}"},
        "locations": [{"physicalLocation": place["physical"]} for place in places[:1]],
        "partialFingerprints": {"keepaliveGuard/v1": fingerprint(finding, root)},
        "properties": {"fix": show(finding.fix), "unit": finding.chain.unit, "chain": finding.chain.path()},
    }
    related = [
        {
            "id": number,
            "physicalLocation": place["physical"],
            "message": {"text": _label(place["place"], target)},
        }
        for number, place in enumerate(places[1:], start=1)
    ]
    if related:
        document["relatedLocations"] = related
    if suppressions:
        document["suppressions"] = suppressions
    if state is not None:
        document["baselineState"] = state
    return document


def _distinct(results: list[dict[str, Any]]) -> None:
    """Findings on the same resources that differ in other ways (a CloudFormation condition's branches)
    share a fingerprint; code scanning would take them for one alert: the second gets `:2`, and so on."""
    seen: dict[str, int] = {}
    for result in results:
        fingerprints = result["partialFingerprints"]
        key = fingerprints["keepaliveGuard/v1"]
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            fingerprints["keepaliveGuard/v1"] = f"{key}:{seen[key]}"


def render(result: Result, context: Report) -> str:
    root = repository_root()
    state = "new" if context.baseline is not None else None
    results = [_result(finding, result, root, [], state) for finding in result.findings]
    results += [
        _result(finding, result, root, [_suppression(why, root)], state) for finding, why in result.suppressed
    ]
    baselined = {
        "kind": "external",
        "status": "accepted",
        "justification": f"recorded in the baseline {context.baseline}",
    }
    results += [_result(finding, result, root, [baselined], "unchanged") for finding in result.baselined]
    _distinct(results)
    notifications = []
    for error in result.errors:
        notification: dict[str, Any] = {"level": "error", "message": {"text": error.message}}
        physical = _physical(Location(error.path, error.line), root)
        if physical is not None:
            notification["locations"] = [{"physicalLocation": physical}]
        else:
            notification["message"]["text"] = f"{error.path}: {error.message}"
        notifications.append(notification)
    run = {
        "tool": {
            "driver": {
                "name": "keepalive-guard",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": HOME,
                "rules": [_rule(rule) for rule in RULES],
            }
        },
        "originalUriBaseIds": {ROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
        "invocations": [
            # the scan ran to its end; inputs it could not analyse are notifications (exit code 2)
            {"executionSuccessful": True, "toolExecutionNotifications": notifications}
        ],
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
