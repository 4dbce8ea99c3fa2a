"""Terraform resources (AWS provider) into the format-free model.

One reader per resource type, registered in `READERS`. Defaults are the AWS provider's and AWS's own,
cited next to each. References between resources become `Link`s; the topology resolves them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from policies.loaders.ecs import read_containers
from policies.loaders.resource import Resource
from policies.loaders.terraform.config import Attribute, Block
from policies.loaders.terraform.evaluate import Env, evaluate, subtrees
from policies.loaders.terraform.jsontext import JsonTextError, parse_json_text
from policies.loaders.terraform.module import ModuleInstance
from policies.loaders.terraform.values import (
    Encoded,
    EvalError,
    NeedKnown,
    Obj,
    ResourceRef,
    Text,
    Unknown,
    all_refs,
    to_bool,
    to_number,
    to_string,
    where_of,
)
from policies.model import (
    Forward,
    Inventory,
    Link,
    Listener,
    LoadBalancer,
    LoadBalancerKind,
    Location,
    Lookup,
    Origin,
    Registration,
    RegistrationKind,
    ResourceId,
    Service,
    ServiceAttachment,
    Setting,
    TargetGroup,
    TargetGroupPair,
    TargetType,
    TaskDefinition,
)

T = TypeVar("T")

# AWS provider documentation, pinned to the pages the defaults below come from.
_DOCS = "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources"


@dataclass
class Collected:
    load_balancers: list[LoadBalancer] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)
    target_groups: list[TargetGroup] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    task_definitions: list[TaskDefinition] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)
    pairs: list[TargetGroupPair] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)

    def extend(self, other: Collected) -> None:
        for name, items in vars(other).items():
            getattr(self, name).extend(items)

    def inventory(self) -> Inventory:
        return Inventory(
            load_balancers=tuple(self.load_balancers),
            listeners=tuple(self.listeners),
            target_groups=tuple(self.target_groups),
            services=tuple(self.services),
            task_definitions=tuple(self.task_definitions),
            registrations=tuple(self.registrations),
            pairs=tuple(self.pairs),
            lookups=tuple(self.lookups),
        )


@dataclass(frozen=True)
class Found:
    """One instance of a resource block, with what its expressions can see; or one nested block of it
    (`outer` is then the resource block). Implements `Resource` for HCL."""

    instance: ModuleInstance
    block: Block
    address: str  # local to the module instance
    env: Env
    outer: Block | None = None

    @property
    def id(self) -> ResourceId:
        return self.instance.resource_id(self.address, (self.outer or self.block).location)

    @property
    def location(self) -> Location:
        return self.block.location

    def written(self, name: str) -> Location | None:
        attribute = self.block.attributes.get(name)
        return attribute.location if attribute is not None else None

    def value(self, name: str) -> Any:
        attribute = self.block.attributes.get(name)
        if attribute is None:
            return None
        return evaluate(attribute.node, self.scoped(attribute, self.env))

    def scoped(self, attribute: Attribute, env: Env) -> Env:
        """`env` seen from the file `attribute` is written in (an override file merges in attributes)."""
        if attribute.location.path == env.scope.path:
            return env
        return Env(self.instance.scope(attribute.location.path), env.names, env.depth)

    def setting(
        self, name: str, convert: Callable[[Any], T | None], default: T | None, default_note: str
    ) -> Setting[T]:
        """An attribute as a Setting: its value, where it was decided, or the default it falls back to."""
        block = self.block
        attribute = block.attributes.get(name)
        if attribute is None:
            if default is None:
                return Setting.unknown(block.location, f"{name} is not set")
            return Setting.default(default, block.location, default_note)
        value = evaluate(attribute.node, self.scoped(attribute, self.env))
        written = where_of(value)  # the literal, tfvars line or module argument the value came from
        location = written or attribute.location
        note = f"via {attribute.location}" if written is not None and written != attribute.location else ""
        if isinstance(value, (Unknown, ResourceRef)):
            reason = value.reason if isinstance(value, Unknown) else f"{value.address} is not a value"
            return Setting.unknown(attribute.location, f"{name} = {reason}")
        if value is None:
            if default is None:
                return Setting.unknown(attribute.location, f"{name} is null")
            return Setting.default(default, attribute.location, f"{name} is null: {default_note}")
        try:
            converted = convert(value)
        except (EvalError, NeedKnown) as error:
            return Setting.unknown(attribute.location, f"{name}: {error}")
        if converted is None:
            return Setting.unknown(attribute.location, f"{name}: unexpected value {value!r}")
        return Setting(converted, location, note=note)

    def links(self, name: str) -> list[Link]:
        """The resources an attribute refers to; a list attribute gives one link per element."""
        attribute = self.block.attributes.get(name)
        if attribute is None:
            return []
        value = evaluate(attribute.node, self.scoped(attribute, self.env))
        values = value if isinstance(value, list) else [value]
        return [link_of(item, attribute.location) for item in values if item is not None]

    def link(self, name: str) -> Link | None:
        links = self.links(name)
        return links[0] if links else None

    def error(self, location: Location, message: str) -> None:
        self.instance.loader.error(location.path, message, location.line)

    def blocks(self, block_type: str) -> list[Found]:
        """Nested blocks of a type, `dynamic` ones expanded over their `for_each` where it is known."""
        parent, env = self.block, self.env
        found = [(nested, env) for nested in parent.nested(block_type)]
        for dynamic in parent.nested("dynamic"):
            if dynamic.labels != (block_type,):
                continue
            content = next(iter(dynamic.nested("content")), None)
            if content is None:
                continue
            iterator = _iterator_name(dynamic, block_type)
            collection = (
                evaluate(dynamic.attributes["for_each"].node, env) if "for_each" in dynamic.attributes else []
            )
            if isinstance(collection, (Unknown, ResourceRef)) or not isinstance(collection, (list, dict)):
                reason = (
                    collection.reason if isinstance(collection, Unknown) else "for_each is not a collection"
                )
                item = Unknown(
                    f"dynamic {block_type} over an unknown collection ({reason})", all_refs(collection)
                )
                found.append((content, env.bind(**{iterator: _iterator(item, item)})))
                continue
            items = collection.items() if isinstance(collection, dict) else enumerate(collection)
            for key, item in items:
                found.append((content, env.bind(**{iterator: _iterator(key, item)})))
        outer = self.outer or self.block
        return [Found(self.instance, nested, self.address, nested_env, outer) for nested, nested_env in found]


def _iterator_name(dynamic: Block, default: str) -> str:
    attribute = dynamic.attributes.get("iterator")
    if attribute is None:
        return default
    terms = subtrees(attribute.node)
    return str(terms[0].children[0]) if terms and terms[0].data == "identifier" else default


def _iterator(key: Any, value: Any) -> Obj:
    return Obj({"key": key, "value": value}.items())


def link_of(value: Any, location: Location) -> Link:
    if isinstance(value, ResourceRef):
        return Link(frozenset({value.address}), location=location)
    if isinstance(value, Unknown):
        return Link(value.refs, location=location, note=value.reason)
    if isinstance(value, str):
        return Link(literal=value, location=location)
    return Link(location=location, note=f"not a reference: {value!r}")


# --- converters ------------------------------------------------------------------------------------


def whole_number(value: Any) -> int | None:
    """An int, also from a numeric string: the provider stores deregistration_delay as a string."""
    number = to_number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise EvalError(f"{number} is not a whole number")
        return int(number)
    return number


def enum_of(kind: type[Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        text = to_string(value)
        try:
            return kind(text)
        except ValueError:
            raise EvalError(f'"{text}" is not one of {", ".join(item.value for item in kind)}') from None

    return convert


# --- readers ---------------------------------------------------------------------------------------


def _load_balancer(found: Resource, out: Collected) -> None:
    out.load_balancers.append(
        LoadBalancer(
            found.id,
            # r/lb: load_balancer_type "Defaults to application."
            kind=found.setting(
                "load_balancer_type",
                enum_of(LoadBalancerKind),
                LoadBalancerKind.APPLICATION,
                f"not set: the provider default, {_DOCS}/lb",
            ),
            # r/lb: idle_timeout "Default: 60." (AWS: idle_timeout.timeout_seconds, 1-4000, default 60,
            # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html)
            idle_timeout=found.setting(
                "idle_timeout", whole_number, 60, f"not set: the AWS default, {_DOCS}/lb"
            ),
            name=_text(found.value("name")),
        )
    )


def _classic_load_balancer(found: Resource, out: Collected) -> None:
    draining_enabled = found.setting(
        "connection_draining", to_bool, False, f"not set: the provider default, {_DOCS}/elb"
    )
    if draining_enabled.value is True:
        # r/elb: connection_draining_timeout "Default: 300".
        draining = found.setting(
            "connection_draining_timeout", whole_number, 300, f"not set: the provider default, {_DOCS}/elb"
        )
    elif draining_enabled.known:
        note = "connection_draining is not enabled" + (
            " (the default)" if draining_enabled.origin is Origin.DEFAULT else ""
        )
        draining = Setting(0, draining_enabled.location, draining_enabled.origin, note)
    else:
        draining = Setting.unknown(draining_enabled.location, draining_enabled.note)
    out.load_balancers.append(
        LoadBalancer(
            found.id,
            kind=Setting(LoadBalancerKind.CLASSIC, found.location),
            # r/elb: idle_timeout "Default: 60" (https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/config-idle-timeout.html)
            idle_timeout=found.setting(
                "idle_timeout", whole_number, 60, f"not set: the AWS default, {_DOCS}/elb"
            ),
            name=_text(found.value("name")),
            connection_draining=draining,
            backend_protocols=tuple(
                protocol.lower()
                for listener in found.blocks("listener")
                if isinstance(protocol := listener.value("instance_protocol"), str)
            ),
        )
    )
    if found.written("instances") is not None:
        own = Link(frozenset({found.id.address}))
        out.registrations.append(Registration(found.id, own, RegistrationKind.INSTANCES))


def _forwards(action: Resource) -> list[Forward]:
    forwards = []
    link = action.link("target_group_arn")
    if link is not None:
        forwards.append(Forward(link))
    for forward in action.blocks("forward"):
        for group in forward.blocks("target_group"):
            group_link = group.link("arn")
            if group_link is not None:
                weight = group.value("weight")
                forwards.append(Forward(group_link, weight if isinstance(weight, int) else None))
    return forwards


def _listener(found: Resource, out: Collected) -> None:
    forwards = [forward for action in found.blocks("default_action") for forward in _forwards(action)]
    port = found.value("port")
    out.listeners.append(
        Listener(
            found.id,
            load_balancer=found.link("load_balancer_arn") or Link(note="load_balancer_arn is not set"),
            forwards=tuple(forwards),
            port=port if isinstance(port, int) else None,
        )
    )


def _listener_rule(found: Resource, out: Collected) -> None:
    forwards = [forward for action in found.blocks("action") for forward in _forwards(action)]
    out.listeners.append(
        Listener(
            found.id,
            load_balancer=found.link("listener_arn") or Link(note="listener_arn is not set"),
            forwards=tuple(forwards),
            is_rule=True,
        )
    )


def _target_group(found: Resource, out: Collected) -> None:
    port = found.value("port")
    out.target_groups.append(
        TargetGroup(
            found.id,
            # r/lb_target_group: target_type "Default is instance."
            target_type=found.setting(
                "target_type",
                enum_of(TargetType),
                TargetType.INSTANCE,
                f"not set: the provider default, {_DOCS}/lb_target_group",
            ),
            # r/lb_target_group: deregistration_delay "The range is 0-3600 seconds. The default value is 300
            # seconds." Newer providers keep it as a string, so "30" and 30 are both accepted.
            deregistration_delay=found.setting(
                "deregistration_delay",
                whole_number,
                300,
                f"not set: the AWS default, {_DOCS}/lb_target_group",
            ),
            name=_text(found.value("name")),
            port=port if isinstance(port, int) else None,
            protocol=_text(found.value("protocol")),
        )
    )


def _service(found: Resource, out: Collected) -> None:
    attachments = []
    for block in found.blocks("load_balancer"):
        attachments.append(
            ServiceAttachment(
                target_group=block.link("target_group_arn"),
                load_balancer_name=block.link("elb_name"),
                container_name=block.setting("container_name", to_string, None, ""),
                container_port=block.setting("container_port", whole_number, None, ""),
                location=block.location,
            )
        )
    out.services.append(
        Service(
            found.id,
            task_definition=found.link("task_definition") or Link(note="task_definition is not set"),
            attachments=tuple(attachments),
            name=_text(found.value("name")),
        )
    )


def _definitions(value: Any, location: Location) -> tuple[Any, Location | None]:
    """The container definitions as data; on invalid JSON, an unknown and the line of the error."""
    start = location
    try:
        if isinstance(value, Encoded):
            return value.data, None
        if isinstance(value, Text):
            start = value.start
            return parse_json_text(value, start), None
        if isinstance(value, str):
            return parse_json_text(value, location), None
        if isinstance(value, Unknown) and value.partial is not None:
            start = value.partial.start if value.partial.start.path else location
            try:
                return parse_json_text(value.partial, start, value.holes), None
            except JsonTextError:
                return value, None  # the unknown part sits where the JSON structure is
    except JsonTextError as error:
        return Unknown(f"container_definitions is not valid JSON: {error}"), Location(start.path, error.line)
    return value, None


def _task_definition(found: Resource, out: Collected) -> None:
    written = found.written("container_definitions")
    error_at: Location | None = None
    data: Any = None
    if written is None:
        containers, note = None, "container_definitions is not set"
    else:
        data, error_at = _definitions(found.value("container_definitions"), written)
        if error_at is not None and isinstance(data, Unknown):
            found.error(error_at, data.reason)
        containers, note = read_containers(data, written)
    fix = data.fix if containers is None and isinstance(data, Unknown) else ""
    family = _text(found.value("family"))
    out.task_definitions.append(TaskDefinition(found.id, family, containers, note, error_at, fix))


def _deployment_group(found: Resource, out: Collected) -> None:
    """CodeDeploy blue/green for ECS: ecs_service { service_name } and load_balancer_info {
    target_group_pair_info { target_group { name } ... prod_traffic_route { listener_arns } } }."""
    services = [block.link("service_name") for block in found.blocks("ecs_service")]
    for info in found.blocks("load_balancer_info"):
        for pair in info.blocks("target_group_pair_info"):
            groups = [group.link("name") for group in pair.blocks("target_group")]
            routes = [
                link
                for kind in ("prod_traffic_route", "test_traffic_route")
                for route in pair.blocks(kind)
                for link in route.links("listener_arns")
            ]
            linked = tuple(link for link in groups if link is not None)
            for service in services:
                if service is not None:
                    out.pairs.append(TargetGroupPair(found.id, service, linked, tuple(routes)))


def _autoscaling_group(found: Resource, out: Collected) -> None:
    for link in found.links("target_group_arns"):
        out.registrations.append(Registration(found.id, link, RegistrationKind.AUTOSCALING_GROUP))
    for link in found.links("load_balancers"):
        out.registrations.append(Registration(found.id, link, RegistrationKind.AUTOSCALING_GROUP))


def _autoscaling_attachment(found: Resource, out: Collected) -> None:
    # alb_target_group_arn is the deprecated name of lb_target_group_arn; elb names a Classic ELB.
    for name in ("lb_target_group_arn", "alb_target_group_arn", "elb"):
        for link in found.links(name):
            out.registrations.append(Registration(found.id, link, RegistrationKind.AUTOSCALING_GROUP))


def _target_group_attachment(found: Resource, out: Collected) -> None:
    link = found.link("target_group_arn")
    if link is not None:
        out.registrations.append(Registration(found.id, link, RegistrationKind.ATTACHMENT))


def _elb_attachment(found: Resource, out: Collected) -> None:
    link = found.link("elb")
    if link is not None:
        out.registrations.append(Registration(found.id, link, RegistrationKind.ATTACHMENT))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _lookup(kind: type) -> Callable[[Resource, Collected], None]:
    """data "aws_lb" / "aws_lb_listener" / "aws_lb_target_group": what they look the resource up by."""

    def read(found: Resource, out: Collected) -> None:
        port = found.value("port")
        out.lookups.append(
            Lookup(
                found.id,
                kind,
                name=_text(found.value("name")),
                arn=_text(found.value("arn")),
                port=port if isinstance(port, int) else None,
                load_balancer=found.link("load_balancer_arn"),
            )
        )

    return read


Reader = Callable[[Resource, Collected], None]

READERS: dict[str, Reader] = {
    "aws_lb": _load_balancer,
    "aws_alb": _load_balancer,
    "aws_elb": _classic_load_balancer,
    "aws_lb_listener": _listener,
    "aws_alb_listener": _listener,
    "aws_lb_listener_rule": _listener_rule,
    "aws_alb_listener_rule": _listener_rule,
    "aws_lb_target_group": _target_group,
    "aws_alb_target_group": _target_group,
    "aws_ecs_service": _service,
    "aws_ecs_task_definition": _task_definition,
    "aws_autoscaling_group": _autoscaling_group,
    "aws_codedeploy_deployment_group": _deployment_group,
    "aws_autoscaling_attachment": _autoscaling_attachment,
    "aws_lb_target_group_attachment": _target_group_attachment,
    "aws_alb_target_group_attachment": _target_group_attachment,
    "aws_elb_attachment": _elb_attachment,
}


DATA_READERS: dict[str, Reader] = {
    "aws_lb": _lookup(LoadBalancer),
    "aws_alb": _lookup(LoadBalancer),
    "aws_lb_listener": _lookup(Listener),
    "aws_alb_listener": _lookup(Listener),
    "aws_lb_target_group": _lookup(TargetGroup),
    "aws_alb_target_group": _lookup(TargetGroup),
}


def read_resources(instance: ModuleInstance, out: Collected) -> None:
    """Read every relevant resource and data source of `instance` and, recursively, of its modules."""
    for readers, blocks in ((READERS, instance.module.resources), (DATA_READERS, instance.module.data)):
        for (resource_type, _name), block in list(blocks.items()):  # lookups may parse pending files
            reader = readers.get(resource_type)
            if reader is None:
                continue
            for address, env in instance.instances(block):
                reader(Found(instance, block, address, env), out)
    for call in instance.module.calls:
        for _address, child in instance.children(call):
            if child is not None:
                read_resources(child, out)
