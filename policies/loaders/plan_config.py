"""The `.tf` configuration a plan was made from (`--repo-root DIR`): where each planned resource is written.

A plan names resources by address (`module.api.aws_lb.this`) and knows only its own lines. Given the
directory `terraform plan` ran in, each address is mapped back to its `resource` block: the module path
is walked through the plan's `configuration` module calls, a local source (`./modules/x`) relative to
the calling module's directory, any other (registry, git) through `.terraform/modules/modules.json`
under DIR, as `terraform init` left it. Instance keys (`module.api["x"]`, `aws_lb.this[0]`) lead to
the same block. Blocks and attributes are found by parsing the `.tf` files only, never by evaluating
them; the values stay the plan's. Where a module or block is not found (not downloaded, or a file that
does not parse), the resource keeps its place in the plan.

The plan's configuration leaves out `locals` (terraform-aws-modules/ecs passes its task definition as
`task_definition = local.task_definition`); a local is followed through the references its expression
in the module's `.tf` files makes (`references`), as Terraform itself lists them for other expressions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lark import Token, Tree

from policies.loaders.terraform.config import Attribute, Block
from policies.loaders.terraform.evaluate import Node, line_of, subtrees, unescape
from policies.loaders.terraform.module import Loader, Module, source_directory
from policies.loaders.terraform.values import Obj, located, to_string
from policies.model import Location

_CALL = re.compile(r"^module\.([A-Za-z_][A-Za-z0-9_-]*)")


def _few(items: list[str]) -> str:
    return ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a list; the plan loader's type check leaves null where an entry was wrong."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


class Configuration:
    """The modules under one root directory, found by walking a plan's module calls."""

    def __init__(self, root: Path, configuration: dict[str, Any]):
        self.root = root.resolve()
        self.root_module = _dict(configuration.get("root_module"))
        self.loader = Loader()
        self._modules: dict[tuple[str, ...], Module | None] = {}

    def module(self, calls: Sequence[str]) -> Module | None:
        """The module that the chain of module `calls` (`("api", "service")`; () for the root) loads."""
        key = tuple(calls)
        if key not in self._modules:
            directory = self._directory(key)
            self._modules[key] = self.loader.module(directory) if directory is not None else None
        return self._modules[key]

    def _directory(self, calls: tuple[str, ...]) -> Path | None:
        directory: Path | None = self.root
        config = self.root_module
        for depth, call in enumerate(calls):
            entry = _dict(_dict(config.get("module_calls")).get(call))
            source = entry.get("source")
            if directory is None or not isinstance(source, str):
                return None
            key = ".".join(calls[: depth + 1])  # the call's key in modules.json
            directory = source_directory(source, key, directory, self.root, self.loader)
            config = _dict(entry.get("module"))
        return directory

    def block(self, calls: Sequence[str], mode: str, resource_type: str, name: str) -> Block | None:
        """The `resource` (or `data`) block of a planned resource, None when it cannot be found."""
        module = self.module(calls)
        if module is None:
            return None
        table = module.data if mode == "data" else module.resources
        return table.get((resource_type, name))

    def differs(self, document: dict[str, Any]) -> str | None:
        """Why the root module's `.tf` files are not what the plan (or state) `document` was made
        from; None when they are: a plan configures the same resources, data sources and module calls
        in its root module, a state holds only resources and module calls the files configure."""
        module = self.module(())
        if module is None or any(file.error is not None for file in module.files):
            return "its .tf files do not parse"
        written = {("managed", *key) for key in module.resources} | {("data", *key) for key in module.data}
        calls = set(module.calls)
        configured = _dict(document.get("configuration")).get("root_module")
        if isinstance(configured, dict):
            planned = {
                (str(item.get("mode", "managed")), str(item.get("type")), str(item.get("name")))
                for item in _objects(configured.get("resources"))
            }
            planned_calls = set(_dict(configured.get("module_calls")))
            exact = True
        else:
            state = _dict(_dict(document.get("values")).get("root_module"))
            planned = {
                (str(item.get("mode", "managed")), str(item.get("type")), str(item.get("name")))
                for item in _objects(state.get("resources"))
            }
            planned_calls = {
                match.group(1)
                for child in _objects(state.get("child_modules"))
                if (match := _CALL.match(str(child.get("address", ""))))
            }
            exact = False
        missing = sorted(".".join(part for part in key if part != "managed") for key in planned - written)
        missing += sorted(f"module.{call}" for call in planned_calls - calls)
        extra = sorted(".".join(part for part in key if part != "managed") for key in written - planned)
        extra += sorted(f"module.{call}" for call in calls - planned_calls)
        if missing:
            return f"it has {_few(missing)}, which they do not configure"
        if isinstance(configured, dict):
            changed = _changed_literals(configured, module)
            if changed:
                return f"{_few(changed)}"
        if exact and extra:
            return f"they configure {_few(extra)}, which it does not have"
        if not planned and not planned_calls:
            return "it has no resources in its root module"
        return None

    def local(self, calls: Sequence[str], name: str) -> Attribute | None:
        """The `locals` entry `name` of the module the chain of module `calls` loads, when found."""
        module = self.module(calls)
        return module.locals.get(name) if module is not None else None

    @property
    def files(self) -> tuple[str, ...]:
        """The `.tf` files read, as findings name them."""
        return tuple(dict.fromkeys(self.loader.read_files))


def _literal(node: Node) -> tuple[bool, Any]:
    """(True, value) for a number, plain string or boolean written as such; (False, None) otherwise."""
    node = _unwrap(node)
    if node.data in ("int_lit", "float_lit"):
        number = float(str(node.children[0]))
        return True, int(number) if number.is_integer() else number
    if node.data == "literal_value" and str(node.children[0]) in ("true", "false"):
        return True, str(node.children[0]) == "true"
    if node.data == "string" and all(part.data == "string_part" for part in subtrees(node)):
        tokens = [token for part in subtrees(node) for token in part.children]
        if all(isinstance(token, Token) for token in tokens):
            return True, unescape("".join(str(token) for token in tokens))
    return False, None


def _changed_literals(configured: dict[str, Any], module: Module) -> list[str]:
    """Root resource arguments written as literals whose value the plan's configuration records
    otherwise: the `.tf` files changed since the plan was made."""
    changed = []
    for item in _objects(configured.get("resources")):
        table = module.data if item.get("mode") == "data" else module.resources
        block = table.get((str(item.get("type")), str(item.get("name"))))
        if block is None:
            continue
        for name, expression in sorted(_dict(item.get("expressions")).items()):
            attribute = block.attributes.get(name)
            if attribute is None:
                continue
            is_literal, written = _literal(attribute.node)
            planned = _dict(expression).get("constant_value")
            if is_literal and _dict(expression).get("references"):
                planned_text = f"an expression of {', '.join(map(str, _dict(expression)['references']))}"
            elif (
                is_literal
                and isinstance(planned, (str, int, float, bool))
                and to_string(written) != to_string(planned)
            ):
                planned_text = json.dumps(planned)
            else:
                continue
            changed.append(
                f"{attribute.location} sets {name} = {json.dumps(written)} where the plan's configuration "
                f"has {planned_text}"
            )
    return changed


# --- what an expression refers to, as the plan's `references` lists it -------------------------------

_TRAVERSALS = frozenset({"get_attr_expr_term", "index_expr_term"})


def references(node: Node) -> list[str]:
    """The references an HCL expression makes, written as `terraform show -json` writes them: the
    traversal from a name through attributes and constant indexes (`aws_ecs_task_definition.this[0]
    .family`, `module.alb.target_groups["app"]`, `local.x`), stopping at a computed index, whose own
    references are listed too. Names a `for` expression binds are not references."""
    found: list[str] = []
    _collect(node, frozenset(), found)
    return list(dict.fromkeys(found))


def _collect(node: Node, bound: frozenset[str], found: list[str]) -> None:
    if node.data in ("for_tuple_expr", "for_object_expr"):
        intro = next(child for child in subtrees(node) if child.data == "for_intro")
        names = {str(child.children[0]) for child in subtrees(intro) if child.data == "identifier"}
        for child in subtrees(intro):
            if child.data != "identifier":
                _collect(child, bound, found)  # the collection: outside the loop's names
        for child in subtrees(node):
            if child is not intro:
                _collect(child, bound | names, found)
        return
    if node.data not in _TRAVERSALS:
        for child in subtrees(node):
            _collect(child, bound, found)
        return
    steps: list[Node] = []
    base = node
    while base.data in _TRAVERSALS:
        target, accessor = subtrees(base)
        steps.insert(0, accessor)
        base = _unwrap(target)
    if base.data != "identifier":
        _collect(base, bound, found)
    elif str(base.children[0]) not in bound:
        text, constant = str(base.children[0]), True
        for accessor in steps:
            if accessor.data == "get_attr" and constant:
                text += "." + str(subtrees(accessor)[0].children[0])
            elif accessor.data != "get_attr" and constant:
                key = _constant_index(accessor)
                constant = key is not None
                text += key or ""
        found.append(text)
    for accessor in steps:
        if accessor.data != "get_attr":
            for child in subtrees(accessor):
                _collect(child, bound, found)


def member(node: Node, steps: Sequence[str | int]) -> Node:
    """The part of `node` that `steps` (object keys, tuple indexes) lead to, as far as it is written out
    as an object or tuple literal; where it is not, the expression reached so far."""
    for step in steps:
        inner = _unwrap(node)
        if inner.data == "object" and isinstance(step, str):
            found = None
            for element in subtrees(inner):
                key_node, value_node = subtrees(element)
                if _literal_key(key_node) == step:
                    found = value_node
            if found is None:
                return node
            node = found
        elif inner.data == "tuple" and isinstance(step, int) and 0 <= step < len(subtrees(inner)):
            node = subtrees(inner)[step]
        else:
            return node
    return node


def _constant_index(accessor: Node) -> str | None:
    """`[0]` or `["api"]` for an index written as a number or a plain string; None for anything else."""
    inner = [_unwrap(child) for child in subtrees(accessor)]
    if len(inner) != 1:
        return None
    if inner[0].data == "int_lit":
        return f"[{inner[0].children[0]}]"
    if inner[0].data == "string" and all(part.data == "string_part" for part in subtrees(inner[0])):
        text = "".join(str(token) for part in subtrees(inner[0]) for token in part.children)
        if not any(isinstance(token, Tree) for part in subtrees(inner[0]) for token in part.children):
            return "[" + json.dumps(unescape(text)) + "]"
    return None


# --- where inside an attribute: `container_definitions = jsonencode([{ command = [...] }])` ---------


@dataclass(frozen=True)
class Shape:
    """Where the parts of a literal HCL value are written: an object's keys (each with its own line
    and its value's shape), a tuple's items, or, for anything else, only where the expression is."""

    location: Location
    keys: dict[str, tuple[Location, Shape]] | None = None
    items: tuple[Shape, ...] | None = None


def _unwrap(node: Node) -> Node:
    while node.data == "expr_term" and len(subtrees(node)) == 1 and not _parenthesised(node):
        node = subtrees(node)[0]
    return node


def _parenthesised(node: Node) -> bool:
    return any(isinstance(child, Token) and child.type == "LPAR" for child in node.children)


def _literal_key(node: Node) -> str | None:
    """An object key written as a name or a plain quoted string; None for a computed key."""
    inner = subtrees(node)[0]  # object_elem_key -> the key expression
    if inner.data == "keyword":
        return str(inner.children[0])
    if inner.data == "expr_term" and _parenthesised(inner):
        return None
    inner = _unwrap(inner)
    if inner.data == "identifier":
        return str(inner.children[0])
    if inner.data == "string":
        parts = subtrees(inner)
        if all(part.data == "string_part" for part in parts):
            return "".join(str(token) for part in parts for token in part.children)
    return None


def _shape(node: Node, path: str, fallback: int | None) -> Shape:
    node = _unwrap(node)
    line = line_of(node) or fallback
    here = Location(path, line)
    if node.data == "object":
        keys: dict[str, tuple[Location, Shape]] = {}
        for element in subtrees(node):
            key_node, value_node = subtrees(element)
            key = _literal_key(key_node)
            if key is not None:
                at = line_of(element) or line
                keys[key] = (Location(path, at), _shape(value_node, path, at))
        return Shape(here, keys=keys)
    if node.data == "tuple":
        return Shape(here, items=tuple(_shape(item, path, line) for item in subtrees(node)))
    return Shape(here)


def encoded_shape(attribute: Attribute) -> Shape | None:
    """The shape of `jsonencode(<literal>)`'s argument, for an attribute written so; else None."""
    node = _unwrap(attribute.node)
    if node.data != "function_call":
        return None
    parts = subtrees(node)
    names = [str(part.children[0]) for part in parts if part.data == "identifier"]
    arguments = subtrees(parts[-1]) if parts and parts[-1].data == "arguments" else []
    if names != ["jsonencode"] or len(arguments) != 1:
        return None
    return _shape(arguments[0], attribute.location.path, attribute.location.line)


def relocate(data: Any, shape: Shape) -> Any:
    """Decoded JSON `data` as `Obj`s and located values, each placed where `shape` says it is written;
    a part the shape does not describe (a key the provider added, a value computed by an expression)
    is placed where its nearest described container is."""
    where = shape.location
    if isinstance(data, dict):
        keys = shape.keys or {}
        result = Obj()
        for key, value in data.items():
            at, inner = keys.get(key, (where, Shape(where)))
            result[key] = relocate(value, inner)
            result.where[key] = at
        return result
    if isinstance(data, list):
        items = shape.items if shape.items is not None and len(shape.items) == len(data) else None
        return located(
            [relocate(item, items[index] if items else Shape(where)) for index, item in enumerate(data)],
            where,
        )
    return located(data, where)
