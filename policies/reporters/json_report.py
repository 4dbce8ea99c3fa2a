"""The JSON report (SPEC.md contract): findings, errors, what was checked and what was skipped."""

from __future__ import annotations

import json
from typing import Any

from policies import __version__
from policies.baseline import fingerprint
from policies.model import Location, show
from policies.reporters.base import Report
from policies.rules import Finding, Severity, Target
from policies.scan import Result
from policies.topology import Chain

SCHEMA_VERSION = 1


def _location(location: Location) -> dict[str, Any]:
    return {"path": location.path, "line": location.line}


def _ids(chain: Chain) -> dict[str, Any]:
    """The chain's resources by address (logical id), and the CDK construct paths of those that have one."""
    parts = {
        "load_balancer": chain.load_balancer,
        "target_group": chain.target_group,
        "service": chain.service,
        "task_definition": chain.task_definition,
    }
    return {
        "unit": chain.unit,
        **{role: part.id.address if part else None for role, part in parts.items()},
        "listeners": [listener.id.address for listener in chain.listeners],
        "container": chain.container.name if chain.container else None,
        "construct_paths": {role: part.id.label for role, part in parts.items() if part and part.id.label},
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "name": finding.name,
        "fingerprint": fingerprint(finding),
        "severity": finding.severity.value,
        "message": show(finding.message),
        "fix": show(finding.fix),
        "locations": [_location(location) for location in finding.locations],
        **_ids(finding.chain),
    }


def _target(target: Target) -> dict[str, Any]:
    server = target.server
    balancer = target.chain.load_balancer
    return {
        **_ids(target.chain),
        "idle_timeout": balancer.idle_timeout.value if balancer else None,
        "server": server.title if server else None,
        "keep_alive": {
            "mode": server.keep_alive.mode.name.lower(),
            "seconds": server.keep_alive.seconds,
            "evidence": show(str(server.keep_alive.evidence)),
        }
        if server
        else None,
        "request_timeout": server.request_timeout.seconds if server and server.request_timeout else None,
        "gap": target.chain.gap.text if target.chain.gap else None,
    }


def render(result: Result, context: Report) -> str:
    document = {
        "schema_version": SCHEMA_VERSION,
        "version": __version__,
        "findings": [_finding(finding) for finding in result.findings],
        "errors": [
            {"path": error.path, "line": error.line, "message": error.message} for error in result.errors
        ],
        "targets": [_target(target) for target in result.targets],
        "suppressed": [
            {
                **_finding(finding),
                "suppression": {
                    "reason": why.reason,
                    "resource": why.resource.address,
                    **_location(why.location),
                },
            }
            for finding, why in result.suppressed
        ],
        "baselined": [_finding(finding) for finding in result.baselined],
        "baseline": {"path": context.baseline, "no_longer_found": context.gone} if context.baseline else None,
        "skipped": [
            {
                "unit": item.id.unit,
                "resource": item.id.address,
                **_location(item.id.location),
                "reason": item.reason,
            }
            for item in result.skipped
        ],
        "summary": {
            "errors": result.count(Severity.ERROR),
            "warnings": result.count(Severity.WARNING),
            "targets": len(result.targets),
            "inputs": len(result.inputs),
            "input_errors": len(result.errors),
            "suppressed": len(result.suppressed),
            "baselined": len(result.baselined),
            "failing": len(result.failing(context.fail_on)),
        },
    }
    return json.dumps(document, indent=2) + "\n"
