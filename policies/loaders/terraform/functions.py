"""Terraform's built-in functions that can matter for a load balancer or a container definition.

Each takes already-evaluated arguments. A function that meets an unknown value where it needs a known
one raises `NeedKnown`; the evaluator turns that into an unknown result that keeps the unknown's
resource references. Functions not listed here evaluate to unknown, never to a guess.
Reference: https://developer.hashicorp.com/terraform/language/functions
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from typing import Any

from policies.loaders.terraform.values import (
    MAX_ITEMS,
    Encoded,
    EvalError,
    Obj,
    bounded,
    known,
    to_bool,
    to_number,
    to_string,
    type_name,
)


def _string(value: Any, function: str) -> str:
    text = to_string(value)
    if text is None:
        raise EvalError(f"{function}() got null where a string is required")
    return text


def _number(value: Any, function: str) -> int | float:
    number = to_number(value)
    if number is None:
        raise EvalError(f"{function}() got null where a number is required")
    return number


def _list(value: Any, function: str) -> list[Any]:
    value = known(value)
    if isinstance(value, list):
        return value
    raise EvalError(f"{function}() needs a list, got {type_name(value)}")


def _map(value: Any, function: str) -> dict[str, Any]:
    value = known(value)
    if isinstance(value, dict):
        return value
    raise EvalError(f"{function}() needs a map or object, got {type_name(value)}")


def _int(value: Any, function: str) -> int:
    number = _number(value, function)
    if isinstance(number, float) and not number.is_integer():
        raise EvalError(f"{function}() needs a whole number, got {number}")
    return int(number)


def _jsonencode(value: Any) -> Encoded:
    return Encoded(value)


def _jsondecode(text: Any) -> Any:
    value = known(text) if not isinstance(text, Encoded) else text
    if isinstance(value, Encoded):
        return value.decoded()
    try:
        return json.loads(_string(value, "jsondecode"))
    except (ValueError, RecursionError) as error:
        raise EvalError(f"jsondecode(): invalid JSON: {error}") from None


def _merge(*maps: Any) -> Obj:
    if sum(len(mapping) for mapping in maps if isinstance(mapping, dict)) > MAX_ITEMS:
        raise EvalError(f"merge() would hold more than {MAX_ITEMS} elements")
    merged = Obj()
    for item in maps:
        item = known(item)
        if item is None:
            continue
        mapping = _map(item, "merge")
        merged.update(mapping)
        if isinstance(mapping, Obj):
            merged.where.update(mapping.where)
    return merged


def _lookup(mapping: Any, key: Any, *default: Any) -> Any:
    table = _map(mapping, "lookup")
    name = _string(key, "lookup")
    if name in table:
        return table[name]
    if default:
        return default[0]
    raise EvalError(f'lookup(): no key "{name}" and no default')


def _element(items: Any, index: Any) -> Any:
    sequence = _list(items, "element")
    if not sequence:
        raise EvalError("element() of an empty list")
    return sequence[_int(index, "element") % len(sequence)]


def _length(value: Any) -> int:
    value = known(value)
    if isinstance(value, (list, dict, str)):
        return len(value)
    raise EvalError(f"length() of {type_name(value)}")


def _format(spec: Any, *args: Any) -> str:
    pattern = _string(spec, "format")
    out: list[str] = []
    position = 0
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char != "%":
            out.append(char)
            index += 1
            continue
        end = index + 1
        while end < len(pattern) and pattern[end] in "+- #0.123456789":
            end += 1
        if end >= len(pattern):
            raise EvalError("format(): incomplete verb at end of the format string")
        verb = pattern[end]
        if verb == "%":
            out.append("%")
        else:
            if position >= len(args):
                raise EvalError("format(): not enough arguments")
            argument = args[position]
            position += 1
            if verb in "sv":
                out.append(_string(argument, "format"))
            elif verb == "d":
                out.append(str(_int(argument, "format")))
            elif verb in "fgeG":
                out.append(("%" + pattern[index + 1 : end + 1]) % _number(argument, "format"))
            elif verb == "q":
                out.append(json.dumps(_string(argument, "format")))
            elif verb == "t":
                out.append("true" if to_bool(argument) else "false")
            else:
                raise EvalError(f"format(): verb %{verb} is not supported")
        index = end + 1
    return bounded("".join(out), "format()")  # type: ignore[no-any-return]


def _join(separator: Any, *lists: Any) -> str:
    parts: list[str] = []
    for items in lists:
        parts.extend(_string(item, "join") for item in _list(items, "join"))
    return bounded(_string(separator, "join").join(parts), "join()")  # type: ignore[no-any-return]


def _flatten(items: Any) -> list[Any]:
    flat: list[Any] = []
    for item in _list(items, "flatten"):
        item = known(item)
        if isinstance(item, list):
            flat.extend(_flatten(item))
        else:
            flat.append(item)
    return bounded(flat, "flatten()")  # type: ignore[no-any-return]


def _distinct(items: Any) -> list[Any]:
    seen: list[Any] = []
    for item in _list(items, "distinct"):
        if item not in seen:
            seen.append(known(item))
    return seen


def _coalesce(*values: Any) -> Any:
    for value in values:
        value = known(value)
        if value is not None and value != "":
            return value
    raise EvalError("coalesce(): no non-null, non-empty argument")


def _range(*bounds: Any) -> list[int | float]:
    numbers = [_number(bound, "range") for bound in bounds]
    start: int | float
    stop: int | float
    step: int | float
    if len(numbers) == 1:
        start, stop, step = 0, numbers[0], 1
    elif len(numbers) == 2:
        start, stop = numbers
        step = 1 if start <= stop else -1
    elif len(numbers) == 3:
        start, stop, step = numbers
    else:
        raise EvalError("range() takes one to three arguments")
    if step == 0:
        raise EvalError("range(): step must not be zero")
    if abs((stop - start) / step) > 1024:
        raise EvalError("range(): more than 1024 elements")
    values: list[int | float] = []
    current = start
    while (step > 0 and current < stop) or (step < 0 and current > stop):
        values.append(current)
        current += step
    return values


def _substr(text: Any, offset: Any, length: Any) -> str:
    value = _string(text, "substr")
    start = _int(offset, "substr")
    count = _int(length, "substr")
    if start < 0:
        start += len(value)
    return value[start:] if count < 0 else value[start : start + count]


def _one(items: Any) -> Any:
    sequence = _list(items, "one")
    if len(sequence) > 1:
        raise EvalError("one() of a list with more than one element")
    return sequence[0] if sequence else None


def _zipmap(keys: Any, values: Any) -> Obj:
    names = [_string(key, "zipmap") for key in _list(keys, "zipmap")]
    items = _list(values, "zipmap")
    if len(names) != len(items):
        raise EvalError("zipmap(): keys and values differ in length")
    return Obj(zip(names, items, strict=True))


def _tomap(value: Any) -> Obj:
    mapping = _map(value, "tomap")
    return mapping if isinstance(mapping, Obj) else Obj(mapping.items())


def _tolist(value: Any) -> list[Any]:
    return list(_list(value, "tolist"))


def _toset(value: Any) -> list[Any]:
    return _distinct(value)


def _minmax(choose: Callable[..., Any], name: str) -> Callable[..., Any]:
    def function(*values: Any) -> Any:
        if not values:
            raise EvalError(f"{name}() needs at least one argument")
        return choose(_number(value, name) for value in values)

    return function


def _keys(value: Any) -> list[str]:
    return sorted(_map(value, "keys"))


def _values(value: Any) -> list[Any]:
    mapping = _map(value, "values")
    return [mapping[key] for key in sorted(mapping)]


def _contains(items: Any, value: Any) -> bool:
    return known(value) in [known(item) for item in _list(items, "contains")]


def _replace(text: Any, search: Any, replacement: Any) -> str:
    needle = _string(search, "replace")
    if len(needle) > 1 and needle.startswith("/") and needle.endswith("/"):
        raise EvalError("replace() with a regular expression is not evaluated")
    return _string(text, "replace").replace(needle, _string(replacement, "replace"))


def _split(separator: Any, text: Any) -> list[str]:
    whole, by = _string(text, "split"), _string(separator, "split")
    return whole.split(by) if by else list(whole)  # Go's strings.Split: "" splits after each character


def _slice(items: Any, start: Any, end: Any) -> list[Any]:
    return _list(items, "slice")[_int(start, "slice") : _int(end, "slice")]


def _compact(items: Any) -> list[str]:
    return [text for text in (_string(item, "compact") for item in _list(items, "compact")) if text]


def _parseint(text: Any, base: Any) -> int:
    try:
        return int(_string(text, "parseint"), _int(base, "parseint"))
    except ValueError:
        raise EvalError(f'parseint(): "{text}" is not a number in base {base}') from None


def _concat(*lists: Any) -> list[Any]:
    if sum(len(items) for items in lists if isinstance(items, list)) > MAX_ITEMS:
        raise EvalError(f"concat() would hold more than {MAX_ITEMS} elements")
    return [item for items in lists for item in _list(items, "concat")]


def _sum(items: Any) -> int | float:
    return sum(_number(item, "sum") for item in _list(items, "sum"))


def _unary_text(operation: Callable[[str], str], name: str) -> Callable[[Any], str]:
    return lambda value: operation(_string(value, name))


def _text_predicate(name: str, test: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    return lambda text, part: test(_string(text, name), _string(part, name))


def _trim(text: Any, characters: Any) -> str:
    return _string(text, "trim").strip(_string(characters, "trim"))


def _trimprefix(text: Any, prefix: Any) -> str:
    return _string(text, "trimprefix").removeprefix(_string(prefix, "trimprefix"))


def _trimsuffix(text: Any, suffix: Any) -> str:
    return _string(text, "trimsuffix").removesuffix(_string(suffix, "trimsuffix"))


def _chomp(text: Any) -> str:
    return _string(text, "chomp").rstrip("\r\n")


def _tostring(value: Any) -> str | None:
    return to_string(value)


def _tonumber(value: Any) -> int | float | None:
    return to_number(value)


def _tobool(value: Any) -> bool | None:
    return to_bool(value)


def _abs(value: Any) -> int | float:
    return abs(_number(value, "abs"))


def _ceil(value: Any) -> int | float:
    number = _number(value, "ceil")
    return math.ceil(number) if math.isfinite(number) else _infinite(number, "ceil")


def _floor(value: Any) -> int | float:
    number = _number(value, "floor")
    return math.floor(number) if math.isfinite(number) else _infinite(number, "floor")


def _infinite(number: float, name: str) -> float:
    """ceil/floor of an infinity is that infinity (cty's CeilFunc, FloorFunc); NaN is not a number."""
    if math.isnan(number):
        raise EvalError(f"{name}() of a value that is not a number")
    return number


def _title(text: Any) -> str:
    """Go's strings.Title: the first letter of each word upper-cased, the rest left as it is."""
    return _WORD_START.sub(lambda match: match.group().upper(), _string(text, "title"))


# a letter after the start, a space or ASCII punctuation (Go's isSeparator)
_WORD_START = re.compile(r"(?:^|(?<=[\s!-/:-@\[-^`{-~]))\w")


def _reverse(items: Any) -> list[Any]:
    return list(reversed(_list(items, "reverse")))


def _sort(items: Any) -> list[str]:
    return sorted(_string(item, "sort") for item in _list(items, "sort"))


def _identity(value: Any) -> Any:
    """sensitive() and nonsensitive() change how Terraform displays a value, not the value."""
    return value


def _index(items: Any, value: Any) -> int:
    sequence = [known(item) for item in _list(items, "index")]
    if known(value) not in sequence:
        raise EvalError("index(): the value is not in the list")
    return sequence.index(known(value))


def _base64encode(text: Any) -> str:
    return base64.b64encode(_string(text, "base64encode").encode()).decode()


def _base64decode(text: Any) -> str:
    try:
        return base64.b64decode(_string(text, "base64decode")).decode()
    except ValueError as error:
        raise EvalError(f"base64decode(): {error}") from None


def _coalescelist(*lists: Any) -> list[Any]:
    for items in lists:
        sequence = _list(items, "coalescelist")
        if sequence:
            return sequence
    raise EvalError("coalescelist(): every argument is empty")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": _abs,
    "base64decode": _base64decode,
    "base64encode": _base64encode,
    "ceil": _ceil,
    "chomp": _chomp,
    "coalesce": _coalesce,
    "coalescelist": _coalescelist,
    "compact": _compact,
    "concat": _concat,
    "contains": _contains,
    "distinct": _distinct,
    "element": _element,
    "endswith": _text_predicate("endswith", str.endswith),
    "flatten": _flatten,
    "floor": _floor,
    "format": _format,
    "index": _index,
    "join": _join,
    "jsondecode": _jsondecode,
    "jsonencode": _jsonencode,
    "keys": _keys,
    "length": _length,
    "lookup": _lookup,
    "lower": _unary_text(str.lower, "lower"),
    "max": _minmax(max, "max"),
    "merge": _merge,
    "min": _minmax(min, "min"),
    "nonsensitive": _identity,
    "sensitive": _identity,
    "sort": _sort,
    "one": _one,
    "parseint": _parseint,
    "range": _range,
    "replace": _replace,
    "reverse": _reverse,
    "slice": _slice,
    "split": _split,
    "startswith": _text_predicate("startswith", str.startswith),
    "strcontains": _text_predicate("strcontains", lambda text, part: part in text),
    "substr": _substr,
    "sum": _sum,
    "title": _title,
    "tobool": _tobool,
    "tolist": _tolist,
    "tomap": _tomap,
    "tonumber": _tonumber,
    "toset": _toset,
    "tostring": _tostring,
    "trim": _trim,
    "trimprefix": _trimprefix,
    "trimspace": _unary_text(str.strip, "trimspace"),
    "trimsuffix": _trimsuffix,
    "upper": _unary_text(str.upper, "upper"),
    "values": _values,
    "zipmap": _zipmap,
}
