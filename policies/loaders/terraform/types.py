"""Terraform type constraints: converting a variable's value to its declared type.

Modules declare inputs such as `object({ keepalive = optional(number, 90) })`; Terraform fills the
optional attributes' defaults in and converts primitives ("30" to 30). Without that, a module's own
default would be missed and a finding would be wrong. Unrecognised constraints leave values as given.
https://developer.hashicorp.com/terraform/language/expressions/type-constraints
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from policies.loaders.terraform.evaluate import Node, subtrees
from policies.loaders.terraform.values import (
    Encoded,
    EvalError,
    LocatedList,
    Obj,
    Unknown,
    located,
    to_bool,
    to_number,
    to_string,
    where_of,
)


@dataclass(frozen=True)
class Attribute:
    type: Type
    optional: bool = False
    default: Node | None = None


@dataclass(frozen=True)
class Type:
    kind: str  # string, number, bool, any, list, set, map, tuple, object
    element: Type | None = None  # list, set, map
    elements: tuple[Type, ...] = ()  # tuple
    attributes: tuple[tuple[str, Attribute], ...] = ()  # object


ANY = Type("any")


def _unwrap(node: Node) -> Node:
    while node.data == "expr_term" and len(subtrees(node)) == 1:
        node = subtrees(node)[0]
    return node


def parse_type(node: Node) -> Type:
    """The type a constraint expression declares; `any` for what is not a type constraint."""
    node = _unwrap(node)
    if node.data == "identifier":
        name = str(node.children[0])
        return Type(name) if name in ("string", "number", "bool") else ANY
    if node.data != "function_call":
        return ANY
    parts = subtrees(node)
    name = str(parts[0].children[0])
    arguments = subtrees(parts[-1]) if parts[-1].data == "arguments" else []
    if name in ("list", "set", "map") and len(arguments) == 1:
        return Type(name, element=parse_type(arguments[0]))
    if name == "tuple" and len(arguments) == 1 and _unwrap(arguments[0]).data == "tuple":
        return Type("tuple", elements=tuple(parse_type(item) for item in subtrees(_unwrap(arguments[0]))))
    if name == "object" and len(arguments) == 1 and _unwrap(arguments[0]).data == "object":
        attributes = []
        for element in subtrees(_unwrap(arguments[0])):
            key_node, value_node = subtrees(element)
            key = _unwrap(subtrees(key_node)[0])
            if key.data != "identifier":
                return ANY
            attributes.append((str(key.children[0]), _attribute(value_node)))
        return Type("object", attributes=tuple(attributes))
    return ANY


def _attribute(node: Node) -> Attribute:
    node = _unwrap(node)
    if node.data == "function_call" and str(subtrees(node)[0].children[0]) == "optional":
        arguments = subtrees(subtrees(node)[-1])
        default = arguments[1] if len(arguments) > 1 else None
        return Attribute(parse_type(arguments[0]), True, default)
    return Attribute(parse_type(node))


def convert(value: Any, declared: Type, default: Callable[[Node], Any]) -> Any:
    """`value` converted to `declared`, with optional attributes' defaults (evaluated by `default`)."""
    if value is None or isinstance(value, (Unknown, Encoded)) or declared.kind == "any":
        return value  # an Encoded is a JSON string that still knows where its parts were written
    try:
        if declared.kind == "number":
            return to_number(value)
        if declared.kind == "string":
            return to_string(value)
        if declared.kind == "bool":
            return to_bool(value)
    except EvalError as error:
        return Unknown(str(error))
    if declared.kind in ("list", "set", "tuple") and isinstance(value, list):
        types = declared.elements or (declared.element or ANY,) * len(value)
        converted = [convert(item, kind, default) for item, kind in zip(value, types, strict=False)]
        return located(converted, where_of(value)) if isinstance(value, LocatedList) else converted
    if declared.kind == "map" and isinstance(value, dict):
        element = declared.element or ANY
        result = Obj(((key, convert(item, element, default)) for key, item in value.items()))
        result.where.update(value.where if isinstance(value, Obj) else {})
        return result
    if declared.kind == "object" and isinstance(value, dict):
        result = Obj()
        for name, attribute in declared.attributes:
            if name in value:
                result[name] = convert(value[name], attribute.type, default)
            elif attribute.optional:
                given = default(attribute.default) if attribute.default is not None else None
                result[name] = convert(given, attribute.type, default)
            if isinstance(value, Obj) and name in value.where:
                result.where[name] = value.where[name]
        return result
    return value
