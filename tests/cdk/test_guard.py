"""KeepAliveGuard on real aws-cdk-lib apps: the annotations synthesis records, as `cdk synth` shows them."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk.assertions import Annotations, Match, Template
from constructs import IConstruct

from cdk_constructs import KeepAliveGuard
from tests.cdk.apps import SERVICE, pattern


def app_stack(tmp_path: Path, guard: KeepAliveGuard | None = None) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    cdk.Aspects.of(app).add(guard or KeepAliveGuard())
    return app, cdk.Stack(app, "Web")


def errors(stack: cdk.Stack) -> list[tuple[str, str]]:
    """(construct path, message) of each error annotation."""
    found = Annotations.from_stack(stack).find_error("*", Match.any_value())
    return [(message.id, str(message.entry.data)) for message in found]


def test_an_ecs_patterns_service_with_a_short_keep_alive_fails(tmp_path: Path) -> None:
    _, stack = app_stack(tmp_path)
    pattern(stack, ["uvicorn", "app:app", "--port", "8000"])
    ((path, message),) = errors(stack)
    assert path == "/Web/Api/TaskDef/Resource"
    assert message.startswith(
        '[KA001] uvicorn in container "web" of ApiServiceD5B4A50A (Web/Api/Service/Service)'
    )
    assert "not longer than the 120 s idle timeout of the load balancer ApiLB" in message
    assert "Fix: Add `--timeout-keep-alive 125` to the uvicorn command" in message


def test_the_fixed_service_passes(tmp_path: Path) -> None:
    _, stack = app_stack(tmp_path)
    pattern(stack, ["uvicorn", "app:app", "--port", "8000", "--timeout-keep-alive", "125"])
    assert errors(stack) == []
    Annotations.from_stack(stack).has_no_warning("*", Match.string_like_regexp(r"^\[KA00"))


def test_an_image_asset_is_understood_from_its_dockerfile(tmp_path: Path) -> None:
    _, stack = app_stack(tmp_path)
    pattern(stack, None, ecs.ContainerImage.from_asset(str(SERVICE)))
    ((path, message),) = errors(stack)
    assert path == "/Web/Api/TaskDef/Resource" and "no --timeout-keep-alive given" in message
    assert "Dockerfile:5" in message


def l2_app(stack: cdk.Stack, command: list[str]) -> None:
    """FargateService + ApplicationLoadBalancer.add_listener().add_targets(), the load balancer's 60 s."""
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    definition = ecs.FargateTaskDefinition(stack, "Task")
    definition.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("python:3.12"),
        command=command,
        port_mappings=[ecs.PortMapping(container_port=8000)],
    )
    service = ecs.FargateService(stack, "Service", cluster=cluster, task_definition=definition)
    balancer = elbv2.ApplicationLoadBalancer(stack, "Balancer", vpc=vpc, internet_facing=True)
    balancer.add_listener("Http", port=80).add_targets("App", port=8000, targets=[service])


def l1_app(stack: cdk.Stack, labels: dict[str, str] | None, delay: str) -> None:
    """Only Cfn* resources: a 30 s idle timeout, Node 22 (5 s keep-alive unless declared)."""
    lb = elbv2.CfnLoadBalancer(
        stack,
        "LB",
        subnets=["subnet-1", "subnet-2"],
        load_balancer_attributes=[
            elbv2.CfnLoadBalancer.LoadBalancerAttributeProperty(
                key="idle_timeout.timeout_seconds", value="30"
            )
        ],
    )
    group = elbv2.CfnTargetGroup(
        stack,
        "Group",
        port=8000,
        protocol="HTTP",
        target_type="ip",
        vpc_id="vpc-1",
        target_group_attributes=[
            elbv2.CfnTargetGroup.TargetGroupAttributeProperty(
                key="deregistration_delay.timeout_seconds", value=delay
            )
        ],
    )
    elbv2.CfnListener(
        stack,
        "Listener",
        load_balancer_arn=lb.ref,
        port=80,
        protocol="HTTP",
        default_actions=[elbv2.CfnListener.ActionProperty(type="forward", target_group_arn=group.ref)],
    )
    task = ecs.CfnTaskDefinition(
        stack,
        "Task",
        container_definitions=[
            ecs.CfnTaskDefinition.ContainerDefinitionProperty(
                name="app", image="node:22-alpine", command=["node", "server.js"], docker_labels=labels
            )
        ],
    )
    ecs.CfnService(
        stack,
        "Service",
        task_definition=task.ref,
        load_balancers=[
            ecs.CfnService.LoadBalancerProperty(
                container_name="app", container_port=8000, target_group_arn=group.ref
            )
        ],
    )


def test_an_l2_app_is_checked(tmp_path: Path) -> None:
    _, stack = app_stack(tmp_path)
    l2_app(stack, ["gunicorn", "--threads", "4", "app:app"])
    ((path, message),) = errors(stack)
    assert path == "/Web/Task/Resource" and message.startswith("[KA001] gunicorn (gthread worker")
    _, fixed = app_stack(tmp_path / "fixed")
    l2_app(fixed, ["gunicorn", "--threads", "4", "--keep-alive", "65", "app:app"])
    assert errors(fixed) == []


def test_an_l1_app_is_checked(tmp_path: Path) -> None:
    _, stack = app_stack(tmp_path)
    l1_app(stack, None, "5")
    found = errors(stack)
    assert sorted((path, message.split(" ", 1)[0]) for path, message in found) == [
        ("/Web/Group", "[DR001]"),
        ("/Web/Task", "[KA001]"),
    ]
    _, fixed = app_stack(tmp_path / "fixed")
    l1_app(fixed, {"keepalive-guard.keep-alive-seconds": "35"}, "30")  # server.keepAliveTimeout set in code
    assert errors(fixed) == []


def test_acknowledgements_silence_exactly_what_they_name(tmp_path: Path) -> None:
    _, stack = app_stack(tmp_path)
    service = pattern(stack, ["uvicorn", "app:app", "--port", "8000"])
    service.target_group.set_attribute("deregistration_delay.timeout_seconds", "5")
    assert sorted(message.split(" ", 1)[0] for _, message in errors(stack)) == ["[DR001]", "[KA001]"]
    _, stack = app_stack(tmp_path / "again")
    service = pattern(stack, ["uvicorn", "app:app", "--port", "8000"])
    service.target_group.set_attribute("deregistration_delay.timeout_seconds", "5")
    KeepAliveGuard.acknowledge(service.task_definition, "KA001", "internal tool, retries on 502")
    assert [message.split(" ", 1)[0] for _, message in errors(stack)] == ["[DR001]"]
    with pytest.raises(ValueError, match="needs a reason"):
        KeepAliveGuard.acknowledge(service.task_definition, "DR001", " ")


def test_cdk_validations_acknowledgements_count_too(tmp_path: Path) -> None:
    """`Validations.of(scope).acknowledge` (aws-cdk-lib's own mechanism) with the plugin's rule ids, on
    the resource or a scope above it; another tool's ids and other scopes change nothing."""
    _, stack = app_stack(tmp_path)
    service = pattern(stack, ["uvicorn", "app:app", "--port", "8000"])
    service.target_group.set_attribute("deregistration_delay.timeout_seconds", "5")
    cdk.Validations.of(service).acknowledge(
        cdk.Acknowledgment(id="keepalive-guard::KA001", reason="internal tool, retries on 502"),
        cdk.Acknowledgment(id="other-tool::DR001", reason="not ours"),
    )
    cdk.Validations.of(stack.node.find_child("Vpc")).acknowledge(
        cdk.Acknowledgment(id="keepalive-guard::DR001", reason="a scope the chain is not in")
    )
    assert [message.split(" ", 1)[0] for _, message in errors(stack)] == ["[DR001]"]


def test_unknown_servers_warn_and_fail_when_strict(tmp_path: Path) -> None:
    _, stack = app_stack(tmp_path)
    pattern(stack, ["./server"])
    assert errors(stack) == []
    Annotations.from_stack(stack).has_warning(
        "/Web/Api/TaskDef/Resource", Match.string_like_regexp(r"^\[KA002\]")
    )
    _, strict = app_stack(tmp_path / "strict", KeepAliveGuard(strict=True))
    pattern(strict, ["./server"])
    ((path, message),) = errors(strict)
    assert path == "/Web/Api/TaskDef/Resource" and message.startswith("[KA002] Cannot check")


def test_a_nested_stack_is_checked(tmp_path: Path) -> None:
    _, stack = app_stack(tmp_path)
    inner = cdk.NestedStack(stack, "Inner")
    pattern(inner, ["uvicorn", "app:app", "--port", "8000"])
    found = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp(r"^\[KA001\]"))
    assert [message.id for message in found] == ["/Web/Inner/Api/TaskDef/Resource"]


@jsii.implements(cdk.IAspect)
class _KeepAliveFromEnvironment:
    """A mutating aspect that runs after the guard's visit of the stack (it visits the stack's children)."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, ecs.ContainerDefinition):
            node.add_environment("UVICORN_TIMEOUT_KEEP_ALIVE", "125")


def test_the_guard_sees_the_final_tree_and_leaves_the_template_alone(tmp_path: Path) -> None:
    """Aspects that change containers after the guard visited the stack: the guard checks what they
    made, and resolving the tree does not freeze CDK's cached values before they ran."""
    app, stack = app_stack(tmp_path)
    cdk.Aspects.of(app).add(_KeepAliveFromEnvironment())
    pattern(stack, ["uvicorn", "app:app", "--port", "8000"])
    assert errors(stack) == []
    Template.from_stack(stack).has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "ContainerDefinitions": [
                Match.object_like({"Environment": [{"Name": "UVICORN_TIMEOUT_KEEP_ALIVE", "Value": "125"}]})
            ]
        },
    )


def test_a_stage_checked_by_a_guard_of_its_own_reads_its_assets(tmp_path: Path) -> None:
    """CDK's aspects stop at a Stage: the guard is added to the Stage, whose image assets are staged in
    the app's output directory, not in the Stage's assembly."""
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stage = cdk.Stage(app, "Prod")
    cdk.Aspects.of(stage).add(KeepAliveGuard())
    stack = cdk.Stack(stage, "Web")
    pattern(stack, None, ecs.ContainerImage.from_asset(str(SERVICE)))
    ((path, message),) = errors(stack)
    assert path == "/Prod/Web/Api/TaskDef/Resource" and message.startswith("[KA001] uvicorn")
