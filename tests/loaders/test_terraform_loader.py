"""The Terraform loader on real fixture trees: variables, files, templates, modules, expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.loaders import LoadOptions, load
from policies.model import UNKNOWN_PART, Origin
from policies.rules import Options
from policies.scan import scan
from tests.helpers import FIXTURES, rules_of, scan_tree, service_tf

TERRAFORM = FIXTURES / "terraform"


def targets(name: str) -> dict[str, object]:
    result = scan([TERRAFORM / name], Options(), LoadOptions())
    return {
        str(target.chain.target_group.id if target.chain.target_group else target.chain.gap): target
        for target in result.targets
    }


def test_variables_locals_tfvars_and_arithmetic() -> None:
    inventory = load([TERRAFORM / "variables"])
    (balancer,) = inventory.load_balancers
    assert balancer.name == "api-default"  # "${local.name}-${terraform.workspace}"
    # slow.auto.tfvars overrides the default 60
    assert balancer.idle_timeout.value == 30
    assert balancer.idle_timeout.location.path.endswith("variables/slow.auto.tfvars")
    assert balancer.idle_timeout.location.line == 1
    assert balancer.idle_timeout.note == "via tests/fixtures/terraform/variables/main.tf:16"
    (group,) = inventory.target_groups
    assert group.deregistration_delay.value == 300  # tonumber("300")
    (definition,) = inventory.task_definitions
    (container,) = definition.containers or ()
    # terraform.tfvars: keep_alive = 10 -> local.keep_alive = 10 * 2 + 1; workers = 3
    assert container.command is not None
    assert container.command.value == (
        "gunicorn",
        "--workers",
        "3",
        "--threads",
        "4",
        "--keep-alive",
        "21",
        "app:app",
    )


def test_var_file_and_var_override_in_order() -> None:
    inventory = load(
        [TERRAFORM / "variables"],
        LoadOptions((TERRAFORM / "variables" / "production.tfvars", ("drain", "15"))),
    )
    assert inventory.load_balancers[0].idle_timeout.value == 120  # --var-file after *.auto.tfvars
    assert inventory.target_groups[0].deregistration_delay.value == 15  # --var after --var-file


def test_variable_without_value_is_unknown_not_a_default(tmp_path: Path) -> None:
    for name in ("main.tf", "variables.tf"):
        (tmp_path / name).write_text((TERRAFORM / "variables" / name).read_text())
    inventory = load([tmp_path])  # no terraform.tfvars: var.workers has no value
    (definition,) = inventory.task_definitions
    (container,) = definition.containers or ()
    assert container.command is not None
    assert container.command.value == (
        "gunicorn",
        "--workers",
        UNKNOWN_PART,
        "--threads",
        "4",
        "--keep-alive",
        "11",
        "app:app",
    )
    result = scan([tmp_path])
    assert result.targets[0].server is not None and result.targets[0].server.keep_alive.seconds == 11


def test_service_links_through_interpolated_family_reference() -> None:
    result = scan([TERRAFORM / "variables"])
    assert rules_of(result) == ["KA001"]
    assert result.findings[0].chain.container is not None and result.findings[0].chain.container.name == "api"


@pytest.mark.parametrize(
    ("key", "server", "seconds", "path", "line"),
    [
        ("file", "gunicorn", 2, "containers/file.json", 5),
        # values interpolated whole into a template are located where they were written: the vars map
        ("template", "uvicorn", 75, "container_files/main.tf", 47),
        ("heredoc", "uvicorn", 42, "container_files/main.tf", 53),
        ("legacy", "gunicorn", 61, "container_files/main.tf", 64),
    ],
)
def test_container_definitions_from_file_template_heredoc_and_template_file(
    key: str, server: str, seconds: float, path: str, line: int
) -> None:
    target = targets("container_files")[f'aws_lb_target_group.app["{key}"]']
    assert target.server.name == server  # type: ignore[attr-defined]
    assert target.server.keep_alive.seconds == seconds  # type: ignore[attr-defined]
    location = target.server.keep_alive.evidence.location  # type: ignore[attr-defined]
    assert location.path.endswith(path) and location.line == line


def test_heredoc_with_unknown_image_keeps_the_command() -> None:
    inventory = load([TERRAFORM / "container_files"])
    heredoc = next(item for item in inventory.task_definitions if item.family == "heredoc")
    (container,) = heredoc.containers or ()
    assert container.image.origin is Origin.UNKNOWN
    assert "var.image_tag has no default" in container.image.note
    assert container.command is not None and container.command.value == (
        "uvicorn",
        "app:app",
        "--timeout-keep-alive",
        "42",
    )


def test_local_modules_recursively_with_their_inputs() -> None:
    found = targets("modules")
    storefront = found["module.storefront.aws_lb_target_group.this"]
    assert str(storefront.chain.load_balancer.id) == "module.storefront.module.alb.aws_lb.this"  # type: ignore[attr-defined]
    assert storefront.chain.load_balancer.idle_timeout.value == 30  # type: ignore[attr-defined]
    # the value was decided by the root module's argument, two module levels up
    location = storefront.chain.load_balancer.idle_timeout.location  # type: ignore[attr-defined]
    assert location.path.endswith("modules/main.tf") and location.line == 5
    checkout = found["module.checkout.aws_lb_target_group.this"]
    assert checkout.server.keep_alive.seconds == 75  # type: ignore[attr-defined]


def test_module_directories_are_not_scanned_as_roots() -> None:
    result = scan([TERRAFORM / "modules"])
    assert len(result.targets) == 2
    assert all(str(target.chain.load_balancer.id).startswith("module.") for target in result.targets)  # type: ignore[union-attr]


def test_downloaded_registry_modules_through_modules_json() -> None:
    result = scan([TERRAFORM / "downloaded"])
    (target,) = result.targets
    assert str(target.chain.service.id) == "module.api.module.service.aws_ecs_service.this"  # type: ignore[union-attr]
    assert (
        target.server is not None and target.server.keep_alive.seconds == 2
    )  # UvicornWorker: gunicorn's 2 s
    assert rules_of(result) == ["KA001"]


def test_module_not_available_locally_is_reported_not_passed() -> None:
    result = scan([TERRAFORM / "missing_module"])
    assert rules_of(result) == ["KA002", "KA002"]
    messages = " ".join(finding.message for finding in result.findings)
    assert (
        'module.alb may define load balancers or services: source "terraform-aws-modules/alb/aws" is not available locally'
        in messages
    )
    assert (
        "the target group of aws_ecs_service.shop cannot be followed: module.alb is not available locally"
        in messages
    )
    # the VPC module cannot hide a load balancer chain: skipped, shown in verbose output
    assert [str(item.id) for item in result.skipped] == ["module.vpc"]


def test_count_and_for_each_expand_known_instances() -> None:
    found = targets("count_for_each")
    assert set(found) == {'aws_lb_target_group.service["admin"]', 'aws_lb_target_group.service["api"]'}
    api = found['aws_lb_target_group.service["api"]']
    assert str(api.chain.load_balancer.id) == "aws_lb.main[0]"  # type: ignore[attr-defined]
    assert str(api.chain.service.id) == 'aws_ecs_service.service["api"]'  # type: ignore[attr-defined]
    assert api.server.keep_alive.seconds == 5  # type: ignore[attr-defined]
    assert found['aws_lb_target_group.service["admin"]'].server.keep_alive.seconds == 90  # type: ignore[attr-defined]
    # count = 0: aws_lb.legacy is not created
    assert all(
        "legacy" not in str(balancer.id) for balancer in load([TERRAFORM / "count_for_each"]).load_balancers
    )


def test_unknown_for_each_is_checked_as_one_instance(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        (TERRAFORM / "count_for_each" / "main.tf")
        .read_text()
        .replace(
            'variable "services" {\n  default = {',
            'variable "services" {\n  type = map(any)\n}\nvariable "unused" {\n  default = {',
        )
    )
    result = scan([tmp_path])
    group = next(t for t in result.targets if t.chain.target_group is not None)
    assert str(group.chain.target_group.id) == "aws_lb_target_group.service"  # type: ignore[union-attr]
    assert "KA002" in rules_of(result)


def test_aws_alb_aliases_and_heredoc_json() -> None:
    result = scan([TERRAFORM / "aliases"])
    (target,) = result.targets
    assert str(target.chain.load_balancer.id) == "aws_alb.old"  # type: ignore[union-attr]
    assert (
        target.chain.target_group is not None and target.chain.target_group.deregistration_delay.value == 30
    )  # "30"
    assert (
        target.server is not None and target.server.name == "uWSGI" and target.server.keep_alive.seconds == 60
    )
    assert target.server.request_timeout is not None and target.server.request_timeout.seconds == 20
    assert rules_of(result) == ["KA001"]  # 60 s keep-alive is not longer than the 60 s idle timeout


def test_dynamic_blocks_expand() -> None:
    result = scan([TERRAFORM / "dynamic_blocks"])
    (target,) = result.targets
    assert str(target.chain.target_group.id) == 'aws_lb_target_group.this["web"]'  # type: ignore[union-attr]
    assert target.chain.container is not None and target.chain.container.name == "web"
    assert target.chain.attachment is not None and target.chain.attachment.container_port.value == 8000


def test_tfvars_json_and_typed_cli_values(tmp_path: Path) -> None:
    tf = """
variable "idle" { type = number }
variable "sizes" { type = list(number) }
variable "name" { type = string }
resource "aws_lb" "web" {
  name         = var.name
  idle_timeout = var.idle + var.sizes[1]
}
"""
    (tmp_path / "main.tf").write_text(tf)
    (tmp_path / "terraform.tfvars.json").write_text('{"idle": 20, "sizes": [1, 2]}')
    (tmp_path / "x.auto.tfvars.json").write_text('{"idle": 40}')
    inventory = load([tmp_path], LoadOptions((("sizes", "[5, 10]"), ("name", "[not, a, list]"))))
    (balancer,) = inventory.load_balancers
    assert balancer.idle_timeout.value == 50  # 40 from *.auto.tfvars.json + 10 from the typed --var
    assert balancer.name == "[not, a, list]"  # a string variable takes --var text as it is


def test_nullable_false_falls_back_to_the_default(tmp_path: Path) -> None:
    tf = """
module "svc" {
  source = "./svc"
  idle   = null
}
"""
    child = """
variable "idle" {
  type     = number
  default  = 45
  nullable = false
}
resource "aws_lb" "web" {
  idle_timeout = var.idle
}
"""
    (tmp_path / "main.tf").write_text(tf)
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "main.tf").write_text(child)
    (balancer,) = load([tmp_path]).load_balancers
    assert str(balancer.id) == "module.svc.aws_lb.web"
    assert balancer.idle_timeout.value == 45


def test_a_tf_file_stands_for_its_module_directory() -> None:
    result = scan([TERRAFORM / "variables" / "main.tf"])
    assert rules_of(result) == ["KA001"]
    assert any(path.endswith("variables.tf") for path in result.inputs)


def test_huge_count_is_bounded_and_said_so(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_lb" "many" {\n  count = 1000000000\n}\n')
    balancers = load([tmp_path]).load_balancers
    assert len(balancers) == 1000 and str(balancers[-1].id) == "aws_lb.many[999]"
    unknown = [finding for finding in scan([tmp_path]).findings if finding.rule == "KA002"]
    assert len(unknown) == 1
    assert (
        "aws_lb.many may define load balancers or services: it has 1000000000 instances" in unknown[0].message
    )


def test_values_are_located_where_they_were_written(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        service_tf(command=["gunicorn", "-k", "gevent", "app:app"]).replace(
            '"gevent", "app:app"',
            '"gevent", "--keep-alive", var.ka, "--bind", "0.0.0.0:${var.port}", "app:app"',
        )
        + 'variable "ka" {}\nvariable "port" {}\n'
    )
    (tmp_path / "terraform.tfvars").write_text('\nka = "7"\n')
    result = scan([tmp_path])
    server = result.targets[0].server
    assert server is not None and server.keep_alive.seconds == 7
    location = server.keep_alive.evidence.location
    assert location is not None and location.path.endswith("terraform.tfvars") and location.line == 2
    assert result.findings[0].fix.endswith(f"{tmp_path / 'terraform.tfvars'}:2")


def test_each_value_and_lookup_keep_the_literal_location() -> None:
    target = targets("count_for_each")['aws_lb_target_group.service["admin"]']
    location = target.server.keep_alive.evidence.location  # type: ignore[attr-defined]
    assert location.path.endswith("count_for_each/main.tf") and location.line == 4  # the map literal


def test_unknown_parts_say_why(tmp_path: Path) -> None:
    tf = service_tf(command=["uvicorn", "app:app"]).replace(
        '"app:app"]', '"app:app", "--timeout-keep-alive", regex("[0-9]+", var.x)]'
    )
    result = scan_tree(tmp_path, {"main.tf": tf + 'variable "x" { default = "75s" }\n'})
    (finding,) = result.findings
    assert finding.rule == "KA002"
    assert (
        "`--timeout-keep-alive <?>`" in finding.message
        and "function regex() is not evaluated" in finding.message
    )


def test_override_files_merge_into_the_blocks_they_override(tmp_path: Path) -> None:
    main = service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "75"], idle_timeout=120)
    override = 'resource "aws_lb" "web" {\n  tags = { team = "edge" }\n}\n'
    result = scan_tree(tmp_path, {"main.tf": main, "override.tf": override})
    assert result.errors == ()
    assert result.targets[0].chain.load_balancer.idle_timeout.value == 120  # type: ignore[union-attr]
    assert rules_of(result) == ["KA001"]  # 75 s is not longer than 120 s
    replaced = 'resource "aws_lb" "web" {\n  idle_timeout = 30\n}\n'
    assert rules_of(scan_tree(tmp_path, {"main.tf": main, "override.tf": replaced})) == []


def test_optional_object_attributes_get_their_defaults(tmp_path: Path) -> None:
    module = (
        service_tf(command=["gunicorn", "-k", "gevent", "app:app"])
        .replace(
            '"gevent", "app:app"', '"gevent", "--keep-alive", tostring(var.service.keepalive), "app:app"'
        )
        .replace('name = "web"', 'name = "web"\n  idle_timeout = var.service.idle_timeout')
    )
    variable = """
variable "service" {
  type = object({
    name         = string
    keepalive    = optional(number, 90)
    idle_timeout = optional(number, 60)
  })
}
"""
    files = {
        "svc/main.tf": module + variable,
        "main.tf": 'module "ledger" {\n  source  = "./svc"\n  service = { name = "ledger" }\n}\n',
    }
    result = scan_tree(tmp_path, files)
    assert result.errors == () and rules_of(result) == []
    assert result.targets[0].server is not None and result.targets[0].server.keep_alive.seconds == 90
    files["main.tf"] = (
        'module "ledger" {\n  source  = "./svc"\n  service = { name = "ledger", keepalive = "30" }\n}\n'
    )
    finding = scan_tree(tmp_path, files).findings[0]
    assert finding.rule == "KA001" and "after 30 s" in finding.message
    assert (
        finding.location is not None
        and finding.location.path.endswith("main.tf")
        and finding.location.line == 3
    )


def test_cloudposse_style_encoded_list_through_a_string_variable_keeps_locations(tmp_path: Path) -> None:
    definition = """
variable "command" { type = list(string) }
locals {
  container = { name = "app", image = "x:1", command = var.command }
}
output "json_map_encoded_list" {
  value = "[${jsonencode(local.container)}]"
}
"""
    service = (
        service_tf(command=["placeholder"]).replace(
            "container_definitions = jsonencode([",
            "container_definitions = var.definitions\n  unused = jsonencode([",
        )
        + 'variable "definitions" {\n  type = string\n}\n'
    )
    files = {
        "definition/main.tf": definition,
        "service/main.tf": service,
        "main.tf": """module "definition" {
  source  = "./definition"
  command = ["uvicorn", "app:app", "--timeout-keep-alive", "30"]
}
module "service" {
  source      = "./service"
  definitions = module.definition.json_map_encoded_list
}
""",
    }
    (finding,) = scan_tree(tmp_path, files).findings
    assert finding.rule == "KA001" and "after 30 s" in finding.message
    assert (
        finding.location is not None
        and finding.location.path.endswith("main.tf")
        and "definition" not in finding.location.path
    )
    assert finding.location.line == 3


def test_override_attributes_are_located_in_the_override_file(tmp_path: Path) -> None:
    main = service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "75"])
    override = 'resource "aws_lb" "web" {\n  name         = "web"\n  idle_timeout = 120\n}\n'
    (finding,) = scan_tree(tmp_path, {"main.tf": main, "lb_override.tf": override}).findings
    assert finding.rule == "KA001"
    assert f"idle_timeout 120 s at {tmp_path / 'lb_override.tf'}:3" in finding.message


def test_tfvars_json_values_are_located_at_their_lines(tmp_path: Path) -> None:
    tf = service_tf(command=["uvicorn", "app:app"]).replace(
        '"app:app"]', '"app:app", "--timeout-keep-alive", var.ka]'
    )
    files = {
        "main.tf": tf + 'variable "ka" {}\n',
        "terraform.tfvars.json": '{\n  "other": 1,\n  "ka": "20"\n}\n',
    }
    (finding,) = scan_tree(tmp_path, files).findings
    assert finding.location is not None and finding.location.path.endswith("terraform.tfvars.json")
    assert finding.location.line == 3
