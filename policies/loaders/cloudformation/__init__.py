"""CloudFormation templates (YAML or JSON) as inputs: detected by content, decoded by cfn-lint.

A file is a template when its beginning names `AWSTemplateFormatVersion` or has `Resources` of `AWS::`
types; other YAML and JSON in a scanned tree (CI files, Kubernetes manifests, package.json) is left
alone. Each template is its own unit: its logical ids link only within it. Parameters take their
`Default` unless a value is given (`--parameter NAME=VALUE`, a parameters file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from policies.loaders.cloudformation.resources import READERS, CfnResource
from policies.loaders.cloudformation.template import (
    Evaluator,
    Template,
    decode,
    is_template,
    line_of,
    looks_like_template,
)
from policies.loaders.terraform.resources import Collected
from policies.model import InputError, Inventory, Location, Opaque, ResourceId, shown_path

__all__ = ["load_templates", "looks_like_template", "read_template"]


def load_templates(
    paths: Sequence[Path], explicit: Sequence[Path] = (), parameters: Mapping[str, tuple[str, Location]] = {}
) -> Inventory:
    """The inventory of the templates `paths`; one in `explicit` (named on the command line) that is not
    a template is an error, others are skipped silently."""
    named = {path.resolve() for path in explicit}
    inventory = Inventory()
    for path in paths:
        shown = shown_path(path)
        data, error = decode(path, shown)
        if error is not None:
            inventory += Inventory(errors=(error,), inputs=(shown,))
            continue
        if not is_template(data):
            if path.resolve() in named:
                message = "not a CloudFormation template (no AWSTemplateFormatVersion and no AWS:: resources)"
                inventory += Inventory(errors=(InputError(shown, message),))
            continue
        assert data is not None
        inventory += read_template(Template(shown, data, parameters)) + Inventory(inputs=(shown,))
    return inventory


def read_template(template: Template) -> Inventory:
    """The resources of one decoded template, in model form."""
    evaluator = Evaluator(template)
    out = Collected()
    skipped = []
    for key, node in template.resources.items():
        if not isinstance(node, dict):
            continue
        reader = READERS.get(str(node.get("Type", "")))
        if reader is None:
            continue
        location = Location(template.path, line_of(key) or line_of(node))
        condition = node.get("Condition")
        # A resource whose condition is unknown may be created: it is checked as if it were.
        if isinstance(condition, str) and evaluator.condition(condition, 0) is False:
            reason = f"its Condition {condition} is false with the parameters' values"
            skipped.append(Opaque(ResourceId(template.path, str(key), location), reason, False))
            continue
        reader(CfnResource(template, evaluator, str(key), node, location), out)
    return out.inventory() + Inventory(opaque=tuple(skipped))
