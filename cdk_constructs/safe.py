"""`SafeApplicationLoadBalancedFargateService`: `ecs_patterns.ApplicationLoadBalancedFargateService`
with the safe configuration as its default. It takes the same properties, and:

- sets the load balancer's idle timeout explicitly: `idle_timeout`, or the AWS default of 60 s (with a
  `load_balancer` of one's own, `idle_timeout` must say what that load balancer has);
- makes the server keep idle connections longer than that, by 5 s plus `min_margin` (65 s for 60 s).
  With a `command`, it adds the server's option to it: gunicorn `--keep-alive`, uvicorn
  `--timeout-keep-alive`, hypercorn `--keep-alive`, Next.js `next start --keepAliveTimeout`
  (milliseconds). With the image's own command, read from the Dockerfile of a `ContainerImage.fromAsset`
  image, it sets the server's environment variable instead: `GUNICORN_CMD_ARGS`,
  `UVICORN_TIMEOUT_KEEP_ALIVE`, or `KEEP_ALIVE_TIMEOUT` for Next.js's standalone `server.js`. It changes
  only a keep-alive that a documented default decided, never one the app sets, and keeps a change only
  when the engine (`policies.servers.identify`) confirms the result;
- sets the target group's deregistration delay to cover the longest request the engine expects (never
  below the AWS default of 300 s unless `deregistration_delay` says so);
- when the tree is final, checks its chain with the same engine as `KeepAliveGuard`, and fails
  `cdk synth` with the engine's message on anything left: an app-set keep-alive that is too short, a
  server it cannot recognise and no `keep_alive` declaration, a `deregistration_delay` that is too short.

`keep_alive` and `request_timeout` declare what the server does when no command line shows it (a
keep-alive set in code, say); they become the container's `keepalive-guard.*` docker labels, which the
CLI and the guard read too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs_patterns as patterns
from constructs import Construct, IValidation

from cdk_constructs.guard import image_build, inspect, message
from policies.loaders.ecs import read_containers
from policies.loaders.terraform.values import Unknown
from policies.model import Container, Location, Setting
from policies.rules import Options
from policies.rules.base import suggested_keep_alive, whole
from policies.servers import KEEP_ALIVE_LABEL, REQUEST_TIMEOUT_LABEL, Mode, Server, identify

# AWS::ElasticLoadBalancingV2::LoadBalancer LoadBalancerAttribute, idle_timeout.timeout_seconds:
# "The valid range is 1-4000 seconds. The default is 60 seconds."
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-elasticloadbalancingv2-loadbalancer-loadbalancerattribute.html
AWS_IDLE_TIMEOUT = 60
# AWS::ElasticLoadBalancingV2::TargetGroup TargetGroupAttribute, deregistration_delay.timeout_seconds:
# "The range is 0-3600 seconds. The default value is 300 seconds."
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-elasticloadbalancingv2-targetgroup-targetgroupattribute.html
AWS_DEREGISTRATION_DELAY = 300
MAX_DEREGISTRATION_DELAY = 3600
PORT = 80  # ecs_patterns' containerPort default

# What the construct tries, by the engine's server name; the engine then says whether it worked.
# On the command line: the option and its unit in seconds (the policies.servers module of each cites it).
_OPTIONS = {
    "gunicorn": ("--keep-alive", 1),
    "uvicorn": ("--timeout-keep-alive", 1),
    "hypercorn": ("--keep-alive", 1),
    "Next.js": ("--keepAliveTimeout", 1000),  # next start
}
# In the environment, for the image's own command: (variable, value) from the seconds and what the
# environment already holds.
Variable = Callable[[int, Mapping[str, Setting[str]]], tuple[str, str] | None]
_VARIABLES: dict[str, Variable] = {
    "gunicorn": lambda seconds, env: _appended(env, "GUNICORN_CMD_ARGS", f"--keep-alive {seconds}"),
    "uvicorn": lambda seconds, env: ("UVICORN_TIMEOUT_KEEP_ALIVE", str(seconds)),
    "Next.js": lambda seconds, env: ("KEEP_ALIVE_TIMEOUT", str(seconds * 1000)),  # standalone server.js
}


class SafeApplicationLoadBalancedFargateService(patterns.ApplicationLoadBalancedFargateService):
    """An ALB Fargate service whose server outlives the load balancer's idle timeout and whose
    deploys let in-flight requests finish; see the module documentation."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        keep_alive: cdk.Duration | None = None,
        request_timeout: cdk.Duration | None = None,
        deregistration_delay: cdk.Duration | None = None,
        min_margin: float = 0.0,
        **props: Any,
    ) -> None:
        path = f"{scope.node.path}/{id}".lstrip("/")
        values = _values(props.get("task_image_options"), path)
        if props.get("load_balancer") is not None and props.get("idle_timeout") is None:
            raise ValueError(
                f"{path}: with a load_balancer of your own, pass its idle timeout as idle_timeout (it cannot be "
                "read before synthesis; the check at synthesis compares the two)"
            )
        if (
            deregistration_delay is not None
            and not 0 <= deregistration_delay.to_seconds() <= MAX_DEREGISTRATION_DELAY
        ):
            raise ValueError(f"{path}: deregistration_delay must be 0 to {MAX_DEREGISTRATION_DELAY} seconds")
        idle = props.get("idle_timeout") or cdk.Duration.seconds(AWS_IDLE_TIMEOUT)
        if props.get("load_balancer") is None:
            props["idle_timeout"] = idle  # ecs_patterns sets it only on a load balancer it creates
        floor = idle.to_seconds() + min_margin
        wanted = suggested_keep_alive(idle.to_seconds(), min_margin)
        labels = dict(values.get("docker_labels") or {})
        if keep_alive is not None:
            labels[KEEP_ALIVE_LABEL] = f"{keep_alive.to_seconds():g}"
        if request_timeout is not None:
            labels[REQUEST_TIMEOUT_LABEL] = f"{request_timeout.to_seconds():g}"
        values["docker_labels"] = labels or None
        where = Location(path)
        port = values.get("container_port") or PORT
        if values.get("command"):
            values["command"] = [*values["command"], *_option(_container(values, where), port, floor, wanted)]
        props["task_image_options"] = patterns.ApplicationLoadBalancedTaskImageOptions(**values)
        super().__init__(scope, id, **props)

        assets = [child for child in self.node.find_all() if isinstance(child, ecr_assets.DockerImageAsset)]
        builds = [build for asset in assets if (build := image_build(asset)) is not None]
        container = _container(values, where, builds[0] if builds else None)
        variable = _with_variable(container, port, floor, wanted)
        if variable is not None and self.task_definition.default_container is not None:
            self.task_definition.default_container.add_environment(*variable)
            container = _with_environment(container, *variable)
        delay = (
            whole(deregistration_delay.to_seconds())
            if deregistration_delay is not None
            else _covering(identify(container, port), idle.to_seconds())
        )
        self.target_group.set_attribute("deregistration_delay.timeout_seconds", str(delay))
        self.node.add_validation(_Refusals(partial(_refusals, self, Options(min_margin=min_margin))))


@jsii.implements(IValidation)
class _Refusals:
    def __init__(self, run: Callable[[], list[str]]) -> None:
        self._run = run

    def validate(self) -> list[str]:
        return self._run()


def _refusals(service: SafeApplicationLoadBalancedFargateService, options: Options) -> list[str]:
    """What the engine finds on the service's chain once the tree is final (acknowledged findings
    aside), as messages that fail the synthesis."""
    stack = cdk.Stack.of(service)
    result, _ = inspect(stack, options)
    ours = stack.resolve(service.service.node.default_child.logical_id)  # type: ignore[union-attr]
    if not any(target.chain.service and target.chain.service.id.address == ours for target in result.targets):
        return [
            f"[KA002] keepalive-guard cannot follow the load balancer → target group → service {ours} chain "
            "of this construct, so it cannot make it safe"
        ]
    messages = []
    for finding in result.findings:
        if finding.chain.service is None or finding.chain.service.id.address != ours:
            continue
        declare = ""
        if KEEP_ALIVE_LABEL in finding.fix:  # the remedy is a declaration: this construct's own way
            balancer = finding.chain.load_balancer
            idle = balancer.idle_timeout.value if balancer is not None else None
            seconds = suggested_keep_alive(idle if idle is not None else AWS_IDLE_TIMEOUT, options.min_margin)
            declare = f" (With this construct, declare it as keep_alive=Duration.seconds({seconds}).)"
        messages.append(message(finding) + declare)
    return messages


def _values(options: Any, path: str) -> dict[str, Any]:
    if options is None:
        raise ValueError(
            f"{path}: SafeApplicationLoadBalancedFargateService needs task_image_options to see and set "
            "the server's command (with a task_definition of your own, use ApplicationLoadBalancedFargateService "
            "and KeepAliveGuard)"
        )
    if isinstance(options, patterns.ApplicationLoadBalancedTaskImageOptions):
        return dict(options._values)
    return dict(options)


def _container(values: Mapping[str, Any], where: Location, build: Any = None) -> Container:
    """The container the options describe, as the engine models it; CDK tokens are unknown values."""

    def known(value: Any, what: str) -> Any:
        if isinstance(value, str) and cdk.Token.is_unresolved(value):
            return Unknown(f"{what} is a CDK token, known only when the stack is deployed")
        return value

    environment = values.get("environment") or {}
    definition = {
        "name": values.get("container_name") or "web",
        "image": Unknown("the image CDK builds or pulls"),
        "entryPoint": [known(part, "the entry point") for part in values.get("entry_point") or []] or None,
        "command": [known(part, "the command") for part in values.get("command") or []] or None,
        "environment": [{"name": name, "value": known(value, name)} for name, value in environment.items()],
        "secrets": [{"name": name, "valueFrom": "a CDK secret"} for name in values.get("secrets") or {}],
        "dockerLabels": {
            name: known(value, name) for name, value in (values.get("docker_labels") or {}).items()
        },
    }
    containers, _ = read_containers([{key: value for key, value in definition.items() if value}], where)
    assert containers, "a list of one definition reads as one container"
    return replace(containers[0], build=build)


def _long_enough(server: Server, floor: float) -> bool:
    keep_alive = server.keep_alive
    if keep_alive.mode in (Mode.NO_KEEP_ALIVE, Mode.NO_TIMEOUT):
        return True
    return (
        keep_alive.mode is Mode.IDLE_TIMEOUT and keep_alive.seconds is not None and keep_alive.seconds > floor
    )


def _defaulted_short(server: Server, floor: float) -> bool:
    """The keep-alive is too short and a documented default decided it (the evidence cites its source):
    setting it anywhere the server reads takes effect, and overrides nothing the app chose."""
    return (
        not _long_enough(server, floor)
        and server.keep_alive.mode is Mode.IDLE_TIMEOUT
        and bool(server.keep_alive.evidence.source)
    )


def _option(container: Container, port: int, floor: float, wanted: int) -> list[str]:
    """The server's keep-alive option to add to the command, when that makes it long enough."""
    server = identify(container, port)
    option = _OPTIONS.get(server.name)
    if option is None or container.command is None or not _defaulted_short(server, floor):
        return []
    name, unit = option
    added = [name, str(wanted * unit)]
    trial = replace(
        container, command=Setting((*(container.command.value or ()), *added), container.command.location)
    )
    return added if _long_enough(identify(trial, port), floor) else []


def _with_variable(container: Container, port: int, floor: float, wanted: int) -> tuple[str, str] | None:
    """The environment variable that makes the server's keep-alive long enough, when there is one."""
    server = identify(container, port)
    variable = _VARIABLES.get(server.name)
    setting = variable(wanted, container.env()) if variable and _defaulted_short(server, floor) else None
    if setting is None or not _long_enough(identify(_with_environment(container, *setting), port), floor):
        return None
    return setting


def _with_environment(container: Container, name: str, value: str) -> Container:
    pair = (name, Setting(value, container.location))
    return replace(container, environment=(*container.environment, pair))


def _appended(env: Mapping[str, Setting[str]], name: str, option: str) -> tuple[str, str] | None:
    """`option` added to the options variable `name` holds (None when its value is not known)."""
    current = env.get(name)
    if current is not None and current.value is None:
        return None
    return name, f"{current.value} {option}" if current is not None else option


def _covering(server: Server, idle_timeout: float) -> int:
    """A deregistration delay that lets the longest request finish: the server's request timeout, or
    the idle timeout after which the load balancer gives up on a silent target (the engine's DR001
    bounds), never below the AWS default."""
    bound = server.request_timeout.seconds if server.request_timeout is not None else idle_timeout
    longest = min(bound, idle_timeout)
    return min(MAX_DEREGISTRATION_DELAY, max(AWS_DEREGISTRATION_DELAY, whole(longest)))
