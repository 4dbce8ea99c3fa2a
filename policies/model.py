"""The format-free model: what loaders produce and what the topology, catalog and rules read.

Everything here is a frozen dataclass. Loaders know file formats and nothing about servers; they turn
Terraform, plan JSON or CloudFormation into these records. Every value that a finding may quote is a
`Setting`, which keeps where it was decided (file and line, or the resource it defaults on), so a
finding can point at both sides of a mismatch.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

# The rule ids, for the loaders that read suppressions (`policies.rules` registers the rules themselves).
RULE_IDS = ("KA001", "KA002", "DR001")

# Stands for a part of a string that cannot be known statically, e.g. the `${var.port}` in a command
# argument "0.0.0.0:${var.port}". A noncharacter, so it never occurs in real configuration.
UNKNOWN_PART = "\uffff"


def show(text: str) -> str:
    """`text` for people: unknown parts shown as `<?>`."""
    return text.replace(UNKNOWN_PART, "<?>")


@dataclass(frozen=True, order=True)
class Location:
    """A place in the scanned inputs: a file and, when known, a 1-based line."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


class Origin(Enum):
    """How a `Setting` got its value."""

    SET = "set"  # written in the inputs (possibly through variables)
    DEFAULT = "default"  # not written: the service's documented default applies
    UNKNOWN = "unknown"  # written, but not resolvable statically


@dataclass(frozen=True)
class Setting(Generic[T]):
    """A configured value together with where it was decided.

    `value` is None exactly when `origin` is UNKNOWN; `note` then says why (for example "var.idle_timeout
    has no default and no value was given"). For SET values `note` may describe the path the value took
    ("var.idle_timeout from terraform.tfvars").
    """

    value: T | None
    location: Location
    origin: Origin = Origin.SET
    note: str = ""
    # For a sequence (an argv): where each element was written, when it differs from `location`.
    parts: tuple[Location | None, ...] = ()
    fix: str = ""  # what would make an unknown value known, when the loader knows better than the rules
    # What the input calls the setting, for messages and fixes (`idle_timeout` in Terraform,
    # `idle_timeout.timeout_seconds` in CloudFormation); "" when the rules' Terraform name fits.
    name: str = ""

    @property
    def known(self) -> bool:
        return self.origin is not Origin.UNKNOWN

    @staticmethod
    def default(value: T, location: Location, note: str = "") -> Setting[T]:
        return Setting(value, location, Origin.DEFAULT, note)

    @staticmethod
    def unknown(location: Location, note: str, fix: str = "") -> Setting[T]:
        return Setting(None, location, Origin.UNKNOWN, note, fix=fix)


@dataclass(frozen=True)
class Link:
    """A reference from one resource to another, as the inputs wrote it.

    `refs` are addresses of resources the value was derived from (Terraform `aws_lb_target_group.app`,
    CloudFormation logical ids); `literal` is a known ARN or name. The topology resolves either.
    """

    refs: frozenset[str] = frozenset()
    literal: str | None = None
    location: Location | None = None
    note: str = ""  # why the link could not be expressed, when refs and literal are both empty
    fix: str = ""  # what would make an unfollowable link followable, when the loader knows better
    # How the link was matched when the inputs record none (a plan's `dynamic` blocks): every finding
    # on a chain through it says so.
    inferred: str = ""

    @property
    def empty(self) -> bool:
        return not self.refs and self.literal is None


@dataclass(frozen=True)
class ResourceId:
    """Identity of a resource: the unit it belongs to (a Terraform root, a stack) and its address there."""

    unit: str
    address: str
    location: Location
    label: str = field(default="", compare=False)  # a CDK construct path, shown beside the logical id

    def __str__(self) -> str:
        return f"{self.address} ({self.label})" if self.label else self.address


class LoadBalancerKind(Enum):
    APPLICATION = "application"
    NETWORK = "network"
    GATEWAY = "gateway"
    CLASSIC = "classic"


@dataclass(frozen=True)
class LoadBalancer:
    id: ResourceId
    kind: Setting[LoadBalancerKind]
    idle_timeout: Setting[int]
    name: str | None = None
    # Classic ELB only: seconds in-flight requests may drain on deregistration (0 when disabled).
    connection_draining: Setting[int] | None = None
    # Classic ELB only: the listeners' instance protocols (http, https, tcp, ssl), lowercased.
    backend_protocols: tuple[str, ...] = ()

    @property
    def pools_http_connections(self) -> bool:
        """Whether it keeps idle HTTP connections to targets: a Classic ELB whose listeners all
        forward TCP/SSL pairs each client connection with one target connection instead."""
        if self.kind.value is not LoadBalancerKind.CLASSIC or not self.backend_protocols:
            return True
        return any(protocol in ("http", "https") for protocol in self.backend_protocols)


@dataclass(frozen=True)
class Forward:
    """One target group a listener action forwards to (a weighted forward yields one per group)."""

    target_group: Link
    weight: int | None = None


@dataclass(frozen=True)
class Listener:
    """A listener or a listener rule: whatever forwards traffic from a load balancer to target groups."""

    id: ResourceId
    load_balancer: Link  # for a rule, this is the link to its listener
    forwards: tuple[Forward, ...]
    is_rule: bool = False
    port: int | None = None


class TargetType(Enum):
    INSTANCE = "instance"
    IP = "ip"
    LAMBDA = "lambda"
    ALB = "alb"


@dataclass(frozen=True)
class TargetGroup:
    id: ResourceId
    target_type: Setting[TargetType]
    deregistration_delay: Setting[int]
    name: str | None = None
    port: int | None = None
    protocol: str | None = None  # HTTP/HTTPS for ALB target groups; TCP, UDP, TLS... for NLB ones


@dataclass(frozen=True)
class ServiceAttachment:
    """One `load_balancer` block of an ECS service: which container receives the traffic."""

    target_group: Link | None  # ALB/NLB target group
    load_balancer_name: Link | None  # Classic ELB (`elb_name`)
    container_name: Setting[str]
    container_port: Setting[int]
    location: Location


@dataclass(frozen=True)
class Service:
    id: ResourceId
    task_definition: Link
    attachments: tuple[ServiceAttachment, ...]
    name: str | None = None


@dataclass(frozen=True)
class Lookup:
    """A data source that looks up a load balancer, listener or target group defined elsewhere, by what
    it names: the topology finds it among everything scanned (a shared ALB in another stack)."""

    id: ResourceId
    kind: type  # LoadBalancer, Listener or TargetGroup
    name: str | None = None
    arn: str | None = None
    port: int | None = None
    load_balancer: Link | None = None  # a listener lookup by load_balancer_arn and port


@dataclass(frozen=True)
class TargetGroupPair:
    """Blue/green target groups that CodeDeploy swaps for an ECS service: after a deployment the other
    group of the pair receives the production traffic, so it reaches the same container."""

    id: ResourceId
    service: Link
    target_groups: tuple[Link, ...]
    listeners: tuple[Link, ...] = ()  # prod and test traffic routes: CodeDeploy points them at either group


@dataclass(frozen=True)
class Copy:
    """A COPY or ADD of local files into an image."""

    source: Path  # a local file or directory (a directory's contents are copied)
    destination: str  # the absolute path in the image; a directory when it ends in "/"
    location: Location  # the instruction


@dataclass(frozen=True)
class ImageFile:
    """A file of an image, read from the local file a Dockerfile copies into it."""

    path: str  # in the image
    location: Location  # the local file
    text: str | None  # None when it cannot be read; `problem` says why
    problem: str = ""


MAX_IMAGE_FILE = 1 << 20  # configuration files are small; a larger one is not read


@dataclass(frozen=True)
class ImageBuild:
    """What a Dockerfile says about the image its final stage builds.

    `images` are the image references (or patterns, `*` matching anything, or the address of the
    Terraform resource the reference comes from, e.g. aws_ecr_repository.web) that a container must
    name to run this build: from a `--dockerfile IMAGE=PATH` mapping or the configuration file."""

    images: tuple[str, ...]
    dockerfile: Location
    base: Setting[str]  # the image the final stage starts FROM, through stage names
    entry_point: Setting[tuple[str, ...]] | None  # None: not set by the Dockerfile
    command: Setting[tuple[str, ...]] | None
    environment: tuple[tuple[str, Setting[str]], ...] = ()
    labels: tuple[tuple[str, Setting[str]], ...] = ()
    workdir: str = "/"
    copies: tuple[Copy, ...] = ()  # in build order, the final stage's own and its parents'
    # The base image sets ENTRYPOINT/CMD the Dockerfile does not override (they are not visible).
    inherits_command: bool = False
    # The base images of the stages the final stage copies files from (`COPY --from=build`), e.g.
    # "golang:1.23" for a Go binary copied into a distroless image.
    builders: tuple[str, ...] = ()

    def builds(self, image: str | None, refs: frozenset[str] = frozenset()) -> bool:
        """Whether a container naming `image` runs this build; an image known only after apply matches
        by the resource it comes from (`aws_ecr_repository.web`), as `refs` name them."""
        for pattern in self.images:
            if pattern in refs:
                return True
            if image is None:
                continue
            if image == pattern or fnmatch.fnmatchcase(image, pattern):
                return True
            # a repository without tag or digest stands for every tag of it
            untagged = ":" not in pattern.rsplit("/", 1)[-1] and "@" not in pattern
            if untagged and re.match(re.escape(pattern) + r"(:[^/]*|@.*)$", image):
                return True
        return False

    def file(self, path: str) -> ImageFile | None:
        """The file at `path` in the image (relative to the working directory), when the Dockerfile
        copies it from the inputs; None when no COPY brings it."""
        wanted = posixpath.normpath(posixpath.join(self.workdir, path))
        local = locate(self.copies, wanted)
        return _read(wanted, local) if local is not None and local.is_file() else None

    def glob(self, pattern: str) -> list[ImageFile]:
        """The files the Dockerfile copies into the image that match `pattern` (relative to the working
        directory), whose last component may hold `*`, `?` and `[...]` as glob(3) does; in name order."""
        directory, name = posixpath.split(posixpath.normpath(posixpath.join(self.workdir, pattern)))
        names: set[str] = set()
        for copy in self.copies:
            if copy.source.is_dir():
                root = copy.destination.rstrip("/") or "/"
                if directory != root and not directory.startswith(root.rstrip("/") + "/"):
                    continue
                local = (
                    copy.source / directory[len(root.rstrip("/")) + 1 :] if directory != root else copy.source
                )
                if local.is_dir():
                    names.update(child.name for child in local.iterdir() if child.is_file())
            else:
                destination = copy.destination
                target = posixpath.normpath(
                    destination + copy.source.name if destination.endswith("/") else destination
                )
                if posixpath.dirname(target) == directory:
                    names.add(posixpath.basename(target))
        # glob(3): a wildcard does not match a leading dot
        matching = sorted(
            each
            for each in names
            if fnmatch.fnmatchcase(each, name) and (not each.startswith(".") or name.startswith("."))
        )
        found = (self.file(posixpath.join(directory, each)) for each in matching)
        return [file for file in found if file is not None]


def locate(copies: tuple[Copy, ...], path: str) -> Path | None:
    """The local file or directory that the last COPY covering `path` (absolute, normalised) puts
    there; None when no COPY does. Never a path outside the copied directory."""
    for copy in reversed(copies):
        destination = copy.destination
        if copy.source.is_dir():
            root = destination.rstrip("/") or "/"
            if path == root:
                return copy.source
            prefix = root.rstrip("/") + "/"
            if not path.startswith(prefix):
                continue
            local = (copy.source / path[len(prefix) :]).resolve()
            if local.exists() and local.is_relative_to(copy.source.resolve()):
                return local
        elif (
            posixpath.normpath(destination + copy.source.name if destination.endswith("/") else destination)
            == path
        ):
            return copy.source
    return None


def _read(path: str, local: Path) -> ImageFile:
    location = Location(shown_path(local))
    try:
        if local.stat().st_size > MAX_IMAGE_FILE:
            return ImageFile(path, location, None, f"larger than {MAX_IMAGE_FILE >> 20} MB")
        return ImageFile(path, location, local.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        return ImageFile(path, location, None, "not UTF-8 text")
    except OSError as error:
        return ImageFile(path, location, None, error.strerror or str(error))


def shown_path(path: Path) -> str:
    """A path as findings show it: relative to the working directory when below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


@dataclass(frozen=True)
class Container:
    """A container of a task definition, with everything that decides what its server does."""

    name: str
    location: Location
    image: Setting[str]
    entry_point: Setting[tuple[str, ...]] | None  # None: not set in the task definition
    command: Setting[tuple[str, ...]] | None
    environment: tuple[tuple[str, Setting[str]], ...] = ()
    docker_labels: tuple[tuple[str, Setting[str]], ...] = ()
    # Where the environment may hold variables not listed above: `environmentFiles` (S3 objects), or an
    # `environment` or `secrets` list that cannot be evaluated or is not of the shape ECS takes. Any
    # variable not listed may be set there.
    hidden_environment: tuple[str, ...] = ()
    build: ImageBuild | None = None  # how its image is built, when a Dockerfile in the inputs builds it
    # The resources the image reference comes from when it is known only after apply, e.g.
    # aws_ecr_repository.web for "${aws_ecr_repository.web.repository_url}:${var.tag}".
    image_refs: frozenset[str] = frozenset()
    working_directory: Setting[str] | None = None  # the task's workingDirectory, when set

    def env(self) -> dict[str, Setting[str]]:
        """The environment the container runs with: the image's ENV, overridden by the task's
        environment files (so an image value is not known when there are any), then its environment."""
        image = dict(self.build.environment if self.build else ())
        if self.hidden_environment:
            files = " and ".join(self.hidden_environment)
            image = {
                name: Setting.unknown(
                    setting.location, f"{name} is set by the image's ENV, and {files} may override it"
                )
                for name, setting in image.items()
            }
        return {**image, **dict(self.environment)}

    def labels(self) -> dict[str, Setting[str]]:
        """The container's labels: the image's LABELs, overridden by the task's dockerLabels."""
        return {**dict(self.build.labels if self.build else ()), **dict(self.docker_labels)}


@dataclass(frozen=True)
class TaskDefinition:
    id: ResourceId
    family: str | None
    # None when the container definitions could not be resolved; `containers_note` says why, and
    # `containers_location` where, when an error in the inputs is the reason.
    containers: tuple[Container, ...] | None
    containers_note: str = ""
    containers_location: Location | None = None
    containers_fix: str = ""  # what would make unresolved container definitions known, if the loader knows


class RegistrationKind(Enum):
    """How targets other than ECS tasks come into a target group or Classic ELB."""

    AUTOSCALING_GROUP = "the EC2 instances of an autoscaling group"
    ATTACHMENT = "targets attached one by one"
    INSTANCES = "EC2 instances"


@dataclass(frozen=True)
class Registration:
    """Targets registered into a target group (or a Classic ELB) by something other than an ECS service."""

    id: ResourceId
    target: Link
    kind: RegistrationKind


@dataclass(frozen=True)
class Opaque:
    """Something in the inputs that may hide load balancers or services keepalive-guard cannot see,
    e.g. a Terraform module whose source is not available locally."""

    id: ResourceId
    reason: str
    may_hide_targets: bool  # its name or source suggests load balancers or ECS services inside
    fix: str = ""  # what would let the scan see inside, when the loader knows


@dataclass(frozen=True)
class Variant:
    """One combination of the condition values of a CloudFormation template, read as a unit of its own;
    `stack` is the unit all the template's variants stand for (findings are merged across them)."""

    unit: str
    stack: str
    conditions: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class Suppression:
    """A finding acknowledged on a resource of its chain, with the reason: CloudFormation `Metadata`, or a
    `keepalive-guard:ignore` comment (`policies.loaders.inline`)."""

    resource: ResourceId
    rule: str
    reason: str
    location: Location


def _escaped(char: str) -> str:
    return char if char.isprintable() else repr(char)[1:-1]


@dataclass(frozen=True)
class InputError:
    """An input that could not be (fully) analysed. Reported, never raised. Always one line of
    printable text: a line break or control character that the input put into its path or message (a
    file name, a module source) is written as an escape."""

    path: str
    message: str
    line: int | None = None

    def __post_init__(self) -> None:
        for name in ("path", "message"):
            text = getattr(self, name)
            if not text.isprintable():
                object.__setattr__(self, name, "".join(_escaped(char) for char in text))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Inventory:
    """Everything one loader found, in model form."""

    load_balancers: tuple[LoadBalancer, ...] = ()
    listeners: tuple[Listener, ...] = ()
    target_groups: tuple[TargetGroup, ...] = ()
    services: tuple[Service, ...] = ()
    task_definitions: tuple[TaskDefinition, ...] = ()
    registrations: tuple[Registration, ...] = ()
    pairs: tuple[TargetGroupPair, ...] = ()
    lookups: tuple[Lookup, ...] = ()
    opaque: tuple[Opaque, ...] = ()
    builds: tuple[ImageBuild, ...] = ()
    variants: tuple[Variant, ...] = ()
    suppressions: tuple[Suppression, ...] = ()
    errors: tuple[InputError, ...] = ()
    inputs: tuple[str, ...] = field(default=())  # files that were read

    def __add__(self, other: Inventory) -> Inventory:
        return Inventory(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))
