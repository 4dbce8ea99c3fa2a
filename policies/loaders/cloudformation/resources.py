"""CloudFormation resources into the format-free model, one reader per resource type (`READERS`).

Defaults are CloudFormation's and the services' own, cited next to each. `Ref` and `Fn::GetAtt` of a
resource become `Link`s to its logical id; the topology resolves them within the template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from policies.loaders.cloudformation.template import Evaluator, Template
from policies.loaders.ecs import read_containers
from policies.loaders.terraform.resources import Collected, enum_of, whole_number
from policies.loaders.terraform.values import EvalError, Obj, Unknown, to_bool, to_string, where_of
from policies.model import (
    Forward,
    Link,
    Listener,
    LoadBalancer,
    LoadBalancerKind,
    Location,
    Origin,
    Registration,
    RegistrationKind,
    ResourceId,
    Service,
    ServiceAttachment,
    Setting,
    TargetGroup,
    TargetType,
    TaskDefinition,
)

T = TypeVar("T")

_DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide"
_VALUE_FIX = (
    "write the value as a literal, or take it from a parameter given a value (--parameter NAME=VALUE)"
)


@dataclass(frozen=True)
class CfnResource:
    """One resource of a template: its logical id and its properties, evaluated."""

    template: Template
    evaluator: Evaluator
    logical_id: str
    node: dict[str, Any]
    location: Location

    @property
    def address(self) -> str:
        """Its address in the unit: the logical id, after its nested stack's (`Parent/Id`)."""
        return self.template.prefix + self.logical_id

    @property
    def id(self) -> ResourceId:
        return ResourceId(
            self.template.unit, self.address, self.location, self.template.label(self.logical_id)
        )

    @property
    def properties(self) -> Obj:
        node = self.node.get("Properties")
        if not isinstance(node, dict):
            return Obj()
        where = self.template.key_location(self.node, "Properties", self.location)
        value = self.evaluator.value(node, where)
        return value if isinstance(value, Obj) else Obj()


Reader = Callable[[CfnResource, Collected], None]


def _where(mapping: Any, key: str, fallback: Location) -> Location:
    """Where `key` is written in an evaluated mapping (not where its value came from)."""
    if isinstance(mapping, Obj) and key in mapping.where:
        return mapping.where[key]
    return fallback


def _setting(
    value: Any,
    where: Location,
    what: str,
    convert: Callable[[Any], T | None],
    default: T | None,
    default_note: str,
) -> Setting[T]:
    """A property value as a Setting named `what`; absent, the default (None: unknown)."""
    setting: Setting[T]
    if value is None:
        setting = (
            Setting.unknown(where, f"{what} is not set")
            if default is None
            else Setting.default(default, where, default_note)
        )
    elif isinstance(value, Unknown):
        setting = Setting.unknown(where, f"{what}: {value.reason}", fix=value.fix or _VALUE_FIX)
    else:
        setting = _converted(value, where, what, convert)
    return replace(setting, name=what)


def _converted(value: Any, where: Location, what: str, convert: Callable[[Any], T | None]) -> Setting[T]:
    """A value that is written, converted; located where it is written (a parameter's Default, say)."""
    try:
        converted = convert(value)
    except EvalError as error:
        return Setting.unknown(where, f"{what}: {error}")
    if converted is None:
        return Setting.unknown(where, f"{what} is not a valid value: {value!r}")
    written = where_of(value)  # a parameter's Default, when the value comes from one
    if written is not None and written != where:
        return Setting(converted, written, note=f"via {where}")
    return Setting(converted, where)


def _link(value: Any, where: Location) -> Link:
    if isinstance(value, Unknown):
        return Link(value.refs, location=where, note=value.reason, fix=value.fix)
    if isinstance(value, str):
        return Link(literal=str(value), location=where)
    return Link(location=where, note=f"not a reference: {value!r}")


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) else None


def _number(value: Any) -> int | None:
    try:
        return whole_number(value) if value is not None and not isinstance(value, Unknown) else None
    except EvalError:
        return None


def _attributes(properties: Obj, name: str, here: Location) -> dict[str, tuple[Any, Location]]:
    """`[{Key, Value}]` attribute lists (LoadBalancerAttributes, TargetGroupAttributes) by key, each
    value with where it is written."""
    found: dict[str, tuple[Any, Location]] = {}
    entries = properties.get(name)
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, Obj) and isinstance(entry.get("Key"), str):
                found[str(entry["Key"])] = (
                    entry.get("Value"),
                    _where(entry, "Value", _where(entry, "Key", here)),
                )
    return found


def _attribute(
    properties: Obj,
    resource: CfnResource,
    list_name: str,
    key: str,
    convert: Callable[[Any], T | None],
    default: T,
    source: str,
) -> Setting[T]:
    here = _where(properties, list_name, resource.location)
    value, where = _attributes(properties, list_name, here).get(key, (None, here))
    return _setting(value, where, key, convert, default, f"not set: the AWS default, {source}")


# --- readers ---------------------------------------------------------------------------------------


def _load_balancer(resource: CfnResource, out: Collected) -> None:
    properties = resource.properties
    out.load_balancers.append(
        LoadBalancer(
            resource.id,
            # AWS::ElasticLoadBalancingV2::LoadBalancer Type: "The default is application."
            kind=_setting(
                properties.get("Type"),
                _where(properties, "Type", resource.location),
                "Type",
                enum_of(LoadBalancerKind),
                LoadBalancerKind.APPLICATION,
                f"not set: the default, {_DOCS}/aws-resource-elasticloadbalancingv2-loadbalancer.html",
            ),
            # LoadBalancerAttribute idle_timeout.timeout_seconds: "The valid range is 1-4000 seconds. The
            # default is 60 seconds."
            idle_timeout=_attribute(
                properties,
                resource,
                "LoadBalancerAttributes",
                "idle_timeout.timeout_seconds",
                whole_number,
                60,
                f"{_DOCS}/aws-properties-elasticloadbalancingv2-loadbalancer-loadbalancerattribute.html",
            ),
            name=_text(properties.get("Name")),
        )
    )


def _classic_load_balancer(resource: CfnResource, out: Collected) -> None:
    properties = resource.properties
    here = resource.location
    settings = properties.get("ConnectionSettings")
    settings = settings if isinstance(settings, Obj) else Obj()
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/config-idle-timeout.html: "By default,
    # Elastic Load Balancing sets the idle timeout for your load balancer to 60 seconds."
    idle = _setting(
        settings.get("IdleTimeout"),
        _where(settings, "IdleTimeout", _where(properties, "ConnectionSettings", here)),
        "ConnectionSettings.IdleTimeout",
        whole_number,
        60,
        "not set: the AWS default, https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/config-idle-timeout.html",
    )
    policy = properties.get("ConnectionDrainingPolicy")
    policy_where = _where(properties, "ConnectionDrainingPolicy", here)
    if not isinstance(policy, Obj):
        # Connection draining is disabled on a Classic ELB created through the API, as CloudFormation does:
        # https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/config-conn-drain.html
        note = "ConnectionDrainingPolicy is not set: draining is disabled (the default for the API)"
        draining = Setting(0, policy_where, Origin.DEFAULT, note, name="ConnectionDrainingPolicy.Timeout")
    else:
        enabled = _setting(
            policy.get("Enabled"),
            _where(policy, "Enabled", policy_where),
            "ConnectionDrainingPolicy.Enabled",
            to_bool,
            None,
            "",
        )
        if enabled.value is True:
            # ConnectionDrainingPolicy Timeout; the Classic ELB default is 300 seconds (config-conn-drain.html)
            draining = _setting(
                policy.get("Timeout"),
                _where(policy, "Timeout", policy_where),
                "ConnectionDrainingPolicy.Timeout",
                whole_number,
                300,
                "not set: the AWS default, https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/config-conn-drain.html",
            )
        elif enabled.known:
            note = "ConnectionDrainingPolicy.Enabled is false"
            draining = Setting(0, enabled.location, Origin.SET, note, name="ConnectionDrainingPolicy.Timeout")
        else:
            draining = replace(
                Setting.unknown(enabled.location, enabled.note, enabled.fix),
                name="ConnectionDrainingPolicy.Timeout",
            )
    listeners = properties.get("Listeners")
    protocols = []
    for listener in listeners if isinstance(listeners, list) else []:
        if isinstance(listener, Obj):
            protocol = listener.get("InstanceProtocol") or listener.get("Protocol")
            if isinstance(protocol, str):
                protocols.append(str(protocol).lower())
    out.load_balancers.append(
        LoadBalancer(
            resource.id,
            kind=Setting(LoadBalancerKind.CLASSIC, here),
            idle_timeout=idle,
            name=_text(properties.get("LoadBalancerName")),
            connection_draining=draining,
            backend_protocols=tuple(protocols),
        )
    )
    if properties.get("Instances") is not None:
        own = Link(frozenset({resource.address}))
        out.registrations.append(Registration(resource.id, own, RegistrationKind.INSTANCES))


def _forwards(actions: Any, here: Location) -> list[Forward]:
    forwards: list[Forward] = []
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, Obj):
            continue
        if "TargetGroupArn" in action:
            forwards.append(Forward(_link(action["TargetGroupArn"], _where(action, "TargetGroupArn", here))))
        config = action.get("ForwardConfig")
        groups = config.get("TargetGroups") if isinstance(config, Obj) else None
        for group in groups if isinstance(groups, list) else []:
            if isinstance(group, Obj) and "TargetGroupArn" in group:
                link = _link(group["TargetGroupArn"], _where(group, "TargetGroupArn", here))
                forwards.append(Forward(link, _number(group.get("Weight"))))
    return forwards


def _forwarding(parent: str, actions: str, is_rule: bool) -> Reader:
    """A Listener (LoadBalancerArn, DefaultActions) or ListenerRule (ListenerArn, Actions) reader."""

    def read(resource: CfnResource, out: Collected) -> None:
        properties = resource.properties
        here = resource.location
        value = properties.get(parent)
        out.listeners.append(
            Listener(
                resource.id,
                load_balancer=_link(value, _where(properties, parent, here))
                if value is not None
                else Link(note=f"{parent} is not set"),
                forwards=tuple(_forwards(properties.get(actions), here)),
                is_rule=is_rule,
                port=None if is_rule else _number(properties.get("Port")),
            )
        )

    return read


def _target_group(resource: CfnResource, out: Collected) -> None:
    properties = resource.properties
    here = resource.location
    out.target_groups.append(
        TargetGroup(
            resource.id,
            # AWS::ElasticLoadBalancingV2::TargetGroup TargetType: "The default is instance."
            target_type=_setting(
                properties.get("TargetType"),
                _where(properties, "TargetType", here),
                "TargetType",
                enum_of(TargetType),
                TargetType.INSTANCE,
                f"not set: the default, {_DOCS}/aws-resource-elasticloadbalancingv2-targetgroup.html",
            ),
            # TargetGroupAttribute deregistration_delay.timeout_seconds: "The range is 0-3600 seconds. The
            # default value is 300 seconds."
            deregistration_delay=_attribute(
                properties,
                resource,
                "TargetGroupAttributes",
                "deregistration_delay.timeout_seconds",
                whole_number,
                300,
                f"{_DOCS}/aws-properties-elasticloadbalancingv2-targetgroup-targetgroupattribute.html",
            ),
            name=_text(properties.get("Name")),
            port=_number(properties.get("Port")),
            protocol=_text(properties.get("Protocol")),
        )
    )
    if properties.get("Targets") is not None:
        own = Link(frozenset({resource.address}))
        out.registrations.append(Registration(resource.id, own, RegistrationKind.ATTACHMENT))


def _service(resource: CfnResource, out: Collected) -> None:
    properties = resource.properties
    here = resource.location
    attachments = []
    entries = properties.get("LoadBalancers")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Obj):
            continue
        at = where_of(entry) or _where(properties, "LoadBalancers", here)
        group = entry.get("TargetGroupArn")
        name = entry.get("LoadBalancerName")
        attachments.append(
            ServiceAttachment(
                target_group=_link(group, _where(entry, "TargetGroupArn", at)) if group is not None else None,
                load_balancer_name=_link(name, _where(entry, "LoadBalancerName", at))
                if name is not None
                else None,
                container_name=_setting(
                    entry.get("ContainerName"),
                    _where(entry, "ContainerName", at),
                    "ContainerName",
                    to_string,
                    None,
                    "",
                ),
                container_port=_setting(
                    entry.get("ContainerPort"),
                    _where(entry, "ContainerPort", at),
                    "ContainerPort",
                    whole_number,
                    None,
                    "",
                ),
                location=at,
            )
        )
    definition = properties.get("TaskDefinition")
    out.services.append(
        Service(
            resource.id,
            task_definition=_link(definition, _where(properties, "TaskDefinition", here))
            if definition is not None
            else Link(note="TaskDefinition is not set"),
            attachments=tuple(attachments),
            name=_text(properties.get("ServiceName")),
        )
    )


def _task_definition(resource: CfnResource, out: Collected) -> None:
    properties = resource.properties
    here = resource.location
    definitions = properties.get("ContainerDefinitions")
    if definitions is None:
        containers, note = None, "ContainerDefinitions is not set"
    else:
        containers, note = read_containers(definitions, _where(properties, "ContainerDefinitions", here))
    fix = definitions.fix if containers is None and isinstance(definitions, Unknown) else ""
    family = _text(properties.get("Family"))
    out.task_definitions.append(TaskDefinition(resource.id, family, containers, note, None, fix))


def _autoscaling_group(resource: CfnResource, out: Collected) -> None:
    properties = resource.properties
    for name in ("TargetGroupARNs", "LoadBalancerNames"):
        values = properties.get(name)
        where = _where(properties, name, resource.location)
        if isinstance(values, Unknown):
            out.registrations.append(
                Registration(resource.id, _link(values, where), RegistrationKind.AUTOSCALING_GROUP)
            )
        for value in values if isinstance(values, list) else []:
            link = _link(value, where_of(value) or where)
            out.registrations.append(Registration(resource.id, link, RegistrationKind.AUTOSCALING_GROUP))


READERS: dict[str, Reader] = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::ElasticLoadBalancing::LoadBalancer": _classic_load_balancer,
    "AWS::ElasticLoadBalancingV2::Listener": _forwarding("LoadBalancerArn", "DefaultActions", False),
    "AWS::ElasticLoadBalancingV2::ListenerRule": _forwarding("ListenerArn", "Actions", True),
    "AWS::ElasticLoadBalancingV2::TargetGroup": _target_group,
    "AWS::ECS::Service": _service,
    "AWS::ECS::TaskDefinition": _task_definition,
    "AWS::AutoScaling::AutoScalingGroup": _autoscaling_group,
}
