"""Evaluate Terraform expressions from python-hcl2's parse tree.

The tree is the raw Lark tree of python-hcl2's v8 grammar (`hcl.parse`), which carries line
numbers. Evaluation is total: a wrong or unresolvable expression yields an `Unknown` with a reason,
never an exception, and never a guess. Names outside the expression (`var`, `local`, `module`, resource
types, ...) are resolved by a `Scope` supplied by the module loader.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import lark
from lark import Token, Tree

from policies.loaders.terraform import hcl
from policies.loaders.terraform.functions import FUNCTIONS
from policies.loaders.terraform.values import (
    Encoded,
    EvalError,
    NeedKnown,
    Obj,
    ResourceRef,
    Spanned,
    Text,
    Unknown,
    all_refs,
    bounded,
    first_unknown,
    hole,
    known,
    located,
    spanned,
    to_bool,
    to_number,
    to_string,
    type_name,
    where_of,
)
from policies.model import Location

Node = Tree[Token]  # a node of python-hcl2's parse tree
MAX_DEPTH = 200  # nesting beyond this is not a real configuration; it is reported, not recursed into


class Scope(Protocol):
    """What an expression can see besides its own local names."""

    path: str  # the file the expression was written in

    def lookup(self, name: str) -> Any:
        """The value of a top-level name (`var`, `local`, `aws_lb`, ...); raise EvalError if undefined."""

    def function(self, name: str, line: int | None) -> Callable[..., Any] | None:
        """A function that needs the module (file, templatefile, ...), called at `line`; else None."""


class Namespace:
    """A name whose attributes are looked up lazily: `var`, `local`, `module`, `data`, a resource type."""

    def __init__(self, describe: str, get: Callable[[str], Any]):
        self.describe = describe
        self.get = get

    def __repr__(self) -> str:
        return f"<{self.describe}>"


@dataclass(frozen=True)
class Env:
    scope: Scope
    names: tuple[tuple[str, Any], ...] = ()  # for-expression and template variables, innermost last
    depth: int = 0

    def bind(self, **names: Any) -> Env:
        return Env(self.scope, self.names + tuple(names.items()), self.depth)

    def deeper(self) -> Env:
        if self.depth >= MAX_DEPTH:
            raise EvalError(f"expression nested more than {MAX_DEPTH} levels deep")
        return Env(self.scope, self.names, self.depth + 1)

    def lookup(self, name: str) -> Any:
        for bound, value in reversed(self.names):
            if bound == name:
                return value
        return self.scope.lookup(name)


def line_of(node: Node | Token) -> int | None:
    if isinstance(node, Token):
        return node.line
    meta = node.meta
    return None if meta.empty else meta.line


def subtrees(node: Node) -> list[Node]:
    """The children of `node` that are expressions, skipping punctuation and comments."""
    return [
        child for child in node.children if isinstance(child, Tree) and child.data != "new_line_or_comment"
    ]


def evaluate(node: Node, env: Env) -> Any:
    """The value of an expression node; unknown (never an exception) when it cannot be known."""
    try:
        value = _evaluate(node, env)
        if isinstance(value, Namespace):  # `var` alone: Terraform's "cannot be accessed directly"
            raise EvalError(f'"{value.describe}" cannot be used as a value, only its attributes')
        return value
    except NeedKnown as signal:
        return signal.unknown
    except EvalError as error:
        return Unknown(str(error))
    except RecursionError:
        return Unknown("expression too deeply nested")


def _evaluate(node: Node, env: Env) -> Any:
    handler = _HANDLERS.get(node.data)
    if handler is None:
        raise EvalError(f"unsupported expression ({node.data})")
    return handler(node, env.deeper())


def _expr_term(node: Node, env: Env) -> Any:
    inner = subtrees(node)
    if len(inner) == 1:
        return _evaluate(inner[0], env)
    tokens = [child for child in node.children if isinstance(child, Token)]
    raise EvalError(f"unsupported expression near {tokens[0] if tokens else node.data}")


def _here(node: Node, env: Env) -> Location:
    return Location(env.scope.path, line_of(node))


def _int_lit(node: Node, env: Env) -> Any:
    try:
        return located(int(str(node.children[0])), _here(node, env))
    except ValueError:  # beyond Python's 4,300-digit conversion limit
        raise EvalError("number literal too long") from None


def _float_lit(node: Node, env: Env) -> Any:
    return located(float(str(node.children[0])), _here(node, env))


def _literal_value(node: Node, env: Env) -> Any:
    return {"true": True, "false": False, "null": None}[str(node.children[0])]


def _identifier(node: Node, env: Env) -> Any:
    name = str(node.children[0])
    return env.lookup(name)


def _tuple(node: Node, env: Env) -> Any:
    return located([evaluate(item, env) for item in subtrees(node)], _here(node, env))


def _object_key(node: Node, env: Env) -> str | Unknown:
    """An object key: a bare identifier is its own name; anything else is evaluated."""
    inner = subtrees(node)[0]  # object_elem_key -> expression or keyword
    if inner.data == "keyword":
        return str(inner.children[0])
    if inner.data == "expr_term":
        terms = subtrees(inner)
        parenthesised = any(isinstance(child, Token) and child.type == "LPAR" for child in inner.children)
        if len(terms) == 1 and terms[0].data == "identifier" and not parenthesised:
            return str(terms[0].children[0])
    key = evaluate(inner, env)
    if isinstance(key, Unknown):
        return key
    text = to_string(key)
    if text is None:
        raise EvalError("object key is null")
    return text


def _object(node: Node, env: Env) -> Obj:
    result = Obj()
    for element in subtrees(node):
        key_node, value_node = subtrees(element)
        key = _object_key(key_node, env)
        if isinstance(key, Unknown):
            continue  # an element whose key is unknown cannot be addressed by anything we check
        result[key] = evaluate(value_node, env)
        result.where[key] = _here(element, env)
    return result


def _get_attr(value: Any, name: str) -> Any:
    if isinstance(value, Namespace):
        return value.get(name)
    if isinstance(value, ResourceRef):
        return value.attribute(name)
    if isinstance(value, Unknown):
        return Unknown(value.reason, value.refs)
    if isinstance(value, dict):
        if name in value:
            return value[name]
        raise EvalError(f'object has no attribute "{name}"')
    raise EvalError(f'cannot take attribute "{name}" of {type_name(value)}')


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Unknown):
        return Unknown(value.reason, value.refs | all_refs(key))
    if isinstance(value, ResourceRef):
        if isinstance(key, Unknown):
            return value  # some instance of it: keep the whole resource as the reference
        text = to_string(key) if isinstance(key, str) else key
        suffix = f'["{text}"]' if isinstance(text, str) else f"[{text}]"
        address = value.address + suffix
        if value.instances and address not in value.instances:
            raise EvalError(f"{value.address} has no instance {suffix}")
        return ResourceRef(address)
    if isinstance(value, Namespace):
        raise EvalError(f"cannot index {value.describe}")
    key = known(key)
    if isinstance(value, list):
        position = to_number(key)
        if not isinstance(position, int) and not (isinstance(position, float) and position.is_integer()):
            raise EvalError(f"list index must be a whole number, got {key!r}")
        if not 0 <= int(position) < len(value):
            raise EvalError(f"index {int(position)} out of range for a list of {len(value)}")
        return value[int(position)]
    if isinstance(value, dict):
        text = to_string(key)
        if text in value:
            return value[text]
        raise EvalError(f'no key "{text}"')
    raise EvalError(f"cannot index {type_name(value)}")


def _get_attr_expr_term(node: Node, env: Env) -> Any:
    target, accessor = subtrees(node)
    return _get_attr(_evaluate(target, env), str(subtrees(accessor)[0].children[0]))


def _index_value(accessor: Node, env: Env) -> Any:
    if accessor.data == "short_index":
        return int(str(accessor.children[-1]))
    return evaluate(subtrees(accessor)[0], env)


def _index_expr_term(node: Node, env: Env) -> Any:
    target, accessor = subtrees(node)
    return _index(_evaluate(target, env), _index_value(accessor, env))


def _apply_accessors(value: Any, accessors: list[Node], env: Env) -> Any:
    for accessor in accessors:
        if accessor.data == "get_attr":
            value = _get_attr(value, str(subtrees(accessor)[0].children[0]))
        else:
            value = _index(value, _index_value(accessor, env))
    return value


def _splat(node: Node, env: Env) -> Any:
    target, splat = subtrees(node)
    value = _evaluate(target, env)
    accessors = subtrees(splat)
    if isinstance(value, (ResourceRef, Unknown)):
        refs = all_refs(value)
        return Unknown(f"{'splat of ' + min(refs) if refs else 'splat'} is known only after apply", refs)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [_apply_accessors(item, accessors, env) for item in items]


def _operands(node: Node) -> tuple[Node, str, Node]:
    left, term = subtrees(node)[:2]
    operator_node, right = subtrees(term)
    return left, str(operator_node.children[0]).strip(), right


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    # cty's Modulo is a - b * trunc(a / b): the remainder takes the sign of the dividend, as Go's
    # math.Mod (github.com/zclconf/go-cty, cty/value_ops.go), not Python's floored `%`
    "%": lambda a, b: math.fmod(a, b) if isinstance(a, float) or isinstance(b, float) else _remainder(a, b),
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _binary_op(node: Node, env: Env) -> Any:
    left_node, operator, right_node = _operands(node)
    left = _evaluate(left_node, env)
    if operator in ("&&", "||"):
        if not isinstance(left, Unknown):
            decided = to_bool(left)
            if operator == "&&" and decided is False:
                return False
            if operator == "||" and decided is True:
                return True
        right = _evaluate(right_node, env)
        unknowns = [value for value in (left, right) if isinstance(value, Unknown)]
        if unknowns:
            return Unknown.merge(unknowns)
        return bool(to_bool(right))
    right = _evaluate(right_node, env)
    unknown_operands = [
        _as_unknown(value) for value in (left, right) if isinstance(value, (Unknown, ResourceRef))
    ]
    if unknown_operands:
        return Unknown.merge(unknown_operands)
    if operator == "==":
        return _equal(left, right)
    if operator == "!=":
        return not _equal(left, right)
    a, b = to_number(left), to_number(right)
    if a is None or b is None:
        raise EvalError(f"operator {operator} on null")
    if operator in "/%" and b == 0:
        raise EvalError("division by zero")
    try:
        result = _ARITHMETIC[operator](a, b)
    except (OverflowError, ValueError) as error:  # beyond a double, or Python's int conversion limit
        raise EvalError(f"operator {operator}: the result is out of range ({error})") from None
    if isinstance(result, float) and result.is_integer() and operator != "/":
        return int(result)
    return result


def _remainder(a: int, b: int) -> int:
    remainder = abs(a) % abs(b)
    return remainder if a >= 0 else -remainder


def _as_unknown(value: Unknown | ResourceRef) -> Unknown:
    return value if isinstance(value, Unknown) else value.attribute("*")


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return bool(left == right)


def _unary_op(node: Node, env: Env) -> Any:
    operator = str(node.children[0])
    value = _evaluate(subtrees(node)[0], env)
    if isinstance(value, Unknown):
        return value
    if operator == "!":
        return not to_bool(value)
    number = to_number(value)
    if number is None:
        raise EvalError("negation of null")
    return -number


def _conditional(node: Node, env: Env) -> Any:
    condition_node, then_node, else_node = subtrees(node)
    condition = _evaluate(condition_node, env)
    if isinstance(condition, Unknown):
        # Either branch may be live: keep what both would reference.
        branches = [evaluate(then_node, env), evaluate(else_node, env)]
        return Unknown(
            f"condition is unknown ({condition.reason})",
            condition.refs | all_refs(branches[0]) | all_refs(branches[1]),
        )
    return _evaluate(then_node if to_bool(condition) else else_node, env)


def _function_call(node: Node, env: Env) -> Any:
    parts = subtrees(node)
    names = [str(part.children[0]) for part in parts if part.data == "identifier"]
    name = "::".join(names)
    argument_nodes = subtrees(parts[-1]) if parts[-1].data == "arguments" else []
    expand = parts[-1].data == "arguments" and any(
        isinstance(child, Token) and child.type == "ELLIPSIS" for child in parts[-1].children
    )
    if name in ("try", "can"):
        return _try_or_can(name, argument_nodes, env)
    args = [evaluate(argument, env) for argument in argument_nodes]
    if expand and args:
        tail = known(args[-1])
        if not isinstance(tail, list):
            raise EvalError(f"{name}(...): the expanded argument is not a list")
        args = args[:-1] + tail
    try:
        context_function = env.scope.function(name, line_of(node))
        if context_function is not None:
            return context_function(*args)  # handles unknown arguments itself
        function = FUNCTIONS.get(name)
        if function is None:
            refs = frozenset().union(*(all_refs(arg) for arg in args))
            return Unknown(f"function {name}() is not evaluated", refs)
        unknowns = [arg for arg in args if isinstance(arg, Unknown)]
        if unknowns and name not in _TAKES_UNKNOWN:
            return Unknown.merge(unknowns)
        return function(*args)
    except NeedKnown as signal:
        refs = frozenset().union(*(all_refs(arg) for arg in args))
        return Unknown(signal.unknown.reason, signal.unknown.refs | refs)
    except TypeError:
        raise EvalError(f"{name}() called with the wrong number of arguments") from None


# Functions whose result keeps unknown parts of their arguments instead of becoming unknown as a whole.
_TAKES_UNKNOWN = frozenset(
    {"jsonencode", "concat", "merge", "tolist", "toset", "tomap", "lookup", "coalesce"}
)


def _try_or_can(name: str, argument_nodes: list[Node], env: Env) -> Any:
    for argument in argument_nodes:
        try:
            value = _evaluate(argument, env)
        except (EvalError, NeedKnown):
            if name == "can":
                return False
            continue
        if isinstance(value, Unknown):
            return value
        return True if name == "can" else value
    if name == "can":
        return False
    raise EvalError("try(): no argument could be evaluated")


def _for_items(collection: Any) -> Iterator[tuple[Any, Any]]:
    collection = known(collection)
    if isinstance(collection, dict):
        yield from ((key, collection[key]) for key in sorted(collection))
    elif isinstance(collection, list):
        yield from enumerate(collection)
    elif collection is None:
        raise EvalError("for expression over null")
    else:
        raise EvalError(f"for expression over {type_name(collection)}")


def _for_intro(node: Node) -> tuple[list[str], Node]:
    intro = next(child for child in node.children if isinstance(child, Tree) and child.data == "for_intro")
    names = [str(child.children[0]) for child in subtrees(intro) if child.data == "identifier"]
    collection = next(child for child in subtrees(intro) if child.data != "identifier")
    return names, collection


def _bindings(names: list[str], key: Any, value: Any) -> dict[str, Any]:
    return {names[0]: key, names[1]: value} if len(names) == 2 else {names[0]: value}


def _for_tuple_expr(node: Node, env: Env) -> Any:
    names, collection_node = _for_intro(node)
    body = [child for child in subtrees(node) if child.data not in ("for_intro", "for_cond")]
    condition = next((child for child in subtrees(node) if child.data == "for_cond"), None)
    collection = _evaluate(collection_node, env)
    if isinstance(collection, (Unknown, ResourceRef)):
        return Unknown("for expression over an unknown collection", all_refs(collection))
    result = []
    for key, value in _for_items(collection):
        inner = env.bind(**_bindings(names, key, value))
        if condition is not None and not _condition(condition, inner):
            continue
        result.append(evaluate(body[0], inner))
    return result


def _for_object_expr(node: Node, env: Env) -> Any:
    names, collection_node = _for_intro(node)
    key_node, value_node = [child for child in subtrees(node) if child.data not in ("for_intro", "for_cond")]
    condition = next((child for child in subtrees(node) if child.data == "for_cond"), None)
    grouping = any(isinstance(child, Token) and child.type == "ELLIPSIS" for child in node.children)
    collection = _evaluate(collection_node, env)
    if isinstance(collection, (Unknown, ResourceRef)):
        return Unknown("for expression over an unknown collection", all_refs(collection))
    result = Obj()
    for key, value in _for_items(collection):
        inner = env.bind(**_bindings(names, key, value))
        if condition is not None and not _condition(condition, inner):
            continue
        out_key = _evaluate(key_node, inner)
        if isinstance(out_key, Unknown):
            return Unknown("for expression with an unknown key", out_key.refs)
        text = to_string(out_key)
        if text is None:
            raise EvalError("for expression key is null")
        out_value = evaluate(value_node, inner)
        if grouping:
            result.setdefault(text, []).append(out_value)
        elif text in result:  # Terraform requires unique keys unless the results are grouped with ...
            raise EvalError(f'for expression gives the key "{text}" twice (group the values with ...)')
        else:
            result[text] = out_value
    return result


def _condition(node: Node, env: Env) -> bool:
    value = _evaluate(subtrees(node)[0], env)
    if isinstance(value, Unknown):
        raise NeedKnown(value)
    return bool(to_bool(value))


# --- strings and templates -------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.S)


def unescape(text: str) -> str:
    """Resolve HCL string escapes (https://developer.hashicorp.com/terraform/language/expressions/strings)."""
    if "\\" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "uU" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, "\\" + code)

    return _ESCAPE.sub(replace, text)


@dataclass(frozen=True)
class _If:
    condition: Node
    then: list[Any]
    otherwise: list[Any]


@dataclass(frozen=True)
class _For:
    names: list[str]
    collection: Node
    body: list[Any]


def _template_items(node: Node) -> list[Any]:
    """The parts of a quoted template: str literals, interpolation nodes, directive nodes."""
    items: list[Any] = []
    for part in node.children:
        if not isinstance(part, Tree):
            continue  # the quotes
        piece = part.children[0]
        if isinstance(piece, Token):
            text = str(piece)
            if piece.type == "ESCAPED_INTERPOLATION":
                text = text[1:]  # $${ -> ${
            elif piece.type == "ESCAPED_DIRECTIVE":
                text = text[1:]  # %%{ -> %{
            else:
                text = unescape(text)
            if items and isinstance(items[-1], str):
                items[-1] += text
            else:
                items.append(text)
        else:
            items.append(piece)
    _apply_strip_markers(items)
    return items


def _strips(node: Node) -> tuple[bool, bool]:
    tokens = [child for child in node.children if isinstance(child, Token)]
    markers = [index for index, token in enumerate(tokens) if token.type == "STRIP_MARKER"]
    return (bool(markers) and markers[0] == 1, bool(markers) and markers[-1] == len(tokens) - 2)


def _apply_strip_markers(items: list[Any]) -> None:
    for index, item in enumerate(items):
        if isinstance(item, Tree) and item.data.startswith("template_"):
            left, right = _strips(item)
            if left and index > 0 and isinstance(items[index - 1], str):
                items[index - 1] = items[index - 1].rstrip()
            if right and index + 1 < len(items) and isinstance(items[index + 1], str):
                items[index + 1] = items[index + 1].lstrip()


def _structure(items: list[Any], position: int = 0, closers: tuple[str, ...] = ()) -> tuple[list[Any], int]:
    """Nest the flat directive list of a template into _If/_For blocks."""
    out: list[Any] = []
    while position < len(items):
        item = items[position]
        kind = item.data if isinstance(item, Tree) else None
        if kind in closers:
            return out, position
        if kind == "template_if_start":
            then, position = _structure(items, position + 1, ("template_else", "template_endif"))
            otherwise: list[Any] = []
            if position < len(items) and items[position].data == "template_else":
                otherwise, position = _structure(items, position + 1, ("template_endif",))
            if position >= len(items):
                raise EvalError("template %{if} without %{endif}")
            out.append(_If(subtrees(item)[0], then, otherwise))
        elif kind == "template_for_start":
            body, position = _structure(items, position + 1, ("template_endfor",))
            if position >= len(items):
                raise EvalError("template %{for} without %{endfor}")
            parts = subtrees(item)
            names = [str(part.children[0]) for part in parts if part.data == "identifier"]
            out.append(_For(names, next(part for part in parts if part.data != "identifier"), body))
        elif kind in ("template_else", "template_endif", "template_endfor"):
            raise EvalError(f"template has a stray %{{{kind.removeprefix('template_')}}}")
        else:
            out.append(item)
        position += 1
    return out, position


def _render(structure: list[Any], env: Env, out: list[Any]) -> None:
    for item in structure:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, _If):
            condition = _evaluate(item.condition, env)
            if isinstance(condition, Unknown):
                out.append(Unknown(f"template condition is unknown ({condition.reason})", condition.refs))
            else:
                _render(item.then if to_bool(condition) else item.otherwise, env, out)
        elif isinstance(item, _For):
            collection = _evaluate(item.collection, env)
            if isinstance(collection, (Unknown, ResourceRef)):
                out.append(Unknown("template loop over an unknown collection", all_refs(collection)))
                continue
            for key, value in _for_items(collection):
                _render(item.body, env.bind(**_bindings(item.names, key, value)), out)
        else:  # an interpolation
            out.append(evaluate(subtrees(item)[0], env))


_JSON_LIST_GLUE = re.compile(r"\s*\[[\s,]*\]\s*")


def _join_parts(parts: list[Any]) -> Any:
    """Concatenate template parts; keep a single interpolation's value as it is, as Terraform does.
    The result remembers where each interpolated value was written (`spans`)."""
    if len(parts) == 1 and not isinstance(parts[0], str):
        return parts[0]
    encoded = [part for part in parts if isinstance(part, Encoded)]
    glue = "".join(part for part in parts if isinstance(part, str))
    if (
        encoded
        and all(isinstance(part, (Encoded, str)) for part in parts)
        and _JSON_LIST_GLUE.fullmatch(glue)
    ):
        # "[${jsonencode(a)},${jsonencode(b)}]" (cloudposse's json_map_encoded_list) is JSON for [a, b]
        return Encoded([part.data for part in encoded])
    texts: list[str] = []
    holes: list[Unknown] = []
    spans: list[tuple[int, int, Location]] = []
    position = 0
    for part in parts:
        if isinstance(part, (Unknown, ResourceRef)):
            piece = hole(len(holes))
            holes.append(_as_unknown(part))
        else:
            text = to_string(part)
            if text is None:
                raise EvalError("template interpolates a null value")
            piece = str(text)
            where = where_of(part)
            if where is not None and not isinstance(part, Text):
                spans.append((position, position + len(piece), where))
        texts.append(piece)
        position += len(piece)
    joined = bounded("".join(texts), "a string template")
    if holes:
        merged = Unknown.merge(holes)
        partial = Text(joined, Location(""), tuple(spans))
        return Unknown(merged.reason, merged.refs, partial=partial, holes=tuple(holes))
    return spanned(joined, tuple(spans))


def render_template(node: Node, env: Env) -> Any:
    """The value of a quoted template (`string` node)."""
    structure, _ = _structure(_template_items(node))
    parts: list[Any] = []
    _render(structure, env, parts)
    return _join_parts(parts) if parts else ""


def _string(node: Node, env: Env) -> Any:
    value = render_template(node, env)
    return located(str(value), _here(node, env)) if type(value) in (str, Spanned) else value


def _template_string(node: Node, env: Env) -> str:
    return unescape(str(node.children[0])[2:-2])


def _heredoc(node: Node, env: Env) -> Any:
    raw = str(node.children[0])
    header, _, rest = raw.partition("\n")
    body_lines = rest.rstrip("\n").split("\n")[:-1]  # drop the closing marker line
    if header.startswith("<<-"):
        indents = [len(line) - len(line.lstrip(" \t")) for line in body_lines if line.strip()]
        cut = min(indents, default=0)
        body_lines = [line[cut:] for line in body_lines]
    body = "".join(line + "\n" for line in body_lines)
    value = evaluate_template_text(body, env)
    start = Location(env.scope.path, (line_of(node) or 0) + 1)
    if isinstance(value, str):
        return Text(value, start)
    if isinstance(value, Unknown) and value.partial is not None:
        return Unknown(value.reason, value.refs, Text(value.partial, start, value.partial.spans), value.holes)
    return value


# --- templates held as text (heredocs, templatefile) -----------------------------------------------

_TEMPLATE_START = re.compile(r"(?<![$%])[$%]\{|[$%]{2}\{")


def _split_template(text: str) -> list[tuple[bool, str]]:
    """Split template text into (is_code, text) segments: literals and `${...}` / `%{...}` sequences."""
    segments: list[tuple[bool, str]] = []
    position = 0
    while True:
        match = _TEMPLATE_START.search(text, position)
        if match is None:
            segments.append((False, text[position:]))
            return segments
        if match.group().startswith(("$$", "%%")):  # an escaped sequence stays literal
            segments.append((False, text[position : match.end()]))
            position = match.end()
            continue
        segments.append((False, text[position : match.start()]))
        depth, index, quoted = 0, match.end(), False
        while index < len(text):
            char = text[index]
            if quoted:
                if char == "\\":
                    index += 1
                elif char == '"':
                    quoted = False
            elif char == '"':
                quoted = True
            elif char == "{":
                depth += 1
            elif char == "}":
                if depth == 0:
                    break
                depth -= 1
            index += 1
        if index >= len(text):
            raise EvalError("template has an unterminated ${ or %{ sequence")
        segments.append((True, text[match.start() : index + 1]))
        position = index + 1


@functools.lru_cache(maxsize=512)
def parse_template_text(text: str) -> Node:
    """Parse template text (heredoc body, templatefile content) into a `string` node.

    python-hcl2 keeps heredocs as one token, so the body is re-parsed as a quoted template: literal
    segments are escaped, `${...}`/`%{...}` sequences kept as written."""
    quoted = []
    for is_code, segment in _split_template(text):
        if is_code:
            quoted.append(segment.replace("\r", " ").replace("\n", " "))
        else:
            escaped = segment.replace("\\", "\\\\").replace('"', '\\"')
            quoted.append(escaped.replace("\r", "\\r").replace("\n", "\\n"))
    try:
        tree = hcl.parse('t = "' + "".join(quoted) + '"\n')
    except lark.exceptions.LarkError as error:
        raise EvalError(f"template is not valid: {str(error).splitlines()[0]}") from None
    attribute = subtrees(subtrees(tree)[0])[0]
    expression = subtrees(attribute)[-1]
    return subtrees(expression)[0]


def evaluate_template_text(text: str, env: Env) -> Any:
    try:
        return render_template(parse_template_text(text), env)
    except NeedKnown as signal:
        return signal.unknown
    except EvalError as error:
        return Unknown(str(error))


_HANDLERS: dict[str, Callable[[Node, Env], Any]] = {
    "expr_term": _expr_term,
    "int_lit": _int_lit,
    "float_lit": _float_lit,
    "literal_value": _literal_value,
    "identifier": _identifier,
    "string": _string,
    "template_string": _template_string,
    "heredoc_template": _heredoc,
    "heredoc_template_trim": _heredoc,
    "tuple": _tuple,
    "object": _object,
    "get_attr_expr_term": _get_attr_expr_term,
    "index_expr_term": _index_expr_term,
    "attr_splat_expr_term": _splat,
    "full_splat_expr_term": _splat,
    "binary_op": _binary_op,
    "unary_op": _unary_op,
    "conditional": _conditional,
    "function_call": _function_call,
    "for_tuple_expr": _for_tuple_expr,
    "for_object_expr": _for_object_expr,
}

__all__ = ["Env", "Namespace", "Node", "Scope", "evaluate", "first_unknown", "line_of", "subtrees"]
