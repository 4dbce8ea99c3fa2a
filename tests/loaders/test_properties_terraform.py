"""Properties of the Terraform expression evaluator over generated expressions, evaluated through the
real loader (a module written to a temporary directory, its locals evaluated):

- any expression gives a well-formed value or an Unknown, never an exception, and the same one every
  time (in this process and in another one with another hash seed);
- expressions over literals give what Terraform gives (a reference model with Terraform's number,
  string and conversion rules, `ReferenceModel`);
- converting a value to a type constraint never raises, is idempotent, and what Terraform rejects
  becomes unknown.

The bugs these properties found are regression tests at the end, each with its minimal reproduction.
Those not fixed yet are strict expected failures (they fail the suite once fixed, to be turned into
regression tests), and the broad properties step around exactly those (`KnownDivergence`) so that they
keep finding new ones.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, event, given, note, settings
from hypothesis import strategies as st

from policies.loaders.terraform import types
from policies.loaders.terraform.types import ANY, Attribute, Type
from policies.loaders.terraform.values import (
    Encoded,
    LocatedStr,
    Obj,
    ResourceRef,
    Unknown,
    first_unknown,
    located,
    to_number,
    to_string,
)
from policies.model import Location
from tests.loaders.property_strategies import (
    canonical,
    consume,
    evaluate_locals,
    evaluate_one,
    examples,
    expressions,
    guarded,
    heredocs,
    malformed,
    portable,
    typed,
)

HERE = Location("main.tf", 3)
# The properties of the bugs found: their minimal cases are written out in them, so they do not spend
# time shrinking.
BUG = settings(examples(60), phases=[Phase.explicit, Phase.reuse, Phase.generate])


# --- (a) every expression evaluates to a value or an unknown, deterministically ------------------------


def check_evaluation(texts: list[str]) -> dict[str, Any]:
    """Evaluate `texts` as locals twice (two loaders); assert well-formed and equal results."""
    named = {f"x{index}": text for index, text in enumerate(texts)}
    result, known = guarded(lambda: evaluate_locals(named, runs=2))
    if known is not None:
        event(f"known bug: {known}")
        return {}
    runs, errors = result
    assert not errors, f"the generated HCL does not parse: {errors}"
    first: dict[str, Any] = runs[0]
    second: dict[str, Any] = runs[1]
    for name, value in first.items():
        note(f"{named[name]} -> {value!r}")
        problem, known = guarded(functools.partial(malformed, value))
        if known is not None:
            event(f"known bug: {known}")
            return {}
        assert problem is None, f"{named[name]}: {problem}"
        consume(value)
        event(type(value).__name__ if not isinstance(value, Unknown) else "Unknown")
    assert {name: canonical(value) for name, value in first.items()} == {
        name: canonical(value) for name, value in second.items()
    }, "evaluating the same module twice gave different values"
    return first


@examples(60)
@given(st.lists(typed("any"), min_size=1, max_size=3))
def test_typed_expressions_evaluate_to_a_value_or_an_unknown(texts: list[str]) -> None:
    check_evaluation(texts)


@examples(50)
@given(st.lists(expressions(max_leaves=12), min_size=1, max_size=3))
def test_any_expression_evaluates_to_a_value_or_an_unknown(texts: list[str]) -> None:
    check_evaluation(texts)


@examples(30)
@given(heredocs(typed("any", depth=2)))
def test_heredocs_evaluate_to_a_value_or_an_unknown(text: str) -> None:
    check_evaluation([text])


@examples(40)
@given(typed("string", depth=2), typed("number", depth=2))
def test_known_results_take_the_shape_terraform_gives_them(text: str, number: str) -> None:
    """A template mixing text and interpolations is a string (or unknown); arithmetic is a number."""
    values = check_evaluation([f'"<${{{text}}}>"', f"({number}) + 0"])
    if not values:
        return
    template, total = values["x0"], values["x1"]
    if not isinstance(template, Unknown):
        assert isinstance(template, str) and template.startswith("<") and template.endswith(">")
    if not isinstance(total, Unknown):
        assert isinstance(total, (int, float)) and not isinstance(total, bool)


# Evaluating in a child process with another PYTHONHASHSEED: set and frozenset order must not show.
_CHILD = """
import json, sys
from tests.loaders.property_strategies import evaluate_locals, portable
values, errors = evaluate_locals(json.loads(sys.stdin.read()))
print(json.dumps([errors, portable(values)]))
"""


def evaluate_in_children(named: dict[str, str], seeds: list[int]) -> list[Any]:
    """The canonical values of `named`, evaluated in one child process per hash seed (run together)."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(Path(__file__).parents[2])},
        )
        for seed in seeds
    ]
    results = []
    for child in children:
        out, err = child.communicate(json.dumps(named), timeout=120)
        assert child.returncode == 0, err[-2000:]
        results.append(json.loads(out))
    return results


@examples(1)
@given(st.lists(typed("any"), min_size=30, max_size=30))
def test_evaluation_does_not_depend_on_the_hash_seed(texts: list[str]) -> None:
    """The same values in this process and in one with another PYTHONHASHSEED."""
    named = {f"x{index}": text for index, text in enumerate(texts)}
    values, errors = evaluate_locals(named)
    here = [errors, portable(values)]
    seed = 2 if os.environ.get("PYTHONHASHSEED") != "2" else 3
    (there,) = evaluate_in_children(named, [seed])
    assert there == here


# --- (b) a reference model: expressions over literals give what Terraform gives ------------------------


class TerraformError(Exception):
    """Terraform rejects the expression: the evaluator must give an unknown."""


class NotModelled(Exception):
    """Terraform's answer is not pinned down by the model (an infinity, precision beyond a double, an
    operand Terraform may or may not evaluate): only well-formedness is checked."""


class KnownDivergence(Exception):
    """The expression reaches a known bug, shown by the test_bug_* named in the message."""


@dataclass(frozen=True)
class Num:
    """A Terraform number. `exact`: both a double and Terraform's 512-bit float hold `q` exactly (so
    arithmetic on it is exact in both); `literal`: written as a decimal, which both print as written."""

    q: Fraction
    exact: bool
    literal: bool = False

    @property
    def printable(self) -> bool:
        return self.exact or self.literal


def _safe(q: Fraction) -> bool:
    """Exact in a double, and in the evaluator's int or float whichever it holds: a binary fraction of
    modest size."""
    denominator = q.denominator
    return denominator & (denominator - 1) == 0 and denominator <= 2**20 and abs(q) < 2**50


def number(q: Fraction, literal: bool = False) -> Num:
    return Num(q, _safe(q), literal)


def decimal_number(text: str) -> Num:
    """A number written in decimal: printed as written by both when a double holds its digits (15)."""
    digits = Decimal(text).as_tuple().digits
    return number(Fraction(Decimal(text)), literal=len(digits) <= 15)


_GO_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_number(text: str) -> Num:
    """Terraform's string to number conversion: Go's big.ParseFloat(text, 10, 512): the whole string a
    decimal (sign, digits, point, exponent), or "Inf"; no spaces, no underscores, no NaN.
    https://pkg.go.dev/math/big#Float.Parse"""
    if _GO_DECIMAL.fullmatch(text):
        return decimal_number(text)
    if re.fullmatch(r"[+-]?(inf|Inf)", text):
        raise NotModelled("an infinity")
    try:  # what the evaluator's Python conversion accepts besides
        float(text.strip())
    except ValueError:
        raise TerraformError(f"cannot convert {text!r} to a number") from None
    raise KnownDivergence(f"tonumber({text!r}): test_bug_numbers_terraform_rejects_are_accepted")


def number_text(value: Num) -> str:
    """How Terraform writes a number in a string: big.Float.Text('f', -1), no exponent, no trailing
    zeros (https://github.com/zclconf/go-cty cty/convert/conversion_primitive.go)."""
    if not value.printable:
        raise NotModelled("a computed number beyond a double's precision, printed")
    q = value.q
    if q.denominator == 1:
        return str(q.numerator)
    with localcontext() as context:
        context.prec = 200
        text = format((Decimal(q.numerator) / Decimal(q.denominator)).normalize(), "f")
    return text


Value = Num | str | bool


def to_num(value: Value) -> Num:
    if isinstance(value, bool):
        raise TerraformError("bool is not a number")
    if isinstance(value, Num):
        return value
    return parse_number(value)


def to_str(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Num):
        return number_text(value)
    return value


def to_bool(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):  # https://developer.hashicorp.com/terraform/language/functions/tobool
        return value == "true"
    raise TerraformError(f"cannot convert {value!r} to bool")


def _comparable(a: Num, b: Num) -> None:
    if not (a.printable and b.printable) and abs(a.q - b.q) <= abs(a.q + b.q) * Fraction(1, 10**9):
        raise NotModelled("a comparison closer than a double's precision")


def _kind(value: Value) -> str:
    return "bool" if isinstance(value, bool) else "number" if isinstance(value, Num) else "string"


class ReferenceModel:
    """Evaluates a generated tree (see `trees`) with Terraform's semantics."""

    def evaluate(self, tree: tuple[Any, ...]) -> Value:
        kind = tree[0]
        if kind == "num":
            return decimal_number(tree[1])
        if kind in ("str", "bool"):
            return tree[1]  # type: ignore[no-any-return]
        if kind == "neg":
            operand = to_num(self.evaluate(tree[1]))
            return Num(-operand.q, operand.exact, operand.literal)
        if kind == "not":
            return not to_bool(self.evaluate(tree[1]))
        if kind == "bin":
            return self.binary(tree[1], tree[2], tree[3])
        if kind == "cond":
            return self.conditional(tree[1], tree[2], tree[3])
        if kind == "tmpl":
            return self.template(tree[1])
        if kind == "call":
            return self.call(tree[1], [self.evaluate(argument) for argument in tree[2]])
        raise AssertionError(kind)

    def binary(self, operator: str, left_tree: Any, right_tree: Any) -> Value:
        if operator in ("&&", "||"):
            # HCL short-circuits a decided left operand since hashicorp/hcl#713 (2024), not before:
            # an error on the right of a decided operator is version-dependent
            first = to_bool(self.evaluate(left_tree))
            try:
                second = to_bool(self.evaluate(right_tree))
            except TerraformError:
                if first == (operator == "||"):
                    raise NotModelled("an error right of a decided && or ||") from None
                raise
            return (first and second) if operator == "&&" else (first or second)
        left, right = self.evaluate(left_tree), self.evaluate(right_tree)
        if operator in ("==", "!="):
            # cty's Equals: values of different types are not equal (no conversion)
            if isinstance(left, Num) and isinstance(right, Num):
                _comparable(left, right)
                equal = left.q == right.q
            else:
                equal = type(left) is type(right) and left == right
            return equal if operator == "==" else not equal
        a, b = to_num(left), to_num(right)
        if operator in ("<", ">", "<=", ">="):
            _comparable(a, b)
            return {"<": a.q < b.q, ">": a.q > b.q, "<=": a.q <= b.q, ">=": a.q >= b.q}[operator]
        exact = a.exact and b.exact
        if operator == "/":
            if b.q == 0:
                raise NotModelled("division by zero: an infinity in Terraform, an unknown here")
            q = a.q / b.q
        elif operator == "%":
            if b.q == 0:
                raise NotModelled("x % 0 is x in Terraform (cty's Modulo), an unknown here")
            # cty's Modulo: a - b * trunc(a / b), the sign of the dividend
            q = a.q - b.q * math.trunc(a.q / b.q)
        else:
            q = {"+": a.q + b.q, "-": a.q - b.q, "*": a.q * b.q}[operator]
        return Num(q, exact and _safe(q))

    def conditional(self, condition: Any, then: Any, otherwise: Any) -> Value:
        chosen, other = (then, otherwise) if to_bool(self.evaluate(condition)) else (otherwise, then)
        value = self.evaluate(chosen)
        try:
            unchosen = self.evaluate(other)
        except TerraformError:
            raise NotModelled("an error in the branch not taken") from None
        except (NotModelled, KnownDivergence):
            if isinstance(value, str):
                return value
            raise NotModelled("the other branch's type") from None
        if _kind(value) != _kind(unchosen) and not isinstance(value, str):
            # https://developer.hashicorp.com/terraform/language/expressions/conditionals#result-types
            raise KnownDivergence("branches of two types: test_bug_conditional_branches_are_not_unified")
        return value

    def template(self, parts: list[Any]) -> Value:
        if len(parts) == 1 and not isinstance(parts[0], str):
            return self.evaluate(parts[0])  # a lone interpolation keeps its value's type
        return "".join(part if isinstance(part, str) else to_str(self.evaluate(part)) for part in parts)

    def call(self, name: str, arguments: list[Value]) -> Value:
        if name == "tostring":
            return to_str(arguments[0])
        if name == "tonumber":
            return to_num(arguments[0])
        if name == "tobool":
            return to_bool(arguments[0])
        if name in ("upper", "lower"):
            text = to_str(arguments[0])
            return text.upper() if name == "upper" else text.lower()
        if name == "length":
            if not isinstance(arguments[0], str):
                raise TerraformError("length() of a number or bool")
            return number(Fraction(len(arguments[0])))
        numbers = [to_num(argument) for argument in arguments]
        if name in ("abs", "ceil", "floor"):
            (value,) = numbers
            if name == "abs":
                return Num(abs(value.q), value.exact, value.literal)
            whole = math.ceil(value.q) if name == "ceil" else math.floor(value.q)
            if not value.exact and whole != value.q and abs(value.q - round(value.q)) < Fraction(1, 10**9):
                raise NotModelled("ceil or floor of a computed number next to a whole one")
            return number(Fraction(whole))
        if name in ("max", "min"):
            for a in numbers:
                for b in numbers:
                    _comparable(a, b)
            return (max if name == "max" else min)(numbers, key=lambda item: item.q)
        raise AssertionError(name)


# Strings a model expression is made of: numbers Terraform reads, ones only Python reads, and text that
# needs escaping in HCL.
MODEL_STRINGS = ["", "a", "B c", "30", "-7", "+5", "2.50", ".5", "5.", "1e3", "1E-2", "0", "1", "true",
                 "false", "True", "abc", "0x10", "-", '"', "\\", "\n", "${x}", "%{y}", "$5", "50%"]  # fmt: skip
LENIENT_STRINGS = [" 5", "5 ", "1_000", "nan", "Infinity", "\u0663"]  # Python reads them, Terraform not


def hcl_string(text: str) -> str:
    """`text` as the inside of a quoted HCL template."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return escaped.replace("${", "$${").replace("%{", "%%{")


def hcl(tree: tuple[Any, ...]) -> str:
    kind = tree[0]
    if kind == "num":
        return str(tree[1])
    if kind == "str":
        return '"' + hcl_string(tree[1]) + '"'
    if kind == "bool":
        return "true" if tree[1] else "false"
    if kind == "neg":
        return f"-({hcl(tree[1])})"
    if kind == "not":
        return f"!({hcl(tree[1])})"
    if kind == "bin":
        return f"({hcl(tree[2])}) {tree[1]} ({hcl(tree[3])})"
    if kind == "cond":
        return f"({hcl(tree[1])}) ? ({hcl(tree[2])}) : ({hcl(tree[3])})"
    if kind == "tmpl":
        return (
            '"'
            + "".join(hcl_string(part) if isinstance(part, str) else f"${{{hcl(part)}}}" for part in tree[1])
            + '"'
        )
    if kind == "call":
        return f"{tree[1]}({', '.join(hcl(argument) for argument in tree[2])})"
    raise AssertionError(kind)


@functools.cache
def model_literals(
    lenient_strings: bool, small_numbers: bool, kind: str = "any"
) -> st.SearchStrategy[tuple[Any, ...]]:
    whole = st.integers(0, 5).map(str) | st.integers(0, 100).map(str) | st.integers(0, 2**40).map(str)
    decimal = st.builds(
        lambda a, b, exponent: f"{a}.{b}{exponent}",
        st.integers(0, 999),
        st.sampled_from(["0", "5", "25", "1", "75", "125"]),
        st.sampled_from(["", "", "e2", "e-1", "E+3"] + (["e-7", "e17"] if small_numbers else [])),
    )
    numbers = (whole | decimal).map(lambda text: ("num", text))
    strings = st.sampled_from(MODEL_STRINGS + (LENIENT_STRINGS if lenient_strings else [])).map(
        lambda text: ("str", text)
    )
    bools = st.booleans().map(lambda flag: ("bool", flag))
    return {"number": numbers, "string": strings, "bool": bools, "any": numbers | strings | bools}[kind]


@functools.cache
def trees(
    lenient_strings: bool = False, small_numbers: bool = False, depth: int = 3, kind: str = "any"
) -> st.SearchStrategy[tuple[Any, ...]]:
    """Model expression trees meant to be of `kind` (number, string, bool, any), operands of the
    kinds their operators take, and one in ten of any kind (a conversion, or an error)."""
    if kind == "any":
        return st.sampled_from(["number", "number", "string", "string", "bool"]).flatmap(
            lambda each: trees(lenient_strings, small_numbers, depth, each)
        )
    literals = model_literals(lenient_strings, small_numbers)
    leaf = model_literals(lenient_strings, small_numbers, kind)
    if kind == "number":  # numbers written as strings, converted
        spellings = ["30", "-7", "2.50", "1e3", "+5"] + ([" 5", "1_000"] if lenient_strings else [])
        leaf = leaf | st.sampled_from(spellings).map(lambda text: ("str", text))
    if depth == 0:
        return leaf

    def operand(wanted: str) -> st.SearchStrategy[tuple[Any, ...]]:
        usual = trees(lenient_strings, small_numbers, depth - 1, wanted)
        return st.integers(0, 9).flatmap(lambda roll: literals if roll == 9 else usual)

    n, s, b = operand("number"), operand("string"), operand("bool")
    same = operand(kind)
    text = st.sampled_from(["", "a", "-", " ", "${x}", "x%"])  # ("$${" alone: see hcl_string)
    compound: list[st.SearchStrategy[tuple[Any, ...]]] = [st.tuples(st.just("cond"), b, same, same)]
    if kind == "number":
        compound += [
            st.tuples(st.just("bin"), st.sampled_from(["+", "-", "*", "/", "%"]), n, n),
            n.map(lambda tree: ("neg", tree)),
            st.tuples(
                st.just("call"),
                st.sampled_from(["abs", "ceil", "floor", "tonumber"]),
                n.map(lambda tree: [tree]),
            ),
            st.tuples(st.just("call"), st.just("tonumber"), s.map(lambda tree: [tree])),
            st.tuples(st.just("call"), st.sampled_from(["max", "min"]), st.lists(n, min_size=1, max_size=3)),
            st.tuples(st.just("call"), st.just("length"), s.map(lambda tree: [tree])),
        ]
    elif kind == "string":
        compound += [
            st.lists(text | n | s | b, min_size=1, max_size=4).map(
                lambda parts: ("tmpl", _merge_text(parts) or [""])
            ),
            st.tuples(
                st.just("call"),
                st.sampled_from(["tostring", "upper", "lower"]),
                (n | s | b).map(lambda tree: [tree]),
            ),
        ]
    else:
        compound += [
            st.tuples(st.just("bin"), st.sampled_from(["<", ">", "<=", ">="]), n, n),
            st.tuples(st.just("bin"), st.sampled_from(["==", "!="]), n | s | b, n | s | b),
            st.tuples(st.just("bin"), st.sampled_from(["&&", "||"]), b, b),
            b.map(lambda tree: ("not", tree)),
            st.tuples(st.just("call"), st.just("tobool"), (s | b).map(lambda tree: [tree])),
        ]
    return st.one_of(leaf, *compound)


def _merge_text(parts: list[Any]) -> list[Any]:
    """Adjacent literal texts as one, empty ones left out (`"${x}"` is a lone interpolation)."""
    merged: list[Any] = []
    for part in parts:
        if part == "":
            continue
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return merged


def check_against_model(tree: tuple[Any, ...], value: Any) -> str:
    """Assert the evaluator's `value` of `tree` is the model's; what the case was, for statistics."""
    try:
        expected = ReferenceModel().evaluate(tree)
    except TerraformError as error:
        assert isinstance(value, Unknown), f"Terraform rejects it ({error}), the evaluator gives {value!r}"
        return "rejected"
    if isinstance(value, Unknown):
        raise AssertionError(f"Terraform gives {expected!r}, the evaluator an unknown: {value.reason}")
    if isinstance(expected, bool):
        assert value is expected, f"expected {expected}, got {value!r}"
    elif isinstance(expected, str):
        assert isinstance(value, str) and str(value) == expected, f"expected {expected!r}, got {value!r}"
    else:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (
            f"expected a number, got {value!r}"
        )
        if expected.exact:
            assert Fraction(value) == expected.q, f"expected {expected.q}, got {value!r}"
        elif expected.literal:
            assert value == float(expected.q), f"expected {float(expected.q)}, got {value!r}"
        else:
            assert math.isclose(value, expected.q, rel_tol=1e-9, abs_tol=1e-12), (
                f"expected {float(expected.q)}, got {value!r}"
            )
    return _kind(expected)


def evaluate_trees(trees_: list[tuple[Any, ...]]) -> dict[str, Any]:
    values, errors = evaluate_locals({f"x{index}": hcl(tree) for index, tree in enumerate(trees_)})
    assert not errors, errors
    return values


@examples(100)
@given(st.lists(trees(), min_size=1, max_size=4))
def test_expressions_over_literals_agree_with_terraform(cases: list[tuple[Any, ...]]) -> None:
    values = evaluate_trees(cases)
    for index, tree in enumerate(cases):
        note(f"{hcl(tree)} -> {values[f'x{index}']!r}")
        try:
            event(check_against_model(tree, values[f"x{index}"]))
        except (NotModelled, KnownDivergence) as skipped:
            event(f"not checked: {str(skipped).split(':')[0]}")


@examples(60)
@given(st.integers(0, 10**8), st.integers(1, 9999), st.sampled_from(["", "e-3", "e5", "e-12", "e20"]))
def test_numbers_are_written_in_strings_as_terraform_writes_them(
    whole: int, fraction: int, exponent: str
) -> None:
    """A number literal, interpolated: Terraform's text of it (no exponent, no trailing zeros)."""
    literal = f"{whole}.{fraction}{exponent}"
    values = evaluate_trees([("tmpl", ["n=", ("num", literal)]), ("call", "tostring", [("num", str(whole))])])
    try:
        check_against_model(("tmpl", ["n=", ("num", literal)]), values["x0"])
    except KnownDivergence:
        event("not checked: known divergence")
    assert values["x1"] == str(whole)


# --- (c) type constraints: conversion never raises, is idempotent, rejects what Terraform rejects ------


def _no_default(node: Any) -> Any:
    raise AssertionError("no generated type has a default expression")


def type_constraints() -> st.SearchStrategy[Type]:
    primitive = st.sampled_from([Type("string"), Type("number"), Type("bool"), ANY])

    def extend(inner: st.SearchStrategy[Type]) -> st.SearchStrategy[Type]:
        names = st.sampled_from(["a", "port", "name", "tags"])
        return st.one_of(
            st.builds(
                lambda kind, element: Type(kind, element=element),
                st.sampled_from(["list", "set", "map"]),
                inner,
            ),
            st.lists(inner, max_size=3).map(lambda elements: Type("tuple", elements=tuple(elements))),
            st.lists(st.tuples(names, inner, st.booleans()), max_size=3, unique_by=lambda item: item[0]).map(
                lambda attributes: Type(
                    "object",
                    attributes=tuple(
                        (name, Attribute(kind, optional)) for name, kind, optional in attributes
                    ),
                )
            ),
        )

    return st.recursive(primitive, extend, max_leaves=5)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "30", "1.5", "abc", "true", "false", "1e3", "-0", "x y"]),
    st.builds(lambda text: located(text, HERE), st.sampled_from(["75", "seventy"])),
    st.just(Unknown("var.missing has no default", frozenset({"aws_lb.x"}))),
    st.builds(lambda data: Encoded(data), st.sampled_from([[1], {"a": "b"}, "s"])),
)
plain_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "port", "name", "tags", "x"]), children, max_size=3).map(
            lambda items: Obj(items.items())
        )
    ),
    max_leaves=8,
)


@examples(150)
@given(plain_values, type_constraints())
def test_type_conversion_never_raises_and_is_idempotent(value: Any, declared: Type) -> None:
    converted = types.convert(value, declared, _no_default)
    assert malformed(converted) is None
    again = types.convert(converted, declared, _no_default)
    assert canonical(again) == canonical(converted), f"converting {converted!r} again gave {again!r}"


@examples(200)
@given(
    st.one_of(
        st.integers(-(10**15), 10**15),
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    )
)
def test_a_number_converted_to_string_and_back_is_itself(value: int | float) -> None:
    text = types.convert(value, Type("string"), _no_default)
    assert isinstance(text, str)
    back = types.convert(text, Type("number"), _no_default)
    assert back == value and not isinstance(back, bool)
    assert types.convert(back, Type("string"), _no_default) == text


@examples(200)
@given(st.one_of(st.booleans(), st.sampled_from(["true", "false"])))
def test_a_bool_converted_to_string_and_back_is_itself(value: bool | str) -> None:
    flag = types.convert(value, Type("bool"), _no_default)
    assert flag is (value in (True, "true"))
    assert types.convert(types.convert(flag, Type("string"), _no_default), Type("bool"), _no_default) is flag


# What Terraform's conversion rejects, per primitive type constraint
# (https://developer.hashicorp.com/terraform/language/expressions/type-constraints#conversion-of-primitive-types)
REJECTED = {
    "number": [True, False, "abc", "", "1.2.3", "true", [1], {"a": 1}, Obj({"a": 1}.items())],
    "bool": [1, 0, 1.5, "yes", "", "True", "1", "0", [True], {"a": True}],
    "string": [[1], ["a"], {"a": "b"}, Obj({"a": "b"}.items())],
}


@examples(60)
@given(st.sampled_from([(kind, value) for kind, values in REJECTED.items() for value in values]))
def test_primitive_conversions_terraform_rejects_become_unknown(case: tuple[str, Any]) -> None:
    kind, value = case
    converted = types.convert(value, Type(kind), _no_default)
    assert isinstance(converted, Unknown), f"{value!r} to {kind} gave {converted!r}"
    assert converted.reason.startswith("cannot convert"), converted.reason


def type_text(declared: Type) -> str:
    if declared.kind in ("string", "number", "bool", "any"):
        return declared.kind
    if declared.kind in ("list", "set", "map"):
        assert declared.element is not None
        return f"{declared.kind}({type_text(declared.element)})"
    if declared.kind == "tuple":
        return "tuple([" + ", ".join(type_text(item) for item in declared.elements) + "])"
    attributes = ", ".join(
        f"{name} = optional({type_text(attribute.type)})"
        if attribute.optional
        else f"{name} = {type_text(attribute.type)}"
        for name, attribute in declared.attributes
    )
    return "object({" + attributes + "})"


@examples(40)
@given(type_constraints(), typed("any", depth=1), st.sampled_from(["", "75", "{ port = 8080 }", "[1, 2]"]))
def test_variable_type_constraints_convert_through_the_loader(
    declared: Type, default: str, given_value: str
) -> None:
    """A variable's declared type applied to its default, then to a value a module call would pass:
    the real parser of type constraints, the real conversion, never an exception."""
    prelude = f'variable "t" {{\n  type = {type_text(declared)}\n  default = {default}\n}}\n'
    result, known = guarded(lambda: evaluate_locals({"t": "var.t"}, prelude=prelude))
    if known is not None:
        event(f"known bug: {known}")
        return
    values, errors = result
    assert not errors, errors
    converted = values["t"]
    assert malformed(converted) is None
    assert canonical(types.convert(converted, declared, _no_default)) == canonical(converted)
    parsed = evaluate_one(given_value) if given_value else None  # a value a module call passes
    assert malformed(types.convert(parsed, declared, _no_default)) is None


# --- bugs found: fixed ones are regression tests, the others strict expected failures --------------------


def not_fixed(why: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"a divergence from Terraform not fixed yet: {why}")


def test_split_with_an_empty_separator_splits_each_character() -> None:
    """split("", "abc") raises ValueError("empty separator") out of the evaluator (functions._split:
    Python's str.split). can() and try() do not catch it either. Terraform splits after each character
    (cty's SplitFunc is Go's strings.Split): ["a", "b", "c"]."""
    assert evaluate_one('split("", "abc")') == ["a", "b", "c"]
    assert evaluate_one('can(split("", "abc"))') is True


def test_ceil_floor_of_infinity_or_nan_is_no_exception() -> None:
    """ceil(1e400) raises OverflowError and floor(tonumber("nan")) ValueError (functions._ceil/_floor:
    math.ceil of inf/nan). Terraform: ceil of an infinity is that infinity (cty's CeilFunc), and "nan" is
    not a number (see test_bug_numbers_terraform_rejects_are_accepted): never an exception."""
    value = evaluate_one("ceil(1e400)")
    assert isinstance(value, Unknown) or value == math.inf
    assert isinstance(evaluate_one('floor(tonumber("nan"))'), Unknown)


def test_jsonencode_of_a_jsonencode_result_is_its_string() -> None:
    """jsonencode() of a value holding another jsonencode() result: Encoded.text() gives json.dumps an
    Encoded, which raises TypeError. In a template that is an exception out of the evaluator; in a
    function call it is reported as a wrong number of arguments; jsondecode() gives back an Encoded
    where Terraform has a string. Common in task definitions: an environment value that is itself JSON,
    `jsonencode([{ environment = [{ name = "CONFIG", value = jsonencode({ a = 1 }) }] }])`.
    Terraform: "[\\"1\\"]"."""
    assert evaluate_one('"x${jsonencode([jsonencode(1)])}"') == 'x["1"]'
    assert evaluate_one("tostring(jsonencode([jsonencode(1)]))") == '["1"]'
    assert evaluate_one("jsondecode(jsonencode([jsonencode(1)]))") == ["1"]


def test_huge_numbers_are_no_exception() -> None:
    """Numbers beyond a double or Python's 4300-digit int/str limit raise out of the evaluator:
    a 5000-digit literal (ValueError in int()), 10**400 * 1.5 (OverflowError: int too large to convert
    to float), 10**400 / 3 (OverflowError), and the text of a product of two 3000-digit numbers
    (ValueError in str()). Terraform's numbers are 512-bit floats: each is a number (or an error), never
    a crash."""
    big = "1" * 400
    for text in ("1" * 5000, f"{big} * 1.5", f"{big} / 3", f'"x${{{"1" * 3000} * {"1" * 3000}}}"'):
        value, known = guarded(functools.partial(evaluate_one, text))
        assert known is None, f"{text[:30]}...: {known}"
        assert malformed(value) is None


@BUG
@given(st.integers(-1000, 1000), st.integers(1, 50) | st.integers(-50, -1))
def test_modulo_takes_the_sign_of_the_dividend(a: int, b: int) -> None:
    """`-7 % 3` is 2 here (Python's floored modulo); Terraform's is -1: cty's Modulo is
    a - b * trunc(a / b), the remainder taking the sign of the dividend
    (github.com/zclconf/go-cty cty/value_ops.go, Value.Modulo)."""
    assert evaluate_one(f"({a}) % ({b})") == a - b * math.trunc(Fraction(a, b))


def test_numbers_are_written_without_exponents() -> None:
    """A number in a string is written with an exponent when Python's repr uses one: "${0.00001}x" is
    "1e-05x", tostring(1e20) "1e+20". Terraform writes numbers as big.Float.Text('f', -1), without an
    exponent (cty/convert/conversion_primitive.go): "0.00001x", "100000000000000000000"."""
    assert evaluate_one('"${0.00001}x"') == "0.00001x"
    assert evaluate_one("tostring(1e20)") == "100000000000000000000"
    assert evaluate_one('"${1e16}s"') == "10000000000000000s"


@not_fixed('tonumber() accepts what Python parses (" 5", "1_000", "nan")')
@BUG
@given(trees(lenient_strings=True, small_numbers=True, depth=2))
def test_bug_numbers_terraform_rejects_are_accepted(tree: tuple[Any, ...]) -> None:
    """tonumber(" 5"), tonumber("1_000"), tonumber("nan"), tonumber("Infinity") and tonumber("\u0663")
    are numbers here (values.to_number strips the text and uses Python's int() and float()); Terraform
    parses with Go's big.ParseFloat(text, 10): no spaces, no underscores, no NaN, ASCII digits only, so
    each is an error. (This property also runs the model with the small and large numbers of
    test_bug_number_formatting_uses_exponents.)"""
    assert isinstance(evaluate_one('tonumber(" 5")'), Unknown)
    assert isinstance(evaluate_one('tonumber("nan")'), Unknown)
    values = evaluate_trees([tree])
    try:
        check_against_model(tree, values["x0"])
    except NotModelled:
        pass
    except KnownDivergence as divergence:
        raise AssertionError(f"{hcl(tree)} -> {values['x0']!r}: {divergence}") from None


@not_fixed("the branches of a conditional are not converted to one type")
def test_bug_conditional_branches_are_not_unified() -> None:
    """`true ? 12 : "hello"` is the number 12 here; Terraform converts both results to a type both can
    take, a string: "12" (https://developer.hashicorp.com/terraform/language/expressions/conditionals,
    Result Types; HCL's ConditionalExpr uses convert.UnifyUnsafe). So `(true ? 12 : "a") == "12"` is
    true in Terraform, false here."""
    assert evaluate_one('true ? 12 : "hello"') == "12"
    assert evaluate_one('(true ? 12 : "a") == "12"') is True


def test_splat_reason_does_not_depend_on_the_hash_seed() -> None:
    """The reason of a splat over an unknown naming two resources is "splat of <one of them> ...", the
    one `next(iter(frozenset))` gives (evaluate._splat): it changes with PYTHONHASHSEED, so the same
    configuration reports different text from run to run."""
    named = {"x": "(var.missing ? aws_lb_target_group.tg : aws_lb_target_group.many)[*].arn"}
    # (seed 1 names aws_lb_target_group.tg, seed 8 aws_lb_target_group.many, on CPython 3.11)
    results = {json.dumps(result) for result in evaluate_in_children(named, [1, 8])}
    assert len(results) == 1, results


@BUG
@given(st.lists(expressions(max_leaves=4, namespaces=True), min_size=1, max_size=2))
def test_a_bare_namespace_is_not_a_value(texts: list[str]) -> None:
    """`var` (or `local`) alone evaluates to the evaluator's Namespace object, which Terraform rejects
    ("The "var" object cannot be accessed directly"); it then escapes as a value, and
    `"x${jsonencode(var)}"` raises TypeError (Object of type Namespace is not JSON serializable)."""
    assert isinstance(evaluate_one("var"), Unknown)
    assert isinstance(evaluate_one('"x${jsonencode(var)}"'), Unknown)
    check_evaluation(texts)


@not_fixed("values that do not fit a collection type constraint are kept")
@pytest.mark.parametrize(
    ("declared", "value"),
    [
        ("list(string)", '{ a = "x" }'),
        ("list(string)", '"abc"'),
        ("map(number)", "[1, 2]"),
        ("object({ port = number })", "[80]"),
        ("object({ port = number })", "{ other = 1 }"),  # a required attribute missing
        ("tuple([number])", "[1, 2, 3]"),
    ],
)
def test_bug_collection_conversions_terraform_rejects_pass_through(declared: str, value: str) -> None:
    """A variable's value that does not fit its collection type constraint is kept as given (or with
    the missing attribute left out) by types.convert; Terraform rejects it ("Invalid value for input
    variable": list of string required, attribute "port" is required, tuple required with 1 element).
    A keepalive-guard finding then reads a value Terraform would never deploy."""
    prelude = f'variable "t" {{\n  type = {declared}\n  default = {value}\n}}\n'
    values, errors = evaluate_locals({"t": "var.t"}, prelude=prelude)
    assert not errors, errors
    assert first_unknown(values["t"]) is not None, f"{declared} of {value} gave {values['t']!r}"


@not_fixed("a set keeps duplicates and their order")
def test_bug_set_conversion_keeps_duplicates() -> None:
    """set(string) of ["b", "a", "b"] is ["b", "a", "b"] here; a set holds each value once, and a set
    of strings is ordered lexically: Terraform's is ["a", "b"]
    (https://developer.hashicorp.com/terraform/language/expressions/type-constraints#collection-types,
    https://developer.hashicorp.com/terraform/language/expressions/for#element-ordering)."""
    assert types.convert(["b", "a", "b"], Type("set", element=Type("string")), _no_default) == ["a", "b"]
    assert evaluate_one('[for v in toset(["b", "a", "b"]) : v]') == ["a", "b"]


# --- sanity of the harness itself ------------------------------------------------------------------------


def test_the_model_and_the_harness_agree_on_plain_cases() -> None:
    """The model's own spot checks, so that a model bug is not taken for an evaluator bug."""
    model = ReferenceModel()
    assert number_text(model.evaluate(("num", "2.50"))) == "2.5"  # type: ignore[arg-type]
    assert model.evaluate(("bin", "/", ("num", "10"), ("num", "4"))) == Num(Fraction(5, 2), True)
    assert model.evaluate(("tmpl", ["a", ("num", "1.5e3")])) == "a1500"
    assert model.evaluate(("bin", "==", ("num", "1"), ("str", "1"))) is False
    with pytest.raises(TerraformError):
        model.evaluate(("call", "tonumber", [("str", "0x10")]))
    with pytest.raises(KnownDivergence):
        model.evaluate(("call", "tonumber", [("str", " 5")]))
    values = evaluate_trees([("tmpl", ["a", ("num", "1.5e3")]), ("bin", "+", ("str", "5"), ("num", "1"))])
    assert values == {"x0": "a1500", "x1": 6}
    assert isinstance(to_string(LocatedStr("x")), str) and to_number("30") == 30
    assert isinstance(ResourceRef("aws_lb.x").attribute("arn"), Unknown)


@not_fixed("format() ignores widths and flags")
def test_bug_format_ignores_width_and_flags() -> None:
    """format() drops the width and the flags of %d, %s, %q and %t: format("%03d", 7) is "7". Terraform
    pads as Go's fmt does ("Width Modifier" and "Additional Format Options" in
    https://developer.hashicorp.com/terraform/language/functions/format): "007"."""
    assert evaluate_one('format("%03d", 7)') == "007"
    assert evaluate_one('format("%5s|%-5s|", "ab", "cd")') == "   ab|cd   |"
    assert evaluate_one('format("%+d", 5)') == "+5"


def test_title_leaves_the_rest_of_each_word() -> None:
    """title("hELLO wORLD") is "Hello World" here (Python's str.title lowercases the rest of each word);
    Terraform's title is Go's strings.Title (cty's TitleFunc), which only uppercases the first letter of
    each word: "HELLO WORLD"."""
    assert evaluate_one('title("hELLO wORLD")') == "HELLO WORLD"


def test_for_expression_with_duplicate_keys_is_an_error() -> None:
    """{for v in ["a", "a"] : v => 1} is {"a": 1} here; without the grouping `...` Terraform requires
    the keys to be unique and returns an error otherwise
    (https://developer.hashicorp.com/terraform/language/expressions/for, Grouping Results)."""
    assert isinstance(evaluate_one('{for v in ["a", "b", "a"] : v => v}'), Unknown)
