"""SafeApplicationLoadBalancedFargateService on real synthesis: the template it makes, what it refuses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk.assertions import Annotations, Match, Template

from cdk_constructs import KeepAliveGuard, SafeApplicationLoadBalancedFargateService
from tests.cdk.apps import SERVICE


def safe(
    tmp_path: Path,
    command: list[str] | None,
    image: ecs.ContainerImage | None = None,
    guard: bool = False,
    **props: Any,
) -> tuple[cdk.Stack, SafeApplicationLoadBalancedFargateService]:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    if guard:
        cdk.Aspects.of(app).add(KeepAliveGuard())
    stack = cdk.Stack(app, "Web")
    service = SafeApplicationLoadBalancedFargateService(
        stack,
        "Api",
        vpc=ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0),
        task_image_options=patterns.ApplicationLoadBalancedTaskImageOptions(
            image=image or ecs.ContainerImage.from_registry("python:3.12"),
            container_port=8000,
            command=command,
        ),
        **props,
    )
    return stack, service


def container(template: Template) -> dict[str, Any]:
    (definition,) = template.find_resources("AWS::ECS::TaskDefinition").values()
    (found,) = definition["Properties"]["ContainerDefinitions"]
    return dict(found)


def attribute(template: Template, kind: str, key: str) -> str:
    (resource,) = template.find_resources(kind).values()
    name = "LoadBalancerAttributes" if kind.endswith("LoadBalancer") else "TargetGroupAttributes"
    (value,) = [item["Value"] for item in resource["Properties"][name] if item["Key"] == key]
    return str(value)


@pytest.mark.parametrize(
    ("command", "added"),
    [
        (["gunicorn", "--threads", "4", "app:app"], ["--keep-alive", "65"]),
        (["uvicorn", "main:app", "--port", "8000"], ["--timeout-keep-alive", "65"]),
        (["npx", "next", "start", "-p", "8000"], ["--keepAliveTimeout", "65000"]),
        (["hypercorn", "main:app", "--bind", "0.0.0.0:8000"], ["--keep-alive", "65"]),
    ],
)
def test_the_server_option_is_added_to_the_command(
    tmp_path: Path, command: list[str], added: list[str]
) -> None:
    stack, _ = safe(tmp_path, command, guard=True)
    template = Template.from_stack(stack)
    assert container(template)["Command"] == [*command, *added]
    assert (
        attribute(template, "AWS::ElasticLoadBalancingV2::LoadBalancer", "idle_timeout.timeout_seconds")
        == "60"
    )
    delay = attribute(
        template, "AWS::ElasticLoadBalancingV2::TargetGroup", "deregistration_delay.timeout_seconds"
    )
    assert delay == "300"
    assert Annotations.from_stack(stack).find_error("*", Match.any_value()) == []  # the guard agrees


def test_a_longer_idle_timeout_and_a_margin_raise_the_keep_alive_and_the_delay(tmp_path: Path) -> None:
    stack, _ = safe(
        tmp_path,
        ["gunicorn", "-k", "gthread", "--timeout", "900", "app:app"],
        idle_timeout=cdk.Duration.seconds(600),
        min_margin=10,
    )
    template = Template.from_stack(stack)
    assert container(template)["Command"][-2:] == ["--keep-alive", "615"]
    assert (
        attribute(template, "AWS::ElasticLoadBalancingV2::LoadBalancer", "idle_timeout.timeout_seconds")
        == "600"
    )
    # gunicorn's --timeout 900 is cut to the 600 s after which the load balancer gives up on a silent target
    delay = attribute(
        template, "AWS::ElasticLoadBalancingV2::TargetGroup", "deregistration_delay.timeout_seconds"
    )
    assert delay == "600"


def test_a_sync_worker_keeps_no_connection_alive_and_is_left_alone(tmp_path: Path) -> None:
    stack, _ = safe(tmp_path, ["gunicorn", "app:app"])
    assert container(Template.from_stack(stack))["Command"] == ["gunicorn", "app:app"]


def test_the_image_command_of_an_asset_gets_the_environment_variable(tmp_path: Path) -> None:
    stack, _ = safe(tmp_path, None, ecs.ContainerImage.from_asset(str(SERVICE)), guard=True)
    found = container(Template.from_stack(stack))
    assert "Command" not in found
    assert found["Environment"] == [{"Name": "UVICORN_TIMEOUT_KEEP_ALIVE", "Value": "65"}]
    assert Annotations.from_stack(stack).find_error("*", Match.any_value()) == []


def test_gunicorn_options_in_the_environment_are_kept(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = cdk.Stack(app, "Web")
    SafeApplicationLoadBalancedFargateService(
        stack,
        "Api",
        vpc=ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0),
        task_image_options={
            "image": ecs.ContainerImage.from_asset(str(SERVICE)),
            "command": ["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "main:app"],
            "environment": {"GUNICORN_CMD_ARGS": "--workers 4"},
        },
    )
    found = container(Template.from_stack(stack))
    # uvicorn's worker class under gunicorn takes gunicorn's --keep-alive (default 2 s)
    assert found["Command"][-2:] == ["--keep-alive", "65"]
    assert found["Environment"] == [{"Name": "GUNICORN_CMD_ARGS", "Value": "--workers 4"}]


def refusal(stack: cdk.Stack) -> str:
    with pytest.raises(RuntimeError, match="Validation failed") as raised:
        Template.from_stack(stack)
    return str(raised.value)


def test_an_unknown_server_is_refused_until_declared(tmp_path: Path) -> None:
    stack, _ = safe(tmp_path, ["./server"])
    message = refusal(stack)
    assert "[Web/Api] [KA002] Cannot check" in message
    assert "`./server` is not a server keepalive-guard recognises" in message
    assert "declare it as keep_alive=Duration.seconds(65)" in message

    stack, _ = safe(tmp_path / "declared", ["./server"], keep_alive=cdk.Duration.seconds(75))
    assert container(Template.from_stack(stack))["DockerLabels"] == {
        "keepalive-guard.keep-alive-seconds": "75"
    }

    stack, _ = safe(tmp_path / "short", ["./server"], keep_alive=cdk.Duration.seconds(30))
    assert "[KA001] declared server" in refusal(stack)


def test_a_keep_alive_the_app_sets_is_validated_not_overridden(tmp_path: Path) -> None:
    command = ["uvicorn", "main:app", "--timeout-keep-alive", "5"]
    stack, _ = safe(tmp_path, command)
    message = refusal(stack)
    assert re.search(r"\[KA001\] uvicorn .* after 5 s \(`--timeout-keep-alive 5` in the command", message)
    assert "Change `--timeout-keep-alive 5` to `--timeout-keep-alive 65`" in message
    stack, _ = safe(tmp_path / "node", ["node", "server.js"])
    assert "declare it as keep_alive=Duration.seconds(65)" in refusal(stack)  # Node sets it in code only


def test_what_is_changed_after_construction_is_checked_at_synth(tmp_path: Path) -> None:
    stack, service = safe(tmp_path, ["gunicorn", "--timeout", "120", "--threads", "4", "app:app"])
    service.target_group.set_attribute("deregistration_delay.timeout_seconds", "10")
    assert "[Web/Api] [DR001]" in refusal(stack)
    stack, _ = safe(tmp_path / "given", ["uvicorn", "main:app"], deregistration_delay=cdk.Duration.seconds(5))
    assert "[DR001]" in refusal(stack)


def test_a_task_definition_of_ones_own_is_refused(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = cdk.Stack(app, "Web")
    definition = ecs.FargateTaskDefinition(stack, "Task")
    with pytest.raises(
        ValueError, match="Web/Api: SafeApplicationLoadBalancedFargateService needs task_image_options"
    ):
        SafeApplicationLoadBalancedFargateService(stack, "Api", task_definition=definition)


def test_tokens_in_the_command_are_kept(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = cdk.Stack(app, "Web")
    port = cdk.CfnParameter(stack, "Port", default="8000").value_as_string
    SafeApplicationLoadBalancedFargateService(
        stack,
        "Api",
        vpc=ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0),
        task_image_options={
            "image": ecs.ContainerImage.from_registry("python:3.12"),
            "command": ["uvicorn", "main:app", "--port", port],
        },
    )
    command = container(Template.from_stack(stack))["Command"]
    assert command == ["uvicorn", "main:app", "--port", {"Ref": "Port"}, "--timeout-keep-alive", "65"]


def test_a_load_balancer_of_ones_own_needs_its_idle_timeout(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = cdk.Stack(app, "Web")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    balancer = elbv2.ApplicationLoadBalancer(stack, "LB", vpc=vpc, idle_timeout=cdk.Duration.seconds(120))
    options = {"image": ecs.ContainerImage.from_registry("python:3.12"), "command": ["uvicorn", "main:app"]}
    with pytest.raises(ValueError, match="Web/Api: with a load_balancer of your own, pass its idle timeout"):
        SafeApplicationLoadBalancedFargateService(
            stack, "Api", vpc=vpc, load_balancer=balancer, task_image_options=options
        )
    SafeApplicationLoadBalancedFargateService(
        stack,
        "Api2",
        vpc=vpc,
        load_balancer=balancer,
        idle_timeout=cdk.Duration.seconds(120),
        task_image_options=options,
    )
    assert container(Template.from_stack(stack))["Command"][-2:] == ["--timeout-keep-alive", "125"]


def test_a_deregistration_delay_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="deregistration_delay must be 0 to 3600 seconds"):
        safe(tmp_path, ["uvicorn", "main:app"], deregistration_delay=cdk.Duration.seconds(5000))
