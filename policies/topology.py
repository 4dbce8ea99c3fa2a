"""Linking: from load balancers to the container that receives their traffic.

Format-free: it reads only the model. For each load balancer it follows listeners and listener rules
(plain and weighted forwards) to target groups, and each target group to the ECS services whose
`load_balancer` block names it (or that a CodeDeploy blue/green pair swaps onto it), their task
definition and the container named by `container_name`. A Classic ELB is followed to the services
naming it (`elb_name`). Every place where a chain cannot be followed becomes a `Chain` with a `Gap`,
so it is reported as unknown, with what would make it known, and never silently passed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from policies.model import (
    Container,
    Inventory,
    Link,
    Listener,
    LoadBalancer,
    LoadBalancerKind,
    Location,
    Lookup,
    Registration,
    ResourceId,
    Service,
    ServiceAttachment,
    TargetGroup,
    TargetGroupPair,
    TargetType,
    TaskDefinition,
)

SCAN_TOGETHER = "scan the configuration that defines it together with this one"
INIT_MODULES = "run `terraform init` so that .terraform/modules holds the module"
GIVE_VALUES = "give the variables it depends on values (terraform.tfvars, --var, --var-file)"
NAME_ONE = "write the reference so that it names one resource (a condition or index the scan cannot resolve leaves several)"


@dataclass(frozen=True)
class Gap:
    """Where and why a chain cannot be followed further, and what would make it followable."""

    text: str
    location: Location | None
    fix: str


@dataclass(frozen=True)
class Chain:
    """One load balancer → target pair to check; `gap` says why it stops short, when it does."""

    unit: str
    load_balancer: LoadBalancer | None
    listeners: tuple[Listener, ...] = ()
    target_group: TargetGroup | None = None
    service: Service | None = None
    attachment: ServiceAttachment | None = None
    task_definition: TaskDefinition | None = None
    container: Container | None = None
    registration: Registration | None = None
    gap: Gap | None = None

    @property
    def key(self) -> tuple[str, ...]:
        ids = (self.load_balancer, self.target_group, self.service, self.task_definition, self.registration)
        parts = [str(item.id) if item is not None else "" for item in ids]
        container = self.container.name if self.container else ""
        attachment = str(self.attachment.location) if self.attachment else ""
        return (self.unit, *parts, container, attachment, self.gap.text if self.gap else "")

    def inferences(self) -> list[str]:
        """How the links of the chain that the inputs do not record were matched."""
        links = []
        if self.target_group is not None:
            address = self.target_group.id.address
            links += [
                forward.target_group
                for listener in self.listeners
                for forward in listener.forwards
                if address in forward.target_group.refs
            ]
        if self.attachment is not None and self.attachment.target_group is not None:
            links.append(self.attachment.target_group)
        if self.service is not None:
            links.append(self.service.task_definition)
        return list(dict.fromkeys(link.inferred for link in links if link.inferred))

    def resources(self) -> tuple[str, ...]:
        """What identifies the load balancer → target pair within its unit, without lines or values: the
        addresses (logical ids) of the load balancer, target group, service and task definition, and the
        container's name."""
        parts = (self.load_balancer, self.target_group, self.service, self.task_definition)
        ids = [part.id.address if part is not None else "" for part in parts]
        return (*ids, self.container.name if self.container is not None else "")

    def path(self) -> str:
        """The chain for people: aws_lb.web → aws_lb_target_group.app → aws_ecs_service.app → container "app"."""
        steps = [
            str(item.id) for item in (self.load_balancer, self.target_group, self.service) if item is not None
        ]
        if self.container is not None:
            steps.append(f'container "{self.container.name}"')
        elif self.registration is not None:
            steps.append(str(self.registration.id))
        return " → ".join(steps)


@dataclass(frozen=True)
class Skipped:
    """Something recognised and deliberately not checked, with the reason (shown in verbose output)."""

    id: ResourceId
    reason: str


@dataclass(frozen=True)
class Topology:
    chains: tuple[Chain, ...]
    skipped: tuple[Skipped, ...]


R = TypeVar("R", LoadBalancer, Listener, TargetGroup, TaskDefinition, Service)

_TARGET_GROUP_ARN = re.compile(r":targetgroup/([^/]+)/")
_LOAD_BALANCER_ARN = re.compile(r":loadbalancer/(?:app|net|gwy)/([^/]+)/")
_TASK_DEFINITION = re.compile(r"(?:task-definition/)?([A-Za-z0-9_-]+)(?::\d+)?$")
_SERVICE_ARN = re.compile(r":service/(?:[^/]+/)?([^/]+)$")
_INSTANCE = re.compile(r"\[[^\]]*\]$")
_MODULE = re.compile(r"^(module\.[A-Za-z0-9_-]+(\[[^\]]*\])?\.?)+$")
# Target group protocols only a Network or Gateway Load Balancer uses.
_NON_HTTP_PROTOCOLS = frozenset({"TCP", "UDP", "TLS", "TCP_UDP", "GENEVE"})


class _Index:
    """Resources by unit and address (and by the address of their un-indexed resource), for linking;
    data-source lookups are resolved by name, ARN or port across everything scanned."""

    def __init__(self, inventory: Inventory):
        self.inventory = inventory
        self.by_address: dict[tuple[str, str], list[object]] = defaultdict(list)
        self.by_base: dict[tuple[str, str], list[object]] = defaultdict(list)
        for collection in (
            inventory.load_balancers,
            inventory.listeners,
            inventory.target_groups,
            inventory.services,
            inventory.task_definitions,
        ):
            for item in collection:
                self.by_address[(item.id.unit, item.id.address)].append(item)
                base = _INSTANCE.sub("", item.id.address)
                if base != item.id.address:
                    self.by_base[(item.id.unit, base)].append(item)
        self.lookups = {(lookup.id.unit, lookup.id.address): lookup for lookup in inventory.lookups}

    def resolve(self, link: Link | None, unit: str, kind: type[R], candidates: Sequence[R]) -> list[R]:
        if link is None:
            return []
        found: list[R] = []
        for ref in sorted(link.refs):
            # an exact address; a counted resource as a whole matches its instances; an instance of a
            # resource checked as one instance (its count/for_each unknown) matches that instance
            matches = (
                self.by_address.get((unit, ref))
                or self.by_base.get((unit, ref))
                or self.by_address.get((unit, _INSTANCE.sub("", ref)), [])
            )
            found.extend(item for item in matches if isinstance(item, kind))
            lookup = self.lookups.get((unit, ref)) or self.lookups.get((unit, _INSTANCE.sub("", ref)))
            if lookup is not None and lookup.kind is kind:
                found.extend(self.looked_up(lookup, kind, candidates))
        if not found and link.literal is not None:
            found.extend(_by_literal(link.literal, kind, candidates))
        return list(dict.fromkeys(found))

    def looked_up(self, lookup: Lookup, kind: type[R], candidates: Sequence[R]) -> list[R]:
        """What a data source finds among all scanned resources."""
        if lookup.arn is not None:
            return _by_literal(lookup.arn, kind, candidates)
        if lookup.name is not None:
            return _by_literal(lookup.name, kind, candidates)
        if kind is Listener and lookup.load_balancer is not None:
            balancers = self.resolve(
                lookup.load_balancer, lookup.id.unit, LoadBalancer, self.inventory.load_balancers
            )
            return [
                listener
                for listener in candidates
                if isinstance(listener, Listener)
                and not listener.is_rule
                and (lookup.port is None or listener.port == lookup.port)
                and set(
                    self.resolve(
                        listener.load_balancer, listener.id.unit, LoadBalancer, self.inventory.load_balancers
                    )
                )
                & set(balancers)
            ]
        return []


def _by_literal(literal: str, kind: type[R], candidates: Sequence[R]) -> list[R]:
    """Resources a literal ARN or name designates."""
    patterns: dict[type, tuple[re.Pattern[str], str]] = {
        TargetGroup: (_TARGET_GROUP_ARN, "name"),
        LoadBalancer: (_LOAD_BALANCER_ARN, "name"),
        TaskDefinition: (_TASK_DEFINITION, "family"),
        Service: (_SERVICE_ARN, "name"),
    }
    if kind not in patterns:
        return []
    pattern, attribute = patterns[kind]
    match = pattern.search(literal)
    name = match.group(1) if match else literal
    return [item for item in candidates if getattr(item, attribute, None) == name]


def _unfollowed(link: Link | None, what: str) -> tuple[str, str]:
    """Why a link could not be followed, and what would make it followable."""
    if link is not None and link.empty and link.fix == NAME_ONE:
        return f"{what} is ambiguous: {link.note}", NAME_ONE
    if link is None or link.empty:
        note = f" ({link.note})" if link is not None and link.note else ""
        return f"{what} is not set or not resolvable{note}", (
            link.fix if link is not None else ""
        ) or GIVE_VALUES
    refs = sorted(link.refs)
    data = [ref for ref in refs if ref.startswith("data.") or ".data." in ref]
    remote = [ref for ref in data if ".terraform_remote_state." in f".{ref}"]
    if remote:
        text = (
            f"{what} comes from the remote state {', '.join(remote)}, which keepalive-guard does not follow"
        )
        return text, "check it against the stack that writes that state by hand"
    if data:
        return (
            f"{what} is looked up with {', '.join(data)}: it is defined outside the scanned files",
            SCAN_TOGETHER,
        )
    if refs and not all(_MODULE.match(ref) for ref in refs):
        return f"{what} ({', '.join(refs)}) is not in the scanned files", SCAN_TOGETHER
    # only unknown values, or outputs of modules that could not be read
    reason = link.note or link.literal or ""
    if "not available locally" in reason:
        return f"{what} cannot be followed: {reason}", INIT_MODULES
    if link.literal is not None and not refs:
        return f"{what} ({link.literal}) matches nothing in the scanned files", SCAN_TOGETHER
    return f"{what} cannot be followed: {reason}", link.fix or GIVE_VALUES


@dataclass(frozen=True)
class _Front:
    """How traffic reaches a target group: from which load balancer, through which listeners."""

    load_balancer: LoadBalancer | None
    listeners: tuple[Listener, ...] = ()
    gap: Gap | None = None


@dataclass(frozen=True)
class _Back:
    """What receives a target group's (or Classic ELB's) traffic: a container, or other targets."""

    service: Service | None = None
    attachment: ServiceAttachment | None = None
    task_definition: TaskDefinition | None = None
    container: Container | None = None
    registration: Registration | None = None
    gap: Gap | None = None


class _Linker:
    def __init__(self, inventory: Inventory):
        self.inventory = inventory
        self.index = _Index(inventory)
        self.chains: dict[tuple[str, ...], Chain] = {}
        self.skipped: list[Skipped] = []
        self.fronts: dict[ResourceId, list[_Front]] = defaultdict(list)
        self.not_checked: dict[ResourceId, str] = {}  # target groups behind a load balancer that is skipped
        self.listeners = [item for item in inventory.listeners if not item.is_rule]
        self.rules = [item for item in inventory.listeners if item.is_rule]
        # Every link is resolved once, here; the walk below only looks relations up.
        self.balancers_of: dict[ResourceId, list[LoadBalancer]] = {}
        self.listeners_of: dict[ResourceId, list[Listener]] = defaultdict(list)  # of a load balancer
        self.load_balancer_of: dict[ResourceId, Link] = {}  # a listener's link, saying when it is ambiguous
        for listener in self.listeners:
            balancers, self.load_balancer_of[listener.id] = self.one(
                listener.load_balancer, listener.id.unit, LoadBalancer, inventory.load_balancers
            )
            self.balancers_of[listener.id] = balancers
            for balancer in balancers:
                self.listeners_of[balancer.id].append(listener)
        self.parents_of: dict[ResourceId, list[Listener]] = {}  # the listener of a rule
        self.rules_of: dict[ResourceId, list[Listener]] = defaultdict(list)
        for rule in self.rules:
            parents, self.load_balancer_of[rule.id] = self.one(
                rule.load_balancer, rule.id.unit, Listener, self.listeners
            )
            self.parents_of[rule.id] = parents
            for parent in parents:
                self.rules_of[parent.id].append(rule)
        self.attached_to: dict[ResourceId, list[tuple[Service, ServiceAttachment]]] = defaultdict(list)
        self.unattached: list[tuple[Service, ServiceAttachment, Gap]] = []
        for service in inventory.services:
            for attachment in service.attachments:
                self.attach(service, attachment)
        for pair in inventory.pairs:
            self.swap(pair)
        self.registered_in: dict[ResourceId, list[Registration]] = defaultdict(list)
        for registration in inventory.registrations:
            targets: list[TargetGroup | LoadBalancer] = [
                *self.index.resolve(
                    registration.target, registration.id.unit, TargetGroup, inventory.target_groups
                ),
                *self.index.resolve(
                    registration.target, registration.id.unit, LoadBalancer, inventory.load_balancers
                ),
            ]
            for target in targets:
                self.registered_in[target.id].append(registration)

    def one(self, link: Link, unit: str, kind: type[R], candidates: Sequence[R]) -> tuple[list[R], Link]:
        """What a link to one resource designates: that resource, or nothing when it designates several
        (a condition or an index the scan cannot resolve): then a link that says which, never a guess."""
        found = self.index.resolve(link, unit, kind, candidates)
        if len(found) <= 1:
            return found, link
        shown = ", ".join(str(item.id) for item in found)
        note = f"it designates one of {shown}, and which one is not known"
        return [], Link(location=link.location, note=note, fix=NAME_ONE)

    def attach(self, service: Service, attachment: ServiceAttachment) -> None:
        unit, inventory = service.id.unit, self.inventory
        if attachment.target_group is not None:
            what = f"the target group of {service.id}"
            groups, link = self.one(attachment.target_group, unit, TargetGroup, inventory.target_groups)
            targets: list[TargetGroup | LoadBalancer] = list(groups)
        elif attachment.load_balancer_name is not None:
            what = f"the Classic ELB of {service.id}"
            balancers, link = self.one(
                attachment.load_balancer_name, unit, LoadBalancer, inventory.load_balancers
            )
            targets = list(balancers)
        else:
            return
        for target in targets:
            self.attached_to[target.id].append((service, attachment))
        if not targets:
            text, fix = _unfollowed(link, what)
            self.unattached.append(
                (service, attachment, Gap(text, link.location or attachment.location, fix))
            )

    def swap(self, pair: TargetGroupPair) -> None:
        """A CodeDeploy blue/green pair: the group that is not in the service's load_balancer block
        receives the same container's traffic after a deployment, through the pair's listeners."""
        unit, inventory = pair.id.unit, self.inventory
        services = self.index.resolve(pair.service, unit, Service, inventory.services)
        groups = [
            group
            for link in pair.target_groups
            for group in self.index.resolve(link, unit, TargetGroup, inventory.target_groups)
        ]
        listeners = [
            listener
            for link in pair.listeners
            for listener in self.index.resolve(link, unit, Listener, self.listeners)
        ]
        for group in groups:
            for listener in listeners:
                for balancer in self.balancers_of.get(listener.id, []):
                    self.fronts[group.id].append(_Front(balancer, (listener,)))
        for service in services:
            for attachment in service.attachments:
                attached = self.index.resolve(
                    attachment.target_group, unit, TargetGroup, inventory.target_groups
                )
                if not any(group in attached for group in groups):
                    continue
                for group in groups:
                    if group not in attached and (service, attachment) not in self.attached_to[group.id]:
                        self.attached_to[group.id].append((service, attachment))

    def add(self, chain: Chain) -> None:
        existing = self.chains.get(chain.key)
        if existing is None:
            self.chains[chain.key] = chain
        else:  # the same pair reached through another listener: remember that listener too
            self.chains[chain.key] = replace(
                existing, listeners=tuple(dict.fromkeys(existing.listeners + chain.listeners))
            )

    def routes(self, listener: Listener) -> list[Listener]:
        """A listener and the listener rules attached to it."""
        return [listener, *self.rules_of.get(listener.id, [])]

    def groups(self, step: Listener) -> list[tuple[TargetGroup | None, Link]]:
        """The target groups a listener or rule forwards to (None where a forward cannot be followed)."""
        found: list[tuple[TargetGroup | None, Link]] = []
        for forward in step.forwards:
            groups, link = self.one(
                forward.target_group, step.id.unit, TargetGroup, self.inventory.target_groups
            )
            found.extend((group, link) for group in groups) if groups else found.append((None, link))
        return found

    def link(self) -> Topology:
        for balancer in self.inventory.load_balancers:
            self.load_balancer(balancer)
        for listener in self.listeners:
            if not self.balancers_of[listener.id]:
                self.front_without_load_balancer(listener, self.routes(listener))
        for rule in self.rules:
            if not self.parents_of[rule.id]:
                self.front_without_load_balancer(rule, [rule])
        for group in self.inventory.target_groups:
            self.target_group(group)
        self.services_without_target_group()
        for opaque in self.inventory.opaque:
            if opaque.may_hide_targets:
                text = f"{opaque.id} may define load balancers or services: {opaque.reason}"
                fix = opaque.fix or (
                    INIT_MODULES
                    if "not available locally" in opaque.reason
                    else "check the instances beyond those by hand"
                )
                self.add(Chain(opaque.id.unit, None, gap=Gap(text, opaque.id.location, fix)))
            else:
                self.skipped.append(Skipped(opaque.id, opaque.reason))
        return Topology(tuple(self.chains.values()), tuple(self.skipped))

    def load_balancer(self, balancer: LoadBalancer) -> None:
        kind = balancer.kind.value
        unit = balancer.id.unit
        if kind is None:
            gap = Gap(
                f"the load balancer type is unknown ({balancer.kind.note})",
                balancer.kind.location,
                GIVE_VALUES,
            )
            self.add(Chain(unit, balancer, gap=gap))
            return
        if kind is LoadBalancerKind.CLASSIC:
            for back in self.backs(balancer):
                self.add(Chain(unit, balancer, **back.__dict__))
            return
        own = self.listeners_of.get(balancer.id, [])
        if kind in (LoadBalancerKind.NETWORK, LoadBalancerKind.GATEWAY):
            reason = f"{kind.value} load balancer: it passes TCP connections through and keeps no pool of idle HTTP connections"
            self.skipped.append(Skipped(balancer.id, reason))
            for listener in own:
                for step in self.routes(listener):
                    for group, _ in self.groups(step):
                        if group is not None:
                            self.not_checked[group.id] = (
                                f"behind the {kind.value} load balancer {balancer.id}"
                            )
            return
        if not own:
            self.skipped.append(Skipped(balancer.id, "no listener in the scanned files forwards its traffic"))
        for listener in own:
            for step in self.routes(listener):
                for group, link in self.groups(step):
                    if group is None:
                        text, fix = _unfollowed(link, f"the target group {step.id} forwards to")
                        gap = Gap(text, link.location or step.id.location, fix)
                        self.add(Chain(unit, balancer, (step,), gap=gap))
                    else:
                        self.fronts[group.id].append(_Front(balancer, (step,)))

    def front_without_load_balancer(self, listener: Listener, steps: Iterable[Listener]) -> None:
        """A listener (or rule) whose load balancer is not in the scanned files: a shared ALB looked up with data."""
        link = self.load_balancer_of[listener.id]
        text, fix = _unfollowed(link, f"the load balancer of {listener.id}")
        gap = Gap(text, link.location or listener.id.location, fix)
        for step in steps:
            for group, _ in self.groups(step):
                if group is not None:
                    self.fronts[group.id].append(_Front(None, (step,), gap))

    def target_group(self, group: TargetGroup) -> None:
        target_type = group.target_type.value
        fronts = self.fronts.get(group.id, [])
        if target_type in (TargetType.LAMBDA, TargetType.ALB):
            self.skipped.append(
                Skipped(group.id, f"target type {target_type.value}: no keep-alive race with such targets")
            )
            return
        if not fronts and (
            group.id in self.not_checked or (group.protocol or "").upper() in _NON_HTTP_PROTOCOLS
        ):
            reason = (
                self.not_checked.get(group.id)
                or f"{group.protocol} target group: used by a network load balancer"
            )
            self.skipped.append(Skipped(group.id, reason))
            return
        backs = self.backs(group)
        if not fronts:
            if all(back.service is None and back.registration is None for back in backs):
                self.skipped.append(
                    Skipped(
                        group.id, "unused: no listener forwards to it and nothing registers targets in it"
                    )
                )
                return
            text = f"no listener in the scanned files forwards to {group.id}"
            fronts = [_Front(None, (), Gap(text, group.id.location, SCAN_TOGETHER))]
        for front in fronts:
            for back in backs:
                chain = Chain(group.id.unit, front.load_balancer, front.listeners, group, **back.__dict__)
                if front.gap is not None and chain.gap is None:
                    chain = replace(chain, gap=front.gap)
                self.add(chain)

    def backs(self, target: TargetGroup | LoadBalancer) -> list[_Back]:
        """What receives the traffic of a target group (or Classic ELB): containers, or other targets."""
        backs = [
            self.container_of(service, attachment)
            for service, attachment in self.attached_to.get(target.id, [])
        ]
        for registration in self.registered_in.get(target.id, []):
            text = (
                f"its targets are {registration.kind.value}, registered by {registration.id}: "
                "the server running on them is not visible in the scanned files"
            )
            fix = "check by hand that the server on those targets keeps idle connections longer than the idle timeout"
            backs.append(_Back(registration=registration, gap=Gap(text, registration.id.location, fix)))
        if not backs:
            text = f"nothing in the scanned files registers targets in {target.id} (no ECS service names it)"
            backs.append(
                _Back(
                    gap=Gap(
                        text,
                        target.id.location,
                        "scan the configuration that registers its targets together with this one",
                    )
                )
            )
        return backs

    def container_of(self, service: Service, attachment: ServiceAttachment) -> _Back:
        unit = service.id.unit
        definitions, link = self.one(
            service.task_definition, unit, TaskDefinition, self.inventory.task_definitions
        )
        if not definitions:
            text, fix = _unfollowed(link, f"the task definition of {service.id}")
            location = link.location or service.id.location
            return _Back(service, attachment, gap=Gap(text, location, fix))
        definition = definitions[0]
        if definition.containers is None:
            text = f"the containers of {definition.id} cannot be read: {definition.containers_note}"
            location = definition.containers_location or definition.id.location
            fix = (
                "correct the container definitions (see the input error)"
                if definition.containers_location
                else definition.containers_fix or GIVE_VALUES
            )
            return _Back(service, attachment, definition, gap=Gap(text, location, fix))
        name = attachment.container_name
        if name.value is None:
            gap = Gap(
                f"the container that receives traffic is unknown: {name.note}",
                name.location,
                name.fix or GIVE_VALUES,
            )
            return _Back(service, attachment, definition, gap=gap)
        container = next((item for item in definition.containers if item.name == name.value), None)
        if container is None:
            names = ", ".join(f'"{item.name}"' for item in definition.containers) or "none"
            text = f'{service.id} sends traffic to container "{name.value}", which is not in {definition.id} (it has {names})'
            fix = f"set container_name to the container that serves the port (one of {names})"
            return _Back(service, attachment, definition, gap=Gap(text, name.location, fix))
        return _Back(service, attachment, definition, self.with_build(container))

    def with_build(self, container: Container) -> Container:
        """The container with the Dockerfile that builds its image, when one in the inputs does (the
        last one given wins, as a later --dockerfile overrides an earlier one)."""
        image = container.image.value
        if container.build is not None:
            return container
        refs = container.image_refs
        build = next((item for item in reversed(self.inventory.builds) if item.builds(image, refs)), None)
        return replace(container, build=build) if build is not None else container

    def services_without_target_group(self) -> None:
        """Services attached to a target group or Classic ELB that is not in the scanned files."""
        for service, attachment, gap in self.unattached:
            back = self.container_of(service, attachment)
            self.add(replace(Chain(service.id.unit, None, **back.__dict__), gap=gap))


def link(inventory: Inventory) -> Topology:
    """Every load balancer → target chain in the inventory, and what was skipped on purpose."""
    return _Linker(inventory).link()
