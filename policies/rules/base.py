"""What every rule shares: the target it checks, its options, and the findings it returns."""

from __future__ import annotations

import inspect
import math
import sys
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from policies.model import Location, Setting
from policies.servers.base import Server
from policies.topology import Chain


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Options:
    min_margin: float = 0.0  # KA001: the keep-alive must exceed the idle timeout by more than this
    strict: bool = False  # KA002 becomes an error
    select: frozenset[str] = frozenset()  # rule ids to run (empty: all)
    ignore: frozenset[str] = frozenset()  # rule ids not to run

    def runs(self, rule: str) -> bool:
        return (not self.select or rule in self.select) and rule not in self.ignore


@dataclass(frozen=True)
class Target:
    """A load balancer → target chain, with what the catalog concluded about the server at its end."""

    chain: Chain
    server: Server | None  # None when the chain does not reach a container


@dataclass(frozen=True)
class Finding:
    rule: str
    name: str
    severity: Severity
    message: str
    fix: str
    locations: tuple[Location, ...]  # where to act first; the other side of the mismatch after
    chain: Chain

    @property
    def location(self) -> Location | None:
        return self.locations[0] if self.locations else None


class Rule(Protocol):
    """A rule's identity is data on its class; its docstring is its documentation."""

    id: str
    name: str
    severity: Severity
    summary: str  # "reports when ...", one line

    def check(self, target: Target, options: Options) -> list[Finding]: ...


def documentation(rule: Rule) -> str:
    """A rule's documentation: the docstring of its module (one rule per file)."""
    return inspect.getdoc(sys.modules[type(rule).__module__]) or ""


def seconds(value: float) -> str:
    """A duration for people: 60 s, 2.5 s."""
    return f"{int(value)} s" if float(value).is_integer() else f"{value:g} s"


def whole(value: float) -> int:
    return math.ceil(value)


def described(setting: Setting[int], name: str) -> str:
    """`idle_timeout 60 s (not set: AWS default) at main.tf:4`."""
    value = seconds(setting.value) if setting.value is not None else "unknown"
    note = f", {setting.note}" if setting.note else ""
    return f"{setting.name or name} {value} at {setting.location}{note}"


def locations(*places: Location | None) -> tuple[Location, ...]:
    return tuple(dict.fromkeys(place for place in places if place is not None))


def wanted_keep_alive(chain: Chain, options: Options) -> int:
    """The keep-alive to suggest: 5 s above the idle timeout plus margin (60 s by default: 65 s)."""
    balancer = chain.load_balancer
    idle = (
        balancer.idle_timeout.value
        if balancer is not None and balancer.idle_timeout.value is not None
        else 60
    )
    return suggested_keep_alive(idle, options.min_margin)


def suggested_keep_alive(idle_timeout: float, margin: float) -> int:
    """5 s above the idle timeout plus margin, in whole seconds."""
    return whole(idle_timeout + margin) + 5


def remedy(server: Server, seconds: int) -> str:
    """The server's remedy with the value filled in, and where to apply it."""
    if not server.remedy:
        return ""
    where = f" at {server.remedy_location}" if server.remedy_location else ""
    return server.remedy.format(seconds=seconds, milliseconds=seconds * 1000) + where
