"""Hypothesis strategies and helpers shared by the loaders' property tests
(test_properties_terraform.py, test_properties_coercions.py): generated Terraform expressions as HCL
text, a canonical form of evaluated values to compare them, and what a well-formed result is made of."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from policies.loaders.terraform.evaluate import Namespace
from policies.loaders.terraform.module import Loader, ModuleInstance, root_inputs
from policies.loaders.terraform.parsing import Parser
from policies.loaders.terraform.values import Encoded, ResourceRef, Unknown, all_refs, first_unknown

# derandomize: the same examples on every run, so CI never fails on an example no one saw locally.
# KEEPALIVE_GUARD_PROPERTY_HUNT=N runs N times the examples, random ones, to look for new bugs.
HUNT = int(os.environ.get("KEEPALIVE_GUARD_PROPERTY_HUNT", "0") or 0)
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    derandomize=not HUNT,
    database=None,
)


def examples(count: int) -> settings:
    return settings(SETTINGS, max_examples=count * max(HUNT, 1))


# --- evaluating through the real loader ------------------------------------------------------------

# What generated expressions can refer to: known values of every type, unknown ones (a variable without
# a default, resource attributes), names that do not exist, and names that are only valid elsewhere.
PRELUDE = """
variable "n" { default = 30 }
variable "f" { default = 1.5 }
variable "s" { default = "45" }
variable "b" { default = true }
variable "m" { default = { a = 1, b = "two", c = [3] } }
variable "l" { default = ["x", "y", "z"] }
variable "nested" { default = { list = [{ port = 80 }, { port = "8080" }] } }
variable "typed" {
  type    = object({ port = optional(number, 75), tags = optional(list(string), []) })
  default = {}
}
variable "missing" {}
resource "aws_lb_target_group" "tg" {}
resource "aws_lb_target_group" "many" { count = 2 }
data "aws_lb" "shared" { name = "shared" }
locals {
  other = "${var.n}s"
  cycle = local.cycle
}
"""


_PARSER = Parser()  # shared, so that the prelude (the same text every time) is parsed once


def evaluate_locals(
    expressions: Mapping[str, str], prelude: str = PRELUDE, runs: int = 1
) -> tuple[dict[str, Any], list[str]]:
    """Each expression's value, written as a local in a fresh module (beside the prelude's file) and
    evaluated by the real loader; and the errors the loader reported (a parse error, say). With `runs`
    more than one, the module is loaded and evaluated again by a new loader, and each run's values are
    returned (as a list) instead of the first's."""
    body = "".join(f"  {name} = {text}\n" for name, text in expressions.items())
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "prelude.tf").write_text(prelude)
        (root / "main.tf").write_text(f"locals {{\n{body}}}\n")
        results: list[dict[str, Any]] = []
        for _ in range(runs):
            loader = Loader(parser=_PARSER)
            module = loader.module(root)
            errors = [str(error) for error in loader.errors.values()]
            if errors:
                return {}, errors
            instance = ModuleInstance(loader, module, "", root_inputs(module, loader, ()))
            results.append({name: instance.local(name) for name in expressions})
        return (results[0] if runs == 1 else results), errors  # type: ignore[return-value]


def evaluate_one(text: str, prelude: str = PRELUDE) -> Any:
    values, errors = evaluate_locals({"x": text}, prelude)
    assert not errors, (text, errors)
    return values["x"]


# --- the shape of a result ---------------------------------------------------------------------------


def canonical(value: Any, depth: int = 0) -> Any:
    """A plain, comparable form of an evaluated value: types kept (1 and 1.0 and "1" differ), floats by
    their repr (NaN equals itself), unknowns by reason, references and partial text."""
    if depth > 400:
        return ("too deep",)
    if isinstance(value, Unknown):
        partial = None if value.partial is None else str(value.partial)
        return ("unknown", value.reason, tuple(sorted(value.refs)), partial)
    if isinstance(value, Encoded):
        return ("encoded", canonical(value.data, depth + 1))
    if isinstance(value, ResourceRef):
        return ("resource", value.address, value.instances)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return ("int", int(value))
    if isinstance(value, float):
        return ("float", repr(float(value)))
    if isinstance(value, str):
        return ("str", str(value))
    if isinstance(value, list):
        return ("list", tuple(canonical(item, depth + 1) for item in value))
    if isinstance(value, dict):
        return ("map", tuple(sorted((str(key), canonical(item, depth + 1)) for key, item in value.items())))
    return ("other", type(value).__name__, repr(value))


def malformed(value: Any, depth: int = 0) -> str | None:
    """Why `value` is not something an evaluation may produce (None when it is well formed): plain data,
    unknowns with a reason, encoded JSON whose text can be taken, bare resource references."""
    if depth > 400:
        return None  # the evaluator's own depth guard is tested elsewhere
    if value is None or isinstance(value, (bool, int, float, str, ResourceRef)):
        return None
    if isinstance(value, Unknown):
        if not isinstance(value.reason, str) or not value.reason:
            return f"an unknown without a reason: {value!r}"
        if not all(isinstance(ref, str) for ref in value.refs):
            return f"an unknown with references that are not addresses: {value.refs!r}"
        return None
    if isinstance(value, Encoded):
        value.text()  # what a template or a task definition takes of it: must not raise
        return malformed(value.data, depth + 1)
    if isinstance(value, list):
        return next((found for item in value if (found := malformed(item, depth + 1))), None)
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return f"an object with keys that are not strings: {list(value)!r}"
        return next((found for item in value.values() if (found := malformed(item, depth + 1))), None)
    if isinstance(value, Namespace):
        return f"a bare namespace {value!r} escaped as a value"
    return f"a {type(value).__name__} escaped as a value: {value!r}"


def portable(values: Mapping[str, Any]) -> dict[str, str]:
    """Canonical forms as text, with the temporary directory a module was written to left out (a file()
    error names it), to compare values evaluated in different processes."""
    directory = re.compile(re.escape(tempfile.gettempdir()) + r"/[^/\s'\"]+")
    return {name: directory.sub("<tmp>", repr(canonical(value))) for name, value in values.items()}


def consume(value: Any) -> None:
    """What the loaders do with any evaluated value: find its unknowns and the resources it names."""
    first_unknown(value)
    all_refs(value)


# --- generated HCL expressions -----------------------------------------------------------------------

REFERENCES = [
    "var.n",
    "var.f",
    "var.s",
    "var.b",
    "var.m",
    "var.l",
    "var.nested",
    "var.typed",
    "var.missing",
    "var.undeclared",
    "local.other",
    "local.cycle",
    "local.nope",
    "aws_lb_target_group.tg",
    "aws_lb_target_group.tg.arn",
    "aws_lb_target_group.many",
    "aws_lb_target_group.many[0].arn",
    "aws_lb_target_group.many[5]",
    "data.aws_lb.shared.arn",
    "data.aws_lb.shared",
    "module.child.out",
    "path.module",
    "terraform.workspace",
    "count.index",
    "each.value",
    "self",
    "v",  # bound inside for expressions and template loops, undefined elsewhere
    "k",
    "nosuchthing",
]
# `var` alone is a namespace, which Terraform rejects as a value: see test_bug_bare_namespace_is_a_value
BARE_NAMESPACES = ["var", "local"]

# Functions the evaluator implements, those a module scope provides, and some it does not evaluate.
EVALUATED_FUNCTIONS = [
    "abs", "base64decode", "base64encode", "ceil", "chomp", "coalesce", "coalescelist", "compact",
    "concat", "contains", "distinct", "element", "endswith", "flatten", "floor", "format", "index",
    "join", "jsondecode", "jsonencode", "keys", "length", "lookup", "lower", "max", "merge", "min",
    "nonsensitive", "sensitive", "sort", "one", "parseint", "range", "replace", "reverse", "slice",
    "split", "startswith", "strcontains", "substr", "sum", "title", "tobool", "tolist", "tomap",
    "tonumber", "toset", "tostring", "trim", "trimprefix", "trimspace", "trimsuffix", "upper", "values",
    "zipmap",
]  # fmt: skip
OTHER_FUNCTIONS = ["try", "can", "file", "fileexists", "basename", "dirname", "timestamp", "uuid"]

# Strings that matter to conversions: numbers in several spellings, bools, JSON, separators, format verbs.
STRING_WORDS = [
    "", "a", "x", "30", "-7", "1.5", "2.50", "1e3", "0", "true", "false", "null", ",", ":", "-", " ",
    "%s", "%d", "%5.2f", "%q", "%%", "%v", "%t", '{\\"a\\": 1}', "[1, 2]", "a,b,c", "YQ==", "8080",
    "\\n", "\\t", '\\"', "\\\\", "\\u00e9", "$${x}", "%%{y}", "$5", "/x/", "main.tf",
]  # fmt: skip

words = st.sampled_from(STRING_WORDS)
quoted = st.lists(words, max_size=3).map(lambda parts: '"' + "".join(parts) + '"')
integers = st.one_of(st.integers(0, 100), st.integers(0, 10**18)).map(str)
floats = st.builds(
    lambda whole, fraction, exponent: f"{whole}.{fraction}{exponent}",
    st.integers(0, 1000),
    st.integers(0, 999),
    st.sampled_from(["", "e3", "e-2", "E+1"]),
) | st.builds(lambda whole, exponent: f"{whole}e{exponent}", st.integers(0, 99), st.integers(-12, 12))

leaves = st.one_of(
    integers,
    floats,
    quoted,
    st.sampled_from(["true", "false", "null"]),
    st.sampled_from(REFERENCES),
)

BINARY = ["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"]


def _template(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A quoted template: literal text, interpolations, if and for directives (with strip markers)."""
    strip = st.sampled_from(["", "~"])
    literal = words
    # (HCL allows strip markers in interpolations too, `${~ x ~}`; python-hcl2's grammar does not)
    interpolation = children.map(lambda expression: f"${{{expression}}}")
    conditional = st.builds(
        lambda condition, then, otherwise, marker: (
            f"%{{if {condition}{marker}}}{then}%{{else}}{otherwise}%{{endif}}"
            if otherwise is not None
            else f"%{{if {condition}}}{then}%{{endif{marker}}}"
        ),
        children,
        literal | interpolation,
        st.none() | literal,
        strip,
    )
    loop = st.builds(
        lambda names, collection, body: f"%{{for {names} in {collection}}}{body}%{{endfor}}",
        st.sampled_from(["v", "k, v"]),
        children,
        st.lists(st.sampled_from(["${v}", "${k}", ",", "${upper(v)}"]) | literal, max_size=3).map("".join),
    )
    parts = st.lists(literal | interpolation | conditional | loop, min_size=1, max_size=4)
    return parts.map(lambda items: '"' + "".join(items) + '"')


def _for(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    names = st.sampled_from(["v", "k, v"])
    condition = st.none() | children
    as_tuple = st.builds(
        lambda n, collection, body, cond: (
            f"[for {n} in {collection} : {body}{'' if cond is None else ' if ' + cond}]"
        ),
        names,
        children,
        children,
        condition,
    )
    as_object = st.builds(
        lambda n, collection, key, value, group, cond: (
            f"{{for {n} in {collection} : {key} => {value}{'...' if group else ''}"
            f"{'' if cond is None else ' if ' + cond}}}"
        ),
        names,
        children,
        children,
        children,
        st.booleans(),
        condition,
    )
    return as_tuple | as_object


def _object(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    key = st.sampled_from(["a", "b", "port", "name", '"quoted key"', '"a"']) | children.map(
        lambda text: f"({text})"
    )
    return st.lists(st.tuples(key, children), max_size=4).map(
        lambda items: "{" + ", ".join(f"{name} = {value}" for name, value in items) + "}"
    )


def _access(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    accessor = st.sampled_from(
        [".a", ".port", ".arn", ".list", "[0]", "[1]", '["a"]', "[*]", "[*].port", ".*.port", ".0"]
    )
    return st.one_of(
        st.builds(lambda target, suffix: f"({target}){suffix}", children, accessor),
        st.builds(lambda target, key: f"({target})[{key}]", children, children),
    )


def _call(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    name = st.sampled_from(EVALUATED_FUNCTIONS) | st.sampled_from(OTHER_FUNCTIONS)
    return st.builds(
        lambda function, arguments, expand: (
            f"{function}({', '.join(arguments)}{'...' if expand and arguments else ''})"
        ),
        name,
        st.lists(children, max_size=4),
        st.integers(0, 9).map(lambda roll: roll == 0),
    )


def expressions(max_leaves: int = 10, namespaces: bool = False) -> st.SearchStrategy[str]:
    """HCL expression text over the PRELUDE's names, of any kind and any shape (most of them wrong: a
    type error is as much a case as a value). Operands are parenthesised, so that the text means what
    the tree it was generated from means."""
    base = leaves | st.sampled_from(BARE_NAMESPACES) if namespaces else leaves

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(
                lambda operator, operand: f"{operator}({operand})", st.sampled_from(["-", "!"]), children
            ),
            st.builds(lambda a, op, b: f"({a}) {op} ({b})", children, st.sampled_from(BINARY), children),
            st.builds(lambda c, a, b: f"({c}) ? ({a}) : ({b})", children, children, children),
            _template(children),
            st.lists(children, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
            _object(children),
            _for(children),
            _access(children),
            _call(children),
        )

    return st.recursive(base, extend, max_leaves=max_leaves)


# Typed generation: expressions meant to be of one kind (number, string, bool, list, map), built from
# expressions of the kinds their operands need, so that evaluation gets past the first operator and
# reaches functions, loops and templates with arguments they accept; now and then an operand of any
# kind or an unknown stands in, so that the error and unknown paths of each construct are reached too.
KINDS = ("number", "string", "bool", "list", "map")
UNKNOWNS = [
    "var.missing",
    "aws_lb_target_group.tg.arn",
    "aws_lb_target_group.many[1].port",
    "data.aws_lb.shared.arn",
]


def _call_of(name: str, *arguments: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*arguments).map(lambda values: f"{name}({', '.join(values)})")


def _typed_leaves(kind: str) -> st.SearchStrategy[str]:
    return {
        "number": integers | floats | st.sampled_from(["var.n", "var.f", "length(var.l)", "var.typed.port"]),
        "string": quoted
        | st.sampled_from(["var.s", "local.other", "path.module", "terraform.workspace", "var.m.b"]),
        "bool": st.sampled_from(["true", "false", "var.b"]),
        "list": st.sampled_from(
            ["var.l", "[]", "var.m.c", "var.nested.list", "var.typed.tags", '["a", "b"]', "[1, 2, 3]"]
        ),
        "map": st.sampled_from(["var.m", "{}", "var.nested", "var.typed", "{ a = 1 }", "var.nested.list[0]"]),
    }[kind]


def _mostly(usual: st.SearchStrategy[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`usual` nine times in ten, else `odd` (one_of would take each half the time)."""
    return st.integers(0, 9).flatmap(lambda roll: odd if roll == 9 else usual)


_TYPED: dict[tuple[str, int], st.SearchStrategy[str]] = {}


def typed(kind: str, depth: int = 3) -> st.SearchStrategy[str]:
    """Expressions meant to be of `kind` ("any" for any), nested at most `depth` deep."""
    key = (kind, depth)
    if key not in _TYPED:
        _TYPED[key] = _typed(kind, depth)
    return _TYPED[key]


def _typed(kind: str, depth: int) -> st.SearchStrategy[str]:
    if kind == "any":  # bools are the easy case: fewer of them
        return st.sampled_from(
            ["number", "number", "string", "string", "bool", "list", "list", "map", "map"]
        ).flatmap(lambda each: typed(each, depth))
    leaf = _typed_leaves(kind)
    if depth == 0:
        return leaf
    n, s, b, li, m, a = (typed(each, depth - 1) for each in (*KINDS, "any"))
    # now and then an operand of another kind, or an unknown
    odd = st.sampled_from(UNKNOWNS) | expressions(max_leaves=2)
    n, s, b, li, m = (_mostly(operand, odd) for operand in (n, s, b, li, m))
    a = a | odd
    same = typed(kind, depth - 1)
    conditional = st.builds(lambda c, x, y: f"({c}) ? ({x}) : ({y})", b, same, same)
    attempt = st.builds(lambda x, y: f"try({x}, {y})", a, same)
    picked = st.builds(lambda items, index: f"element({items}, {index})", li, n) | st.builds(
        lambda mapping, key, fallback: f"lookup({mapping}, {key}, {fallback})", m, s, same
    )
    compound: list[st.SearchStrategy[str]] = [conditional, attempt, picked]
    if kind == "number":
        compound += [
            st.builds(lambda x, op, y: f"({x}) {op} ({y})", n, st.sampled_from(["+", "-", "*", "/", "%"]), n),
            n.map(lambda x: f"-({x})"),
            st.builds(
                lambda name, x: f"{name}({x})", st.sampled_from(["abs", "ceil", "floor", "tonumber"]), n | s
            ),
            st.builds(
                lambda name, xs: f"{name}({', '.join(xs)})",
                st.sampled_from(["max", "min"]),
                st.lists(n, min_size=1, max_size=3),
            ),
            st.builds(lambda x: f"length({x})", li | m | s),
            st.builds(
                lambda x, base: f"parseint({x}, {base})", s, st.sampled_from(["10", "16", "2", "1", "37"])
            ),
            li.map(lambda x: f"sum({x})"),
            st.builds(lambda x, y: f"index({x}, {y})", li, a),
        ]
    elif kind == "string":
        compound += [
            _template(_mostly(n | s | b, a)),
            (li | m).map(lambda x: f"jsonencode({x})"),  # as container definitions are written
            st.builds(
                lambda name, x: f"{name}({x})",
                st.sampled_from(
                    [
                        "upper",
                        "lower",
                        "title",
                        "trimspace",
                        "chomp",
                        "tostring",
                        "base64encode",
                        "base64decode",
                        "jsonencode",
                    ]
                ),
                a,
            ),
            st.builds(lambda spec, xs: f"format({', '.join([spec, *xs])})", s, st.lists(a, max_size=3)),
            st.builds(lambda sep, xs: f"join({sep}, {xs})", s, li),
            _call_of("replace", s, s, s),
            _call_of("substr", s, n, n),
            st.builds(
                lambda name, x, y: f"{name}({x}, {y})",
                st.sampled_from(["trim", "trimprefix", "trimsuffix"]),
                s,
                s,
            ),
            st.builds(lambda xs: f"coalesce({', '.join(xs)})", st.lists(a, min_size=1, max_size=3)),
            _call_of("one", li),
            st.builds(
                lambda x: f"file({x})", st.sampled_from(['"main.tf"', '"nope.txt"', "var.missing", '"."'])
            ),
        ]
    elif kind == "bool":
        compound += [
            st.builds(lambda x, op, y: f"({x}) {op} ({y})", n, st.sampled_from(["<", ">", "<=", ">="]), n),
            st.builds(lambda x, op, y: f"({x}) {op} ({y})", a, st.sampled_from(["==", "!="]), a),
            st.builds(lambda x, op, y: f"({x}) {op} ({y})", b, st.sampled_from(["&&", "||"]), b),
            b.map(lambda x: f"!({x})"),
            _call_of("contains", li, a),
            st.builds(
                lambda name, x, y: f"{name}({x}, {y})",
                st.sampled_from(["startswith", "endswith", "strcontains"]),
                s,
                s,
            ),
            a.map(lambda x: f"can({x})"),
            s.map(lambda x: f"tobool({x})"),
        ]
    elif kind == "list":
        compound += [
            st.lists(a, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
            st.builds(lambda xs: f"concat({', '.join(xs)})", st.lists(li, max_size=3)),
            _call_of("split", s, s),
            st.builds(lambda xs: f"range({', '.join(xs)})", st.lists(n, min_size=1, max_size=3)),
            st.builds(
                lambda name, x: f"{name}({x})",
                st.sampled_from(
                    ["distinct", "flatten", "reverse", "sort", "compact", "tolist", "toset", "keys", "values"]
                ),
                li | m,
            ),
            _call_of("slice", li, n, n),
            st.builds(lambda xs: f"coalescelist({', '.join(xs)})", st.lists(li, min_size=1, max_size=3)),
            st.builds(
                lambda names, c, body, cond: f"[for {names} in {c} : {body}{cond}]",
                st.sampled_from(["v", "k, v"]),
                li | m,
                a | st.sampled_from(["v", "k", "upper(v)", "v.port"]),
                st.sampled_from(["", " if v != null", " if k != 0", " if length(v) > 0"]),
            ),
            st.builds(
                lambda c, suffix: f"({c}){suffix}",
                li | m,
                st.sampled_from(["[*]", "[*].port", ".*.port", "[*][0]"]),
            ),
            s.map(lambda x: f"jsondecode({x})"),
            _call_of("jsondecode", _call_of("jsonencode", li)),
        ]
    else:  # map
        compound += [
            _object(a),
            st.builds(lambda xs: f"merge({', '.join(xs)})", st.lists(m, max_size=3)),
            _call_of("zipmap", li, li),
            m.map(lambda x: f"tomap({x})"),
            st.builds(
                lambda names, c, key, value, group: f"{{for {names} in {c} : {key} => {value}{group}}}",
                st.sampled_from(["v", "k, v"]),
                li | m,
                s | st.sampled_from(["k", "v", "tostring(k)"]),
                a | st.sampled_from(["v", "k"]),
                st.sampled_from(["", "..."]),
            ),
            _call_of("jsondecode", _call_of("jsonencode", m)),
        ]
    # index and attribute access produce any kind; they are part of every kind's choices
    access = (
        st.builds(lambda c, key: f"({c})[{key}]", li, n)
        | st.builds(lambda c, key: f"({c})[{key}]", m, s)
        | st.builds(lambda c, name: f"({c}).{name}", m, st.sampled_from(["a", "b", "c", "port", "list"]))
    )
    return st.one_of(leaf, *compound, access)


def heredocs(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A heredoc (plain or indented) whose lines hold literal text, interpolations and directives."""
    line = st.lists(
        words | children.map(lambda text: f"${{{text}}}") | st.just("%{ if true }yes%{ endif }"), max_size=3
    ).map("".join)
    return st.builds(
        lambda trim, lines: (
            f"<<{'-' if trim else ''}EOT\n"
            + "".join(f"{'    ' if trim else ''}{text}\n" for text in lines)
            + "EOT\n"
        ),
        st.booleans(),
        st.lists(line, min_size=1, max_size=3),
    )


# --- known bugs ---------------------------------------------------------------------------------------

# Exceptions the broad "never raises" properties meet in areas where a separate test_bug_* test already
# shows the bug (see the report in that test's docstring). Each is matched by type and message, so any
# other exception still fails the property; delete an entry when its bug is fixed.
KNOWN_CRASHES: list[tuple[type[BaseException], str, str]] = []  # every crash found so far is fixed


def known_crash(error: BaseException) -> str | None:
    """The test showing the known bug `error` is, or None when it is not a known one."""
    for kind, message, test in KNOWN_CRASHES:
        if isinstance(error, kind) and message in str(error):
            return test
    return None


def guarded(function: Callable[[], Any]) -> tuple[Any, str | None]:
    """function(), or (None, the known bug's test) when it raises a known crash; others propagate."""
    try:
        return function(), None
    except Exception as error:
        test = known_crash(error)
        if test is None:
            raise
        return None, test
