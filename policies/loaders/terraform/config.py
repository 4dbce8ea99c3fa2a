"""Terraform files into blocks: the syntax layer of the Terraform loader.

A `.tf` file is parsed once with python-hcl2's parser (v8 grammar, `hcl.parse`) and turned into
`Block`s whose attributes are still expression trees with their lines; evaluation happens later, per
module instance.

The parse of a file is first written as an `entry`: plain tuples and strings (`marshal`), the unit that
the parse cache (`policies.cache`) stores and that worker processes send back. Each attribute's
expression is kept encoded in it and turned back into a tree only when evaluation first reads it, which
most attributes (tags, policies, health checks) never are.
"""

from __future__ import annotations

import marshal
from dataclasses import dataclass, field
from typing import Any

import lark
from lark import Token, Tree
from lark.tree import Meta

from policies.loaders.reading import MAX_NESTING, too_deep
from policies.loaders.terraform import hcl
from policies.loaders.terraform.evaluate import Node, line_of, subtrees
from policies.model import InputError, Location


class Attribute:
    """`name = expression` at `location`; the expression tree is decoded from the entry when first read."""

    __slots__ = ("_encoded", "_node", "location", "name")

    def __init__(self, name: str, node: Node | bytes, location: Location) -> None:
        self.name = name
        self.location = location
        self._node: Node | None = None if isinstance(node, bytes) else node
        self._encoded = node if isinstance(node, bytes) else b""

    @property
    def node(self) -> Node:
        if self._node is None:
            self._node, self._encoded = _decode(marshal.loads(self._encoded)), b""
        return self._node


@dataclass(frozen=True)
class Block:
    type: str
    labels: tuple[str, ...]
    attributes: dict[str, Attribute]
    blocks: tuple[Block, ...]
    location: Location

    def nested(self, block_type: str) -> list[Block]:
        return [block for block in self.blocks if block.type == block_type]


@dataclass
class ConfigFile:
    path: str  # as displayed in findings
    blocks: list[Block] = field(default_factory=list)
    error: InputError | None = None
    attributes: dict[str, Attribute] = field(default_factory=dict)  # top-level ones (a .tfvars file)


def _label(node: Node) -> str:
    """A block type, block label or attribute name; HCL does not reserve keywords such as `for_each`."""
    if node.data in ("identifier", "keyword", "literal_value"):
        return str(node.children[0])
    parts = []
    for part in node.children:
        if isinstance(part, Tree) and part.children and isinstance(part.children[0], Token):
            parts.append(str(part.children[0]))
    return "".join(parts)


_END: Any = object()


def _encode(root: Node) -> Any:
    """A syntax tree as tuples: (rule, line, *children) for a tree, [type, text, line] for a token.
    Iterative, like lark's parser, so that depth is limited by marshal (2000 levels), not the stack."""
    stack: list[tuple[Node, list[Any]]] = [(root, [])]
    children = [iter(root.children)]
    while True:
        node, done = stack[-1]
        child = next(children[-1], _END)
        if child is _END:
            stack.pop()
            children.pop()
            encoded = (str(node.data), line_of(node), *done)  # a Token from a parser not loaded from cache
            if not stack:
                return encoded
            stack[-1][1].append(encoded)
        elif isinstance(child, Token):
            done.append([str(child.type), str(child), child.line])
        else:
            stack.append((child, []))
            children.append(iter(child.children))


def _decode(root: Any) -> Node:
    """The tree `_encode` encoded, iteratively. Only the line is ever read from a tree's meta, so the
    trees of one line share a Meta."""
    metas: dict[int, Meta] = {}

    def tree(item: Any, children: list[Node | Token]) -> Node:
        node = Tree(item[0], children)
        line = item[1]
        if line is not None:
            if (meta := metas.get(line)) is None:
                meta = metas[line] = Meta()  # type: ignore[no-untyped-call]
                meta.line, meta.empty = line, False
            node._meta = meta
        return node

    stack: list[tuple[Any, list[Node | Token]]] = [(root, [])]
    items = [iter(root[2:])]
    while True:
        item, done = stack[-1]
        child = next(items[-1], _END)
        if child is _END:
            stack.pop()
            items.pop()
            node = tree(item, done)
            if not stack:
                return node
            stack[-1][1].append(node)
        elif type(child) is list:
            done.append(Token(child[0], child[1], None, child[2]))
        else:
            stack.append((child, []))
            items.append(iter(child[2:]))


def _body_entry(body: Node) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(attributes, blocks) of a body: attributes as (name, line, encoded expression)."""
    attributes: dict[str, tuple[str, int | None, bytes]] = {}
    blocks = []
    for child in subtrees(body):
        if child.data == "attribute":
            name_node, expression = subtrees(child)[0], subtrees(child)[-1]
            name = _label(name_node)
            attributes[name] = (name, line_of(child), marshal.dumps(_encode(expression)))
        elif child.data == "block":
            parts = subtrees(child)
            labels = tuple(_label(part) for part in parts[:-1])
            inner = _body_entry(parts[-1])
            blocks.append((labels, line_of(child), *inner))
    return tuple(attributes.values()), tuple(blocks)


def _attributes(entries: Any, path: str) -> dict[str, Attribute]:
    return {name: Attribute(name, encoded, Location(path, line)) for name, line, encoded in entries}


def _block(entry: Any, path: str) -> Block:
    labels, line, attributes, blocks = entry
    nested = tuple(_block(block, path) for block in blocks)
    return Block(labels[0], labels[1:], _attributes(attributes, path), nested, Location(path, line))


def syntax_error(error: lark.exceptions.UnexpectedInput) -> str:
    if isinstance(error, lark.exceptions.UnexpectedToken):
        token = error.token
        if token.type == "$END":
            return "HCL syntax error: unexpected end of file (an unclosed block, string or bracket?)"
        text = str(token).strip().splitlines()[0] if str(token).strip() else repr(str(token))
        return f"HCL syntax error: unexpected {text[:40]!r}"
    if isinstance(error, lark.exceptions.UnexpectedCharacters):
        return f"HCL syntax error: unexpected character {error.char!r}"
    return "HCL syntax error"


def _parse(text: str) -> Node | tuple[str, int | None]:
    """The tree of `text`, or (message, line) of why it does not parse. RecursionError, which depends on
    this process's stack rather than on the text, is raised."""
    if (line := too_deep(text)) is not None:
        return f"nested more than {MAX_NESTING} levels deep: not parsed", line
    try:
        return hcl.parse(text)
    except RecursionError:
        raise
    except lark.exceptions.UnexpectedInput as error:
        return syntax_error(error), getattr(error, "line", None)
    except (lark.exceptions.LarkError, ValueError, RuntimeError) as error:
        return _cannot_parse(error), None


def _cannot_parse(error: Exception) -> str:
    return f"cannot parse HCL: {str(error).splitlines()[0][:120]}"


def parse_hcl(text: str, shown: str) -> tuple[Node | None, InputError | None]:
    try:
        parsed = _parse(text)
    except RecursionError as error:
        return None, InputError(shown, _cannot_parse(error))
    if isinstance(parsed, tuple):
        return None, InputError(shown, *parsed)
    return parsed, None


def entry(text: str) -> bytes:
    """The parse of a file's text, as the cache stores it: marshalled (1, attributes, blocks), or
    (0, message, line) when it does not parse. It names no path, so equal texts share one entry.
    RecursionError, which depends on this process's stack rather than on the text, is raised."""
    tree = _parse(text)
    if isinstance(tree, tuple):
        return marshal.dumps((0, *tree))
    try:
        return marshal.dumps((1, *_body_entry(subtrees(tree)[0])))
    except ValueError as error:  # marshal refuses values nested 2000 levels deep: a property of the text
        if "deeply" not in str(error):
            raise
        return marshal.dumps((0, "configuration nested too deeply", None))


def config_file(data: bytes, shown: str) -> ConfigFile | None:
    """The file `shown` from its entry; None when the entry is not one (a damaged cache file)."""
    try:
        kind, *rest = marshal.loads(data)
        if kind == 0:
            message, line = rest
            return ConfigFile(shown, error=InputError(shown, message, line))
        attributes, blocks = rest
        return ConfigFile(
            shown, [_block(block, shown) for block in blocks], None, _attributes(attributes, shown)
        )
    except (EOFError, ValueError, TypeError, IndexError):
        return None
