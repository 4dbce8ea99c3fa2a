"""Parse JSON text (a `file()`, `templatefile()` or heredoc container definition) keeping line numbers.

The standard `json` module forgets where things were; a finding must say "line 7 of
containers.json", so this small reader builds `Obj`s whose `where` maps each key to its line.
Strings are decoded by the standard library's own scanner. Markers standing for unknown template
parts (see `values.hole`) are turned back into the unknowns they stand for.
"""

from __future__ import annotations

import bisect
import re
from json.decoder import scanstring  # type: ignore[attr-defined]  # public, C-accelerated, not in typeshed
from typing import Any

from policies.loaders.terraform.values import HOLE, Obj, Unknown, located
from policies.model import Location

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_HOLE = re.compile(f"{HOLE}(\\d+){HOLE}")
MAX_DEPTH = 200


class JsonTextError(ValueError):
    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


class _Reader:
    def __init__(self, text: str, start: Location, holes: tuple[Unknown, ...]):
        self.text = text
        self.path = start.path
        self.first_line = start.line or 1
        self.newlines = [match.start() for match in re.finditer("\n", text)]
        self.holes = holes
        self.spans: tuple[tuple[int, int, Location], ...] = getattr(text, "spans", ())

    def line(self, offset: int) -> int:
        return self.first_line + bisect.bisect_right(self.newlines, offset - 1)

    def where(self, offset: int) -> Location:
        """Where the value at `offset` was written: the interpolated value's own place when the template
        put it there whole, else this line of the text."""
        for start, end, location in self.spans:
            if start <= offset < end:
                return location
        return Location(self.path, self.line(offset))

    def fail(self, message: str, offset: int) -> JsonTextError:
        return JsonTextError(message, self.line(offset))

    def skip(self, offset: int) -> int:
        match = _WHITESPACE.match(self.text, offset)
        return match.end() if match else offset

    def value(self, offset: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise self.fail(f"JSON nested more than {MAX_DEPTH} levels deep", offset)
        offset = self.skip(offset)
        if offset >= len(self.text):
            raise self.fail("unexpected end of JSON", offset)
        char = self.text[offset]
        if char == "{":
            return self.object(offset, depth)
        if char == "[":
            return self.array(offset, depth)
        if char == '"':
            return self.string(offset)
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, offset):
                return value, offset + len(word)
        match = _NUMBER.match(self.text, offset)
        if match:
            number = match.group()
            parsed = int(number) if not any(mark in number for mark in ".eE") else float(number)
            return located(parsed, self.where(offset)), match.end()
        if self.text.startswith(HOLE, offset):
            raise self.fail("an unknown value stands where JSON expects a literal", offset)
        raise self.fail(f"unexpected character {char!r} in JSON", offset)

    def string(self, offset: int) -> tuple[Any, int]:
        try:
            text, end = scanstring(self.text, offset + 1, False)
        except ValueError as error:
            raise self.fail(f"invalid JSON string: {error.args[0].split(':')[0]}", offset) from None
        if HOLE in text:
            indexes = [int(match.group(1)) for match in _HOLE.finditer(text)]
            parts = [self.holes[index] for index in indexes if index < len(self.holes)]
            return Unknown.merge(parts) if parts else Unknown("unknown template part"), end
        # a string that is exactly one interpolated value is located where that value was written
        whole = next(
            (where for start, stop, where in self.spans if start == offset + 1 and stop == end - 1), None
        )
        return located(text, whole or Location(self.path, self.line(offset))), end

    def object(self, offset: int, depth: int) -> tuple[Obj, int]:
        result = Obj()
        offset = self.skip(offset + 1)
        if self.text.startswith("}", offset):
            return result, offset + 1
        while True:
            offset = self.skip(offset)
            if not self.text.startswith('"', offset):
                raise self.fail("expected a quoted key in JSON object", offset)
            key_line = self.line(offset)
            key, offset = self.string(offset)
            offset = self.skip(offset)
            if not self.text.startswith(":", offset):
                raise self.fail("expected ':' in JSON object", offset)
            value, offset = self.value(offset + 1, depth + 1)
            if isinstance(key, str):
                result[key] = value
                result.where[key] = Location(self.path, key_line)
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset += 1
                continue
            if self.text.startswith("}", offset):
                return result, offset + 1
            raise self.fail("expected ',' or '}' in JSON object", offset)

    def array(self, offset: int, depth: int) -> tuple[list[Any], int]:
        result: list[Any] = located([], Location(self.path, self.line(offset)))
        offset = self.skip(offset + 1)
        if self.text.startswith("]", offset):
            return result, offset + 1
        while True:
            value, offset = self.value(offset, depth + 1)
            result.append(value)
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset += 1
                continue
            if self.text.startswith("]", offset):
                return result, offset + 1
            raise self.fail("expected ',' or ']' in JSON array", offset)


def parse_json_text(text: str, start: Location, holes: tuple[Unknown, ...] = ()) -> Any:
    """Parse JSON `text` that begins at `start`; raise JsonTextError (with a line) when it is invalid."""
    reader = _Reader(text, start, holes)
    value, offset = reader.value(0, 0)
    offset = reader.skip(offset)
    if offset != len(text):
        raise reader.fail("unexpected text after the JSON value", offset)
    return value
