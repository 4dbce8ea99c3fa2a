"""Traefik as the container that receives the load balancer's traffic.

Each entry point closes idle connections after `transport.respondingTimeouts.idleTimeout`, 180 s by
default (pkg/config/static/static_config.go DefaultIdleTimeout); the value is a Go duration or bare
seconds. Traefik hands it to Go's http.Server, where `0` means "use readTimeout" (60 s by default since
v2.11.2, none before); with both 0 idle connections are never closed.

Traefik reads its static configuration from exactly one source (cmd/traefik: FileLoader, FlagLoader,
EnvLoader, the first that loads wins): a configuration file (`--configfile`, or traefik.yml/.yaml/.toml
in /etc/traefik or the working directory), else the command-line flags (any at all), else the
TRAEFIK_* environment variables. Flags and keys are case-insensitive. The entry point whose address
has the container port the load balancer targets is the one that counts; when none has it, Traefik does
not serve that port as far as its configuration shows, so the keep-alive is unknown; when the port is
not known, the entry points are compared: when they differ, the keep-alive is unknown.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from policies.model import UNKNOWN_PART, ImageFile, Location, show
from policies.servers import units
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server, library_image
from policies.servers.documents import Node, Scalar, from_json, load_yaml

NAME = "traefik"
RECOGNISED = (
    "`traefik` (the official traefik image, also with options alone), with traefik.yml or traefik.toml when "
    "the Dockerfile copies it"
)
_DOCS = "https://doc.traefik.io/traefik/routing/entrypoints/#respondingtimeouts"
# pkg/config/static/static_config.go: `DefaultIdleTimeout = 180 * time.Second` (same in v1.7 and v2).
DEFAULT_IDLE = 180
# traefik/traefik#10602 "Set default ReadTimeout value to 60s" (v2.11.2): before, 0 (no timeout).
DEFAULT_READ, READ_SINCE = 60, (2, 11, 2)
_READ_DOCS = "https://doc.traefik.io/traefik/migration/v2/#v2112"
_LOADERS = "https://doc.traefik.io/traefik/getting-started/configuration-overview/#the-static-configuration"
# traefik/traefik-library-image v3.x/alpine/Dockerfile: `ENTRYPOINT ["/entrypoint.sh"]`, `CMD ["traefik"]`;
# no configuration file in the image.
_OFFICIAL = library_image("traefik")
# pkg/cli/loader_file.go: Finder{BasePaths: /etc/traefik/traefik, $XDG_CONFIG_HOME/traefik,
# $HOME/.config/traefik, ./traefik; Extensions: toml, yaml, yml}.
_DEFAULT_FILES = tuple(
    f"{base}.{extension}"
    for base in ("/etc/traefik/traefik", "traefik")
    for extension in ("toml", "yaml", "yml")
)
_FLAG = re.compile(
    r"--?entrypoints\.([^.=]+)\.(address|transport\.respondingtimeouts\.(?:idle|read)timeout)$"
)
_ENV = re.compile(r"TRAEFIK_ENTRYPOINTS_(.+)_(ADDRESS|TRANSPORT_RESPONDINGTIMEOUTS_(?:IDLE|READ)TIMEOUT)")

FACTS = (
    Fact(
        "Traefik",
        "`--entrypoints.<name>.transport.respondingtimeouts.idletimeout`, "
        "`TRAEFIK_ENTRYPOINTS_<NAME>_TRANSPORT_RESPONDINGTIMEOUTS_IDLETIMEOUT`, traefik.yml",
        f"{DEFAULT_IDLE} s",
        _DOCS,
        "Go duration or bare seconds",
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "traefik"


def image_command(image: str) -> tuple[str, ...] | None:
    return ("traefik",) if UNKNOWN_PART not in image and _OFFICIAL.match(image) else None


def image_entrypoint(image: str, command: tuple[str, ...]) -> tuple[str, ...] | None:
    """A command of options (`["--entrypoints.web.address=:8000", "--providers.ecs=true"]`) runs Traefik
    with them: the official image's /entrypoint.sh (traefik/traefik-library-image, formerly
    containous/traefik-library-image alpine/entrypoint.sh): "first arg is `-f` or `--some-option`":
    `set -- traefik "$@"`. The scratch and Windows images' ENTRYPOINT is traefik itself."""
    if not command or not command[0].startswith("-"):
        return None
    return image_command(image)


@dataclass(frozen=True)
class _Setting:
    text: str
    written: str  # for people: `--entrypoints.web.address=:80`, `TRAEFIK_..._IDLETIMEOUT=75s`
    location: Location | None


@dataclass
class _EntryPoint:
    name: str
    address: _Setting | None = None
    idle: _Setting | None = None
    read: _Setting | None = None

    def set(self, key: str, setting: _Setting) -> None:
        key = key.lower()
        if key == "address":
            self.address = setting
        elif key.endswith("idletimeout"):
            self.idle = setting
        else:
            self.read = setting


@dataclass
class _Source:
    """The one source Traefik reads its static configuration from."""

    kind: str  # "file", "flags", "environment" or "defaults"
    described: str  # "traefik.yml", "the command", "the environment"
    location: Location
    entry_points: dict[str, _EntryPoint]
    ignored: str = ""  # settings Traefik ignores because this source wins

    def entry(self, name: str) -> _EntryPoint:
        return self.entry_points.setdefault(name.lower(), _EntryPoint(name))


def _flags(args: tuple[str, ...]) -> dict[str, tuple[str, int, str]]:
    """Flags as paerser reads them (flag/flagparser.go): `--name=value`, or `--name value` for a flag
    that takes one; keys lowercased, the last occurrence winning. Each is (value, index, as written)."""
    found: dict[str, tuple[str, int, str]] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("-") and len(arg) > 1:
            name, equals, value = arg.partition("=")
            key = name.lower().lstrip("-")
            if equals:
                found[key] = (value, index, arg)
            elif index + 1 < len(args) and not args[index + 1].startswith("-") and _takes_value(key):
                found[key] = (args[index + 1], index + 1, f"{arg} {args[index + 1]}")
                index += 1
            else:
                found[key] = ("true", index, arg)
        index += 1
    return found


def _takes_value(key: str) -> bool:
    return key == "configfile" or bool(_FLAG.match("--" + key))


def _get(node: Node | None, key: str) -> Node | None:
    """node[key], keys matched case-insensitively as paerser matches struct fields."""
    if not isinstance(node, dict):
        return None
    return next((value for name, value in node.items() if name.lower() == key), None)


def _document(found: ImageFile) -> Node | str:
    """A traefik.yml or traefik.toml, or why it cannot be read."""
    if found.text is None:
        return f"{found.location.path} cannot be read ({found.problem})"
    if found.path.endswith(".toml"):
        try:
            return from_json(tomllib.loads(found.text))
        except tomllib.TOMLDecodeError as error:
            return f"{found.location.path} is not valid TOML ({error})"
    document = load_yaml(found.text)
    if document is None:
        return (
            f"{found.location.path} is not one YAML document that keepalive-guard can read (it is empty, "
            "invalid, holds several documents, or grows beyond any configuration through aliases)"
        )
    return document


def _from_file(found: ImageFile) -> _Source | str:
    document = _document(found)
    if isinstance(document, str):
        return document
    path = found.location.path
    source = _Source("file", path, found.location, {})
    entry_points = _get(document, "entrypoints")
    for name, body in entry_points.items() if isinstance(entry_points, dict) else ():
        timeouts = _get(_get(body, "transport"), "respondingtimeouts")
        for key, value in (
            ("address", _get(body, "address")),
            ("idleTimeout", _get(timeouts, "idletimeout")),
            ("readTimeout", _get(timeouts, "readtimeout")),
        ):
            if isinstance(value, Scalar):
                location = Location(path, value.line) if value.line else found.location
                source.entry(name).set(key, _Setting(value.text, f"{key}: {value.text}", location))
    return source


def _source(invocation: Invocation) -> _Source | str:
    """Where Traefik takes its static configuration from, or why that is not known."""
    flags = _flags(invocation.args)
    environment = sorted(name for name in invocation.env if name.upper().startswith("TRAEFIK_"))
    given = flags.get("configfile")
    if given is not None:
        found = invocation.file(given[0]) if UNKNOWN_PART not in given[0] else None
        if found is None:
            return f"the configuration file `{show(given[0])}` (--configfile) is not in the scanned files"
    else:
        found = next((file for file in map(invocation.file, _DEFAULT_FILES) if file is not None), None)
    if found is not None:
        source = _from_file(found)
        if isinstance(source, _Source) and (len(flags) > (given is not None) or environment):
            source.ignored = "the flags and TRAEFIK_* variables are ignored when a configuration file is read"
        return source
    if invocation.args:
        source = _Source("flags", "the command", invocation.location, {})
        for key, (value, index, written) in flags.items():
            match = _FLAG.match("--" + key)
            if match:
                source.entry(match.group(1)).set(
                    match.group(2), _Setting(value, written, invocation.where(index))
                )
        if environment:
            source.ignored = "TRAEFIK_* variables are ignored when the command has flags"
        return source
    if invocation.hidden_environment:
        return f"TRAEFIK_* variables may be set in {' and '.join(invocation.hidden_environment)}"
    source = _Source("environment", "the environment", invocation.location, {})
    for name in environment:
        match, setting = _ENV.fullmatch(name.upper()), invocation.env[name]
        if match is None:
            continue
        if setting.value is None:
            return f"{name} is not known ({setting.note})"
        key = match.group(2).lower().replace("_", ".")
        entry = source.entry(match.group(1).lower())
        entry.set(key, _Setting(setting.value, f"{name}={setting.value}", setting.location))
    if not environment:
        source.kind, source.described = "defaults", "Traefik's defaults"
    return source


def _port(entry: _EntryPoint) -> int | None:
    """The TCP port of an entry point's address (`:8000`, `0.0.0.0:8000/tcp`, `[::]:8000`); None when
    it is not known (no address, or one not visible)."""
    text = entry.address.text.lower().removesuffix("/tcp") if entry.address is not None else ""
    _, colon, digits = text.rpartition(":")
    return int(digits) if colon and digits.isdecimal() else None


def _not_served(port: int, entry_points: list[_EntryPoint], source: _Source) -> str:
    listening = ", ".join(
        f"{entry.name} on {show(entry.address.text)}" for entry in entry_points if entry.address is not None
    )
    default = (
        " (Traefik's default entry point, as none is configured)"
        if entry_points and entry_points[0].address is not None and not entry_points[0].address.written
        else ""
    )
    return (
        f"no Traefik entry point listens on {port}, the port the load balancer sends traffic to "
        f"({listening}{default}, in {source.described}), so the keep-alive of what serves that port is "
        "not known"
    )


def _version(image: str | None) -> tuple[int, ...] | None:
    """The Traefik version an official image's tag names (traefik:v3.1.2, traefik:2.11), or None."""
    if not image or UNKNOWN_PART in image or not _OFFICIAL.match(image):
        return None
    tag = image.split("@", 1)[0].rpartition(":")[2] if ":" in image.rsplit("/", 1)[-1] else ""
    match = re.match(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", tag)
    return tuple(int(part) for part in match.groups() if part is not None) if match else None


def _idle_from_read(entry: _EntryPoint, evidence: Evidence, invocation: Invocation) -> KeepAlive:
    """idleTimeout 0: Go's http.Server "If IdleTimeout is zero, the value of ReadTimeout is used"."""
    if entry.read is not None:
        read = units.go_duration(entry.read.text, bare_seconds=True)
        says = f"{evidence.says}, so Go's http.Server idles for readTimeout: `{show(entry.read.written)}`"
        evidence = Evidence(says, entry.read.location, _DOCS)
        if read is None or read < 0:
            return KeepAlive.unknown(evidence)
        return KeepAlive.after(read, evidence) if read > 0 else KeepAlive(Mode.NO_TIMEOUT, evidence)
    image = invocation.base_image
    version = _version(image.value)
    if version is None:
        says = (
            f"{evidence.says}, and readTimeout is not set: Go's http.Server then idles for readTimeout, "
            f"{DEFAULT_READ} s by default since Traefik 2.11.2 and none before (idle connections never "
            f"closed), and the Traefik version of `{show(image.value or '')}` is not visible; pin a "
            "versioned tag of the traefik image (or set readTimeout) to make it certain"
        )
        return KeepAlive.unknown(Evidence(says, evidence.location, _READ_DOCS))
    # a tag without minor or patch (traefik:v3, traefik:2.11) floats to the latest release of it
    if version + (999,) * (3 - len(version)) < READ_SINCE:
        says = f"{evidence.says}, and readTimeout is not set (no timeout before Traefik 2.11.2)"
        return KeepAlive(Mode.NO_TIMEOUT, Evidence(says, evidence.location, _READ_DOCS))
    says = (
        f"{evidence.says}, so Go's http.Server idles for readTimeout, "
        f"{DEFAULT_READ} s by default since 2.11.2"
    )
    return KeepAlive.after(DEFAULT_READ, Evidence(says, evidence.location, _READ_DOCS))


def _evaluate(entry: _EntryPoint, source: _Source, invocation: Invocation) -> KeepAlive:
    if entry.idle is None:
        says = (
            f"no idleTimeout for entry point {entry.name} in {source.described}: "
            f"Traefik's default is {DEFAULT_IDLE} s"
        )
        return KeepAlive.after(DEFAULT_IDLE, Evidence(says, source.location, _DOCS))
    evidence = Evidence(f"`{show(entry.idle.written)}` in {source.described}", entry.idle.location, _DOCS)
    seconds = units.go_duration(entry.idle.text, bare_seconds=True)
    if seconds is None or seconds < 0:
        return KeepAlive.unknown(evidence)
    return KeepAlive.after(seconds, evidence) if seconds > 0 else _idle_from_read(entry, evidence, invocation)


def _remedy(source: _Source, entry: _EntryPoint | None) -> str:
    name = entry.name if entry is not None else "<name>"
    given = entry.idle if entry is not None else None
    if source.kind == "file":
        key = f"entryPoints.{name}.transport.respondingTimeouts.idleTimeout"
        return f"set `{key}` to `{{seconds}}s` in {source.described}"
    if source.kind == "environment":
        return f"set TRAEFIK_ENTRYPOINTS_{name.upper()}_TRANSPORT_RESPONDINGTIMEOUTS_IDLETIMEOUT={{seconds}}s"
    flag = f"--entrypoints.{name}.transport.respondingtimeouts.idletimeout={{seconds}}s"
    if given is not None:
        return f"change `{show(given.written)}` to `{flag}` in the traefik command"
    return f"add `{flag}` to the traefik command"


def _unknown(says: str, location: Location, remedy: str = "") -> Server:
    return Server(NAME, "", KeepAlive.unknown(Evidence(says, location, _LOADERS)), None, remedy)


def analyse(invocation: Invocation) -> Server:
    if invocation.args[:1] in (("version",), ("healthcheck",)):
        return _unknown(f"`traefik {invocation.args[0]}` does not serve traffic", invocation.location)
    version = _version(invocation.base_image.value)
    if version is not None and version[0] < 2:
        return _v1(invocation)
    source = _source(invocation)
    if isinstance(source, str):
        return _unknown(source, invocation.location)
    official = bool(_OFFICIAL.match(invocation.base_image.value or ""))
    if source.kind == "defaults" and invocation.build is None and not official:
        says = (
            f"Traefik's static configuration is in the image `{show(invocation.image.value or '')}`, "
            f"which is not visible (Traefik's default idleTimeout is {DEFAULT_IDLE} s)"
        )
        return _unknown(says, invocation.location, _remedy(source, None))
    # static_config.go SetEffectiveConfiguration: without entry points, `"http": {Address: ":80"}`
    default = _EntryPoint("http", _Setting(":80", "", source.location))
    entry_points = [
        entry
        for entry in source.entry_points.values()
        if entry.address is None or not entry.address.text.lower().endswith("/udp")
    ] or [default]
    port = invocation.port
    # an entry point whose port is not known may be the one on the port
    receiving = [entry for entry in entry_points if port is not None and _port(entry) in (port, None)]
    if port is not None and not receiving:
        return _unknown(_not_served(port, entry_points, source), invocation.location, _remedy(source, None))
    results = [(entry, _evaluate(entry, source, invocation)) for entry in receiving or entry_points]
    if len({(keep.mode, keep.seconds) for _, keep in results}) > 1:
        shown = "; ".join(
            f"entry point {entry.name}: {keep.describe()} ({keep.evidence})" for entry, keep in results
        )
        says = f"Traefik's entry points differ, and which one receives the traffic is not known: {shown}"
        return _unknown(says, invocation.location, _remedy(source, None))
    entry, keep_alive = next(((e, k) for e, k in results if e.idle is not None), results[0])
    notes = [source.ignored] if source.ignored else []
    if receiving and len(receiving) < len(entry_points):
        notes.append(
            f"entry point {entry.name} listens on port {port}, where the load balancer sends the traffic"
        )
    if source.kind != "file" and invocation.build is None and not official:
        notes.append(
            "assuming the image holds no traefik.yml or traefik.toml, which Traefik would read instead"
        )
    if notes:
        evidence = keep_alive.evidence
        says = f"{evidence.says} ({'; '.join(notes)})"
        keep_alive = KeepAlive(
            keep_alive.mode, Evidence(says, evidence.location, evidence.source), keep_alive.seconds
        )
    where = entry.idle.location if entry.idle is not None else source.location
    return Server(NAME, "", keep_alive, None, _remedy(source, entry), where)


def _v1(invocation: Invocation) -> Server:
    """Traefik 1.x: one global respondingTimeouts.idleTimeout, 180 s by default (v1.7
    configuration/configuration.go DefaultIdleTimeout); its settings are not read here."""
    texts = [" ".join(invocation.args)] + [
        file.text or "" for file in map(invocation.file, _DEFAULT_FILES) if file is not None
    ]
    if any("idletimeout" in text.lower() or "configfile" in text.lower() for text in texts):
        says = "Traefik 1.x's idleTimeout settings are not read by keepalive-guard"
        return Server(NAME, "Traefik 1.x", KeepAlive.unknown(Evidence(says, invocation.location, _DOCS)))
    says = f"no idleTimeout given: Traefik 1.x's default is {DEFAULT_IDLE} s"
    return Server(
        NAME, "Traefik 1.x", KeepAlive.after(DEFAULT_IDLE, Evidence(says, invocation.location, _DOCS))
    )
