"""Conditions (`Fn::If`, resource `Condition`): every branch a deployment of the template can take.

A condition depends on parameters (and pseudo parameters such as `AWS::Region`). A parameter given a
value (`--parameter`, a parameters file, a parent stack) keeps it; any other may take, at deployment,
each value a condition compares it with, or a value that is none of them (its `Default`, one of its
`AllowedValues`, some other value). Each combination of those that gives the conditions a different
set of values is a scenario, read as a unit of its own; the
scan merges what the scenarios find, saying under which conditions a finding holds when it does not
hold in all of them (`policies.variants`). The first scenario takes the defaults, so what is reported
about every scenario (the targets checked) is what the defaults deploy. Beyond `MAX_SCENARIOS`
combinations only the defaults are read, and the scan says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from policies.loaders.cloudformation.template import (
    GIVE_PARAMETERS,
    PSEUDO_PARAMETERS,
    Evaluator,
    OtherValue,
    Template,
)
from policies.loaders.terraform.values import Unknown, located
from policies.model import Location

MAX_SCENARIOS = 256

Conditions = tuple[tuple[str, bool], ...]


def scenarios(template: Template) -> tuple[list[tuple[Evaluator, Conditions]], int]:
    """The scenarios of a template, each an evaluator of it with one combination of parameter values
    (and its own unit), with the values of its conditions (and of its nested stacks' conditions on the
    parameters it passes them) there; one scenario (the template as it is, no conditions) when the
    conditions cannot differ. Second, the number of combinations when there are too many to read."""
    conditions = template.data.get("Conditions")
    conditions = conditions if isinstance(conditions, dict) else {}
    declared = template.data.get("Parameters")
    declared = declared if isinstance(declared, dict) else {}
    compared: dict[str, dict[str, Any]] = {}  # parameter → the values conditions compare it with
    for name in _refs(conditions):
        compared.setdefault(name, {}).update(_compared(conditions, name))
    base = Evaluator(template)
    children = _passed(base, declared, compared)
    free = [
        name
        for name in compared
        if (name in declared or name in PSEUDO_PARAMETERS)
        and name not in template.given
        and name not in template.overrides
    ]
    choices = {name: _candidates(template, name, declared.get(name), compared[name]) for name in free}
    choices = {name: values for name, values in choices.items() if len(values) > 1}
    count = 1
    for values in choices.values():
        count *= len(values)
    if count > MAX_SCENARIOS:
        return [(base, ())], count
    found: dict[tuple[tuple[str, bool | None], ...], Evaluator] = {}
    for index, combination in enumerate(itertools.product(*choices.values())):
        given = {**template.given, **dict(zip(choices, combination, strict=True))}
        evaluator = Evaluator(replace(template, given=given, unit=f"{template.unit}\x00{index}"))
        decided = [(str(name), evaluator.condition(str(name), 0)) for name in conditions]
        for logical_id in children:
            child = evaluator.nested(logical_id).evaluator
            if child is not None:
                inner = child.template.data.get("Conditions")
                for name in inner if isinstance(inner, dict) else ():
                    decided.append((f"{logical_id}/{name}", child.condition(str(name), 0)))
        key = tuple((name, value if isinstance(value, bool) else None) for name, value in decided)
        found.setdefault(key, evaluator)
    if len(found) <= 1:
        return [(base, ())], 0
    return [(evaluator, _known(decided)) for decided, evaluator in found.items()], 0


def _passed(evaluator: Evaluator, declared: dict[str, Any], compared: dict[str, dict[str, Any]]) -> list[str]:
    """The nested stacks whose conditions compare a parameter the template passes them as it is
    (`Parameters: {Env: !Ref Env}`); what they compare it with is added to `compared`."""
    template = evaluator.template
    found = []
    for logical_id, node in template.resources.items():
        if not isinstance(node, dict) or node.get("Type") != "AWS::CloudFormation::Stack":
            continue
        properties = node.get("Properties")
        passed = properties.get("Parameters") if isinstance(properties, dict) else None
        if not isinstance(passed, dict):
            continue
        child = evaluator.nested(str(logical_id)).evaluator
        inner = child.template.data.get("Conditions") if child else None
        if not isinstance(inner, dict):
            continue
        for key, value in passed.items():
            source = value.get("Ref") if isinstance(value, dict) and len(value) == 1 else None
            values = dict(_compared(inner, str(key)))
            if isinstance(source, str) and source in declared and values:
                compared.setdefault(source, {}).update(values)
                found.append(str(logical_id))
    return list(dict.fromkeys(found))


def _known(decided: tuple[tuple[str, bool | None], ...]) -> Conditions:
    return tuple((name, value) for name, value in decided if value is not None)


def _candidates(template: Template, name: str, declaration: Any, written: dict[str, Any]) -> list[Any]:
    """The values of a parameter (or pseudo parameter) that lead the conditions different ways: each
    value they compare it with, and one that is none of them (its Default, else one of its
    AllowedValues, else any other value). The value deployed by default comes first."""
    declaration = declaration if isinstance(declaration, dict) else {}
    here = template.at(declaration, Location(template.path)) if declaration else Location(template.path)
    allowed = declaration.get("AllowedValues")
    allowed = (
        [value for value in allowed if not isinstance(value, (dict, list))]
        if isinstance(allowed, list)
        else None
    )
    permitted = {_text(value) for value in allowed} if allowed is not None else None
    values: list[Any] = [
        located(text, template.at(value, here))
        for text, value in written.items()
        if permitted is None or text in permitted
    ]
    default = template.parameters.get(name) if "Default" in declaration else None
    first = None if default is None or isinstance(default, Unknown) else _text(default)
    if allowed is not None:
        where = template.key_location(declaration, "AllowedValues", here)
        rest = [value for value in allowed if _text(value) not in written]
        if first is not None and first not in written and first in (permitted or ()):
            values.append(default)
        elif rest:
            values.append(located(_text(rest[0]), template.at(rest[0], where)))
    elif first is not None and first not in written:
        values.append(default)
    else:
        shown = ", ".join(written) or "any value compared"
        values.append(OtherValue(f"{name} has a value other than {shown}", fix=GIVE_PARAMETERS))
    return sorted(values, key=lambda value: isinstance(value, Unknown) or _text(value) != first)


def _text(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    for child in node.values() if isinstance(node, dict) else node if isinstance(node, list) else ():
        yield from _nodes(child)


def _refs(conditions: dict[str, Any]) -> Iterator[str]:
    """The names the conditions `Ref`."""
    for node in _nodes(conditions):
        if isinstance(node, dict) and len(node) == 1 and isinstance(node.get("Ref"), str):
            yield str(node["Ref"])


def _compared(conditions: dict[str, Any], name: str) -> Iterator[tuple[str, Any]]:
    """The literal values the conditions compare parameter `name` with (`Fn::Equals [!Ref name, value]`),
    as text and as written."""
    for node in _nodes(conditions):
        argument = node.get("Fn::Equals") if isinstance(node, dict) and len(node) == 1 else None
        if not isinstance(argument, list) or len(argument) != 2:
            continue
        for one, other in ((argument[0], argument[1]), (argument[1], argument[0])):
            if one == {"Ref": name} and isinstance(other, (str, int, float, bool)):
                yield _text(other), other
