"""HAProxy as the container that receives the load balancer's traffic.

HAProxy has no built-in keep-alive timeout: the configuration decides (doc/configuration.txt, "timeout
http-keep-alive"): the time to wait for a new request on an idle client connection is `timeout
http-keep-alive`, else `timeout http-request`, else `timeout client`, "set in the frontend to take
effect"; with none of them, idle connections are never closed. A timeout of 0 counts as not set
(HAProxy's TICK_ETERNITY). Each frontend or listen section takes these from the `defaults` section
before it (or the one named with `from`). `option httpclose` on the frontend closes the client
connection after each response (src/mux_h1.c h1_set_cli_conn_mode: "option httpclose => close"); the
backend's options only touch the server side. In `mode tcp` (HAProxy's default mode) the load
balancer's connection is relayed as TCP, so what the backend server does with it decides.

The official image ships no haproxy.cfg (docker-library/haproxy): it is read where a known Dockerfile
copies it (`-f`, a file or a directory of *.cfg files); `"${VAR}"` is taken from the environment.
The frontend or listen section that binds the container port the load balancer targets is the one
that counts; when none does, HAProxy does not serve that port as far as its configuration shows, so the
keep-alive is unknown; when the port is not known, they are compared.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from policies.model import UNKNOWN_PART, Location, show
from policies.servers import units
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server, library_image

NAME = "haproxy"
RECOGNISED = (
    "`haproxy -f FILE` (or a directory) (the official haproxy image, also with options alone), with haproxy.cfg "
    "when the Dockerfile copies it"
)
_DOCS = "https://docs.haproxy.org/3.0/configuration.html#4.2-timeout%20http-keep-alive"
_CLOSE_DOCS = "https://docs.haproxy.org/3.0/configuration.html#4.2-option%20httpclose"
_MODE_DOCS = "https://docs.haproxy.org/3.0/configuration.html#4.2-mode"
# docker-library/haproxy */Dockerfile: `CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]`
# (docker-entrypoint.sh adds -W -db); no haproxy.cfg in the image.
_IMAGE_CONFIG = "/usr/local/etc/haproxy/haproxy.cfg"
_OFFICIAL = library_image("haproxy")
# The keywords that start a section (doc/configuration.txt, sections 3 and 4 and the others).
_SECTIONS = frozenset(
    {
        "global",
        "defaults",
        "frontend",
        "backend",
        "listen",
        "userlist",
        "peers",
        "resolvers",
        "mailers",
        "program",
        "http-errors",
        "ring",
        "cache",
        "fcgi-app",
        "crt-store",
        "log-forward",
        "traces",
        "acme",
    }
)
_TIMEOUTS = ("http-keep-alive", "http-request", "client")
# The address families of a `bind` line that listen on TCP (doc/configuration.txt 11. "Address formats").
_TCP_FAMILIES = frozenset({"", "ipv4", "ipv6", "tcp", "tcp4", "tcp6"})
_CLOSE_MODES = frozenset({"httpclose", "http-server-close", "http-keep-alive", "forceclose"})

FACTS = (
    Fact(
        "HAProxy",
        "`timeout http-keep-alive` (else `http-request`, else `client`), `option httpclose`",
        "none (the configuration decides)",
        _DOCS,
        "milliseconds when bare (us, ms, s, m, h, d suffix)",
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "haproxy"


def image_command(image: str) -> tuple[str, ...] | None:
    return ("haproxy", "-f", _IMAGE_CONFIG) if UNKNOWN_PART not in image and _OFFICIAL.match(image) else None


def image_entrypoint(image: str, command: tuple[str, ...]) -> tuple[str, ...] | None:
    """A command of options (`["-f", "/usr/local/etc/haproxy/haproxy.cfg"]`) runs HAProxy with them: the
    official image's ENTRYPOINT docker-entrypoint.sh (docker-library/haproxy, e.g.
    1.8-rc/alpine/docker-entrypoint.sh and the later ones): "first arg is `-f` or `--some-option`":
    `set -- haproxy "$@"` (then `haproxy -W -db "$@"`: master-worker, foreground; neither touches
    keep-alive)."""
    if not command or not command[0].startswith("-"):
        return None
    return ("haproxy",) if UNKNOWN_PART not in image and _OFFICIAL.match(image) else None


@dataclass(frozen=True)
class _Line:
    words: tuple[str, ...]
    location: Location

    @property
    def written(self) -> str:
        return " ".join(self.words)


@dataclass
class _Section:
    kind: str  # defaults, frontend, listen...
    name: str
    location: Location
    lines: list[_Line] = field(default_factory=list)
    parent: _Section | None = None  # the defaults section it takes its settings from
    conditional: bool = False  # some of its mode, option or timeout lines are inside .if blocks


class _Unreadable(Exception):
    """The configuration cannot be followed: the message says why."""


def _words(line: str, invocation: Invocation) -> list[str]:
    """A configuration line as HAProxy splits it: quotes, escapes, `#` comments, and "${VAR}" from the
    environment inside double quotes (unknown when the environment does not say)."""

    def variable(match: re.Match[str]) -> str:
        setting = invocation.env_value(match.group(1))
        return setting.value if setting is not None and setting.value is not None else UNKNOWN_PART

    lexer = shlex.shlex(line, posix=True, punctuation_chars=False)
    lexer.whitespace_split, lexer.commenters = True, "#"
    try:
        words = list(lexer)
    except ValueError as error:
        raise _Unreadable(f"`{line.strip()}`: {error}") from error
    return [re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:-[^}]*)?\}", variable, word) for word in words]


def _sections(texts: list[tuple[str, str]], invocation: Invocation) -> list[_Section]:
    """The sections of the configuration files, in order, each frontend linked to its defaults."""
    sections: list[_Section] = []
    named: dict[str, _Section] = {}
    last_defaults: _Section | None = None
    current: _Section | None = None
    depth = 0
    for text, path in texts:
        for number, raw in enumerate(text.splitlines(), 1):
            words = _words(raw, invocation)
            if not words:
                continue
            location = Location(path, number)
            keyword = words[0]
            if keyword in (".if", ".elif", ".else"):
                depth += keyword == ".if"
                continue
            if keyword == ".endif":
                depth = max(0, depth - 1)
                continue
            if keyword.startswith("."):
                continue
            if keyword in _SECTIONS:
                name = words[1] if len(words) > 1 and words[1] != "from" else ""
                current = _Section(keyword, name, location)
                if "from" in words[1:-1]:
                    parent_name = words[words.index("from", 1) + 1]
                    current.parent = named.get(parent_name)
                    if current.parent is None:
                        raise _Unreadable(
                            f"`{' '.join(words)}` at {location} names an unknown defaults section"
                        )
                elif keyword != "defaults":
                    current.parent = last_defaults
                if keyword == "defaults":
                    last_defaults = current
                    if name:
                        named[name] = current
                sections.append(current)
            elif current is not None:
                current.lines.append(_Line(tuple(words), location))
                current.conditional |= depth > 0 and keyword in ("timeout", "option", "no", "mode")
    return sections


def _setting(section: _Section | None, match: tuple[str, ...]) -> _Line | None:
    """The last line of a section that starts with `match`, else of the defaults it takes settings from."""
    while section is not None:
        for line in reversed(section.lines):
            if line.words[: len(match)] == match:
                return line
        section = section.parent
    return None


def _mode(section: _Section) -> _Line | None:
    return _setting(section, ("mode",))


def _close_mode(section: _Section) -> _Line | None:
    """The last `option httpclose / http-server-close / http-keep-alive` (or its `no` form) that applies."""
    current: _Section | None = section
    while current is not None:
        for line in reversed(current.lines):
            words = line.words[1:] if line.words[:1] == ("no",) else line.words
            if words[:1] == ("option",) and len(words) > 1 and words[1] in _CLOSE_MODES:
                return line
        current = current.parent
    return None


def _binds(section: _Section, port: int) -> bool | None:
    """Whether a `bind` line of the section listens on `port`: `bind [<address>]:<port_range> [, ...]`,
    the address maybe with a family (`ipv6@`), the range one port or `8000-8010`; None when an address
    is not known ("${PORT}" from an environment not visible) and so may be that port."""
    unsure = False
    for line in section.lines:
        if line.words[:1] != ("bind",) or len(line.words) < 2:
            continue
        for address in line.words[1].split(","):
            family, _, rest = address.rpartition("@")
            if UNKNOWN_PART in address:
                unsure |= UNKNOWN_PART in family or family in _TCP_FAMILIES
                continue
            _, colon, ports = rest.rpartition(":")
            low, _, high = ports.partition("-")
            high = high or low
            tcp = family in _TCP_FAMILIES and colon and low.isdecimal() and high.isdecimal()
            if tcp and int(low) <= port <= int(high):
                return True
    return None if unsure else False


def _not_served(port: int, receivers: list[_Section]) -> str:
    binds = "; ".join(
        f"{f'{section.kind} {section.name}'.strip()}: `{show(line.written)}`"
        for section in receivers
        for line in section.lines
        if line.words[:1] == ("bind",)
    )
    return (
        f"no frontend or listen section of HAProxy binds {port}, the port the load balancer sends traffic "
        f"to ({binds}), so the keep-alive of what serves that port is not known"
    )


def _keep_alive(section: _Section) -> KeepAlive:
    title = f"{section.kind} {section.name}".strip()
    if section.conditional or (section.parent is not None and section.parent.conditional):
        return KeepAlive.unknown(
            Evidence(f"{title} has lines inside .if blocks, which are not evaluated", section.location)
        )
    mode = _mode(section)
    if mode is None or mode.words[1:2] != ("http",):
        says = (
            f"{title} runs in `{mode.written}`"
            if mode is not None
            else f"{title} sets no mode, so it runs in TCP mode"
        )
        says += ": it relays the connection as TCP, so the backend server's keep-alive decides"
        return KeepAlive.unknown(Evidence(says, mode.location if mode else section.location, _MODE_DOCS))
    close = _close_mode(section)
    if close is not None and close.words[0] != "no" and close.words[1] in ("httpclose", "forceclose"):
        says = f"`{close.written}` applies to {title}: each response closes the client connection"
        return KeepAlive(Mode.NO_KEEP_ALIVE, Evidence(says, close.location, _CLOSE_DOCS))
    for name in _TIMEOUTS:
        line = _setting(section, ("timeout", name))
        if line is None or len(line.words) < 3:
            continue
        seconds = units.haproxy_time(line.words[2])
        evidence = Evidence(f"`{show(line.written)}` applies to {title}", line.location, _DOCS)
        if seconds is None:
            return KeepAlive.unknown(evidence)
        # cfgparse stores MS_TO_TICKS(0) = TICK_ETERNITY (include/haproxy/ticks.h: 0), which is "not set"
        if seconds > 0:
            if name != "http-keep-alive":
                says = f"no timeout http-keep-alive for {title}, so `{show(line.written)}` applies"
                evidence = Evidence(says, line.location, _DOCS)
            return KeepAlive.after(seconds, evidence)
    says = (
        f"{title} has no timeout http-keep-alive, http-request or client: idle connections are never closed"
    )
    return KeepAlive(Mode.NO_TIMEOUT, Evidence(says, section.location, _DOCS))


def _unknown(says: str, location: Location) -> Server:
    remedy = (
        "set `timeout http-keep-alive {seconds}s` in the defaults section of haproxy.cfg, and declare it "
        'with the docker label `keepalive-guard.keep-alive-seconds = "{seconds}"`'
    )
    return Server(NAME, "", KeepAlive.unknown(Evidence(says, location, _DOCS)), None, remedy)


def _configuration(invocation: Invocation) -> list[tuple[str, str]] | str:
    """The configuration files `-f` names, in the order HAProxy reads them (a directory: its *.cfg files
    in name order), as (text, local path); or why they are not visible."""
    args = invocation.args
    paths = [args[index + 1] for index, arg in enumerate(args[:-1]) if arg == "-f"]
    if "--" in args:
        paths += list(args[args.index("--") + 1 :])
    if not paths:
        return "HAProxy is started without -f, so its configuration is not visible"
    texts: list[tuple[str, str]] = []
    for path in paths:
        if UNKNOWN_PART in path:
            return f"the configuration `{show(path)}` (-f) is not known"
        found = invocation.file(path)
        files = [found] if found is not None else invocation.files(posixpath.join(path, "*.cfg"))
        if not files:
            return (
                f"the configuration `{show(path)}` (-f) is not visible in the scanned files (HAProxy has no "
                "built-in keep-alive timeout: the configuration decides)"
            )
        for file in files:
            if file.text is None:
                return f"{file.location.path} cannot be read ({file.problem})"
            texts.append((file.text, file.location.path))
    return texts


def analyse(invocation: Invocation) -> Server:
    if "-c" in invocation.args or "-v" in invocation.args or "-vv" in invocation.args:
        return _unknown(
            "this HAProxy command checks or prints, it does not serve traffic", invocation.location
        )
    texts = _configuration(invocation)
    if isinstance(texts, str):
        return _unknown(texts, invocation.location)
    try:
        sections = _sections(texts, invocation)
    except _Unreadable as problem:
        return _unknown(f"HAProxy's configuration cannot be followed: {problem}", invocation.location)
    receivers = [
        section
        for section in sections
        if section.kind in ("frontend", "listen") and any(line.words[0] == "bind" for line in section.lines)
    ]
    if not receivers:
        return _unknown(
            "HAProxy's configuration has no frontend or listen section with a bind line", invocation.location
        )
    port = invocation.port
    # a section whose bind address is not known may be the one on the port
    receiving = [section for section in receivers if port is not None and _binds(section, port) is not False]
    if port is not None and not receiving:
        return _unknown(_not_served(port, receivers), invocation.location)
    results = [(section, _keep_alive(section)) for section in receiving or receivers]
    if len({(keep.mode, keep.seconds) for _, keep in results}) > 1:
        shown = "; ".join(f"{keep.describe()} ({keep.evidence})" for _, keep in results)
        which = f"frontends on port {port}" if receiving else "frontends"
        return _unknown(
            f"HAProxy's {which} differ, and which one receives the traffic is not known: {shown}",
            invocation.location,
        )
    section, keep_alive = results[0]
    if receiving and len(receiving) < len(receivers):
        title = f"{section.kind} {section.name}".strip()
        evidence = keep_alive.evidence
        says = f"{evidence.says} ({title} binds port {port}, where the load balancer sends the traffic)"
        keep_alive = KeepAlive(
            keep_alive.mode, Evidence(says, evidence.location, evidence.source), keep_alive.seconds
        )
    if keep_alive.mode is Mode.UNKNOWN:
        return _unknown(keep_alive.evidence.says, keep_alive.evidence.location or invocation.location)
    line = _setting(section, ("timeout", "http-keep-alive"))
    if line is not None:
        remedy = f"change `{show(line.written)}` to `timeout http-keep-alive {{seconds}}s`"
        return Server(NAME, "", keep_alive, None, remedy, line.location)
    remedy = (
        f"add `timeout http-keep-alive {{seconds}}s` to the defaults section (or to {section.kind} "
        f"{section.name})"
    )
    return Server(
        NAME, "", keep_alive, None, remedy, section.parent.location if section.parent else section.location
    )
