"""Terraform expressions, evaluated from python-hcl2's real parse tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policies.loaders.terraform.module import Loader, ModuleInstance, root_inputs
from policies.loaders.terraform.values import Encoded, Unknown, first_unknown


def evaluate(tmp_path: Path, expression: str, prelude: str = "") -> Any:
    (tmp_path / "main.tf").write_text(f"{prelude}\nlocals {{\n  x = {expression}\n}}\n")
    loader = Loader()
    module = loader.module(tmp_path)
    assert not loader.errors, loader.errors
    return ModuleInstance(loader, module, "", root_inputs(module, loader, ())).local("x")


PRELUDE = """
variable "n" { default = 30 }
variable "s" { default = "45" }
variable "m" { default = { a = 1, b = 2 } }
variable "l" { default = ["x", "y"] }
variable "missing" {}
resource "aws_lb_target_group" "tg" {}
resource "aws_lb_target_group" "many" { count = 2 }
"""


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 / 4", 2.5),
        ("7 % 4", 3),
        ("-var.n", -30),
        ("var.n + tonumber(var.s)", 75),
        ('"${var.n}"', 30),  # a lone interpolation keeps its type
        ('"t-${var.n + 5}s"', "t-35s"),
        ("tostring(var.n * 2)", "60"),
        ('var.n > 10 ? "big" : "small"', "big"),
        ("!(var.n == 30) || false", False),
        ("var.m.b", 2),
        ('var.m["a"]', 1),
        ("var.l[1]", "y"),
        ("length(var.l)", 2),
        ('[for k, v in var.m : "${k}=${v}" if v > 1]', ["b=2"]),
        ("{for v in var.l : v => upper(v)}", {"x": "X", "y": "Y"}),
        ('"%{if var.n > 10}on%{else}off%{endif}"', "on"),
        ('"%{for v in var.l}${v};%{endfor}"', "x;y;"),
        ('"a\\tb\\"c\\u00e9 $${literal}"', 'a\tb"cé ${literal}'),
        ('lookup(var.m, "zz", 9)', 9),
        ('merge(var.m, { c = 3 })["c"]', 3),
        ('concat(var.l, ["z"])', ["x", "y", "z"]),
        ('join(",", var.l)', "x,y"),
        ('format("%s:%d", "port", 8000)', "port:8000"),
        ('try(var.m.zz, "fallback")', "fallback"),
        ("can(var.m.a)", True),
        ('coalesce("", "b")', "b"),
        ("max(1, var.n, 5)", 30),
        ("element(var.l, 3)", "y"),
        ('jsondecode("{\\"a\\": [1, 2]}").a[1]', 2),
        ("1.5e3", 1500.0),
        ('["a", "b"][*]', ["a", "b"]),
    ],
)
def test_known_values(tmp_path: Path, expression: str, value: Any) -> None:
    assert evaluate(tmp_path, expression, PRELUDE) == value


def test_heredoc_and_indented_heredoc(tmp_path: Path) -> None:
    value = evaluate(tmp_path, "<<-EOT\n    first ${var.n}\n      second\n  EOT", PRELUDE)
    assert value == "first 30\n  second\n"


def test_jsonencode_keeps_structure_and_lines(tmp_path: Path) -> None:
    value = evaluate(tmp_path, '[{\n    name = "app"\n    command = ["a", tostring(var.n)]\n  }]', PRELUDE)
    encoded = evaluate(tmp_path, 'jsonencode([{ name = "app", port = var.n }])', PRELUDE)
    assert isinstance(encoded, Encoded) and encoded.text() == '[{"name":"app","port":30}]'
    assert value[0]["command"] == ["a", "30"]
    assert value[0].where["command"].line == 13


@pytest.mark.parametrize(
    ("expression", "reason", "refs"),
    [
        (
            "aws_lb_target_group.tg.arn",
            "aws_lb_target_group.tg.arn is known only after apply",
            {"aws_lb_target_group.tg"},
        ),
        ("aws_lb_target_group.many[1].arn", "known only after apply", {"aws_lb_target_group.many[1]"}),
        ("aws_lb_target_group.many[*].arn", "splat", {"aws_lb_target_group.many"}),
        ("var.missing", "var.missing has no default and no value was given", set()),
        ('"${var.missing}-x"', "var.missing has no default", set()),
        (
            "var.missing ? aws_lb_target_group.tg.arn : aws_lb_target_group.many[0].arn",
            "condition is unknown",
            {"aws_lb_target_group.tg", "aws_lb_target_group.many[0]"},
        ),
        ("var.l[5]", "index 5 out of range for a list of 2", set()),
        ('tonumber("abc")', 'cannot convert "abc" to a number', set()),
        ("timestamp()", "function timestamp() is not evaluated", set()),
        ("local.x", "local.x → local.x: the value depends on itself (a cycle)", set()),
        ("var.undeclared", "var.undeclared is not declared", set()),
        ("data.aws_lb.shared.arn", "known only after apply", {"data.aws_lb.shared"}),
    ],
)
def test_unknown_values_keep_reason_and_references(
    tmp_path: Path, expression: str, reason: str, refs: set[str]
) -> None:
    prelude = PRELUDE + 'data "aws_lb" "shared" {\n  name = "shared"\n}\n'
    value = evaluate(tmp_path, expression, prelude)
    assert isinstance(value, Unknown), value
    assert reason in value.reason
    assert value.refs == refs


def test_deep_nesting_becomes_unknown_not_a_crash(tmp_path: Path) -> None:
    value = evaluate(tmp_path, "[" * 300 + "1" + "]" * 300)
    unknown = first_unknown(value)
    assert unknown is not None and "nested more than 200 levels deep" in unknown.reason
