"""Bad input: one clear line per problem, everything else still analysed, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.scan import Result, scan
from tests.helpers import rules_of, scan_tree, service_tf

GOOD = service_tf(command=["uvicorn", "app:app"])  # one KA001


def errors(result: Result) -> list[str]:
    return [f"{Path(error.path).name}:{error.line}: {error.message}" for error in result.errors]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('resource "aws_lb" "x" {\n  name = \n}\n', "broken.tf:2: HCL syntax error: unexpected"),
        ('resource "aws_lb" "x" {\n  name = "open\n', "broken.tf:2: HCL syntax error"),
        ('resource "aws_lb" "x" {\n', "broken.tf:2: HCL syntax error: unexpected end of file"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "broken.tf:None: binary file, not text"),
        (
            '# caf\xe9\nresource "aws_lb" "x" {}\n'.encode("latin-1"),
            "broken.tf:1: not UTF-8 text (byte 0xe9)",
        ),
    ],
)
def test_unreadable_file_is_one_error_and_the_rest_is_scanned(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    result = scan_tree(tmp_path, {"good/main.tf": GOOD, "bad/broken.tf": content})
    (error,) = errors(result)
    assert error.startswith(message), error
    assert rules_of(result) == ["KA001"]


def test_other_files_of_the_same_module_are_still_read(tmp_path: Path) -> None:
    result = scan_tree(tmp_path, {"main.tf": GOOD, "zz_broken.tf": "locals {\n  x = [\n"})
    assert len(result.errors) == 1
    assert rules_of(result) == ["KA001"]


def test_empty_file_is_fine(tmp_path: Path) -> None:
    result = scan_tree(tmp_path, {"main.tf": GOOD, "empty.tf": ""})
    assert result.errors == () and rules_of(result) == ["KA001"]


def test_a_directory_named_like_a_tf_file_is_skipped_as_terraform_does(tmp_path: Path) -> None:
    (tmp_path / "weird.tf").mkdir()
    result = scan_tree(tmp_path, {"main.tf": GOOD})
    assert result.errors == ()
    assert rules_of(result) == ["KA001"]


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write = scan_tree(tmp_path, {"main.tf": GOOD, "secret.tf": "locals {}\n"})
    assert write.errors == ()
    original = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path.name == "secret.tf":
            raise PermissionError(13, "Permission denied")
        return original(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = scan([tmp_path])
    assert errors(result) == ["secret.tf:None: cannot read: Permission denied"]
    assert rules_of(result) == ["KA001"]


def test_missing_file_target_names_the_call_site(tmp_path: Path) -> None:
    tf = GOOD.replace(
        "container_definitions = jsonencode([",
        'container_definitions = file("${path.module}/missing.json")\n  unused = jsonencode([',
    )
    result = scan_tree(tmp_path, {"main.tf": tf})
    (error,) = result.errors
    assert Path(error.path).name == "main.tf" and error.line == tf[: tf.index("file(")].count("\n") + 1
    assert error.message.startswith('file("./missing.json"): no such file')
    # the chain is still followed, and reported as unknown rather than passed
    assert rules_of(result) == ["KA002"]
    assert "no such file" in result.findings[0].message


def test_invalid_json_in_container_definitions(tmp_path: Path) -> None:
    tf = GOOD.replace(
        "container_definitions = jsonencode([",
        'container_definitions = "[{\\"name\\": }]"\n  unused = jsonencode([',
    )
    result = scan_tree(tmp_path, {"main.tf": tf})
    (error,) = result.errors
    assert "container_definitions is not valid JSON: unexpected character '}'" in error.message
    assert rules_of(result) == ["KA002"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nothing-here", "no such file or directory"),
        ("notes.txt", "not a Terraform .tf file, plan JSON, CloudFormation template or directory"),
    ],
)
def test_bad_paths(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    result = scan([tmp_path / name])
    assert [error.message for error in result.errors] == [message]


def test_directory_without_terraform(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# nothing")
    assert [error.message for error in scan([tmp_path]).errors] == [
        "no Terraform (.tf) files, plan JSON, CloudFormation templates or cdk.out found"
    ]


def test_broken_tfvars(tmp_path: Path) -> None:
    result = scan_tree(tmp_path, {"main.tf": GOOD, "terraform.tfvars": "idle = [\n"})
    assert errors(result) == [
        "terraform.tfvars:2: HCL syntax error: unexpected end of file (an unclosed block, string or bracket?)"
    ]
    assert rules_of(result) == ["KA001"]


def test_recursive_module_terminates_with_an_error(tmp_path: Path) -> None:
    result = scan_tree(tmp_path, {"main.tf": 'module "self" {\n  source = "./"\n}\n' + GOOD})
    assert any("calls itself recursively" in error.message for error in result.errors)


def test_duplicate_blocks_are_reported(tmp_path: Path) -> None:
    result = scan_tree(
        tmp_path, {"main.tf": GOOD, "extra.tf": '\nresource "aws_lb" "web" {\n  idle_timeout = 5\n}\n'}
    )
    assert errors(result) == [
        'main.tf:1: duplicate resource "aws_lb" "web": first declared at ' + f"{tmp_path / 'extra.tf'}:2"
    ]


def test_terraform_json_files_are_reported_not_silently_skipped(tmp_path: Path) -> None:
    result = scan_tree(tmp_path, {"main.tf": GOOD, "generated.tf.json": '{"resource": {}}'})
    assert errors(result) == [
        "generated.tf.json:None: Terraform JSON configuration (.tf.json) is not analysed by keepalive-guard yet"
    ]
    assert rules_of(result) == ["KA001"]


def test_missing_local_module_is_an_input_error(tmp_path: Path) -> None:
    result = scan_tree(tmp_path, {"main.tf": 'module "web" {\n  source = "./modules/web"\n}\n'})
    assert errors(result) == ['main.tf:2: module.web: source "./modules/web" is not a directory']


def test_template_syntax_error_names_the_template(tmp_path: Path) -> None:
    tf = GOOD.replace(
        "container_definitions = jsonencode([",
        'container_definitions = templatefile("${path.module}/defs.tpl", { ka = 75 })\n  unused = jsonencode([',
    )
    result = scan_tree(
        tmp_path, {"main.tf": tf, "defs.tpl": '[{"name": "app", "command": ["uvicorn", "${ka"]}]\n'}
    )
    (error,) = errors(result)
    assert error.startswith("defs.tpl:1: template error: template has an unterminated")
    assert rules_of(result) == ["KA002"]


def test_missing_var_file_is_reported_once(tmp_path: Path) -> None:
    result = scan_tree(tmp_path, {"main.tf": GOOD}, var_files=(tmp_path / "nope.tfvars",))
    assert errors(result) == ["nope.tfvars:None: --var-file: no such file"]


def test_byte_order_mark_is_allowed_and_error_bytes_are_exact(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    result = scan_tree(
        tmp_path, {"main.tf": bom + GOOD.encode(), "bad/x.tf": bom + "# caf\xe9\n".encode("latin-1")}
    )
    assert errors(result) == ["x.tf:1: not UTF-8 text (byte 0xe9)"]
    assert rules_of(result) == ["KA001"]


def test_template_variable_that_is_not_passed_is_an_input_error(tmp_path: Path) -> None:
    tf = GOOD.replace(
        "container_definitions = jsonencode([",
        'container_definitions = templatefile("defs.tpl", { port = 80 })\n  unused = jsonencode([',
    )
    result = scan_tree(
        tmp_path,
        {
            "main.tf": tf,
            "defs.tpl": '[{"name": "app", "command": ["uvicorn", "--timeout-keep-alive", "${ka}"]}]',
        },
    )
    assert errors(result) == ['defs.tpl:1: template uses "ka", which is not passed to it']


def test_invalid_and_undeclared_variables_are_input_errors(tmp_path: Path) -> None:
    tf = (
        GOOD.replace('name = "web"', 'name = "web"\n  idle_timeout = var.idle')
        + 'variable "idle" {\n  type = number\n}\n'
    )
    result = scan_tree(tmp_path, {"main.tf": tf}, variables=(("idle", "abc"), ("typo", "1")))
    assert errors(result) == [
        '--var idle:None: invalid value for var.idle: cannot convert "abc" to a number',
        '--var typo:None: no root module declares variable "typo"',
    ]
    tfvars = scan_tree(tmp_path, {"main.tf": tf, "terraform.tfvars": 'idle = "soon"\n'})
    assert errors(tfvars) == [
        'terraform.tfvars:1: invalid value for var.idle: cannot convert "soon" to a number'
    ]


def test_exponential_values_are_bounded_not_built(tmp_path: Path) -> None:
    doublings = "\n".join(f"  x{i} = concat(local.x{i - 1}, local.x{i - 1})" for i in range(1, 40))
    strings = "\n".join(f'  s{i} = "${{local.s{i - 1}}}${{local.s{i - 1}}}"' for i in range(1, 40))
    tf = GOOD.replace('command = ["uvicorn", "app:app"]', "command = local.x39") + (
        f'locals {{\n  x0 = ["uvicorn", "a:b"]\n{doublings}\n  s0 = "ab"\n{strings}\n  unused = local.s39\n}}\n'
    )
    result = scan_tree(tmp_path, {"main.tf": tf})
    (finding,) = result.findings
    assert finding.rule == "KA002" and "would hold more than 100000 elements" in finding.message
