"""Terraform plan JSON (`terraform show -json tfplan`): detection, linking through references and
modules, instances, deletions, unknown values, and a scan through the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policies.cli import main
from policies.loaders import LoadOptions, load
from policies.model import Location, Origin
from policies.rules import Options
from policies.scan import Result, scan
from tests.helpers import FIXTURES, line_of, only, rules_of, service_tf

PLANS = FIXTURES / "plan"
CHAIN = PLANS / "chain" / "plan.json"
MODULES = PLANS / "modules" / "plan.json"
FOR_EACH = PLANS / "for_each" / "plan.json"
STATE = PLANS / "state" / "state.json"
ROOT = Path(__file__).resolve().parents[2]


def document(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def write_plan(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


def planned(data: dict[str, Any], address: str) -> dict[str, Any]:
    for resource in data["planned_values"]["root_module"]["resources"]:
        if resource["address"] == address:
            values: dict[str, Any] = resource["values"]
            return values
    raise KeyError(address)


def change(data: dict[str, Any], address: str) -> dict[str, Any]:
    for entry in data["resource_changes"]:
        if entry["address"] == address:
            found: dict[str, Any] = entry["change"]
            return found
    raise KeyError(address)


def errors(result: Result) -> list[str]:
    return [str(error) for error in result.errors]


# --- detection -------------------------------------------------------------------------------------


def test_a_plan_is_recognised_by_content_whatever_its_name(tmp_path: Path) -> None:
    renamed = tmp_path / "tfplan.out"
    shutil.copy(CHAIN, renamed)
    result = scan([renamed])
    assert errors(result) == []
    assert rules_of(result) == ["KA001"]


def test_a_directory_reads_plans_and_skips_other_json(in_tmp: Path) -> None:
    shutil.copy(CHAIN, in_tmp / "plan.json")
    shutil.copy(STATE, in_tmp / "state.json")
    (in_tmp / "package.json").write_text('{"name": "app", "version": "1.0.0"}')
    (in_tmp / "broken.json").write_text('{"name": ')
    result = scan([in_tmp])
    assert errors(result) == []
    assert sorted(result.inputs) == ["plan.json", "state.json"]  # a state is read too (drift audits)
    assert rules_of(result) == ["KA001"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "package.json",
            '{"name": "app"}',
            "package.json: not a Terraform plan or state (terraform show -json): no format_version and "
            "planned_values",
        ),
        (
            "list.json",
            "[1, 2]",
            "list.json: not a Terraform plan (terraform show -json): the JSON is not an object",
        ),
        ("empty.json", "", "empty.json:1: not valid JSON: Expecting value"),
    ],
)
def test_a_json_file_named_on_the_command_line_must_be_a_plan(
    in_tmp: Path, name: str, content: str, message: str
) -> None:
    (in_tmp / name).write_text(content)
    result = scan([in_tmp / name])
    assert errors(result) == [message]
    assert result.findings == ()


@pytest.mark.parametrize("named", [True, False])
def test_a_truncated_plan_is_one_error_naming_the_file(in_tmp: Path, named: bool) -> None:
    text = CHAIN.read_text()
    (in_tmp / "plan.json").write_text(text[: len(text) // 2])
    result = scan([in_tmp / "plan.json" if named else in_tmp])
    (error,) = errors(result)
    assert error.startswith("plan.json:1: not valid JSON: ")
    assert error.endswith(" (a truncated plan?)")


# --- the chain -------------------------------------------------------------------------------------


def test_unknown_arns_are_linked_through_the_configuration_references(in_tmp: Path) -> None:
    shutil.copy(CHAIN, in_tmp / "plan.json")
    finding = only(scan([in_tmp / "plan.json"]), "KA001")
    assert (
        finding.chain.path() == 'aws_lb.web → aws_lb_target_group.app → aws_ecs_service.app → container "app"'
    )
    assert finding.message.startswith(
        'gunicorn (gthread worker, because of `--threads 4`) in container "app" of aws_ecs_service.app '
        "closes idle keep-alive connections after 2 s"
    )
    assert (
        "not longer than the 60 s idle timeout of the load balancer aws_lb.web (idle_timeout 60 s at "
        "plan.json:1, not set: the AWS default" in finding.message
    )
    assert finding.fix == "Add `--keep-alive 65` to the gunicorn command at plan.json:1"


def test_values_the_provider_fills_in_are_defaults_and_written_ones_are_set() -> None:
    inventory = load([MODULES])
    (balancer,) = inventory.load_balancers
    assert (balancer.idle_timeout.value, balancer.idle_timeout.origin) == (120, Origin.SET)
    assert balancer.idle_timeout.location.line == 45
    (group,) = inventory.target_groups
    assert (group.target_type.value.value if group.target_type.value else None) == "ip"
    chain_inventory = load([CHAIN])
    (chain_balancer,) = chain_inventory.load_balancers
    assert chain_balancer.idle_timeout.origin is Origin.DEFAULT


def test_a_resource_the_plan_deletes_is_left_out() -> None:
    data = document(CHAIN)
    assert change(data, "aws_lb.old")["actions"] == ["delete"]
    names = [balancer.id.address for balancer in load([CHAIN]).load_balancers]
    assert names == ["aws_lb.web"]


def test_without_planned_values_resource_changes_are_read_and_deletions_still_skipped(tmp_path: Path) -> None:
    data = document(CHAIN)
    del data["planned_values"]
    result = scan([write_plan(tmp_path / "plan.json", data)])
    assert [balancer.id.address for balancer in load([tmp_path / "plan.json"]).load_balancers] == [
        "aws_lb.web"
    ]
    assert rules_of(result) == ["KA001"]


@pytest.mark.parametrize("delay", [30, "30"])
def test_deregistration_delay_as_number_or_numeric_string(tmp_path: Path, delay: int | str) -> None:
    data = document(CHAIN)
    planned(data, "aws_lb_target_group.app")["deregistration_delay"] = delay
    for resource in data["configuration"]["root_module"]["resources"]:
        if resource["address"] == "aws_lb_target_group.app":
            resource["expressions"]["deregistration_delay"] = {"constant_value": delay}
    path = write_plan(tmp_path / "plan.json", data)
    (group,) = load([path]).target_groups
    assert (group.deregistration_delay.value, group.deregistration_delay.origin) == (30, Origin.SET)
    assert sorted(rules_of(scan([path]))) == ["DR001", "KA001"]


def test_an_idle_timeout_known_only_after_apply_is_unknown_not_the_default(in_tmp: Path) -> None:
    data = document(CHAIN)
    del planned(data, "aws_lb.web")["idle_timeout"]
    change(data, "aws_lb.web")["after_unknown"]["idle_timeout"] = True
    for resource in data["configuration"]["root_module"]["resources"]:
        if resource["address"] == "aws_lb.web":
            resource["expressions"]["idle_timeout"] = {"references": ["var.idle_timeout"]}
    result = scan([write_plan(in_tmp / "plan.json", data)])
    finding = only(result, "KA002")
    assert rules_of(result) == ["KA002"]
    assert "idle_timeout is known only after apply" in finding.message


def test_a_known_arn_links_by_literal(tmp_path: Path) -> None:
    arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/73e2d6bc24d8a067"
    data = document(CHAIN)
    planned(data, "aws_lb_target_group.app")["arn"] = arn
    del change(data, "aws_lb_target_group.app")["after_unknown"]["arn"]
    service = planned(data, "aws_ecs_service.app")
    service["load_balancer"][0]["target_group_arn"] = arn
    unknown = change(data, "aws_ecs_service.app")["after_unknown"]
    unknown["load_balancer"] = [{}]
    for resource in data["configuration"]["root_module"]["resources"]:
        if resource["address"] == "aws_ecs_service.app":
            resource["expressions"]["load_balancer"][0]["target_group_arn"] = {"constant_value": arn}
    path = write_plan(tmp_path / "plan.json", data)
    (service_model,) = load([path]).services
    (attachment,) = service_model.attachments
    assert attachment.target_group is not None
    assert attachment.target_group.literal == arn
    assert attachment.target_group.refs == {"aws_lb_target_group.app"}
    assert rules_of(scan([path])) == ["KA001"]


def test_list_elements_known_only_after_apply_link_through_references(tmp_path: Path) -> None:
    data = document(CHAIN)
    data["planned_values"]["root_module"]["resources"].append(
        {
            "address": "aws_autoscaling_group.web",
            "mode": "managed",
            "type": "aws_autoscaling_group",
            "name": "web",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "schema_version": 0,
            "values": {"max_size": 2, "min_size": 1, "target_group_arns": [None]},
            "sensitive_values": {},
        }
    )
    data["resource_changes"].append(
        {
            "address": "aws_autoscaling_group.web",
            "mode": "managed",
            "type": "aws_autoscaling_group",
            "name": "web",
            "change": {"actions": ["create"], "after_unknown": {"target_group_arns": [True]}},
        }
    )
    data["configuration"]["root_module"]["resources"].append(
        {
            "address": "aws_autoscaling_group.web",
            "mode": "managed",
            "type": "aws_autoscaling_group",
            "name": "web",
            "expressions": {
                "target_group_arns": {
                    "references": ["aws_lb_target_group.app.arn", "aws_lb_target_group.app"]
                }
            },
        }
    )
    (registration,) = load([write_plan(tmp_path / "plan.json", data)]).registrations
    assert registration.target.refs == {"aws_lb_target_group.app"}
    assert registration.target.note == "target_group_arns[0] is known only after apply"


def test_an_unset_argument_the_provider_plans_as_empty_links_nothing(tmp_path: Path) -> None:
    data = document(CHAIN)
    planned(data, "aws_ecs_service.app")["load_balancer"][0]["elb_name"] = ""
    (service,) = load([write_plan(tmp_path / "plan.json", data)]).services
    assert [attachment.load_balancer_name for attachment in service.attachments] == [None]
    assert rules_of(scan([tmp_path / "plan.json"])) == ["KA001"]


# --- modules and instances -------------------------------------------------------------------------


def test_references_are_followed_across_nested_module_boundaries(in_tmp: Path) -> None:
    shutil.copy(MODULES, in_tmp / "plan.json")
    result = scan([in_tmp / "plan.json"])
    finding = only(result, "KA001")
    assert finding.chain.path() == (
        "module.api.aws_lb.this → module.api.aws_lb_target_group.this → "
        'module.api.module.service.aws_ecs_service.this → container "api"'
    )
    assert finding.message.startswith(
        'uvicorn in container "api" of module.api.module.service.aws_ecs_service.this closes idle '
        "keep-alive connections after 5 s"
    )
    assert "the load balancer module.api.aws_lb.this (idle_timeout 120 s at plan.json:45)" in finding.message
    (listener,) = load([in_tmp / "plan.json"]).listeners
    assert listener.load_balancer.refs == {"module.api.aws_lb.this"}
    assert [forward.target_group.refs for forward in listener.forwards] == [
        {"module.api.aws_lb_target_group.this"}
    ]


def test_for_each_instances_link_to_the_instance_of_the_same_key() -> None:
    result = scan([FOR_EACH])
    paths = sorted(target.chain.path() for target in result.targets)
    assert paths == [
        'aws_lb.shop → aws_lb_target_group.app["api"] → aws_ecs_service.app["api"] → container "app"',
        'aws_lb.shop → aws_lb_target_group.app["web"] → aws_ecs_service.app["web"] → container "app"',
    ]
    finding = only(result, "KA001")
    assert finding.chain.service is not None
    assert finding.chain.service.id.address == 'aws_ecs_service.app["web"]'


def test_weighted_forwards_are_matched_to_their_configured_blocks() -> None:
    (listener,) = load([FOR_EACH]).listeners
    forwards = sorted((forward.weight, sorted(forward.target_group.refs)) for forward in listener.forwards)
    assert forwards == [(10, ['aws_lb_target_group.app["web"]']), (90, ['aws_lb_target_group.app["api"]'])]
    assert listener.load_balancer.refs == {"aws_lb.shop"}  # the existing ALB's ARN, found in the plan


# --- the command line ------------------------------------------------------------------------------


def test_scan_of_a_plan_through_the_command_line(tmp_path: Path) -> None:
    shutil.copy(MODULES, tmp_path / "plan.json")
    result = subprocess.run(
        [sys.executable, "-m", "policies", "scan", "plan.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "plan.json:144: error KA001 keepalive-not-longer-than-idle-timeout" in result.stdout
    assert (
        "  module.api.aws_lb.this → module.api.aws_lb_target_group.this → "
        'module.api.module.service.aws_ecs_service.this → container "api"' in result.stdout
    )
    assert "Traceback" not in result.stderr


# --- what the configuration does not record: dynamic blocks and locals -----------------------------

ALB_V9 = PLANS / "alb_v9" / "plan.json"


def alb_v9() -> dict[str, Any]:
    return document(ALB_V9)


def module_call(data: dict[str, Any], call: str) -> dict[str, Any]:
    found: dict[str, Any] = data["configuration"]["root_module"]["module_calls"][call]
    return found


def planned_in(data: dict[str, Any], address: str) -> dict[str, Any]:
    for module in data["planned_values"]["root_module"]["child_modules"]:
        for resource in module["resources"]:
            if resource["address"] == address:
                values: dict[str, Any] = resource["values"]
                return values
    raise KeyError(address)


def test_alb_module_listeners_built_in_dynamic_blocks_are_linked_by_what_the_plan_knows() -> None:
    # terraform-aws-modules/alb v9: default_action is a dynamic block, so the plan's configuration holds
    # no expression for target_group_arn; the module call's constant `listeners` argument names the
    # target group key. The ECS service module's load_balancer is dynamic too: matched by port.
    result = scan([ALB_V9])
    assert errors(result) == []
    paths = sorted(target.chain.path() for target in result.targets)
    assert paths == [
        'module.alb.aws_lb.this[0] → module.alb.aws_lb_target_group.this["ex_admin"] → '
        "module.admin_service.aws_ecs_service.this[0]",
        'module.alb.aws_lb.this[0] → module.alb.aws_lb_target_group.this["ex_ecs"] → '
        "module.app_service.aws_ecs_service.this[0]",
    ]
    # task_definition = local.task_definition: locals are not in the plan, so the container stays unknown
    assert sorted(rules_of(result)) == ["KA002", "KA002"]
    # every finding says which of its links were matched without a reference
    app_finding = next(finding for finding in result.findings if "app_service" in finding.message)
    assert app_finding.message.endswith(
        " Links the inputs record no reference for were matched: target_group_arn of "
        'module.alb.aws_lb_listener.this["ex_http"] is taken to be module.alb.aws_lb_target_group.this["ex_ecs"], '
        'the target group listeners["ex_http"] of the call of module.alb names; target_group_arn of '
        "module.app_service.aws_ecs_service.this[0] is taken to be "
        'module.alb.aws_lb_target_group.this["ex_ecs"], the only target group the call of '
        "module.app_service passes it (load_balancer)."
    )
    inventory = load([ALB_V9])
    forwards = {
        listener.id.address: [sorted(forward.target_group.refs) for forward in listener.forwards]
        for listener in inventory.listeners
    }
    assert forwards == {
        'module.alb.aws_lb_listener.this["admin"]': [['module.alb.aws_lb_target_group.this["ex_admin"]']],
        'module.alb.aws_lb_listener.this["ex_http"]': [['module.alb.aws_lb_target_group.this["ex_ecs"]']],
    }
    http = next(item for item in inventory.listeners if item.id.address.endswith('["ex_http"]'))
    assert http.forwards[0].target_group.note.endswith(
        'the target group listeners["ex_http"] of the call of module.alb names'
    )
    services = {service.id.address: service for service in inventory.services}
    app = services["module.app_service.aws_ecs_service.this[0]"]
    # task_definition = local.task_definition: not guessed as the module's only task definition
    assert app.task_definition.refs == set()
    assert app.task_definition.note == (
        "task_definition is known only after apply and comes through local.task_definition, which the "
        "plan does not describe"
    )
    assert app.attachments[0].target_group is not None
    assert app.attachments[0].target_group.note.endswith(
        "the only target group the call of module.app_service passes it (load_balancer)"
    )


def test_an_unnamed_dynamic_forward_in_a_module_with_one_target_group_links_to_it(tmp_path: Path) -> None:
    data = alb_v9()
    module_call(data, "alb")["expressions"]["listeners"] = {"references": ["module.acm.acm_certificate_arn"]}
    admin = 'module.alb.aws_lb_target_group.this["ex_admin"]'
    for module in data["planned_values"]["root_module"]["child_modules"]:
        module["resources"] = [item for item in module["resources"] if item["address"] != admin]
    data["resource_changes"] = [item for item in data["resource_changes"] if item["address"] != admin]
    inventory = load([write_plan(tmp_path / "plan.json", data)])
    for listener in inventory.listeners:
        (forward,) = listener.forwards
        assert forward.target_group.refs == {'module.alb.aws_lb_target_group.this["ex_ecs"]'}
        assert forward.target_group.note.endswith("the only target group in module.alb")


def test_what_stays_ambiguous_is_ka002_naming_the_candidates_and_the_fix(tmp_path: Path) -> None:
    data = alb_v9()
    module_call(data, "alb")["expressions"]["listeners"] = {"references": ["module.acm.acm_certificate_arn"]}
    planned_in(data, 'module.alb.aws_lb_target_group.this["ex_admin"]')["port"] = 8000
    del module_call(data, "app_service")["expressions"]["load_balancer"]  # so only the port tells
    result = scan([write_plan(tmp_path / "plan.json", data)])
    assert rules_of(result) == ["KA002"] * 4
    listener = next(f for f in result.findings if 'aws_lb_listener.this["ex_http"] forwards to' in f.message)
    assert (
        "target_group_arn is known only after apply and is set in a `dynamic` block, whose expressions "
        "`terraform show -json` leaves out, and nothing in the plan tells which: module.alb has 2 target "
        'groups (module.alb.aws_lb_target_group.this["ex_admin"], module.alb.aws_lb_target_group.this["ex_ecs"])'
    ) in listener.message
    assert listener.fix.startswith("Scan the Terraform configuration the plan was made from")
    service = next(f for f in result.findings if "the target group of module.app_service" in f.message)
    assert "the plan has 2 target groups, 2 with port 8000 (module.alb" in service.message


# --- format versions -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.1", "1.0", "1.2"])
def test_plans_of_every_format_version_are_read_alike(version: str) -> None:
    # 0.1: Terraform 0.12-0.14 (short provider names, references without attributes, no
    # sensitive_values, module-prefixed provider keys); 1.0: Terraform 1.0-1.1; 1.2: Terraform 1.6+
    # (relevant_attributes, timestamp, applyable, complete, errored). An unchanged (no-op) cluster too.
    path = PLANS / "formats" / f"format-{version}.json"
    assert document(path)["format_version"] == version
    result = scan([path])
    assert errors(result) == []
    finding = only(result, "KA001")
    assert finding.chain.path() == (
        'module.web.aws_lb.this → module.web.aws_lb_target_group.this → aws_ecs_service.app → container "app"'
    )
    assert "closes idle keep-alive connections after 5 s" in finding.message
    assert "idle_timeout 120 s" in finding.message
    (group,) = load([path]).target_groups
    assert (group.deregistration_delay.value, group.deregistration_delay.origin) == (30, Origin.SET)


# --- a plan next to its configuration --------------------------------------------------------------


def test_a_plan_next_to_its_root_module_stands_for_it(in_tmp: Path) -> None:
    (in_tmp / "main.tf").write_text(service_tf(command=["gunicorn", "--threads", "4", "app:app"]))
    shutil.copy(CHAIN, in_tmp / "plan.json")
    result = scan([in_tmp])
    assert errors(result) == []
    finding = only(result, "KA001")
    # located in the .tf files the plan sits with, its values the plan's
    assert finding.location == Location("main.tf", 36)
    assert "as planned in plan.json" in finding.message
    assert result.inputs == ("main.tf", "plan.json")
    (skipped,) = [item for item in result.skipped if item.id.address == "."]
    assert skipped.reason == (
        "the Terraform configuration in . is read from the plan plan.json found next to it, not from "
        "its .tf files as well (that would report every finding twice)"
    )


def test_a_plan_elsewhere_is_not_matched_to_a_configuration(in_tmp: Path) -> None:
    (in_tmp / "main.tf").write_text(service_tf(command=["gunicorn", "--threads", "4", "app:app"]))
    (in_tmp / "plans").mkdir()
    shutil.copy(CHAIN, in_tmp / "plans" / "plan.json")
    result = scan([in_tmp])
    assert sorted(finding.location.path for finding in result.findings) == ["main.tf", "plans/plan.json"]


# --- locations in the configuration the plan was made from (--repo-root) ---------------------------

# A real `terraform plan` (1.11) of a root calling a local module (which calls ../service, with count)
# and a registry module (for_each) that `terraform init` downloaded to .terraform/modules/worker.
REPO_ROOT = PLANS / "repo_root"
API = "infra/modules/api/main.tf"
SERVICE = "infra/modules/service/main.tf"
WORKER = "infra/.terraform/modules/worker/main.tf"


def infra(in_tmp: Path) -> Path:
    shutil.copytree(REPO_ROOT, in_tmp / "infra")
    return in_tmp / "infra"


def at(path: str, needle: str, after: str = "") -> str:
    """`path:line` of the first `needle` after the first `after` in the file."""
    text = Path(path).read_text()
    start = text.index(after)
    return f"{path}:{line_of(text, after) + line_of(text[start:], needle) - 1}"


def scan_with_root(root: Path, repo_root: Path | None = None) -> Result:
    return scan([root / "plan.json"], Options(), LoadOptions(repo_root=repo_root or root))


def test_findings_point_at_the_tf_lines_of_resources_and_attributes(in_tmp: Path) -> None:
    result = scan_with_root(infra(in_tmp))
    assert errors(result) == []
    api = next(
        finding for finding in result.findings if finding.rule == "KA001" and "uvicorn" in finding.message
    )
    command = at(SERVICE, "command")
    assert str(api.location) == command
    assert api.fix == f"Add `--timeout-keep-alive 125` to the uvicorn command at {command}"
    # the plan is still named: the values are the plan's
    assert f"(idle_timeout 120 s at {at(API, 'idle_timeout')}, as planned in infra/plan.json)" in api.message
    drain = only(result, "DR001")
    delay = at(API, "deregistration_delay")
    assert str(drain.location) == delay
    assert f"deregistration_delay 30 s at {delay}, as planned in infra/plan.json" in drain.message
    assert drain.fix == f"Set deregistration_delay = 120 on module.api.aws_lb_target_group.this at {delay}"
    # the registry module, found through .terraform/modules/modules.json; an unset idle_timeout is the
    # block's line
    worker = next(finding for finding in result.findings if "gunicorn" in finding.message)
    assert str(worker.location) == at(WORKER, "command")
    balancer = at(WORKER, 'resource "aws_lb"')
    assert f"idle_timeout 60 s at {balancer}, not set: the AWS default" in worker.message
    assert set(result.inputs) == {"infra/plan.json", API, SERVICE, WORKER}


def test_instance_keys_and_nested_blocks_map_to_their_blocks(in_tmp: Path) -> None:
    root = infra(in_tmp)
    inventory = load([root / "plan.json"], LoadOptions(repo_root=root))
    services = {service.id.address: service for service in inventory.services}
    api = services["module.api.module.service.aws_ecs_service.this[0]"]
    assert str(api.id.location) == at(SERVICE, 'resource "aws_ecs_service"')
    (attachment,) = api.attachments
    assert attachment.target_group is not None
    assert str(attachment.target_group.location) == at(SERVICE, "target_group_arn", "load_balancer {")
    worker = services['module.worker["blue"].aws_ecs_service.this']
    assert str(worker.id.location) == at(WORKER, 'resource "aws_ecs_service"')
    (dynamic,) = worker.attachments  # a dynamic block: its content
    assert dynamic.target_group is not None
    assert str(dynamic.target_group.location) == at(WORKER, "target_group_arn", 'dynamic "load_balancer"')
    definitions = {item.id.address: item for item in inventory.task_definitions}
    (container,) = definitions["module.api.module.service.aws_ecs_task_definition.this[0]"].containers or ()
    assert str(container.location) == at(SERVICE, "name      = var.name")
    assert str(container.image.location) == at(SERVICE, "image")
    listeners = {listener.id.address: listener for listener in inventory.listeners}
    (forward,) = listeners["module.api.aws_lb_listener.http"].forwards
    assert str(forward.target_group.location) == at(API, "target_group_arn")


@pytest.mark.parametrize("missing", [".terraform/modules/modules.json", ".terraform/modules/worker/main.tf"])
def test_an_address_whose_configuration_is_missing_keeps_the_plan_location(
    in_tmp: Path, missing: str
) -> None:
    root = infra(in_tmp)
    (root / missing).unlink()
    result = scan_with_root(root)
    assert errors(result) == []
    locations = sorted(str(finding.location).split(":")[0] for finding in result.findings)
    assert locations == ["infra/modules/api/main.tf", "infra/modules/service/main.tf", "infra/plan.json"]
    worker = next(finding for finding in result.findings if "gunicorn" in finding.message)
    assert "as planned in" not in worker.message  # the plan's own lines name it already


def test_a_plan_away_from_its_configuration_stays_in_the_plan(in_tmp: Path) -> None:
    shutil.move(infra(in_tmp) / "plan.json", in_tmp / "plan.json")
    result = scan([in_tmp / "plan.json"])
    assert {finding.location.path for finding in result.findings} == {"plan.json"}
    assert result.inputs == ("plan.json",)


def test_a_plan_next_to_its_configuration_is_located_in_it(in_tmp: Path) -> None:
    # `terraform show -json tfplan > plan.json` where the plan was made: no --repo-root needed
    result = scan([infra(in_tmp) / "plan.json"])
    assert {finding.location.path for finding in result.findings} == {API, SERVICE, WORKER}


# --- locals, which the plan's configuration leaves out ---------------------------------------------

# terraform-aws-modules/ecs//modules/service: `task_definition = local.task_definition`, a local that
# names the module's own task definition through other locals.
TASK_DEFINITION_LOCALS = """
variable "task_definition_arn" {
  type    = string
  default = null
}

locals {
  create_task_definition = var.task_definition_arn == null
  max_revision           = max(aws_ecs_task_definition.this.revision, 1)
  task_definition = (local.create_task_definition
    ? "${aws_ecs_task_definition.this.family}:${local.max_revision}"
    : var.task_definition_arn)
}
"""


def through_a_local(root: Path, locals_text: str, local: str = "local.task_definition") -> None:
    """The worker service of the repo_root plan, its task_definition written as `local`."""
    module = root / ".terraform/modules/worker/main.tf"
    text = module.read_text().replace(
        "task_definition = aws_ecs_task_definition.this.arn", f"task_definition = {local}"
    )
    module.write_text(text + locals_text)
    plan = json.loads((root / "plan.json").read_text())
    worker = plan["configuration"]["root_module"]["module_calls"]["worker"]["module"]
    (service,) = [item for item in worker["resources"] if item["type"] == "aws_ecs_service"]
    service["expressions"]["task_definition"] = {"references": [local]}
    (root / "plan.json").write_text(json.dumps(plan))


def test_a_local_is_followed_through_the_configuration(in_tmp: Path) -> None:
    root = infra(in_tmp)
    through_a_local(root, TASK_DEFINITION_LOCALS)
    result = scan([root / "plan.json"])
    assert errors(result) == []
    worker = next(finding for finding in result.findings if "gunicorn" in finding.message)
    assert worker.rule == "KA001"
    assert str(worker.location) == at(WORKER, "command")


def test_without_the_configuration_a_local_is_not_guessed(in_tmp: Path) -> None:
    root = infra(in_tmp)
    through_a_local(root, TASK_DEFINITION_LOCALS)
    shutil.move(root / "plan.json", in_tmp / "plan.json")
    result = scan([in_tmp / "plan.json"])
    assert not any("gunicorn" in finding.message for finding in result.findings)
    unknown = [finding for finding in result.findings if "module.worker" in finding.message]
    assert unknown and {finding.rule for finding in unknown} == {"KA002"}
    assert "comes through local.task_definition, which the plan does not describe" in unknown[0].message


@pytest.mark.parametrize(
    "locals_text",
    [
        "locals {\n  task_definition = var.task_definition_arn\n}\n"
        'variable "task_definition_arn" {\n  type = string\n}\n',
        "locals {\n  task_definition = local.other\n  other = local.task_definition\n}\n",
    ],
    ids=["a variable the call does not set", "a cycle of locals"],
)
def test_a_local_that_leads_to_no_resource_links_nothing(in_tmp: Path, locals_text: str) -> None:
    root = infra(in_tmp)
    through_a_local(root, locals_text)
    result = scan([root / "plan.json"])
    assert not any("gunicorn" in finding.message for finding in result.findings)
    unknown = [finding for finding in result.findings if "module.worker" in finding.message]
    assert unknown and {finding.rule for finding in unknown} == {"KA002"}
    written = at(WORKER, "task_definition = ", "locals {")
    assert f"comes through local.task_definition ({written}), which leads to no resource in the plan" in (
        unknown[0].message
    )


@pytest.mark.parametrize(
    ("repo_root", "message"),
    [
        ("nosuch", "no such directory"),
        ("infra/plan.json", "not a directory"),
        (
            "infra/modules",
            "no Terraform (.tf) files in it: give the directory `terraform plan` ran in (the root module)",
        ),
    ],
)
def test_a_bad_repo_root_is_one_line_and_exit_2(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], repo_root: str, message: str
) -> None:
    infra(in_tmp)
    assert main(["scan", "infra/plan.json", "--repo-root", repo_root]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"keepalive-guard: --repo-root {repo_root}: {message}\n"
    # through the API, the same reason is an input error and the plan is scanned without it: located
    # in the configuration it sits with
    result = scan_with_root(in_tmp / "infra", in_tmp / repo_root)
    assert errors(result) == [f"{repo_root}: --repo-root: {message}"]
    assert {finding.location.path for finding in result.findings} == {API, SERVICE, WORKER}


def test_repo_root_through_the_command_line(in_tmp: Path) -> None:
    infra(in_tmp)
    result = subprocess.run(
        [sys.executable, "-m", "policies", "scan", "plan.json", "--repo-root", "."],
        cwd=in_tmp / "infra",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "modules/service/main.tf:21: error KA001 keepalive-not-longer-than-idle-timeout" in result.stdout
    assert "modules/api/main.tf:18: error DR001" in result.stdout
    help_text = subprocess.run(
        [sys.executable, "-m", "policies", "scan", "--help"], capture_output=True, text=True, timeout=120
    ).stdout
    assert "--repo-root DIR" in help_text


def _state_resource(address: str, values: dict[str, Any]) -> dict[str, Any]:
    kind, name = address.split(".")
    return {"address": address, "mode": "managed", "type": kind, "name": name, "values": values}


def test_a_state_is_audited_like_a_plan(in_tmp: Path) -> None:
    """`terraform show -json` of a state: what is deployed, every ARN known, linked by literal."""
    lb, tg, td = (
        f"arn:aws:elasticloadbalancing:eu-west-1:1:{kind}"
        for kind in ("loadbalancer/app/web/1", "targetgroup/web/2", "td")
    )
    definitions = json.dumps([{"name": "web", "image": "app:1", "command": ["uvicorn", "app:app"]}])
    resources = [
        _state_resource(
            "aws_lb.web", {"arn": lb, "name": "web", "idle_timeout": 60, "load_balancer_type": "application"}
        ),
        _state_resource(
            "aws_lb_listener.http",
            {
                "arn": lb + "/l",
                "load_balancer_arn": lb,
                "port": 80,
                "default_action": [{"type": "forward", "target_group_arn": tg, "forward": []}],
            },
        ),
        _state_resource(
            "aws_lb_target_group.web",
            {"arn": tg, "name": "web", "port": 8000, "target_type": "ip", "deregistration_delay": "300"},
        ),
        _state_resource(
            "aws_ecs_service.web",
            {
                "name": "web",
                "task_definition": td,
                "load_balancer": [
                    {"target_group_arn": tg, "container_name": "web", "container_port": 8000, "elb_name": ""}
                ],
            },
        ),
        _state_resource(
            "aws_ecs_task_definition.web", {"arn": td, "family": "web", "container_definitions": definitions}
        ),
    ]
    state = {
        "format_version": "1.0",
        "terraform_version": "1.9.5",
        "values": {"root_module": {"resources": resources}},
    }
    (in_tmp / "state.json").write_text(json.dumps(state, indent=1))
    result = scan([in_tmp / "state.json"])
    assert errors(result) == []
    finding = only(result, "KA001")
    assert 'uvicorn in container "web" of aws_ecs_service.web' in finding.message


# --- links the plan does not determine: no guess -----------------------------------------------------


def _resource(
    address: str,
    values: dict[str, Any],
    unknown: dict[str, Any] | None = None,
    expressions: dict[str, Any] | None = None,
    index: Any = None,
) -> dict[str, Any]:
    return {
        "address": address,
        "values": values,
        "unknown": unknown or {},
        "expressions": expressions,
        "index": index,
    }


def _split(address: str) -> tuple[str, str, str]:
    """`module.a.aws_lb.x["k"]` → ("module.a", "aws_lb", "x")."""
    parts = address.split("[")[0].split(".") if not address.startswith("module.") else None
    if parts is not None:
        return "", parts[0], parts[1]
    module, _, local = address.rpartition(".aws_")
    kind, name = ("aws_" + local).split("[")[0].split(".")
    return module, kind, name


def build_plan(
    resources: list[dict[str, Any]], calls: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A plan of `resources` (see `_resource`), in the root module or in `module.<call>` instances whose
    calls (`expressions`, `outputs`) are `calls`."""
    root: dict[str, Any] = {"resources": [], "child_modules": []}
    children: dict[str, dict[str, Any]] = {}
    changes, configured = [], {}
    config_root: dict[str, Any] = {"resources": [], "module_calls": {}}
    for call, content in (calls or {}).items():
        config_root["module_calls"][call] = {
            "source": f"./{call}",
            "expressions": content.get("expressions", {}),
            "module": {"resources": [], "outputs": content.get("outputs", {})},
        }
    for item in resources:
        module, kind, name = _split(item["address"])
        planned_resource = {"address": item["address"], "mode": "managed", "type": kind, "name": name}
        planned_resource["values"] = item["values"]
        if item["index"] is not None:
            planned_resource["index"] = item["index"]
        if module:
            children.setdefault(module, {"address": module, "resources": []})["resources"].append(
                planned_resource
            )
        else:
            root["resources"].append(planned_resource)
        entry = {"address": item["address"], "mode": "managed", "type": kind, "name": name}
        if module:
            entry["module_address"] = module
        changes.append({**entry, "change": {"actions": ["create"], "after_unknown": item["unknown"]}})
        call = module.split(".")[1].split("[")[0] if module else ""
        target = config_root["module_calls"][call]["module"] if call else config_root
        if item["expressions"] is not None and (call, kind, name) not in configured:
            configured[(call, kind, name)] = True
            target["resources"].append(
                {
                    "address": f"{kind}.{name}",
                    "mode": "managed",
                    "type": kind,
                    "name": name,
                    "expressions": item["expressions"],
                }
            )
    root["child_modules"] = list(children.values())
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": root},
        "resource_changes": changes,
        "configuration": {"root_module": config_root},
    }


def _forwarding_listener(address: str, references: list[str], index: Any = None) -> dict[str, Any]:
    return _resource(
        address,
        {"port": 80, "default_action": [{"type": "forward", "forward": []}]},
        {"arn": True, "default_action": [{"target_group_arn": True}]},
        {
            "default_action": [
                {"type": {"constant_value": "forward"}, "target_group_arn": {"references": references}}
            ]
        },
        index,
    )


def _target_group(
    address: str, port: int = 8000, index: Any = None, arn: str | None = None
) -> dict[str, Any]:
    values: dict[str, Any] = {"name": address, "port": port, "target_type": "ip"}
    if arn is not None:
        values |= {"arn": arn, "id": arn}
    return _resource(
        address, values, {} if arn else {"arn": True, "id": True}, {"port": {"constant_value": port}}, index
    )


def _forwards(path: Path) -> dict[str, list[tuple[list[str], str]]]:
    return {
        listener.id.address: [(sorted(f.target_group.refs), f.target_group.note) for f in listener.forwards]
        for listener in load([path]).listeners
    }


def test_an_index_by_each_value_is_unknown_not_every_instance(tmp_path: Path) -> None:
    tgs = [_target_group(f'aws_lb_target_group.tg["{key}"]', index=key) for key in ("a", "b")]
    listener = _forwarding_listener(
        'aws_lb_listener.l["a"]', ["aws_lb_target_group.tg", "each.value.tg", "each.value"], "a"
    )
    forwards = _forwards(write_plan(tmp_path / "plan.json", build_plan([*tgs, listener])))
    assert forwards == {
        'aws_lb_listener.l["a"]': [
            (
                [],
                "target_group_arn is known only after apply and which instance of aws_lb_target_group.tg it "
                "designates is unknown: the index is each.value.tg and each.value in an expression the plan "
                "does not record",
            )
        ]
    }


def test_an_index_by_count_index_is_not_taken_for_the_same_index(tmp_path: Path) -> None:
    # tg[count.index + 1] and tg[count.index] have the same references: which one, the plan does not say
    tgs = [_target_group(f"aws_lb_target_group.tg[{index}]", index=index) for index in (0, 1)]
    listener = _forwarding_listener("aws_lb_listener.l[0]", ["aws_lb_target_group.tg", "count.index"], 0)
    ((refs, note),) = _forwards(write_plan(tmp_path / "plan.json", build_plan([*tgs, listener])))[
        "aws_lb_listener.l[0]"
    ]
    assert refs == []
    assert note.endswith("the index is count.index in an expression the plan does not record")


def _dynamic_service(address: str, port: int) -> dict[str, Any]:
    # load_balancer in a dynamic block: the configuration has no expression for it
    return _resource(
        address,
        {"name": "svc", "load_balancer": [{"container_name": "app", "container_port": port}]},
        {"load_balancer": [{"target_group_arn": True}]},
        {"name": {"constant_value": "svc"}},
    )


def test_the_port_fallback_stays_in_a_module_with_target_groups_of_its_own(tmp_path: Path) -> None:
    resources = [
        _target_group("module.a.aws_lb_target_group.blue", 80),
        _target_group("module.a.aws_lb_target_group.green", 80),
        _target_group("module.b.aws_lb_target_group.app", 8080),
        _dynamic_service("module.a.aws_ecs_service.this", 8080),
    ]
    path = write_plan(tmp_path / "plan.json", build_plan(resources, {"a": {}, "b": {}}))
    (service,) = load([path]).services
    target_group = service.attachments[0].target_group
    assert target_group is not None
    assert target_group.refs == set()
    assert target_group.note.endswith(
        "nothing in the plan tells which: module.a has 2 target groups "
        "(module.a.aws_lb_target_group.blue, module.a.aws_lb_target_group.green)"
    )


@pytest.mark.parametrize(
    ("references", "through"),
    [(["local.app_tg"], "local.app_tg"), (["module.svc", "each.key"], "module.svc")],
)
def test_references_the_plan_cannot_follow_are_not_replaced_by_the_only_target_group(
    tmp_path: Path, references: list[str], through: str
) -> None:
    resources = [
        _target_group("aws_lb_target_group.maintenance"),
        _forwarding_listener("aws_lb_listener.http", references),
    ]
    forwards = _forwards(write_plan(tmp_path / "plan.json", build_plan(resources)))
    assert forwards == {
        "aws_lb_listener.http": [
            (
                [],
                f"target_group_arn is known only after apply and comes through {through}, which the plan does not describe",
            )
        ]
    }
    result = scan([tmp_path / "plan.json"])
    assert all(finding.fix.startswith("Scan the Terraform configuration") for finding in result.findings)


def test_a_set_block_with_a_known_arn_is_matched_to_the_block_referring_to_it(tmp_path: Path) -> None:
    arn = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/old/1"
    service = _resource(
        "aws_ecs_service.app",
        {
            "name": "app",
            "load_balancer": [
                {"container_name": "app", "container_port": 8000},
                {"container_name": "app", "container_port": 8000, "target_group_arn": arn},
            ],
        },
        {"load_balancer": [{"target_group_arn": True}, {}]},
        {
            "load_balancer": [
                {
                    "target_group_arn": {
                        "references": [f"aws_lb_target_group.{name}.arn", f"aws_lb_target_group.{name}"]
                    },
                    "container_name": {"constant_value": "app"},
                    "container_port": {"constant_value": 8000},
                }
                for name in ("old", "app")
            ]
        },
    )
    resources = [
        _target_group("aws_lb_target_group.app"),
        _target_group("aws_lb_target_group.old", arn=arn),
        service,
    ]
    (loaded,) = load([write_plan(tmp_path / "plan.json", build_plan(resources))]).services
    links = [attachment.target_group for attachment in loaded.attachments]
    assert [sorted(link.refs) if link else None for link in links] == [
        ["aws_lb_target_group.app"],
        ["aws_lb_target_group.old"],
    ]


def test_a_module_output_indexed_by_the_caller_links_the_instance_of_that_key(tmp_path: Path) -> None:
    tgs = [
        _target_group(f'module.alb.aws_lb_target_group.this["{key}"]', index=key) for key in ("app", "admin")
    ]
    references = [
        'module.alb.target_groups["app"].arn',
        'module.alb.target_groups["app"]',
        "module.alb.target_groups",
        "module.alb",
    ]
    service = _resource(
        "aws_ecs_service.app",
        {"name": "app", "load_balancer": [{"container_name": "app", "container_port": 8000}]},
        {"load_balancer": [{"target_group_arn": True}]},
        {
            "load_balancer": [
                {
                    "target_group_arn": {"references": references},
                    "container_name": {"constant_value": "app"},
                    "container_port": {"constant_value": 8000},
                }
            ]
        },
    )
    outputs = {"target_groups": {"expression": {"references": ["aws_lb_target_group.this"]}}}
    path = write_plan(tmp_path / "plan.json", build_plan([*tgs, service], {"alb": {"outputs": outputs}}))
    (loaded,) = load([path]).services
    target_group = loaded.attachments[0].target_group
    assert target_group is not None
    assert target_group.refs == {'module.alb.aws_lb_target_group.this["app"]'}


@pytest.mark.parametrize(
    "content",
    ['{"format_version":"1.0"}', '{"format_version":"1.0","terraform_version":"1.9.5","values":null}'],
)
def test_an_empty_state_is_read_as_nothing_deployed(tmp_path: Path, content: str) -> None:
    (tmp_path / "state.json").write_text(content)
    result = scan([tmp_path / "state.json"])
    assert errors(result) == []
    assert result.targets == ()
    assert len(result.inputs) == 1  # read, not skipped


def test_without_planned_values_a_change_with_no_after_is_gone(tmp_path: Path) -> None:
    data = document(CHAIN)
    del data["planned_values"]
    data["resource_changes"].append(
        {
            "address": "aws_lb.legacy",
            "mode": "managed",
            "type": "aws_lb",
            "name": "legacy",
            "change": {
                "actions": ["forget"],
                "before": {"name": "legacy"},
                "after": None,
                "after_unknown": {},
            },
        }
    )
    names = [
        balancer.id.address for balancer in load([write_plan(tmp_path / "plan.json", data)]).load_balancers
    ]
    assert names == ["aws_lb.web"]


def test_values_known_only_after_apply_get_the_plans_fix_not_var_files(tmp_path: Path) -> None:
    data = document(CHAIN)
    del planned(data, "aws_lb.web")["idle_timeout"]
    change(data, "aws_lb.web")["after_unknown"]["idle_timeout"] = True
    for resource in data["configuration"]["root_module"]["resources"]:
        if resource["address"] == "aws_lb.web":
            resource["expressions"]["idle_timeout"] = {"references": ["var.idle_timeout"]}
    finding = only(scan([write_plan(tmp_path / "plan.json", data)]), "KA002")
    assert finding.fix.startswith("Scan the Terraform configuration the plan was made from")
    assert "--var-file" not in finding.fix


def test_container_definitions_known_only_after_apply_get_the_plans_fix(tmp_path: Path) -> None:
    data = document(CHAIN)
    del planned(data, "aws_ecs_task_definition.app")["container_definitions"]
    change(data, "aws_ecs_task_definition.app")["after_unknown"]["container_definitions"] = True
    for resource in data["configuration"]["root_module"]["resources"]:
        if resource["address"] == "aws_ecs_task_definition.app":
            resource["expressions"]["container_definitions"] = {
                "references": ["aws_ecr_repository.app.repository_url"]
            }
    finding = only(scan([write_plan(tmp_path / "plan.json", data)]), "KA002")
    assert "container_definitions is known only after apply" in finding.message
    assert finding.fix.startswith("Scan the Terraform configuration the plan was made from")


# --- what stays unknown rather than guessed --------------------------------------------------------

LOCALS = PLANS / "locals"


def chains(result: Result) -> list[str]:
    return sorted(target.chain.path() for target in result.targets)


def test_a_local_object_leads_to_the_member_it_names(in_tmp: Path) -> None:
    # tgs = { a = aws_lb_target_group.this["a"].arn, b = ... }; services use local.tgs.a and local.tgs["b"]
    shutil.copytree(LOCALS / "object", in_tmp / "object")
    result = scan([in_tmp / "object" / "plan.json"])
    assert errors(result) == []
    assert chains(result) == [
        'aws_lb.this["a"] → aws_lb_target_group.this["a"] → aws_ecs_service.a → container "app"',
        'aws_lb.this["b"] → aws_lb_target_group.this["b"] → aws_ecs_service.b → container "app"',
    ]
    # the same as scanning the configuration itself
    configuration = scan([in_tmp / "object" / "main.tf"])
    assert sorted(rules_of(result)) == sorted(rules_of(configuration))


def test_a_local_indexed_by_an_expression_is_ambiguous_not_every_resource(in_tmp: Path) -> None:
    # tgs = { for k, v in local.svcs : k => aws_lb_target_group.this[k].arn }; local.tgs[each.key]
    shutil.copytree(LOCALS / "for_expression", in_tmp / "for_expression")
    result = scan([in_tmp / "for_expression" / "plan.json"])
    assert not [finding for finding in result.findings if finding.rule != "KA002"]
    service = next(f for f in result.findings if 'the target group of aws_ecs_service.this["a"]' in f.message)
    assert (
        'the target group of aws_ecs_service.this["a"] is ambiguous: it designates one of '
        'aws_lb_target_group.this["a"], aws_lb_target_group.this["b"], and which one is not known'
    ) in service.message
    assert service.fix.startswith("Write the reference so that it names one resource")


def test_a_condition_between_two_target_groups_is_ambiguous() -> None:
    # target_group_arn = var.blue ? aws_lb_target_group.this["a"].arn : aws_lb_target_group.this["b"].arn
    result = scan([PLANS / "conditional" / "plan.json"])
    assert not any("aws_ecs_service.a" in path for path in chains(result) if "→ aws_ecs_service.a" in path)
    (finding,) = [
        f for f in result.findings if "the target group of aws_ecs_service.a is ambiguous" in f.message
    ]
    assert finding.rule == "KA002"


def test_a_variable_fed_by_the_callers_local_is_not_guessed_by_port() -> None:
    # module "svc" { tg = local.tg }: the service's var.tg comes through a local the plan leaves out;
    # a target group with the container's port exists but is not taken for it
    result = scan([PLANS / "local_through_variable" / "plan.json"])
    assert "KA001" not in rules_of(result)
    (finding,) = [f for f in result.findings if "the target group of module.svc" in f.message]
    assert "comes through local.tg, which the plan does not describe" in finding.message
    assert "Links the inputs record no reference for" not in finding.message
    assert finding.fix.startswith("Scan the plan next to the .tf files it was made from")


def test_a_dynamic_block_takes_the_target_group_its_module_call_passes(tmp_path: Path) -> None:
    # the ECS service module's load_balancer is dynamic, but the call passes
    # module.alb.target_groups["ex_admin"].arn, whatever the ports say
    data = alb_v9()
    planned_in(data, 'module.alb.aws_lb_target_group.this["ex_admin"]')["port"] = 80
    for module in data["planned_values"]["root_module"]["child_modules"]:
        for resource in module["resources"]:
            if resource["address"] == "module.admin_service.aws_ecs_service.this[0]":
                resource["values"]["load_balancer"][0]["container_port"] = 8000
    result = scan([write_plan(tmp_path / "plan.json", data)])
    assert (
        'module.alb.aws_lb_target_group.this["ex_admin"] → module.admin_service.aws_ecs_service.this[0]'
        in (" ".join(chains(result)))
    )
    admin = next(f for f in result.findings if "admin_service" in f.message)
    assert (
        "target_group_arn of module.admin_service.aws_ecs_service.this[0] is taken to be "
        'module.alb.aws_lb_target_group.this["ex_admin"], the only target group the call of '
        "module.admin_service passes it (load_balancer)"
    ) in admin.message


def test_a_data_source_is_not_a_candidate_target_group(tmp_path: Path) -> None:
    data = alb_v9()
    del module_call(data, "app_service")["expressions"]["load_balancer"]
    del module_call(data, "admin_service")["expressions"]["load_balancer"]
    looked_up = {
        "address": "data.aws_lb_target_group.shared",
        "mode": "data",
        "type": "aws_lb_target_group",
        "name": "shared",
        "values": {"name": "shared", "port": 8000},
    }
    data["planned_values"]["root_module"].setdefault("resources", []).append(looked_up)
    inventory = load([write_plan(tmp_path / "plan.json", data)])
    app = next(item for item in inventory.services if item.id.address.startswith("module.app_service"))
    assert app.attachments[0].target_group is not None
    assert app.attachments[0].target_group.refs == {'module.alb.aws_lb_target_group.this["ex_ecs"]'}


# --- which configuration a plan is of ---------------------------------------------------------------


def test_other_json_with_a_format_version_does_not_stand_for_a_root(in_tmp: Path) -> None:
    (in_tmp / "main.tf").write_text(service_tf(command=["gunicorn", "--threads", "4", "app:app"]))
    validate = {
        "format_version": "1.0",
        "valid": True,
        "error_count": 0,
        "warning_count": 0,
        "diagnostics": [],
    }
    (in_tmp / "validate.json").write_text(json.dumps(validate))
    result = scan([in_tmp])
    assert errors(result) == []
    assert "KA001" in rules_of(result)
    assert {finding.location.path for finding in result.findings} == {"main.tf"}


def test_a_plan_of_another_configuration_leaves_the_tf_files_to_be_scanned(in_tmp: Path) -> None:
    shutil.copytree(LOCALS / "object", in_tmp / "object")
    main = in_tmp / "object" / "main.tf"
    main.write_text(main.read_text().replace("idle_timeout       = each.value", "idle_timeout       = 4000"))
    result = scan([in_tmp / "object"])
    units = {target.chain.unit for target in result.targets}
    assert units == {"object", "object/plan.json"}  # both, each on its own
    (note,) = [item for item in result.skipped if item.id.address == "object/plan.json"]
    assert note.reason == (
        f"object/plan.json is not a plan of the Terraform configuration in object ({at('object/main.tf', 'idle_timeout')} "
        "sets idle_timeout = 4000 where the plan's configuration has an expression of each.value): both are "
        "scanned, each on its own"
    )


def test_a_plan_linked_into_its_root_stands_for_it_once(in_tmp: Path) -> None:
    shutil.copytree(LOCALS / "object", in_tmp / "root")
    (in_tmp / "artifacts").mkdir()
    shutil.move(in_tmp / "root" / "plan.json", in_tmp / "artifacts" / "plan.json")
    (in_tmp / "root" / "plan.json").symlink_to("../artifacts/plan.json")
    result = scan([in_tmp / "root"])
    assert {target.chain.unit for target in result.targets} == {"root/plan.json"}
    assert len(result.targets) == 2
