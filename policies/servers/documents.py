"""Structured configuration files (YAML, JSON, TOML) as trees whose scalars remember their line, for
the server families that read a configuration copied into the image (Envoy, Traefik).

YAML is composed with PyYAML's safe loader, never constructed into objects: no tags are resolved, no
code runs. An alias is a reference to a node seen before, so a document that expands beyond any real
configuration through aliases ("billion laughs") is given up on, as is one with several documents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeAlias

MAX_NODES = 100_000  # no configuration file has more; an alias bomb has far more


@dataclass(frozen=True)
class Scalar:
    """A scalar of a document: its text, the line it is on, and whether it was quoted (a string)."""

    text: str
    line: int | None = None
    quoted: bool = False


Node: TypeAlias = "dict[str, Node] | list[Node] | Scalar"


class _TooLarge(Exception):
    pass


def load_yaml(text: str) -> Node | None:
    """A YAML document as a tree, or None when it is not valid YAML, holds several documents, or is
    larger than any configuration file."""
    import yaml  # PyYAML: imported only when an image holds a YAML configuration

    def tree(node: yaml.Node, budget: list[int]) -> Node:
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooLarge
        if isinstance(node, yaml.MappingNode):
            own: dict[str, Node] = {}
            # `<<: *a` or `<<: [*a, *b]`: the mapping's own keys win, then earlier ones
            merged: dict[str, Node] = {}
            for key, value in node.value:
                if key.tag == "tag:yaml.org,2002:merge":
                    sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
                    for source in sources:
                        found = tree(source, budget)
                        for name, item in found.items() if isinstance(found, dict) else ():
                            merged.setdefault(name, item)
                    continue
                name = key.value if isinstance(key, yaml.ScalarNode) else str(tree(key, budget))
                own[str(name)] = tree(value, budget)
            return {**merged, **own}
        if isinstance(node, yaml.SequenceNode):
            return [tree(item, budget) for item in node.value]
        style = node.style if isinstance(node, yaml.ScalarNode) else None
        return Scalar(str(node.value), node.start_mark.line + 1, style in ("'", '"'))

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        return tree(node, [MAX_NODES]) if node is not None else None
    except (yaml.YAMLError, _TooLarge, RecursionError):
        return None


def from_json(value: Any) -> Node:
    """A parsed JSON (or TOML) document as the same tree (no lines; strings quoted, numbers not)."""
    if isinstance(value, dict):
        return {str(key): from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    if isinstance(value, str):
        return Scalar(value, None, True)
    return Scalar(json.dumps(value, default=str), None, False)


def load_document(text: str, path: str) -> Node | None:
    """A JSON or YAML configuration file (JSON when it is named so or starts with `{`)."""
    if path.endswith(".json") or text.lstrip().startswith("{"):
        try:
            return from_json(json.loads(text))
        except (ValueError, RecursionError):
            return None
    return load_yaml(text)


def child(node: Node | None, *keys: str) -> Node | None:
    """node[key][key]..., None when any step is missing."""
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node
