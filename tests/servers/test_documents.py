"""Configuration documents as trees of scalars that remember their line (policies/servers/documents.py)."""

from __future__ import annotations

import json
import time

import pytest

from policies.servers.documents import Scalar, child, from_json, load_document, load_yaml


def test_scalars_remember_their_line() -> None:
    text = (
        "# comment\nkey: value  # trailing\nlist:\n- a\n- name: b\n  port: 80\nflow: [1, 'two', {x: y}]\n"
        'quoted: "a # b"\nempty:\n'
    )
    assert load_yaml(text) == {
        "key": Scalar("value", 2),
        "list": [Scalar("a", 4), {"name": Scalar("b", 5), "port": Scalar("80", 6)}],
        "flow": [Scalar("1", 7), Scalar("two", 7, True), {"x": Scalar("y", 7)}],
        "quoted": Scalar("a # b", 8, True),
        "empty": Scalar("", 9),
    }


@pytest.mark.parametrize(
    ("text", "scalar"),
    [
        ("a: 30s", Scalar("30s", 1, False)),
        ("a: '30s'", Scalar("30s", 1, True)),
        ('a: "30s"', Scalar("30s", 1, True)),
        ("a: 'it''s'", Scalar("it's", 1, True)),
        ('a: "tab\\there"', Scalar("tab\there", 1, True)),
        ("a: 8000", Scalar("8000", 1, False)),
        ("a: true", Scalar("true", 1, False)),  # never constructed: the text as written
        ("a: |\n  two\n  lines\n", Scalar("two\nlines\n", 1, False)),
        ("a: !custom 5", Scalar("5", 1, False)),  # a tag is not resolved, the scalar is kept
    ],
)
def test_quoted_and_plain_scalars(text: str, scalar: Scalar) -> None:
    assert child(load_yaml(text), "a") == scalar


def test_anchors_and_aliases() -> None:
    document = load_yaml(
        "base: &timeouts\n  idle: 30s\nweb:\n  transport: *timeouts\nport: &p 80\nother: *p\n"
    )
    assert child(document, "web", "transport", "idle") == Scalar("30s", 2)  # the line of the anchored value
    assert child(document, "other") == Scalar("80", 5)


def test_merge_keys() -> None:
    text = "defaults: &defaults\n  idle: 30s\n  read: 60s\nweb:\n  <<: *defaults\n  idle: 90s\n"
    document = load_yaml(text)
    assert child(document, "web") == {"idle": Scalar("90s", 6), "read": Scalar("60s", 3)}
    before = load_yaml("defaults: &d\n  idle: 30s\nweb:\n  idle: 90s\n  <<: *d\n")
    assert child(before, "web", "idle") == Scalar("90s", 4)  # the mapping's own key wins wherever it is


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n---\nb: 2\n",  # several documents
        "a: [1, 2\n",  # unterminated flow sequence
        "a:\n  b: 1\n c: 2\n",  # bad indentation
        "a: *undefined\n",  # an alias without its anchor
        "",  # no document at all
    ],
)
def test_what_is_not_one_valid_document_is_none(text: str) -> None:
    assert load_yaml(text) is None


def test_an_alias_bomb_is_given_up_on_quickly() -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")  # 9^9 scalars once expanded
    started = time.monotonic()
    assert load_yaml("\n".join(lines) + "\n") is None
    assert time.monotonic() - started < 5


def test_json() -> None:
    value = {"a": {"b": [1, "two", None, True, 1.5]}}
    assert from_json(value) == {
        "a": {
            "b": [
                Scalar("1", None, False),
                Scalar("two", None, True),
                Scalar("null", None, False),
                Scalar("true", None, False),
                Scalar("1.5", None, False),
            ]
        }
    }
    assert load_document(json.dumps(value), "envoy.json") == from_json(value)
    assert load_document('{"a": "x"}', "envoy.yaml") == {"a": Scalar("x", None, True)}  # starts with {
    assert load_document('{"a": ', "envoy.json") is None
    assert load_document("a: x\n", "envoy.yaml") == {"a": Scalar("x", 1)}


def test_child() -> None:
    document = load_yaml("a:\n  b:\n    c: 1\n  list: [1]\n")
    assert child(document, "a", "b", "c") == Scalar("1", 3)
    assert child(document, "a", "missing", "c") is None
    assert child(document, "a", "list", "0") is None  # only mappings are walked
    assert child(None, "a") is None


def test_a_merge_of_several_mappings_prefers_the_earlier_and_the_own_keys() -> None:
    document = load_yaml("a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  y: 3\n")
    merged = child(document, "c")
    assert isinstance(merged, dict)
    assert {key: value.text for key, value in merged.items() if isinstance(value, Scalar)} == {
        "x": "1",
        "y": "3",
        "z": "2",
    }
