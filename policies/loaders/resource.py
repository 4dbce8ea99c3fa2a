"""What the resource readers see of one resource, whatever format it was read from.

The readers in `policies/loaders/terraform/resources.py` hold the AWS semantics and defaults; each
input format that describes AWS provider resources (Terraform HCL, Terraform plan JSON) hands them
its resources through this interface, so those semantics are written once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from policies.model import Link, Location, ResourceId, Setting

T = TypeVar("T")


class Resource(Protocol):
    """One instance of a resource, or one nested block of it (`blocks` gives those, with the same
    interface): its attributes as values, settings and links."""

    @property
    def id(self) -> ResourceId:
        """The resource's identity (for a nested block, that of the resource holding it)."""
        ...

    @property
    def location(self) -> Location:
        """Where the resource (or the nested block) is written."""
        ...

    def written(self, name: str) -> Location | None:
        """Where attribute `name` is written; None when it is not set."""
        ...

    def value(self, name: str) -> Any:
        """An attribute's value (an `Unknown` when it cannot be known statically; None when not set)."""
        ...

    def setting(
        self, name: str, convert: Callable[[Any], T | None], default: T | None, default_note: str
    ) -> Setting[T]:
        """An attribute as a Setting: its value, where it was decided, or the default it falls back to
        (`default` None: not set is unknown)."""
        ...

    def links(self, name: str) -> list[Link]:
        """The resources an attribute refers to; a list attribute gives one link per element."""
        ...

    def link(self, name: str) -> Link | None:
        """The first of `links(name)`, None when the attribute is not set."""
        ...

    def blocks(self, block_type: str) -> Sequence[Resource]:
        """The nested blocks of a type, each seen through this same interface."""
        ...

    def error(self, location: Location, message: str) -> None:
        """Report an input error (invalid container definitions) at `location`."""
        ...
