"""CloudFormation templates (YAML or JSON) and CDK cloud assemblies (cdk.out) as inputs.

A file is a template when its beginning names `AWSTemplateFormatVersion` or has `Resources` of `AWS::`
types; other YAML and JSON in a scanned tree (CI files, Kubernetes manifests, package.json) is left
alone. A directory holding a cloud assembly `manifest.json` is read through it (`assembly`). Each top
stack is its own unit: its logical ids link only within it and the stacks it nests (`nested`), whose
templates are read through it rather than on their own. Parameters take their `Default` unless a value
is given (`--parameter NAME=VALUE`, a parameters file); conditions are read in every combination a
deployment can reach (`scenarios`). A resource's `Metadata` may acknowledge a finding, with a reason:
`{"keepalive-guard": {"ignore": [{"id": "KA001", "reason": "..."}]}}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from policies.loaders.cloudformation.assembly import Assembly, read_assembly
from policies.loaders.cloudformation.nested import nested_files
from policies.loaders.cloudformation.resources import READERS, CfnResource
from policies.loaders.cloudformation.scenarios import MAX_SCENARIOS, scenarios
from policies.loaders.cloudformation.template import (
    Evaluator,
    Template,
    decode,
    is_template,
    line_of,
)
from policies.loaders.reading import ANYWHERE, Reader
from policies.loaders.terraform.resources import Collected
from policies.model import (
    RULE_IDS,
    InputError,
    Inventory,
    Location,
    Opaque,
    ResourceId,
    Suppression,
    Variant,
    shown_path,
)

__all__ = ["load_assemblies", "load_templates", "read_template"]

Parameters = Mapping[str, tuple[str, Location]]
NO_PARAMETERS: Parameters = MappingProxyType({})


def load_templates(
    paths: Sequence[Path],
    explicit: Sequence[Path] = (),
    parameters: Parameters = NO_PARAMETERS,
    reader: Reader = ANYWHERE,
) -> Inventory:
    """The inventory of the templates `paths`, read through `reader`; one in `explicit` (named on the
    command line) that is not a template is an error, others are skipped silently."""
    named = {path.resolve() for path in explicit}
    return _load([(path, None, "") for path in paths], named, parameters, reader)


def load_assemblies(
    directories: Sequence[Path], parameters: Parameters = NO_PARAMETERS, reader: Reader = ANYWHERE
) -> Inventory:
    """The inventory of the stacks of the cloud assemblies in `directories`, Stages' included."""
    inventory = Inventory()
    sources: list[tuple[Path, Assembly | None, str]] = []
    for directory in directories:
        assemblies, builds, errors, read = read_assembly(directory, reader)
        inventory += Inventory(builds=tuple(builds), errors=tuple(errors), inputs=tuple(read))
        sources += [
            (stack.template, assembly, stack.scope) for assembly in assemblies for stack in assembly.stacks
        ]
    return inventory + _load(sources, {path.resolve() for path, _, _ in sources}, parameters, reader)


def _load(
    sources: list[tuple[Path, Assembly | None, str]], named: set[Path], parameters: Parameters, reader: Reader
) -> Inventory:
    inventory = Inventory()
    templates: list[Template] = []
    for path, assembly, scope in sources:
        shown = shown_path(path)
        data, error = decode(path, shown, reader)
        if error is not None:
            inventory += Inventory(errors=(error,), inputs=(shown,))
            continue
        if not is_template(data):
            if path.resolve() in named:
                message = "not a CloudFormation template (no AWSTemplateFormatVersion and no AWS:: resources)"
                inventory += Inventory(errors=(InputError(shown, message),))
            continue
        assert data is not None
        templates.append(
            Template(
                shown, data, parameters, file=path.resolve(), assembly=assembly, scope=scope, reader=reader
            )
        )
    # A template another one nests is read through it, with the parameters it passes (and on its own
    # only when no template read nests it: stacks nesting each other in a loop).
    nested = {file for template in templates for file in nested_files(template) if file != template.file}
    read: set[str] = set()
    for template in sorted(templates, key=lambda template: template.file in nested):
        if template.path not in read:
            found = read_template(template)
            read.update(found.inputs)
            inventory += found
    return inventory


def read_template(template: Template) -> Inventory:
    """The resources of one decoded template and of the stacks it nests, in model form: once per
    scenario of its conditions when they can differ."""
    variants, too_many = scenarios(template)
    inventory = Inventory()
    if too_many:
        message = (
            f"its conditions depend on {too_many} combinations of parameter values, more than {MAX_SCENARIOS}: "
            "only the branches the defaults take are checked (give values with --parameter)"
        )
        inventory += Inventory(errors=(InputError(template.path, message),))
    for evaluator, conditions in variants:
        inventory += _read(evaluator)
        if len(variants) > 1:
            inventory += Inventory(variants=(Variant(evaluator.template.unit, template.unit, conditions),))
    return inventory  # what every scenario reads alike (errors, inputs) is said once by `scan.check`


def _read(evaluator: Evaluator) -> Inventory:
    template = evaluator.template
    out = Collected()
    inventory = Inventory(inputs=(template.path,), errors=template.loop_errors())
    for key, node in template.resources.items():
        if not isinstance(node, dict):
            continue
        kind = str(node.get("Type", ""))
        reader = READERS.get(kind)
        if reader is None and kind != "AWS::CloudFormation::Stack":
            continue
        location = Location(template.path, line_of(key) or line_of(node))
        resource = ResourceId(template.unit, template.prefix + str(key), location, template.label(str(key)))
        condition = node.get("Condition")
        # A resource whose condition is unknown may be created: it is checked as if it were.
        if isinstance(condition, str) and evaluator.condition(condition, 0) is False:
            reason = f"its Condition {condition} is false with the parameters' values"
            inventory += Inventory(opaque=(Opaque(resource, reason, False),))
            continue
        inventory += _suppressions(template, resource, node)
        if reader is not None:
            reader(CfnResource(template, evaluator, str(key), node, location), out)
            continue
        stack = evaluator.nested(str(key))
        inventory += Inventory(
            opaque=(stack.opaque,) if stack.opaque else (), errors=(stack.error,) if stack.error else ()
        )
        if stack.evaluator is not None:
            inventory += _read(stack.evaluator)
    return out.inventory() + inventory


def _suppressions(template: Template, resource: ResourceId, node: dict[str, Any]) -> Inventory:
    """`Metadata: {keepalive-guard: {ignore: [{id: KA001, reason: ...}]}}`: acknowledged findings; one
    without a reason (or naming no rule) is not applied, and said so."""
    metadata = node.get("Metadata")
    section = metadata.get("keepalive-guard") if isinstance(metadata, dict) else None
    if section is None:
        return Inventory()
    here = template.key_location(metadata, "keepalive-guard", resource.location)
    entries = section.get("ignore") if isinstance(section, dict) else None
    if not isinstance(entries, list):
        message = "Metadata keepalive-guard: expected {ignore: [{id: RULE, reason: WHY}]}"
        return Inventory(errors=(InputError(here.path, message, here.line),))
    found: list[Suppression] = []
    errors: list[InputError] = []
    for entry in entries:
        where = template.at(entry, here)
        rule = entry.get("id") if isinstance(entry, dict) else None
        reason = entry.get("reason") if isinstance(entry, dict) else None
        if not isinstance(entry, dict):
            message = f"Metadata keepalive-guard ignore: expected {{id: RULE, reason: WHY}}, not {entry!r}"
            errors.append(InputError(where.path, message, where.line))
        elif not isinstance(rule, str) or rule.upper() not in RULE_IDS:
            message = (
                f"Metadata keepalive-guard ignore: id must be one of {', '.join(RULE_IDS)}, not {rule!r}"
            )
            errors.append(InputError(where.path, message, where.line))
        elif not isinstance(reason, str) or not reason.strip():
            message = (
                f"Metadata keepalive-guard ignore {rule}: a reason is required; the finding is not ignored"
            )
            errors.append(InputError(where.path, message, where.line))
        else:
            found.append(Suppression(resource, rule.upper(), " ".join(reason.split()), where))
    return Inventory(suppressions=tuple(found), errors=tuple(errors))
