"""Nested stacks (`AWS::CloudFormation::Stack`): the template each one deploys, read in its parent's unit.

A nested stack's template is found where it is a local file: a `TemplateURL` that is a relative path
(as written before `aws cloudformation package` uploads it), or, in a cloud assembly (cdk.out), the
file asset the URL names (`*.nested.template.json`). Its resources join the unit of the top stack under
the prefix `Parent/` so that what the parent passes in `Parameters` (a target group's ARN, say) links
to the parent's resources, and a parent's `Fn::GetAtt Child.Outputs.Name` is the child's output. A
template nested in itself, and nesting deeper than `MAX_NESTING`, end the descent with an error.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-stack.html
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from policies.loaders.cloudformation.template import Evaluator, Template, decode, line_of
from policies.loaders.reading import Reader
from policies.loaders.terraform.values import Obj
from policies.model import InputError, Location, Opaque, ResourceId, shown_path

MAX_NESTING = 8  # CloudFormation itself allows five levels of nested stacks
_REMOTE = re.compile(r"^[a-z0-9+.-]+://", re.I)
# A stack whose name or template suggests a load balancer or a service may hide targets when unread.
_LB_OR_ECS = re.compile(r"(alb|elb|nlb|ecs|fargate|service|load.?balanc)", re.I)


@dataclass(frozen=True)
class Nested:
    """A nested stack as read: its evaluator, or why its resources are not part of the scan."""

    evaluator: Evaluator | None
    opaque: Opaque | None = None  # when its template is not read
    error: InputError | None = None  # when its template cannot be read or decoded


def template_file(parent: Template, node: dict[str, Any]) -> Path | str:
    """The local file a nested stack's template is in, or why there is none."""
    properties = node.get("Properties")
    url = properties.get("TemplateURL") if isinstance(properties, dict) else None
    metadata = node.get("Metadata")
    asset = metadata.get("aws:asset:path") if isinstance(metadata, dict) else None
    if isinstance(asset, str) and parent.file is not None:  # CDK's asset metadata: the file beside it
        return parent.file.parent / asset
    if parent.assembly is not None:
        found = parent.assembly.nested_template(url)
        if found is not None:
            return found
    if not isinstance(url, str):
        return "its TemplateURL is not a local file"
    if _REMOTE.match(url) or parent.file is None:
        return f"its template {url} is not a local file"
    return parent.file.parent / url


def nested_files(template: Template) -> list[Path]:
    """The local templates a template nests (to read them only through it)."""
    found = []
    for node in template.resources.values():
        if isinstance(node, dict) and node.get("Type") == "AWS::CloudFormation::Stack":
            file = template_file(template, node)
            if isinstance(file, Path):
                found.append(file.resolve())
    return found


def read_nested(parent: Evaluator, logical_id: str) -> Nested:
    template = parent.template
    node = template.resources.get(logical_id)
    if not isinstance(node, dict):
        return Nested(None)
    written = next((key for key in template.resources if key == logical_id), logical_id)
    location = Location(template.path, line_of(written) or line_of(node))
    address = template.prefix + logical_id
    resource = ResourceId(template.unit, address, location, template.label(logical_id))
    file = template_file(template, node)
    if isinstance(file, str):
        hint = f"{logical_id} {json.dumps(node.get('Properties'), default=str)}"
        fix = "scan its template too: save it next to this one and give TemplateURL its relative path"
        return Nested(None, Opaque(resource, file, bool(_LB_OR_ECS.search(hint)), fix))
    resolved = file.resolve()
    above = (*template.ancestors, *([template.file] if template.file else []))
    if resolved in above or len(above) > MAX_NESTING:
        why = "nests itself" if resolved in above else f"nests more than {MAX_NESTING} levels"
        error = InputError(template.path, f"the stack {logical_id} {why}: not read further", location.line)
        return Nested(None, Opaque(resource, why, False), error)
    shown = shown_path(file)
    if not file.is_file():
        message = f"the stack {logical_id}: its template {shown} is not a file"
        return Nested(
            None,
            Opaque(resource, f"its template {shown} is not a file", False),
            InputError(template.path, message, location.line),
        )
    stat = file.stat()
    data, problem = _decoded(file, shown, stat.st_mtime_ns, stat.st_size, template.reader)
    if problem is not None:
        return Nested(None, Opaque(resource, f"its template {problem}", False), problem)
    assert data is not None
    properties = node.get("Properties")
    where = template.key_location(node, "Properties", location)
    values = parent.value(properties.get("Parameters"), where) if isinstance(properties, dict) else None
    given = dict(values) if isinstance(values, Obj) else {}
    child = Template(
        shown,
        data,
        unit=template.unit,
        prefix=f"{address}/",
        file=resolved,
        given=given,
        assembly=template.assembly,
        ancestors=above,
        scope=_scope(template.construct_path(logical_id), template.scope),
        reader=template.reader,
    )
    return Nested(Evaluator(child))


@lru_cache(maxsize=64)
def _decoded(
    file: Path, shown: str, mtime: int, size: int, reader: Reader
) -> tuple[dict[str, Any] | None, InputError | None]:
    """A nested template decoded once per scan, though each scenario of its parent reads it."""
    return decode(file, shown, reader)


def _scope(path: str | None, parent: str) -> str:
    """A CDK nested stack's construct path from its resource's: ".../Inner.NestedStack/Inner.NestedStackResource"
    is the stack "/.../Inner"."""
    parts = path.split("/") if path else []
    if len(parts) >= 2 and parts[-1].endswith(".NestedStackResource") and parts[-2].endswith(".NestedStack"):
        return "/".join([*parts[:-2], parts[-2].removesuffix(".NestedStack")])
    return parent
