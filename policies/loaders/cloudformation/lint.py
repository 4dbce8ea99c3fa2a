"""The keepalive-guard rules for cfn-lint: the same engine, run on the template cfn-lint decoded.

cfn-lint calls each rule with the decoded template; the first call reads its resources, links and
checks them (`policies.scan.check`), and every rule takes its own findings from that one result. A
finding is reported at the path of the template node on the finding's line, so cfn-lint shows the
same line as `keepalive-guard scan`; a finding located outside the template (a Dockerfile, a nested
stack's template) is reported at the resource it concerns, or at the nested stack holding it. KA001 and DR001 are errors (E9001, E9002), KA002 a warning (W9001).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from policies.loaders.cloudformation import read_template
from policies.loaders.cloudformation.template import Template, line_of
from policies.loaders.inline import suppressions
from policies.model import shown_path
from policies.rules import Finding
from policies.scan import check

# keepalive-guard rule → cfn-lint rule id (9xxx: the range cfn-lint leaves to custom rules)
RULE_IDS = {"KA001": "E9001", "DR001": "E9002", "KA002": "W9001"}

_last: tuple[int, list[Finding]] | None = None  # the findings of the template checked last


def findings(filename: str | None, template: dict[str, Any]) -> list[Finding]:
    """Every finding of one decoded template, computed once for all the rules."""
    global _last
    if _last is None or _last[0] != id(template):
        file = Path(filename).resolve() if filename else None  # nested stacks' templates are found beside it
        inventory = read_template(Template(_shown(filename), template, file=file))
        result = check(inventory + suppressions(inventory))  # keepalive-guard:ignore comments too
        _last = (id(template), list(result.findings))
    return _last[1]


def _shown(filename: str | None) -> str:
    return shown_path(Path(filename)) if filename else "template"


def path_of(filename: str | None, template: dict[str, Any], finding: Finding) -> list[str | int]:
    """The path of the outermost template node written on the finding's line in the template, else the
    path of the resource of its chain the finding is mostly about."""
    location = finding.location
    if location is not None and location.line is not None and location.path == _shown(filename):
        found = _shallowest(template, location.line, [])
        if found:
            return found
    chain = finding.chain
    resources = template.get("Resources", {})
    for part in (chain.service, chain.target_group, chain.load_balancer, chain.task_definition):
        # a resource of a nested stack is reported at the stack ("Api/Service" at Api)
        if part is not None and (logical_id := part.id.address.split("/", 1)[0]) in resources:
            return ["Resources", logical_id]
    return []


def _shallowest(node: Any, line: int, path: list[str | int]) -> list[str | int]:
    """The path of the outermost node under `node` that is written on `line` (its key's line)."""
    entries: Sequence[tuple[Any, Any]] = (
        list(node.items())
        if isinstance(node, dict)
        else list(enumerate(node))
        if isinstance(node, list)
        else []
    )
    for key, value in entries:
        if (line_of(key) or line_of(value)) == line:
            return [*path, key if isinstance(key, int) else str(key)]
    for key, value in entries:
        found = _shallowest(value, line, [*path, key if isinstance(key, int) else str(key)])
        if found:
            return found
    return []
