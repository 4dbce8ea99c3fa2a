"""The hostile corpus: for every format, inputs that are broken, huge, nested without end, recursive or
lead outside the scanned tree. Each gives one error line naming the file (and the line, when known),
in bounded time; every other input is still analysed (a good chain next to it keeps its finding); and
the exit code is the one SPEC.md gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from policies.loaders import LoadOptions
from policies.scan import Result, scan
from tests.helpers import rules_of, service_tf, write_tree

GOOD = service_tf(command=["uvicorn", "app:app"])  # one KA001
DEEP = 100_000
CFN_HEAD = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
BOMB = (
    CFN_HEAD
    + "    Properties:\n      a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"      a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10))
)
PLAN = '{"format_version": "1.2", "terraform_version": "1.9.0", "planned_values": '
MANIFEST = '{"version": "36.0.0", "artifacts": {"S": {"type": "aws:cloudformation:stack", "properties": '


def errors(result: Result) -> list[str]:
    return [f"{error.path}:{error.line}: {error.message}" for error in result.errors]


CASES: dict[str, tuple[dict[str, str | bytes], str]] = {
    # Terraform
    "HCL nested 100,000 levels": (
        {"bad/main.tf": 'resource "aws_lb" "x" {\n  a = ' + "[" * DEEP + "]" * DEEP + "\n}\n"},
        "bad/main.tf:2: nested more than 1000 levels deep: not parsed",
    ),
    "HCL expression nested 5,000 parentheses": (
        {"bad/main.tf": 'resource "aws_lb" "x" {\n  a = ' + "(" * 5000 + "1" + ")" * 5000 + "\n}\n"},
        "bad/main.tf:None: configuration nested too deeply",
    ),
    "HCL truncated in a string": (
        {"bad/main.tf": 'resource "aws_lb" "x" {\n  name = "we'},
        "bad/main.tf:2: HCL syntax error",
    ),
    "tfvars that is binary": (
        {"bad/main.tf": 'variable "idle" {}\n', "bad/terraform.tfvars": b"\x00\x01\x02"},
        "bad/terraform.tfvars:None: binary file, not text",
    ),
    "file() of a file outside the scanned tree": (
        {
            "bad/main.tf": 'locals {\n  x = file("/etc/passwd")\n}\nresource "aws_lb" "x" {\n  name = local.x\n}\n'
        },
        'bad/main.tf:2: file("/etc/passwd"): /etc/passwd: outside the directories scanned',
    ),
    "templatefile() escaping with ..": (
        {
            "bad/main.tf": 'locals {\n  x = templatefile("${path.module}/../../../../../../etc/hostname", {})\n}\n'
            'resource "aws_lb" "x" {\n  name = local.x\n}\n'
        },
        "etc/hostname: outside the directories scanned",
    ),
    "locals that refer to each other": (
        {
            "bad/main.tf": 'locals {\n  a = local.b\n  b = local.a\n}\nresource "aws_lb" "x" {\n  name = local.a\n}\n'
        },
        "bad/main.tf:2: local.a → local.b → local.a: the value depends on itself (a cycle)",
    ),
    "a variable whose default refers to itself": (
        {"bad/main.tf": 'variable "a" {\n  default = var.a\n}\nresource "aws_lb" "x" {\n  name = var.a\n}\n'},
        'bad/main.tf:2: the default of var.a refers to "var": a default must be a literal value',
    ),
    "a count that refers to its own resource": (
        {"bad/main.tf": 'resource "aws_lb" "x" {\n  count = length(aws_lb.x)\n}\n'},
        "bad/main.tf:1: aws_lb.x → aws_lb.x: the value depends on itself (a cycle)",
    ),
    "modules that call each other": (
        {
            "bad/main.tf": 'module "a" {\n  source = "./a"\n}\n',
            "bad/a/main.tf": 'module "b" {\n  source = "../b"\n}\n',
            "bad/b/main.tf": 'module "a" {\n  source = "../a"\n}\nresource "aws_lb" "x" {}\n',
        },
        "bad/b/main.tf:1: module.a calls itself recursively",
    ),
    # CloudFormation
    "YAML alias bomb": (
        {"bad/stack.yaml": BOMB},
        "bad/stack.yaml:1: not a valid template: Template resolves to more than 250000 nodes",
    ),
    "YAML nested 100,000 levels (crashes libyaml)": (
        {"bad/stack.yaml": CFN_HEAD + "    Properties:\n      X: " + "[" * DEEP + "]" * DEEP + "\n"},
        "bad/stack.yaml:6: nested more than 1000 levels deep: not decoded",
    ),
    "JSON template nested 100,000 levels": (
        {
            "bad/stack.json": '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"A": {"Type": '
            '"AWS::SNS::Topic", "Properties": ' + "[" * DEEP + "]" * DEEP + "}}}"
        },
        "bad/stack.json:1: nested more than 1000 levels deep: not decoded",
    ),
    "JSON template truncated": (
        {"bad/stack.json": '{"AWSTemplateFormatVersion": "2010-09-09",\n "Resources": {"A": {"Type": '},
        "bad/stack.json:2: not valid JSON: Expecting value",
    ),
    "YAML template truncated": (
        {"bad/stack.yaml": CFN_HEAD + "    Properties:\n      X: [\n"},
        "bad/stack.yaml:7: not a valid template:",
    ),
    "YAML template that is not UTF-8": (
        {"bad/stack.yaml": (CFN_HEAD + "# caf\xe9\n").encode("latin-1")},
        "bad/stack.yaml:5: not UTF-8 text (byte 0xe9)",
    ),
    "YAML template with a NUL byte": (
        {"bad/stack.yaml": CFN_HEAD.encode() + b"\x00"},
        "bad/stack.yaml:None: binary file, not text",
    ),
    # Cloud assemblies
    "manifest truncated": (
        {"bad/cdk.out/manifest.json": '{"version": "36.0.0", "artifacts": {'},
        "bad/cdk.out/manifest.json:1: not valid JSON: Expecting property name",
    ),
    "manifest whose artifacts are a number": (
        {"bad/cdk.out/manifest.json": '{"version": "36.0.0", "artifacts": 5}'},
        "bad/cdk.out/manifest.json:None: not a cloud assembly manifest: no artifacts",
    ),
    "manifest naming a template outside the tree": (
        {"bad/cdk.out/manifest.json": MANIFEST + '{"templateFile": "/etc/passwd"}}}}'},
        "/etc/passwd:None: outside the directories scanned",
    ),
    "manifest naming a missing template": (
        {"bad/cdk.out/manifest.json": MANIFEST + '{"templateFile": "S.template.json"}}}}'},
        "bad/cdk.out/S.template.json:None: cannot read: No such file or directory",
    ),
    # Plans
    "plan nested 100,000 levels": (
        {"bad/plan.json": PLAN + "[" * DEEP + "]" * DEEP + "}"},
        "bad/plan.json:None: not valid JSON: nested too deeply",
    ),
    "plan with a NUL byte": (
        {"bad/plan.json": PLAN.encode() + b"\x00}"},
        "bad/plan.json:None: binary file, not text",
    ),
    "plan whose resources are a number": (
        {"bad/plan.json": PLAN + '{"root_module": {"resources": 5}}}'},
        "bad/plan.json:None: planned_values.root_module.resources is a number, expected a list",
    ),
    "plan truncated": (
        {"bad/plan.json": PLAN + "{"},
        "bad/plan.json:1: not valid JSON: Expecting property name",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_hostile_input_is_one_error_and_the_rest_is_scanned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    files, expected = CASES[case]
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"good/main.tf": GOOD, **files})
    result = scan([tmp_path / "good", tmp_path / "bad"], load_options=LoadOptions(cache=None))
    assert len(result.errors) == 1 and expected in errors(result)[0], errors(result)
    assert rules_of(result) == ["KA001"]


def test_a_task_definition_without_container_definitions_is_unknown_not_a_crash(tmp_path: Path) -> None:
    start = GOOD.index("  container_definitions")
    tf = GOOD[:start] + "}\n"  # the task definition is the last block
    result = scan([write_tree(tmp_path, {"main.tf": tf})])
    (finding,) = result.findings
    assert finding.rule == "KA002" and "container_definitions is not set" in finding.message


def test_a_file_over_the_size_limit_is_an_error_and_the_limit_is_configurable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    padding = "#" + "x" * 4000 + "\n"
    write_tree(
        tmp_path,
        {"good/main.tf": GOOD, "big/main.tf": padding + GOOD.replace('name = "web"', 'name = "big"')},
    )
    small = scan([tmp_path], load_options=LoadOptions(max_file_bytes=4000))
    assert errors(small) == ["big/main.tf:None: file is 4.7 KB, over the 3.9 KB limit (--max-file-size)"]
    assert rules_of(small) == ["KA001"]
    assert rules_of(scan([tmp_path])) == ["KA001", "KA001"]  # the default limit reads it


def test_gigantic_lines_are_read_in_bounded_time(tmp_path: Path) -> None:
    """A 5 MB string and a 5 MB comment on one line each: read, nothing lost."""
    huge = "a" * 5_000_000
    tf = GOOD.replace('name = "web"', f'name = "web"\n  tags = {{ blob = "{huge}" }}')
    result = scan([write_tree(tmp_path, {"main.tf": f"# {huge}\n" + tf})])
    assert result.errors == () and rules_of(result) == ["KA001"]


def test_symbolic_links_that_loop_or_lead_outside_are_not_followed(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "repo", {"main.tf": GOOD})
    (tree / "loop").symlink_to(tree)
    (tree / "etc").symlink_to("/etc")
    (tree / "passwd.tf").symlink_to("/etc/passwd")
    result = scan([tree])
    assert errors(result) == [
        f"{tree / 'passwd.tf'}:None: outside the directories scanned (run from, or scan, a directory "
        "holding it, it is /etc/passwd): not read"
    ]
    assert rules_of(result) == ["KA001"]


def test_a_directory_named_like_an_input_is_searched_not_read(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"main.tf": GOOD, "stack.yaml/main.tf": GOOD.replace('name = "web"', 'name = "other"')}
    )
    (tmp_path / "plan.json").mkdir()
    result = scan([tmp_path])
    assert result.errors == () and rules_of(result) == ["KA001", "KA001"]


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file; tests/loaders/test_bad_input.py fakes the permission error")
    tree = write_tree(tmp_path, {"good/main.tf": GOOD, "bad/main.tf": GOOD})
    (tree / "bad" / "main.tf").chmod(0)
    result = scan([tree / "good", tree / "bad"])
    assert [error.message for error in result.errors] == ["cannot read: Permission denied"]


def test_the_command_line_on_the_whole_corpus(tmp_path: Path) -> None:
    """Every hostile input at once, through the command line: one line per input, no traceback, and
    exit 1 for the good chain's error; exit 2 without it."""
    for number, (files, _) in enumerate(CASES.values()):
        write_tree(
            tmp_path / f"case{number}", {name.replace("bad/", ""): content for name, content in files.items()}
        )
    write_tree(tmp_path, {"good/main.tf": GOOD})
    command = [sys.executable, "-m", "policies", "scan", "--no-cache", "--format", "json"]
    with_good = subprocess.run([*command, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert "Traceback" not in with_good.stderr and with_good.returncode == 1, with_good.stderr
    report = json.loads(with_good.stdout)
    assert [finding["rule"] for finding in report["findings"]] == ["KA001"]
    assert len(report["errors"]) == len(CASES)
    assert all("\n" not in error["message"] for error in report["errors"])
    os.remove(tmp_path / "good" / "main.tf")
    without = subprocess.run([*command, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert without.returncode == 2 and json.loads(without.stdout)["errors"] == report["errors"]


def test_deep_json_in_a_dockerfile_and_modules_json_is_no_exception(tmp_path: Path) -> None:
    """Exec-form JSON nested 1,000 deep (found by the fuzzer: RecursionError out of the scan)."""
    deep = "[" * 1000 + "]" * 1000
    tree = write_tree(
        tmp_path,
        {
            "main.tf": service_tf() + 'module "api" {\n  source = "acme/api/aws"\n}\n',
            ".terraform/modules/modules.json": '{"Modules": ' + deep + "}",
            "Dockerfile": f"FROM python:3.12\nCOPY {deep} /app\nCMD {deep}\n",
        },
    )
    result = scan([tree], load_options=LoadOptions(dockerfiles=(("*", tree / "Dockerfile"),)))
    assert errors(result) == [f"{tree}/.terraform/modules/modules.json:None: not a valid modules.json"]
    (finding,) = result.findings
    assert finding.rule == "KA002" and "not a server keepalive-guard recognises" in finding.message


def test_a_line_break_from_the_input_is_escaped_in_an_error(tmp_path: Path) -> None:
    """A module source written as a heredoc (found by the fuzzer: a three-line error)."""
    tf = GOOD + 'module "m" {\n  source = <<EOT\n../x\ny\nEOT\n}\n'
    result = scan([write_tree(tmp_path, {"main.tf": tf})])
    (error,) = result.errors
    assert error.message == 'module.m: source "../x\\ny\\n" is not a directory', error.message
    assert len(str(error).splitlines()) == 1
