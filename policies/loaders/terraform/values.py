"""Values produced by evaluating Terraform expressions.

Known values are plain Python: None, bool, int, float, str, list and dict. Objects written in HCL are
`Obj` (a dict that also remembers where each key was written) so a container's `command` can be
reported at its own line. What cannot be known statically is an `Unknown`, which keeps the addresses of
the resources it came from: `aws_lb_target_group.app.arn` is unknown before apply, but it still says
which target group a listener forwards to.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policies.model import Location


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be determined statically, and why."""

    reason: str
    refs: frozenset[str] = frozenset()
    # A template whose only unknowns are interpolations keeps its text with each unknown replaced by
    # a marker (see `hole`), so JSON written in a heredoc stays readable around an unknown image tag.
    partial: Text | None = field(default=None, compare=False)
    holes: tuple[Unknown, ...] = field(default=(), compare=False)
    fix: str = field(default="", compare=False)  # what would make it known, when the loader knows better

    @staticmethod
    def merge(values: Iterable[Unknown], reason: str | None = None) -> Unknown:
        values = list(values)
        refs = frozenset().union(*(v.refs for v in values))
        return Unknown(reason or (values[0].reason if values else "unknown"), refs)


HOLE = "\x00"


def hole(index: int) -> str:
    """The marker standing for the `index`-th unknown of a partial template text."""
    return f"{HOLE}{index}{HOLE}"


class Obj(dict[str, Any]):
    """An object or map, remembering the location each key was written at."""

    __slots__ = ("where",)

    def __init__(self, items: Iterable[tuple[str, Any]] = (), where: dict[str, Location] | None = None):
        super().__init__(items)
        self.where: dict[str, Location] = where or {}


class LocatedStr(str):
    """A string literal that remembers where it was written (survives variables, locals, lookups)."""

    where: Location


class LocatedInt(int):
    where: Location


class LocatedFloat(float):
    where: Location


class LocatedList(list[Any]):
    __slots__ = ("where",)
    where: Location


def located(value: Any, where: Location | None) -> Any:
    """`value` remembering `where` it was written; bools and null cannot carry a location."""
    if where is None or value is None or isinstance(value, bool):
        return value
    kind: type | None = None
    if isinstance(value, str) and not isinstance(value, Text):
        kind = LocatedStr
    elif isinstance(value, int):
        kind = LocatedInt
    elif isinstance(value, float):
        kind = LocatedFloat
    elif isinstance(value, list):
        kind = LocatedList
    if kind is None:
        return value
    copy = kind(value)
    copy.where = where
    return copy


def where_of(value: Any) -> Location | None:
    """Where a value was written, when it is a literal that came here unchanged."""
    if isinstance(value, Text):
        return value.start
    where = getattr(value, "where", None)
    return where if isinstance(where, Location) else None


Span = tuple[int, int, Location]  # text[start:end] is an interpolated value written at the location


class Spanned(str):
    """A rendered template that knows where its interpolated values were written."""

    spans: tuple[Span, ...]


def spanned(value: str, spans: tuple[Span, ...]) -> str:
    if not spans:
        return value
    result = Spanned(value)
    result.spans = spans
    return result


class Text(str):
    """A string that holds a whole document (a `file()` result, a heredoc, a rendered template), with where
    it starts and where its interpolated values came from, so JSON parsed out of it keeps locations."""

    __slots__ = ("spans", "start")
    start: Location
    spans: tuple[Span, ...]

    def __new__(cls, value: str, start: Location, spans: tuple[Span, ...] = ()) -> Text:
        self = super().__new__(cls, value)
        self.start = start
        self.spans = spans or getattr(value, "spans", ())
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # for a cached result (pickle)
        return Text, (str(self), self.start, self.spans)


@dataclass(frozen=True)
class Encoded:
    """The result of `jsonencode(x)`: keeps `x` itself, so a container definition written in HCL keeps
    its lines and its partly-unknown parts instead of collapsing into one unknown string."""

    data: Any

    def text(self) -> str | Unknown:
        unknown = first_unknown(self.data)
        if unknown is not None:
            return Unknown(f"jsonencode() of a value that is not fully known: {unknown.reason}", unknown.refs)
        import json

        # a jsonencode() result inside is the JSON string it is
        return json.dumps(self.data, separators=(",", ":"), default=_encoded_text)

    def decoded(self) -> Any:
        """What `jsondecode` gives back: the value, with each jsonencode() result inside it a string."""
        return _strings_for_encoded(self.data)


def _encoded_text(value: Any) -> str:
    if isinstance(value, Encoded):
        text = value.text()
        if isinstance(text, str):
            return text
    raise EvalError(f"jsonencode() of {type_name(value)}")


def _strings_for_encoded(value: Any) -> Any:
    if isinstance(value, Encoded):
        return value.text()
    if isinstance(value, dict):
        return Obj(
            ((key, _strings_for_encoded(item)) for key, item in value.items()), getattr(value, "where", None)
        )
    if isinstance(value, list):
        return [_strings_for_encoded(item) for item in value]
    return value


@dataclass(frozen=True)
class ResourceRef:
    """A bare reference to a resource (`aws_lb.this`) before an attribute is taken from it."""

    address: str
    instances: tuple[str, ...] = ()  # addresses of expanded instances (count/for_each), if known

    def attribute(self, name: str) -> Unknown:
        return Unknown(f"{self.address}.{name} is known only after apply", frozenset({self.address}))


def first_unknown(value: Any, depth: int = 0) -> Unknown | None:
    """The first Unknown found anywhere inside `value`, or None when it is fully known."""
    if isinstance(value, Unknown):
        return value
    if isinstance(value, ResourceRef):
        return value.attribute("*")
    if isinstance(value, Encoded):
        return first_unknown(value.data, depth + 1)
    if isinstance(value, dict):
        for item in value.values():
            found = first_unknown(item, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = first_unknown(item, depth + 1)
            if found is not None:
                return found
    return None


def all_refs(value: Any) -> frozenset[str]:
    """Every resource address a (possibly nested) value was derived from."""
    if isinstance(value, Unknown):
        return value.refs
    if isinstance(value, ResourceRef):
        return frozenset({value.address})
    if isinstance(value, Encoded):
        return all_refs(value.data)
    if isinstance(value, dict):
        return frozenset().union(*(all_refs(v) for v in value.values()))
    if isinstance(value, list):
        return frozenset().union(*(all_refs(v) for v in value))
    return frozenset()


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "tuple"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def number_text(value: int | float) -> str:
    """How Terraform renders a number in a string: big.Float.Text('f', -1), the shortest digits that
    read back the same, never an exponent, no trailing `.0` (cty/convert/conversion_primitive.go)."""
    if isinstance(value, float):
        if not math.isfinite(value):  # as big.Float writes an infinity (JSON's 1e999 is one)
            return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
        return format(Decimal(repr(value)), "f").removesuffix(".0")
    try:
        return str(value)
    except ValueError:  # beyond Python's 4,300-digit conversion limit
        raise EvalError("number too long to write") from None


class EvalError(Exception):
    """An expression is wrong (a type error, a missing key): its value becomes unknown with this reason."""


# No real configuration builds values this large; an expression that would (say, forty doublings of a
# list with concat) is stopped here instead of exhausting memory.
MAX_ITEMS = 100_000
MAX_TEXT = 10_000_000


def bounded(value: Any, what: str) -> Any:
    """`value`, or EvalError when it is a collection or string larger than any configuration needs."""
    if isinstance(value, (list, dict)) and len(value) > MAX_ITEMS:
        raise EvalError(f"{what} would hold more than {MAX_ITEMS} elements")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise EvalError(f"{what} would be longer than {MAX_TEXT} characters")
    return value


class NeedKnown(Exception):  # a control-flow signal, not an error
    """Raised by a function that met an unknown value where it needs a known one."""

    def __init__(self, unknown: Unknown):
        super().__init__(unknown.reason)
        self.unknown = unknown


def known(value: Any) -> Any:
    """`value` itself, or NeedKnown if it is (or directly holds) something unknown."""
    if isinstance(value, Unknown):
        raise NeedKnown(value)
    if isinstance(value, ResourceRef):
        raise NeedKnown(value.attribute("*"))
    if isinstance(value, Encoded):
        text = value.text()
        if isinstance(text, Unknown):
            raise NeedKnown(text)
        return text
    return value


def to_number(value: Any) -> int | float | None:
    """Terraform's number conversion; the result keeps the location of what it converted."""
    return located(_to_number(value), where_of(value))  # type: ignore[no-any-return]


def _to_number(value: Any) -> int | float | None:
    value = known(value)
    if value is None:
        return None
    if isinstance(value, bool):
        raise EvalError(f"cannot convert bool {str(value).lower()} to a number")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise EvalError(f'cannot convert "{value}" to a number') from None
        return int(number) if number.is_integer() and "e" not in text.lower() else number
    raise EvalError(f"cannot convert {type_name(value)} to a number")


def to_string(value: Any) -> str | None:
    """Terraform's string conversion; the result keeps the location of what it converted."""
    return located(_to_string(value), where_of(value))  # type: ignore[no-any-return]


def _to_string(value: Any) -> str | None:
    value = known(value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    raise EvalError(f"cannot convert {type_name(value)} to a string")


def to_bool(value: Any) -> bool | None:
    value = known(value)
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise EvalError(f"cannot convert {type_name(value)} to a bool")
