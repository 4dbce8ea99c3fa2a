"""Terraform files into blocks: the syntax layer of the Terraform loader.

A `.tf` file is parsed once with python-hcl2 (v8, `parses_to_tree`) and turned into `Block`s whose
attributes are still expression trees with their lines; evaluation happens later, per module instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import hcl2
import lark
from lark import Token, Tree

from policies.loaders.terraform.evaluate import Node, line_of, subtrees
from policies.model import InputError, Location

MAX_FILE_BYTES = 20 * 1024 * 1024  # larger .tf files are not hand-written configuration


@dataclass(frozen=True)
class Attribute:
    name: str
    node: Node  # the expression
    location: Location


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


def _label(node: Node) -> str:
    """A block type, block label or attribute name; HCL does not reserve keywords such as `for_each`."""
    if node.data in ("identifier", "keyword", "literal_value"):
        return str(node.children[0])
    parts = []
    for part in node.children:
        if isinstance(part, Tree) and part.children and isinstance(part.children[0], Token):
            parts.append(str(part.children[0]))
    return "".join(parts)


def _body(body: Node, path: str) -> tuple[dict[str, Attribute], tuple[Block, ...]]:
    attributes: dict[str, Attribute] = {}
    blocks: list[Block] = []
    for child in subtrees(body):
        if child.data == "attribute":
            name_node, expression = subtrees(child)[0], subtrees(child)[-1]
            name = _label(name_node)
            attributes[name] = Attribute(name, expression, Location(path, line_of(child)))
        elif child.data == "block":
            blocks.append(_block(child, path))
    return attributes, tuple(blocks)


def _block(node: Node, path: str) -> Block:
    parts = subtrees(node)
    labels = [_label(part) for part in parts[:-1]]
    attributes, blocks = _body(parts[-1], path)
    return Block(labels[0], tuple(labels[1:]), attributes, blocks, Location(path, line_of(node)))


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


def read_text(path: Path, shown: str) -> tuple[str | None, InputError | None]:
    """The text of an input file, or a one-line error saying why it cannot be read."""
    try:
        if path.is_dir():
            return None, InputError(shown, "is a directory, not a file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, InputError(shown, f"file is {size // (1024 * 1024)} MB, over the 20 MB limit")
        data = path.read_bytes()
    except OSError as error:
        return None, InputError(shown, f"cannot read: {error.strerror or error}")
    if b"\0" in data:
        return None, InputError(shown, "binary file, not text")
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data  # a UTF-8 byte order mark is allowed
    try:
        return body.decode("utf-8"), None
    except UnicodeDecodeError as error:
        line = body[: error.start].count(b"\n") + 1
        return None, InputError(shown, f"not UTF-8 text (byte 0x{body[error.start]:02x})", line)


def parse_hcl(text: str, shown: str) -> tuple[Node | None, InputError | None]:
    try:
        return hcl2.parses_to_tree(text), None
    except lark.exceptions.UnexpectedInput as error:
        return None, InputError(shown, syntax_error(error), getattr(error, "line", None))
    except (lark.exceptions.LarkError, RecursionError, ValueError, RuntimeError) as error:
        return None, InputError(shown, f"cannot parse HCL: {str(error).splitlines()[0][:120]}")


def parse_file(path: Path, shown: str) -> ConfigFile:
    text, error = read_text(path, shown)
    if text is None:
        return ConfigFile(shown, error=error)
    tree, error = parse_hcl(text, shown)
    if tree is None:
        return ConfigFile(shown, error=error)
    try:
        blocks = [_block(node, shown) for node in subtrees(subtrees(tree)[0]) if node.data == "block"]
    except RecursionError:
        return ConfigFile(shown, error=InputError(shown, "configuration nested too deeply"))
    return ConfigFile(shown, blocks)


def parse_attributes(path: Path, shown: str) -> tuple[dict[str, Attribute], InputError | None]:
    """The top-level attributes of a `.tfvars` file."""
    text, error = read_text(path, shown)
    if text is None:
        return {}, error
    tree, error = parse_hcl(text, shown)
    if tree is None:
        return {}, error
    attributes, _ = _body(subtrees(tree)[0], shown)
    return attributes, None
