"""python-hcl2's parser, made to record only what the loader reads of a position: the line.

`hcl2.parses_to_tree` runs Lark with `propagate_positions=True`, whose wrapper gives every tree its start
and end line, column and offset, and the same again for its inlined container: a quarter of the time of
a parse.
The loader reads only the start line (`evaluate.line_of`). This parser is python-hcl2's own (its grammar,
options, post-lexer and `.lark_cache.bin`), with that wrapper replaced by `_Lines`, which sets the start
line by the same rule: the line of the first child that has one, or its container's line when that child
is an inlined rule. The trees and their lines are python-hcl2's (tests/loaders/test_parsing.py compares
them on every fixture and a generated corpus).

When a Lark release names its internals differently, the wrapper is left in place: the parse is then
python-hcl2's exactly, only slower.
"""

from __future__ import annotations

import functools
from typing import Any

import hcl2.parser
from hcl2.postlexer import PostLexer
from lark import Lark, Token, Tree
from lark.parse_tree_builder import PropagatePositions


class _Lines:
    """Lark's `PropagatePositions` reduced to the start line (`meta.line`, and `container_line` for a
    tree an outer rule is inlined into)."""

    __slots__ = ("node_builder",)

    def __init__(self, node_builder: Any) -> None:
        self.node_builder = node_builder

    def __call__(self, children: list[Any]) -> Any:
        tree = self.node_builder(children)
        if isinstance(tree, Tree):
            for child in children:
                if isinstance(child, Tree):
                    meta = child._meta
                    if meta is not None and not meta.empty:
                        line = getattr(meta, "container_line", meta.line)
                        break
                elif isinstance(child, Token):
                    line = child.line
                    break
            else:
                return tree
            meta = tree.meta
            if not hasattr(meta, "line"):
                meta.line, meta.empty = line, False
            meta.container_line = line  # type: ignore[attr-defined]
        return tree


def lines_only(lark: Lark) -> int:
    """Replace `lark`'s position wrappers by `_Lines`, in place; the number replaced."""
    callbacks: dict[Any, Any] = getattr(lark, "_callbacks", None) or {}
    replaced = 0
    for rule, callback in callbacks.items():
        if type(callback) is PropagatePositions:
            callbacks[rule] = _Lines(callback.node_builder)
            replaced += 1
    return replaced


@functools.lru_cache(maxsize=1)
def parser() -> Lark:
    """python-hcl2's parser (`hcl2.parser.parser()`'s arguments, so it shares python-hcl2's cache file),
    a separate instance so that python-hcl2's own is left as it is."""
    lark = Lark.open(
        "hcl2.lark",
        parser="lalr",
        cache=str(hcl2.parser.PARSER_FILE),
        rel_to=hcl2.parser.__file__,
        propagate_positions=True,
        postlex=PostLexer(),
    )
    lines_only(lark)
    return lark


def parse(text: str) -> Tree[Token]:
    """The tree of `text`, as `hcl2.parses_to_tree` gives it (which appends the same newline: Lark's
    grammar cannot end a line at the end of the input)."""
    return parser().parse(text + "\n")
