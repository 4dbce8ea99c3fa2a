"""What the server catalog says about a container: which server, its keep-alive, its request bound.

Every conclusion carries `Evidence`: the flag, environment variable, label or documented default that
decided it, where it was written, and (for defaults) the source of that default.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from policies.model import UNKNOWN_PART, ImageBuild, ImageFile, Location, Setting


class Mode(Enum):
    IDLE_TIMEOUT = "closes idle keep-alive connections after a timeout"
    NO_KEEP_ALIVE = "closes the connection after every response"
    NO_TIMEOUT = "never closes idle keep-alive connections"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Evidence:
    """Why the catalog concluded something: what it saw, where, and the source of a default."""

    says: str
    location: Location | None = None
    source: str = ""  # documentation or source-code URL backing a default

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.says}{where}"


@dataclass(frozen=True)
class KeepAlive:
    mode: Mode
    evidence: Evidence
    seconds: float | None = None  # for IDLE_TIMEOUT

    @staticmethod
    def after(seconds: float, evidence: Evidence) -> KeepAlive:
        return KeepAlive(Mode.IDLE_TIMEOUT, evidence, seconds)

    @staticmethod
    def unknown(evidence: Evidence) -> KeepAlive:
        return KeepAlive(Mode.UNKNOWN, evidence)

    def describe(self) -> str:
        """What the server does with idle connections, for people."""
        if self.mode is not Mode.IDLE_TIMEOUT or self.seconds is None:
            return self.mode.value
        if self.seconds == 0:
            return "closes connections right after each response without announcing it"
        shown = int(self.seconds) if float(self.seconds).is_integer() else f"{self.seconds:g}"
        return f"closes idle keep-alive connections after {shown} s"


@dataclass(frozen=True)
class RequestTimeout:
    """The longest the server lets one request run before it gives up on it."""

    seconds: float
    evidence: Evidence


@dataclass(frozen=True)
class Server:
    """The catalog's conclusion for one container."""

    name: str  # "gunicorn", "uvicorn", ...; "unknown" when not recognised
    detail: str  # e.g. "gthread worker (--threads 4)"
    keep_alive: KeepAlive
    request_timeout: RequestTimeout | None = None
    # How to make the keep-alive longer, with "{seconds}" for the value; "" when there is no setting.
    remedy: str = ""
    remedy_location: Location | None = None

    @property
    def title(self) -> str:
        return f"{self.name} ({self.detail})" if self.detail else self.name


@dataclass(frozen=True)
class Invocation:
    """A server's command line as the container really runs it, wrappers and shells removed."""

    argv: tuple[str, ...]  # argv[0] is the program, e.g. "gunicorn"
    env: Mapping[str, Setting[str]]  # the container environment plus inline assignments
    location: Location  # where the command is written
    image: Setting[str]
    hidden_environment: tuple[str, ...] = ()  # see Container.hidden_environment
    locations: tuple[Location | None, ...] = ()  # where each element of argv was written, when known
    unknown_note: str = ""  # why parts of the command line shown as <?> are unknown
    build: ImageBuild | None = None  # the Dockerfile that builds the image, when known
    port: int | None = None  # the container port the load balancer sends traffic to, when known
    via: tuple[str, ...] = ()  # what ran this command, outermost first: "npm start", "pm2-runtime"
    # The directory the command runs in, when it is not the image's WORKDIR: the task's
    # workingDirectory, then `cd` in the command; relative to WORKDIR; UNKNOWN_PART inside: not known.
    workdir: str = ""

    @property
    def directory(self) -> str | None:
        """The absolute directory the command runs in, None when it is not known."""
        if UNKNOWN_PART in self.workdir or (self.build is None and not self.workdir.startswith("/")):
            return None
        return posixpath.normpath(posixpath.join(self.build.workdir if self.build else "/", self.workdir))

    def file(self, path: str) -> ImageFile | None:
        """A file of the image (relative to the directory the command runs in), when a known Dockerfile
        copies it there from the scanned tree. None when it does not, when no Dockerfile is known
        (`build`), or when the directory is not known."""
        directory = self.directory
        if self.build is None or (directory is None and not path.startswith("/")):
            return None
        return self.build.file(posixpath.join(directory or "/", path))

    def files(self, pattern: str) -> list[ImageFile]:
        """The files of the image matching a glob(3) `pattern` (`/etc/nginx/conf.d/*.conf`) that a known
        Dockerfile copies there, in name order."""
        directory = self.directory
        if self.build is None or (directory is None and not pattern.startswith("/")):
            return []
        return self.build.glob(posixpath.join(directory or "/", pattern))

    @property
    def base_image(self) -> Setting[str]:
        """The image that tells the runtime's version: the Dockerfile's base image when the build is
        known, else the image the task runs."""
        if self.build is not None and self.build.base.value:
            return self.build.base
        return self.image

    def where(self, index: int) -> Location:
        """Where the argument `args[index]` was written (a tfvars line, a module argument), else the command."""
        position = index + 1
        found = self.locations[position] if position < len(self.locations) else None
        return found or self.location

    def env_value(self, name: str) -> Setting[str] | None:
        """The variable `name` as the server sees it: None when surely unset, unknown when it may be set
        where keepalive-guard cannot see (an environment file, an environment list it cannot evaluate)."""
        setting = self.env.get(name)
        if setting is None and self.hidden_environment:
            return Setting.unknown(
                self.location, f"{name} may be set in {' and '.join(self.hidden_environment)}"
            )
        return setting

    @property
    def program(self) -> str:
        return self.argv[0].rsplit("/", 1)[-1] if self.argv else ""

    @property
    def args(self) -> tuple[str, ...]:
        return self.argv[1:]


# Where Docker's official images are pulled from: Docker Hub (`name`, `library/name`,
# `docker.io/library/name`) and its ECR Public mirror (`public.ecr.aws/docker/library/name`).
LIBRARY = r"(docker\.io/|public\.ecr\.aws/docker/library/)?(library/)?"


def library_image(name: str, tag: str = r"(:|@|$)") -> re.Pattern[str]:
    """A pattern for Docker's official image `name`, any tag or digest unless `tag` narrows it."""
    return re.compile(f"^{LIBRARY}{name}{tag}")


@dataclass(frozen=True)
class Fact:
    """One row of the supported-servers table in the README (generated from the catalog)."""

    server: str
    setting: str
    default: str
    source: str
    unit: str = "seconds"  # how the setting's value is written
