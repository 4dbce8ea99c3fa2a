"""Caddy as the container that receives the load balancer's traffic.

Caddy's HTTP servers close idle connections after `idle_timeout`, 5 minutes when it is not set (or set
to 0) since v2.3.0 (modules/caddyhttp/app.go defaultIdleTimeout); before that, Go's http.Server
default: never. It is set in the Caddyfile's global options (`servers [address] { timeouts { idle
75s } }`) or the JSON config (`apps.http.servers.<name>.idle_timeout`), with durations as
caddy.ParseDuration reads them: Go durations plus `d` for days; a JSON number is nanoseconds.
`caddy reverse-proxy`, `file-server` and `respond` build their config in code, with the default.
The configuration is read where a known Dockerfile copies it; the official image's own
/etc/caddy/Caddyfile sets no global options.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from policies.model import UNKNOWN_PART, ImageFile, Location, show
from policies.servers import units
from policies.servers.argv import option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server, library_image

NAME = "caddy"
RECOGNISED = (
    "`caddy run`, `caddy reverse-proxy`, `caddy file-server` (the official caddy image), with the Caddyfile "
    "or JSON config when the Dockerfile copies it"
)
_DOCS = "https://caddyserver.com/docs/caddyfile/options#timeouts"
_JSON_DOCS = "https://caddyserver.com/docs/json/apps/http/servers/idle_timeout/"
# modules/caddyhttp/app.go: `defaultIdleTimeout = caddy.Duration(5 * time.Minute)`, applied when
# `srv.IdleTimeout == 0`; commit 1438e4db "New idle_timeout default of 5m", first in v2.3.0.
DEFAULT_IDLE, DEFAULT_SINCE = 300, (2, 3)
# caddyserver/caddy-docker 2.x/alpine/Dockerfile: `CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile",
# "--adapter", "caddyfile"]`; /etc/caddy/Caddyfile is caddyserver/dist config/Caddyfile, a file server on
# :80 without global options.
_IMAGE_CONFIG = "/etc/caddy/Caddyfile"
_OFFICIAL = library_image("caddy", r"(:(?!builder)[^@]*)?(@.*)?$")
_BUILT_IN = frozenset({"reverse-proxy", "file-server", "respond"})

FACTS = (
    Fact(
        "Caddy (v2.3.0+)",
        "`servers { timeouts { idle } }` (Caddyfile), `idle_timeout` (JSON)",
        "5 min",
        _DOCS,
        "Go duration plus d (JSON number: nanoseconds)",
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "caddy"


def image_command(image: str) -> tuple[str, ...] | None:
    if UNKNOWN_PART in image or not _OFFICIAL.match(image):
        return None
    return ("caddy", "run", "--config", _IMAGE_CONFIG, "--adapter", "caddyfile")


def duration(text: str) -> float | None:
    """caddy.ParseDuration (caddy.go): time.ParseDuration plus the unit `d` (24 h), in seconds."""
    if UNKNOWN_PART in text:
        return None
    hours = re.sub(r"(\d+(?:\.\d+)?)d", lambda match: f"{float(match.group(1)) * 24:g}h", text.strip())
    return units.go_duration(hours)


@dataclass(frozen=True)
class _Entry:
    """A Caddyfile line: its words, and the block it opens."""

    words: tuple[str, ...]
    line: int
    block: tuple[_Entry, ...] | None


class _Unreadable(Exception):
    """The Caddyfile cannot be followed: the message says why."""


def _tokens(text: str) -> list[tuple[str, int]]:
    """caddyfile/lexer.go: words separated by white space, "quoted" or `backquoted`, `#` comments."""
    found: list[tuple[str, int]] = []
    for match in re.finditer(r'"((?:[^"\\]|\\.)*)"|`([^`]*)`|(#[^\n]*)|(\S+)', text):
        line = text.count("\n", 0, match.start()) + 1
        if match.group(3) is not None:
            continue
        if match.group(1) is not None:
            found.append((re.sub(r'\\(["\\])', r"\1", match.group(1)), line))
        elif match.group(2) is not None:
            found.append((match.group(2), line))
        else:
            found.append((match.group(4), line))
    return found


def _entries(tokens: list[tuple[str, int]]) -> tuple[_Entry, ...]:
    position = 0

    def block(closed: bool) -> tuple[_Entry, ...]:
        nonlocal position
        entries: list[_Entry] = []
        while position < len(tokens):
            word, line = tokens[position]
            if word == "}":
                if not closed:
                    raise _Unreadable(f"an unexpected '}}' at line {line}")
                position += 1
                return tuple(entries)
            words: list[str] = []
            while (
                position < len(tokens)
                and tokens[position][1] == line
                and tokens[position][0] not in ("{", "}")
            ):
                words.append(tokens[position][0])
                position += 1
            inner = None
            if position < len(tokens) and tokens[position][0] == "{" and tokens[position][1] == line:
                position += 1
                inner = block(True)
            entries.append(_Entry(tuple(words), line, inner))
        if closed:
            raise _Unreadable("the file ends inside a block")
        return tuple(entries)

    return block(False)


@dataclass(frozen=True)
class _Timeout:
    """The idle timeout one server gets: `text` None for the default."""

    text: str | None
    written: str
    location: Location | None
    nanoseconds: bool = False  # a JSON number


def _caddyfile(file: ImageFile, invocation: Invocation) -> list[_Timeout] | str:
    text = file.text or ""

    def variable(match: re.Match[str]) -> str:  # parse.go replaceEnvVars: {$NAME} and {$NAME:default}
        setting = invocation.env_value(match.group(1))
        if setting is None:
            return match.group(2) or ""
        return setting.value if setting.value is not None else UNKNOWN_PART

    text = re.sub(r"\{\$([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}", variable, text)
    try:
        entries = _entries(_tokens(text))
    except _Unreadable as problem:
        return f"{file.location.path} cannot be followed: {problem}"
    if not entries or entries[0].words or entries[0].block is None:
        return [_Timeout(None, "", None)]  # no global options block
    global_options = entries[0].block
    if any(entry.words[:1] == ("import",) for entry in global_options):
        return f"the global options of {file.location.path} import a snippet, which is not followed"
    found: list[_Timeout] = []
    for entry in global_options:
        if entry.words[:1] != ("servers",):
            continue
        idle = next(
            (
                each
                for timeouts in entry.block or ()
                if timeouts.words == ("timeouts",)
                for each in timeouts.block or ()
                if each.words[:1] == ("idle",)
            ),
            None,
        )
        address = f" {entry.words[1]}" if len(entry.words) > 1 else ""
        if idle is not None and len(idle.words) != 2:
            return f"`{' '.join(idle.words)}` at {file.location.path}:{idle.line} is not `idle <duration>`"
        if idle is None:
            found.append(_Timeout(None, f"servers{address}", Location(file.location.path, entry.line)))
        else:
            written = f"servers{address} {{ timeouts {{ idle {idle.words[1]} }} }}"
            found.append(_Timeout(idle.words[1], written, Location(file.location.path, idle.line)))
    if not any(len(entry.words) == 1 for entry in global_options if entry.words[:1] == ("servers",)):
        found.append(_Timeout(None, "", None))  # servers that no unaddressed `servers` block covers
    return found


def _json(file: ImageFile) -> list[_Timeout] | str:
    try:
        config = json.loads(file.text or "")
    except (ValueError, RecursionError) as error:
        return f"{file.location.path} is not valid JSON ({error})"
    servers = config
    for key in ("apps", "http", "servers"):
        servers = servers.get(key) if isinstance(servers, dict) else None
    if not isinstance(servers, dict) or not servers:
        return f"{file.location.path} defines no HTTP servers"
    found: list[_Timeout] = []
    for name, server in servers.items():
        idle = server.get("idle_timeout") if isinstance(server, dict) else None
        written = f"apps.http.servers.{name}.idle_timeout: {json.dumps(idle)}"
        if idle is None:
            found.append(_Timeout(None, f"apps.http.servers.{name}", file.location))
        else:
            found.append(_Timeout(str(idle), written, file.location, isinstance(idle, (int, float))))
    return found


def _version(image: str | None) -> tuple[int, ...] | None:
    """The Caddy version an official image's tag names (caddy:2.7.6, caddy:2.2-alpine); a tag without
    a minor (caddy:2, caddy:latest) floats to the newest release."""
    if not image or UNKNOWN_PART in image or not _OFFICIAL.match(image):
        return None
    tag = image.split("@", 1)[0].rpartition(":")[2] if ":" in image.rsplit("/", 1)[-1] else ""
    match = re.match(r"v?(\d+)\.(\d+)", tag)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _evaluate(timeout: _Timeout, where: str, invocation: Invocation) -> KeepAlive:
    if timeout.text is not None:
        seconds = float(timeout.text) / 1e9 if timeout.nanoseconds else duration(timeout.text)
        evidence = Evidence(f"`{show(timeout.written)}` in {where}", timeout.location, _DOCS)
        if seconds is None or seconds < 0:
            return KeepAlive.unknown(evidence)
        if seconds > 0:
            return KeepAlive.after(seconds, evidence)
    version = _version(invocation.base_image.value)
    if version is not None and version < DEFAULT_SINCE:
        says = f"no idle timeout in {where}: before Caddy 2.3 idle connections are never closed"
        return KeepAlive(Mode.NO_TIMEOUT, Evidence(says, timeout.location, _JSON_DOCS))
    says = f"no idle timeout in {where}: Caddy's default is 5 min (since 2.3)"
    return KeepAlive.after(DEFAULT_IDLE, Evidence(says, timeout.location, _JSON_DOCS))


def _unknown(says: str, location: Location) -> Server:
    remedy = (
        "set `servers {{ timeouts {{ idle {seconds}s }} }}` in the Caddyfile's global options, and declare "
        'it with the docker label `keepalive-guard.keep-alive-seconds = "{seconds}"`'
    )
    return Server(NAME, "", KeepAlive.unknown(Evidence(says, location, _DOCS)), None, remedy)


_REMEDY = "set `servers {{ timeouts {{ idle {seconds}s }} }}` in the Caddyfile's global options"


def analyse(invocation: Invocation) -> Server:
    command = invocation.args[0] if invocation.args else ""
    if command in _BUILT_IN:
        timeout = _Timeout(None, "", invocation.location)
        keep_alive = _evaluate(timeout, f"`caddy {command}`, which builds its config in code", invocation)
        remedy = (
            "run Caddy with a Caddyfile that sets `servers {{ timeouts {{ idle {seconds}s }} }}` in its "
            f"global options instead of `caddy {command}`"
        )
        return Server(NAME, command, keep_alive, None, remedy, invocation.location)
    if command not in ("run", "start"):
        return _unknown(
            f"`caddy {show(command)}` is not a command keepalive-guard knows to serve", invocation.location
        )
    if option(invocation.args, ("--resume",), takes_value=False) is not None:
        return _unknown(
            "`--resume` runs the last configuration Caddy saved, which is not visible", invocation.location
        )
    config = option(invocation.args, ("--config", "-c"))
    adapter = option(invocation.args, ("--adapter", "-a"))
    path = config.value if config is not None and config.value else "Caddyfile"
    if UNKNOWN_PART in path:
        return _unknown(f"Caddy's configuration `{show(path)}` is not known", invocation.location)
    found = invocation.file(path)
    image = invocation.base_image
    if found is None:
        if (
            path == _IMAGE_CONFIG
            and image.value
            and UNKNOWN_PART not in image.value
            and _OFFICIAL.match(image.value)
        ):
            timeout = _Timeout(None, "", image.location)
            return Server(
                NAME,
                "",
                _evaluate(timeout, f"the official Caddy image's {_IMAGE_CONFIG}", invocation),
                None,
                _REMEDY,
            )
        return _unknown(
            f"Caddy's configuration `{show(path)}` is not visible in the scanned files (Caddy's default idle "
            "timeout is 5 min)",
            invocation.location,
        )
    if found.text is None:
        return _unknown(f"{found.location.path} cannot be read ({found.problem})", found.location)
    name = path.rsplit("/", 1)[-1]
    kind = (
        adapter.value
        if adapter is not None
        else ("caddyfile" if name.startswith("Caddyfile") or name.endswith(".caddyfile") else "json")
    )
    if kind not in ("caddyfile", "json"):
        return _unknown(
            f"Caddy's configuration {found.location.path} uses the {show(kind or '')} adapter, which "
            "keepalive-guard does not read",
            found.location,
        )
    timeouts = _caddyfile(found, invocation) if kind == "caddyfile" else _json(found)
    if isinstance(timeouts, str):
        return _unknown(timeouts, found.location)
    results = [(timeout, _evaluate(timeout, found.location.path, invocation)) for timeout in timeouts]
    if len({(keep.mode, keep.seconds) for _, keep in results}) > 1:
        shown = "; ".join(f"{keep.describe()} ({keep.evidence})" for _, keep in results)
        return _unknown(
            f"Caddy's servers differ, and which one receives the traffic is not known: {shown}",
            found.location,
        )
    timeout, keep_alive = next(((t, k) for t, k in results if t.text is not None), results[0])
    if keep_alive.evidence.location is None:
        keep_alive = KeepAlive(
            keep_alive.mode,
            Evidence(keep_alive.evidence.says, found.location, keep_alive.evidence.source),
            keep_alive.seconds,
        )
    if timeout.text is not None and kind == "caddyfile":
        return Server(
            NAME,
            "",
            keep_alive,
            None,
            f"change `idle {timeout.text}` to `idle {{seconds}}s`",
            timeout.location,
        )
    if kind == "json":
        return Server(
            NAME,
            "",
            keep_alive,
            None,
            'set `"idle_timeout": "{seconds}s"` on the server in the JSON config',
            found.location,
        )
    return Server(NAME, "", keep_alive, None, _REMEDY, found.location)
