"""Seeded mutations of a fixture file's bytes.

`mutate(data, suffix, seed)` is a pure function: the same bytes, suffix and seed give the same mutated
bytes and the same description, on any machine. Which mutations a seed applies (`plan(suffix, seed)`)
depends on the seed and the file's kind only, so a case's name can be told without reading the file;
where a mutation applies in the file is drawn from a generator of its own. A mutation is a function
`(data, rng) -> (data, what was done)`; `MUTATIONS` is the registry, with the weight of each,
`JSON_ONLY` the ones that parse the file as JSON (for `.json` files only).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

Mutation = Callable[[bytes, random.Random], tuple[bytes, str]]

# Byte strings that loaders handle specially: NUL, invalid UTF-8 (a lone continuation byte, a truncated
# sequence, an overlong encoding, a surrogate), byte order marks, line ends, brackets, quotes, HCL
# interpolation and heredocs, YAML tags, anchors and document markers, comment starts, odd numbers.
TOKENS = (
    b"\x00",
    b"\x80",
    b"\xc3",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xe2\x80\xa8",
    b"\r",
    b"\n",
    b"\r\n",
    b"\t",
    b"{",
    b"}",
    b"[",
    b"]",
    b"(",
    b")",
    b'"',
    b"'",
    b"`",
    b"\\",
    b"${",
    b"%{",
    b"$${",
    b"}}",
    b"<<EOF\n",
    b"<<-EOT\n",
    b"#",
    b"//",
    b"/*",
    b"*/",
    b":",
    b": ",
    b"- ",
    b"=",
    b",",
    b"&a ",
    b"*a",
    b"!Ref ",
    b"!GetAtt ",
    b"!Sub ",
    b"---\n",
    b"...\n",
    b"? ",
    b"|\n",
    b">-\n",
    b"%YAML 1.1\n",
    b"1e999",
    b"-0",
    b"NaN",
    b"99999999999999999999999999",
    b"0x",
    b"null",
    b"true",
    b"..",
    b"../",
)

# Values of every type, written as HCL, YAML or JSON (several are valid in all three), to put where a
# value was.
VALUES = (
    "null",
    "~",
    "true",
    "false",
    "0",
    "-1",
    "1.5",
    "1e400",
    "99999999999999999999999999",
    "NaN",
    '""',
    '"x"',
    '"\\u0000"',
    "[]",
    "{}",
    '[1, "a", null]',
    '{"a": 1}',
    '{"Ref": "Missing"}',
    '{"Fn::GetAtt": ["Missing", "Arn"]}',
    "!Ref Missing",
    "!GetAtt Missing.Arn",
    '!Sub "${AWS::NoSuchPseudo}"',
    '"${"',
    '"${var.missing}"',
    '"${local.x}${"',
    "var.missing",
    "local.missing",
    "module.missing.output",
    "[for x in [1] : x]",
    "{ for k, v in {} : k => v }",
    'jsonencode([{ name = "app" }])',
    'templatefile("missing.tpl", {})',
    "*nosuchanchor",
    "&anchor x",
)

# A `key = value`, `key: value` (also as a YAML list item) or Dockerfile `INSTRUCTION arguments` line.
_VALUE_LINE = re.compile(rb"^(\s*(?:- )?[\"']?[A-Za-z_][\w.:/\"'-]*\s*(?:=|:|\s)\s*)(\S.*?)\s*$")


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _span(rng: random.Random, length: int) -> tuple[int, int]:
    """A random [start, end) range of at least one of `length` items, mostly short."""
    start = rng.randrange(length)
    size = 1 + min(int(rng.expovariate(0.3)), length - start - 1)
    return start, start + size


def truncate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    at = rng.randrange(len(data) + 1)
    return data[:at], f"truncated at byte {at}"


def flip_bits(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    if not data:
        return data, "nothing to flip in an empty file"
    out = bytearray(data)
    done = []
    for _ in range(rng.randint(1, 8)):
        at, bit = rng.randrange(len(out)), 1 << rng.randrange(8)
        out[at] ^= bit
        done.append(f"{at}^{bit:#04x}")
    return bytes(out), f"flipped bits at bytes {', '.join(done)}"


def replace_bytes(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    if not data:
        return data, "nothing to replace in an empty file"
    out = bytearray(data)
    done = []
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out))
        token = rng.choice(TOKENS)
        out[at : at + len(token)] = token
        done.append(f"{token!r} at {at}")
    return bytes(out), f"overwrote {'; '.join(done)}"


def insert_bytes(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    at = rng.randrange(len(data) + 1)
    if rng.random() < 0.75:
        token = rng.choice(TOKENS)
    else:
        token = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return data[:at] + token + data[at:], f"inserted {token!r} at byte {at}"


def delete_lines(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    lines = _lines(data)
    if not lines:
        return data, "no line to delete"
    start, end = _span(rng, len(lines))
    return b"".join(lines[:start] + lines[end:]), f"deleted lines {start + 1}-{end}"


def duplicate_lines(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    lines = _lines(data)
    if not lines:
        return data, "no line to duplicate"
    start, end = _span(rng, len(lines))
    return b"".join(lines[:end] + lines[start:end] + lines[end:]), f"duplicated lines {start + 1}-{end}"


def _indent(line: bytes) -> int:
    return len(line) - len(line.lstrip(b" \t"))


def duplicate_block(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A line with everything indented below it (an HCL block with its closing brace, a YAML mapping
    entry with its children, a pretty-printed JSON member), copied right after itself: once, twice or
    a hundred times."""
    lines = _lines(data)
    starts = [i for i, line in enumerate(lines) if line.strip()]
    if not starts:
        return data, "no block to duplicate"
    start = rng.choice(starts)
    indent, end = _indent(lines[start]), start + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
        end += 1
    if end < len(lines) and _indent(lines[end]) == indent and lines[end].strip()[:1] in (b"}", b"]", b")"):
        end += 1
    copies = rng.choice((1, 1, 1, 2, 100))
    block = lines[start:end]
    if block and not block[-1].endswith(b"\n"):
        block = [*block[:-1], block[-1] + b"\n"]
    out = lines[:start] + block * copies + lines[start:]
    return b"".join(out), f"copied lines {start + 1}-{end} {copies} time(s) before themselves"


def swap_lines(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    lines = _lines(data)
    if len(lines) < 2:
        return data, "fewer than two lines to swap"
    a, b = sorted(rng.sample(range(len(lines)), 2))
    lines[a], lines[b] = lines[b], lines[a]
    return b"".join(lines), f"swapped lines {a + 1} and {b + 1}"


def _value_lines(lines: list[bytes]) -> list[int]:
    return [i for i, line in enumerate(lines) if _VALUE_LINE.match(line)]


def retype_value(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """The value of a `key = value` / `key: value` / `INSTRUCTION args` line replaced by one of another
    type (HCL, YAML and JSON text alike)."""
    lines = _lines(data)
    candidates = _value_lines(lines)
    if not candidates:
        return insert_bytes(data, rng)
    at = rng.choice(candidates)
    match = _VALUE_LINE.match(lines[at])
    assert match is not None
    value = rng.choice(VALUES).encode()
    ending = b"\n" if lines[at].endswith(b"\n") else b""
    lines[at] = match.group(1) + value + ending
    return b"".join(lines), f"line {at + 1}: value replaced by {value.decode()}"


def _nodes(document: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value in a JSON document, depth first, in document order."""
    found = [path]
    if isinstance(document, dict):
        for key, value in document.items():
            found.extend(_nodes(value, (*path, key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(_nodes(value, (*path, index)))
    return found


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _set(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return document


_JSON_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    1e308,
    "",
    "x",
    "${",
    [],
    {},
    [None],
    {"": None},
    {"Ref": "Missing"},
)


def retype_json(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A JSON document with one of its values (a whole object, a list, a scalar) replaced by a value of
    another type; a file that is not JSON (after an earlier mutation) gets a textual `retype_value`."""
    document = _json(data)
    if document is None:
        return retype_value(data, rng)
    path = rng.choice(_nodes(document))
    value = rng.choice(_JSON_VALUES)
    mutated = _set(document, path, value)
    return json.dumps(mutated, indent=1).encode(), f"JSON value at {list(path)} replaced by {value!r}"


def delete_json_member(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A JSON document with one object member or list item removed (a required field missing)."""
    document = _json(data)
    members = [path for path in _nodes(document) if path] if document is not None else []
    if not members:
        return delete_lines(data, rng)
    path = rng.choice(members)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return json.dumps(document, indent=1).encode(), f"JSON member {list(path)} removed"


def nest(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A value replaced by lists nested `depth` deep (`[[[...]]]`, valid HCL, YAML and JSON): from a
    depth parsers take in their stride, past Python's recursion limit (1,000), to one that overflows
    the C stack of a recursive C parser (libyaml's composer, at about 22,000 with an 8 MB stack)."""
    depth = rng.choices((16, 200, 1_100, 5_000, 25_000), weights=(4, 4, 4, 3, 1))[0]
    deep = b"[" * depth + b"]" * depth
    lines = _lines(data)
    candidates = _value_lines(lines)
    if not candidates:
        at = rng.randrange(len(data) + 1)
        return data[:at] + deep + data[at:], f"inserted lists nested {depth} deep at byte {at}"
    line = rng.choice(candidates)
    match = _VALUE_LINE.match(lines[line])
    assert match is not None
    ending = b"\n" if lines[line].endswith(b"\n") else b""
    lines[line] = match.group(1) + deep + ending
    return b"".join(lines), f"line {line + 1}: value replaced by lists nested {depth} deep"


def reencode(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """The whole file in another encoding or with other line ends, as editors on other systems write
    it (PowerShell 5's `>` writes UTF-16 with a byte order mark)."""
    text = data.decode("utf-8", "replace")
    how = rng.choice(("utf-16", "utf-8-sig", "latin-1", "crlf", "cr"))
    if how == "crlf":
        return text.replace("\n", "\r\n").encode(), "line ends made CRLF"
    if how == "cr":
        return text.replace("\n", "\r").encode(), "line ends made CR"
    return text.encode(how, "replace"), f"re-encoded as {how}"


# name → (weight, mutation). Weights favour the cheap, varied ones: lists nested 25,000 deep take a
# pure-Python parser seconds, and the test suite's share of cases has to run in about a minute.
MUTATIONS: dict[str, tuple[int, Mutation]] = {
    "truncate": (3, truncate),
    "flip_bits": (3, flip_bits),
    "replace_bytes": (3, replace_bytes),
    "insert_bytes": (4, insert_bytes),
    "delete_lines": (3, delete_lines),
    "duplicate_lines": (3, duplicate_lines),
    "duplicate_block": (3, duplicate_block),
    "swap_lines": (3, swap_lines),
    "retype_value": (4, retype_value),
    "retype_json": (4, retype_json),
    "delete_json_member": (2, delete_json_member),
    "nest": (2, nest),
    "reencode": (2, reencode),
}
JSON_ONLY = frozenset({"retype_json", "delete_json_member"})


def plan(suffix: str, seed: int) -> list[str]:
    """The names of the mutations seed `seed` applies, in order, to a file ending in `suffix`: one
    mostly, sometimes two or three."""
    rng = random.Random(f"plan/{seed}")
    names = [name for name in MUTATIONS if suffix == ".json" or name not in JSON_ONLY]
    weights = [MUTATIONS[name][0] for name in names]
    count = rng.choices((1, 2, 3), weights=(70, 20, 10))[0]
    return rng.choices(names, weights, k=count)


def mutate(data: bytes, suffix: str, seed: int) -> tuple[bytes, list[str]]:
    """The file's bytes after seed `seed`'s mutations, and what each one did."""
    done = []
    for step, name in enumerate(plan(suffix, seed)):
        data, what = MUTATIONS[name][1](data, random.Random(f"{seed}/{step}"))
        done.append(f"{name}: {what}")
    return data, done
