"""Conditions (`Fn::If`, resource `Condition`): every branch a deployment of the template can take.

A condition depends on parameters. A parameter given a value (`--parameter`, a parameters file, a
parent stack) keeps it; any other may take, at deployment, one of its `AllowedValues`, or else its
`Default`, any value a condition compares it with, or some other value. Each combination of those
that gives the conditions a different set of values is a scenario, read as a unit of its own; the
scan merges what the scenarios find, saying under which conditions a finding holds when it does not
hold in all of them (`policies.variants`). The first scenario takes the defaults, so what is reported
about every scenario (the targets checked) is what the defaults deploy. Beyond `MAX_SCENARIOS`
combinations only the defaults are read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from policies.loaders.cloudformation.template import Evaluator, OtherValue, Template
from policies.loaders.terraform.values import located

MAX_SCENARIOS = 64

Conditions = tuple[tuple[str, bool], ...]


def scenarios(template: Template) -> list[tuple[Template, Conditions]]:
    """The scenarios of a template: itself with each combination of parameter values, and the values
    of its conditions there. One scenario (the template as it is, no conditions) when the conditions
    cannot differ."""
    conditions = template.data.get("Conditions")
    declared = template.data.get("Parameters")
    if not isinstance(conditions, dict) or not conditions or not isinstance(declared, dict):
        return [(template, ())]
    free = [
        name
        for name in dict.fromkeys(_refs(conditions))
        if name in declared and name not in template.given and name not in template.overrides
    ]
    choices = {name: _candidates(template, name, declared[name], conditions) for name in free}
    choices = {name: values for name, values in choices.items() if len(values) > 1}
    count = 1
    for values in choices.values():
        count *= len(values)
    if not choices or count > MAX_SCENARIOS:
        return [(template, ())]
    found: dict[tuple[tuple[str, bool | None], ...], Template] = {}
    for combination in itertools.product(*choices.values()):
        variant = replace(template, given={**template.given, **dict(zip(choices, combination, strict=True))})
        evaluator = Evaluator(variant)
        decided = tuple(
            (str(name), value if isinstance(value := evaluator.condition(str(name), 0), bool) else None)
            for name in conditions
        )
        found.setdefault(decided, variant)
    if len(found) == 1:
        return [(template, ())]
    return [
        (replace(variant, unit=f"{template.unit}\x00{index}"), _known(decided))
        for index, (decided, variant) in enumerate(found.items())
    ]


def _known(decided: tuple[tuple[str, bool | None], ...]) -> Conditions:
    return tuple((name, value) for name, value in decided if value is not None)


def _candidates(template: Template, name: str, declaration: Any, conditions: dict[str, Any]) -> list[Any]:
    """The values a parameter may take that can matter to the conditions, its default first."""
    if not isinstance(declaration, dict):
        return []
    allowed = declaration.get("AllowedValues")
    if isinstance(allowed, list) and allowed:
        where = template.key_location(declaration, "AllowedValues", template.at(declaration))
        values = [located(_text(value), template.at(value, where)) for value in allowed]
        default = template.parameters.get(name)
        return sorted(values, key=lambda value: str(value) != str(default))
    compared = list(dict.fromkeys(_compared(conditions, name)))
    if not compared:
        return []
    values = []
    if "Default" in declaration:
        values.append(template.parameters[name])
    values += [
        located(_text(value), template.at(value, template.at(conditions)))
        for value in compared
        if not values or _text(value) != str(values[0])
    ]
    shown = ", ".join(_text(value) for value in compared)
    values.append(OtherValue(f"parameter {name} has a value other than {shown}"))
    return values


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


def _compared(conditions: dict[str, Any], name: str) -> Iterator[Any]:
    """The literal values the conditions compare parameter `name` with (`Fn::Equals [!Ref name, value]`)."""
    for node in _nodes(conditions):
        argument = node.get("Fn::Equals") if isinstance(node, dict) and len(node) == 1 else None
        if not isinstance(argument, list) or len(argument) != 2:
            continue
        for one, other in ((argument[0], argument[1]), (argument[1], argument[0])):
            if one == {"Ref": name} and isinstance(other, (str, int, float, bool)):
                yield other
