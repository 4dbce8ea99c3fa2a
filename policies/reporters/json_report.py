"""The JSON report (SPEC.md contract): findings, errors, what was checked and what was skipped."""

from __future__ import annotations

import json
from typing import Any

from policies import __version__
from policies.model import Location, show
from policies.rules import Finding, Severity, Target
from policies.scan import Result
from policies.topology import Chain

SCHEMA_VERSION = 1


def _location(location: Location) -> dict[str, Any]:
    return {"path": location.path, "line": location.line}


def _ids(chain: Chain) -> dict[str, Any]:
    return {
        "unit": chain.unit,
        "load_balancer": str(chain.load_balancer.id) if chain.load_balancer else None,
        "listeners": [str(listener.id) for listener in chain.listeners],
        "target_group": str(chain.target_group.id) if chain.target_group else None,
        "service": str(chain.service.id) if chain.service else None,
        "task_definition": str(chain.task_definition.id) if chain.task_definition else None,
        "container": chain.container.name if chain.container else None,
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "name": finding.name,
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


def render(result: Result, verbose: bool = False) -> str:
    document = {
        "schema_version": SCHEMA_VERSION,
        "version": __version__,
        "findings": [_finding(finding) for finding in result.findings],
        "errors": [
            {"path": error.path, "line": error.line, "message": error.message} for error in result.errors
        ],
        "targets": [_target(target) for target in result.targets],
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
        },
    }
    return json.dumps(document, indent=2) + "\n"
