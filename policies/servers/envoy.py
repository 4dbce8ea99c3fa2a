"""Envoy as the container that receives the load balancer's traffic.

Envoy closes a downstream connection that has had no active request for the HTTP connection manager's
`common_http_protocol_options.idle_timeout`, 1 hour when it is not set; `0s` disables it. The value
lives in the bootstrap configuration (`-c`/`--config-path`, YAML or JSON); there is no flag or
environment variable for it. Any configuration may set it, so a configuration keepalive-guard cannot
see makes the keep-alive unknown (with the 1 h default named), the same as for nginx; the official
image's own /etc/envoy/envoy.yaml does not set it. Listeners from xDS (`dynamic_resources`) are not
visible either. A TCP proxy listener hands the connection to the upstream, whose keep-alive decides.

The YAML is read by a small reader for the block style such files are written in (mappings,
sequences, quoted and plain scalars, one-line flow collections); anchors, aliases, tags and
multi-document files make it give up, and the keep-alive is then unknown.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeAlias

from policies.model import UNKNOWN_PART, Location, show
from policies.servers.argv import option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server

NAME = "envoy"
RECOGNISED = (
    "`envoy -c FILE` (the official envoyproxy/envoy image), with its YAML or JSON configuration when the "
    "Dockerfile copies it"
)
_DOCS = "https://www.envoyproxy.io/docs/envoy/latest/faq/configuration/timeouts#connection-timeouts"
# api/envoy/config/core/v3/protocol.proto HttpProtocolOptions.idle_timeout: "If not specified, this
# defaults to 1 hour. To disable idle timeouts explicitly set this to 0."
DEFAULT_IDLE = 3600
# envoyproxy/envoy ci/Dockerfile-envoy: `ADD configs/envoyproxy_io_proxy.yaml /etc/envoy/envoy.yaml`,
# `ENTRYPOINT ["/docker-entrypoint.sh"]`, `CMD ["envoy", "-c", "/etc/envoy/envoy.yaml"]`. That
# configuration has one listener (port 10000) whose HTTP connection manager sets no idle_timeout.
_IMAGE_CONFIG = "/etc/envoy/envoy.yaml"
_IMAGE_SOURCE = "https://github.com/envoyproxy/envoy/blob/main/configs/envoyproxy_io_proxy.yaml"
_OFFICIAL = re.compile(r"^(docker\.io/)?envoyproxy/envoy(-alpine|-distroless)?(:(?!tools)[^@]*)?(@.*)?$")
_HCM = re.compile(r"(^|\.)(envoy\.filters\.network\.http_connection_manager|envoy\.http_connection_manager)$")
_HCM_TYPE = "HttpConnectionManager"
_TCP_PROXY = re.compile(r"(^|\.)(envoy\.filters\.network\.tcp_proxy|envoy\.tcp_proxy)$|TcpProxy$")

FACTS = (
    Fact(
        "Envoy",
        "`common_http_protocol_options.idle_timeout` of the HTTP connection manager",
        "1 h",
        _DOCS,
        'protobuf Duration ("3600s")',
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "envoy"


def image_command(image: str) -> tuple[str, ...] | None:
    return ("envoy", "-c", _IMAGE_CONFIG) if UNKNOWN_PART not in image and _OFFICIAL.match(image) else None


@dataclass(frozen=True)
class Scalar:
    """A scalar of a YAML or JSON document: its text, the line it is on, and whether it was quoted."""

    text: str
    line: int | None = None
    quoted: bool = False


Node: TypeAlias = "dict[str, Node] | list[Node] | Scalar"


class _NotSimple(Exception):
    """YAML this reader does not follow."""


def _strip_comment(line: str) -> str:
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'" and (index == 0 or line[index - 1] in " \t:-[{,"):
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


def _scalar(text: str, line: int) -> Scalar:
    text = text.strip()
    if text[:1] in ("&", "*", "!", "|", ">", "%", "@", "`"):
        raise _NotSimple(f"line {line}")
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return Scalar(text[1:-1].replace("''", "'"), line, True)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return Scalar(str(json.loads(text)), line, True)
        except ValueError:
            return Scalar(text[1:-1], line, True)
    if text[:1] in "\"'":
        raise _NotSimple(f"line {line}")
    return Scalar(text, line)


class _Flow:
    """A one-line flow collection: `[a, "b"]`, `{key: value, other: [1, 2]}`."""

    def __init__(self, text: str, line: int):
        self.text, self.line, self.position = text, line, 0

    def value(self) -> Node:
        self.space()
        char = self.text[self.position : self.position + 1]
        if char == "[":
            self.position += 1
            items: list[Node] = []
            while not self.ends("]"):
                items.append(self.value())
                self.separator("]")
            return items
        if char == "{":
            self.position += 1
            mapping: dict[str, Node] = {}
            while not self.ends("}"):
                key = self.plain(":")
                if not isinstance(key, Scalar) or self.text[self.position : self.position + 1] != ":":
                    raise _NotSimple(f"line {self.line}")
                self.position += 1
                mapping[key.text] = self.value()
                self.separator("}")
            return mapping
        return self.plain(",]}")

    def plain(self, stops: str) -> Node:
        self.space()
        start, quote = self.position, self.text[self.position : self.position + 1]
        if quote in ("'", '"'):
            end = self.text.find(quote, start + 1)
            while quote == '"' and end > 0 and self.text[end - 1] == "\\":
                end = self.text.find(quote, end + 1)
            if end < 0:
                raise _NotSimple(f"line {self.line}")
            self.position = end + 1
        else:
            while self.position < len(self.text) and self.text[self.position] not in stops:
                self.position += 1
        return _scalar(self.text[start : self.position], self.line)

    def space(self) -> None:
        while self.position < len(self.text) and self.text[self.position] == " ":
            self.position += 1

    def ends(self, closing: str) -> bool:
        self.space()
        if self.position >= len(self.text):
            raise _NotSimple(f"line {self.line}")
        if self.text[self.position] == closing:
            self.position += 1
            return True
        return False

    def separator(self, closing: str) -> None:
        self.space()
        if self.text[self.position : self.position + 1] == ",":
            self.position += 1
        elif self.text[self.position : self.position + 1] != closing:
            raise _NotSimple(f"line {self.line}")


def _flow(text: str, line: int) -> Node:
    reader = _Flow(text, line)
    value = reader.value()
    reader.space()
    if reader.position != len(text):
        raise _NotSimple(f"line {line}")
    return value


_KEY = re.compile(
    r"""("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'#\-\[\]{},&*!|>%@`][^#]*?|-[^\s][^#]*?)\s*:(?:\s+(.*)|$)"""
)


class _Block:
    """Block-style YAML, one document, indentation by spaces."""

    def __init__(self, text: str):
        self.lines: list[tuple[int, str, int]] = []  # (indent, content, line number)
        started = False
        for number, raw in enumerate(text.splitlines(), 1):
            content = _strip_comment(raw).rstrip()
            stripped = content.strip()
            if not stripped:
                continue
            if stripped in ("---", "..."):
                if started:
                    raise _NotSimple(f"a second document at line {number}")
                continue
            if stripped.startswith("%") or "\t" in content[: len(content) - len(content.lstrip())]:
                raise _NotSimple(f"line {number}")
            started = True
            self.lines.append((len(content) - len(content.lstrip(" ")), stripped, number))
        self.index = 0

    def document(self) -> Node:
        if not self.lines:
            return {}
        node = self.block(self.lines[0][0])
        if self.index != len(self.lines):
            raise _NotSimple(f"line {self.lines[self.index][2]}")
        return node

    def block(self, indent: int) -> Node:
        content = self.lines[self.index][1]
        if content == "-" or content.startswith("- "):
            return self.sequence(indent)
        if _KEY.fullmatch(content):
            return self.mapping(indent)
        line = self.lines[self.index][2]
        self.index += 1
        return _flow(content, line) if content[0] in "[{" else _scalar(content, line)

    def value(self, rest: str, indent: int, line: int) -> Node:
        """The value after `key:` or `- `, the rest of the line being `rest`."""
        self.index += 1
        if rest[:1] in ("|", ">"):
            while self.index < len(self.lines) and self.lines[self.index][0] > indent:
                self.index += 1  # a block scalar: its text does not matter here
            return Scalar("", line)
        if rest:
            return _flow(rest, line) if rest[0] in "[{" else _scalar(rest, line)
        if self.index < len(self.lines):
            following, content, _ = self.lines[self.index]
            if following > indent or (following == indent and (content == "-" or content.startswith("- "))):
                return self.block(following)
        return Scalar("", line)

    def mapping(self, indent: int) -> dict[str, Node]:
        result: dict[str, Node] = {}
        while self.index < len(self.lines) and self.lines[self.index][0] == indent:
            _, content, line = self.lines[self.index]
            match = _KEY.fullmatch(content)
            if match is None:
                break
            key = _scalar(match.group(1), line).text
            if key == "<<":
                raise _NotSimple(f"a merge key at line {line}")
            result[key] = self.value((match.group(2) or "").strip(), indent, line)
        if self.index < len(self.lines) and self.lines[self.index][0] > indent:
            raise _NotSimple(f"line {self.lines[self.index][2]}")
        return result

    def sequence(self, indent: int) -> list[Node]:
        items: list[Node] = []
        while self.index < len(self.lines) and self.lines[self.index][0] == indent:
            _, content, line = self.lines[self.index]
            if not (content == "-" or content.startswith("- ")):
                break
            rest = content[1:].lstrip()
            if rest and (_KEY.fullmatch(rest) or rest == "-" or rest.startswith("- ")):
                # `- key: value` starts a mapping (or a nested sequence) at the column of `key`
                inner = indent + len(content) - len(rest)
                self.lines[self.index] = (inner, rest, line)
                items.append(self.block(inner))
            else:
                items.append(self.value(rest, indent, line))
        return items


def load_yaml(text: str) -> Node | None:
    """A YAML document in the block style configuration files use, or None when it uses more of YAML
    than this reader follows (anchors, aliases, tags, several documents, multi-line flow)."""
    try:
        return _Block(text).document()
    except _NotSimple:
        return None


def from_json(value: Any) -> Node:
    """A parsed JSON document as the same nodes (no lines; strings quoted, numbers not)."""
    if isinstance(value, dict):
        return {str(key): from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    if isinstance(value, str):
        return Scalar(value, None, True)
    return Scalar(json.dumps(value), None, False)


def load_document(text: str, path: str) -> Node | None:
    """A JSON or YAML configuration file (JSON when it is named so or starts with `{`)."""
    if path.endswith(".json") or text.lstrip().startswith("{"):
        try:
            return from_json(json.loads(text))
        except ValueError:
            return None
    return load_yaml(text)


def child(node: Node | None, *keys: str) -> Node | None:
    """node[key][key]..., None when any step is missing."""
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _seconds(text: str) -> float | None:
    """A protobuf Duration in its JSON/YAML form: "3600s", "0.5s"."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", text.strip())
    return float(match.group(1)) if match else None


@dataclass(frozen=True)
class _Listener:
    name: str
    port: str
    idle: Scalar | None  # None: not set
    tcp: bool = False  # a TCP proxy rather than an HTTP connection manager


def _filters(listener: Node) -> list[Node]:
    chains = child(listener, "filter_chains")
    found = [chain for chain in chains if isinstance(chain, dict)] if isinstance(chains, list) else []
    default = child(listener, "default_filter_chain")
    if isinstance(default, dict):
        found.append(default)
    filters: list[Node] = []
    for chain in found:
        inner = child(chain, "filters")
        if isinstance(inner, list):
            filters.extend(inner)
    return filters


def _listeners(config: Node) -> list[_Listener] | str:
    """The static listeners with what their HTTP connection managers say, or why they are not known."""
    lds = child(config, "dynamic_resources", "lds_config")
    if lds is not None:
        return "its listeners come from xDS (dynamic_resources.lds_config), which keepalive-guard cannot see"
    listeners = child(config, "static_resources", "listeners")
    if not isinstance(listeners, list) or not listeners:
        return "it defines no static listeners"
    found: list[_Listener] = []
    for listener in listeners:
        name = child(listener, "name")
        port = child(listener, "address", "socket_address", "port_value")
        label = name.text if isinstance(name, Scalar) else "a listener"
        where = port.text if isinstance(port, Scalar) else "?"
        for each in _filters(listener):
            kind = child(each, "name")
            typed = child(each, "typed_config", "@type")
            kind_text = kind.text if isinstance(kind, Scalar) else ""
            typed_text = typed.text if isinstance(typed, Scalar) else ""
            if _HCM.search(kind_text) or typed_text.endswith(_HCM_TYPE):
                settings = child(each, "typed_config") or child(each, "config")
                idle = child(settings, "common_http_protocol_options", "idle_timeout")
                found.append(_Listener(label, where, idle if isinstance(idle, Scalar) else None))
            elif _TCP_PROXY.search(kind_text) or typed_text.endswith("TcpProxy"):
                found.append(_Listener(label, where, None, tcp=True))
    return found or "its listeners have no HTTP connection manager"


def _keep_alive(listener: _Listener, local: Location) -> KeepAlive:
    where = f"listener {listener.name} (port {listener.port})"
    if listener.idle is None:
        says = (
            f"the HTTP connection manager of {where} in {local.path} sets no idle_timeout: Envoy's default "
            "is 1 h"
        )
        return KeepAlive.after(DEFAULT_IDLE, Evidence(says, local, _DOCS))
    at = Location(local.path, listener.idle.line) if listener.idle.line else local
    evidence = Evidence(f"`idle_timeout: {show(listener.idle.text)}` in {where} of {local.path}", at, _DOCS)
    seconds = _seconds(listener.idle.text) if UNKNOWN_PART not in listener.idle.text else None
    if seconds is None:
        return KeepAlive.unknown(evidence)
    return KeepAlive(Mode.NO_TIMEOUT, evidence) if seconds == 0 else KeepAlive.after(seconds, evidence)


_REMEDY = (
    "set `common_http_protocol_options: {{idle_timeout: {seconds}s}}` in the HTTP connection manager of the "
    "listener"
)


def _unknown(says: str, location: Location) -> Server:
    label = 'the docker label `keepalive-guard.keep-alive-seconds = "{seconds}"`'
    declare = f"{_REMEDY}, and declare it with {label}"
    return Server(NAME, "", KeepAlive.unknown(Evidence(says, location, _DOCS)), None, declare)


def analyse(invocation: Invocation) -> Server:
    inline = option(invocation.args, ("--config-yaml",))
    if inline is not None and re.search(r"listeners|idle_timeout", inline.value or UNKNOWN_PART):
        return _unknown(
            "`--config-yaml` is merged into the bootstrap configuration, which keepalive-guard does not "
            "model",
            invocation.where(inline.index),
        )
    config = option(invocation.args, ("-c", "--config-path"))
    if config is None or not config.value or UNKNOWN_PART in config.value:
        return _unknown(
            "Envoy's configuration (-c) is not visible in the scanned files (Envoy's default idle_timeout "
            "is 1 h)",
            invocation.location,
        )
    path = config.value
    found = invocation.file(path)
    image = invocation.base_image.value or ""
    if found is None:
        stock = path == _IMAGE_CONFIG and UNKNOWN_PART not in image and _OFFICIAL.match(image)
        if stock:
            says = f"the official Envoy image's {_IMAGE_CONFIG} sets no idle_timeout: Envoy's default is 1 h"
            return Server(
                NAME,
                "",
                KeepAlive.after(DEFAULT_IDLE, Evidence(says, invocation.base_image.location, _IMAGE_SOURCE)),
                None,
                _REMEDY,
            )
        return _unknown(
            f"Envoy's configuration `{show(path)}` is not visible in the scanned files, and any "
            "configuration may set idle_timeout (Envoy's default is 1 h)",
            invocation.where(config.index),
        )
    local = found.location
    if found.text is None:
        return _unknown(f"{local.path} cannot be read ({found.problem})", local)
    document = load_document(found.text, path)
    if document is None:
        return _unknown(
            f"{local.path} uses YAML that keepalive-guard does not read (anchors, tags, several documents)",
            local,
        )
    listeners = _listeners(document)
    if isinstance(listeners, str):
        return _unknown(f"Envoy's configuration {local.path}: {listeners}", local)
    if any(listener.tcp for listener in listeners):
        names = ", ".join(listener.name for listener in listeners if listener.tcp)
        return _unknown(
            f"Envoy proxies TCP on {names} ({local.path}): the upstream's keep-alive decides", local
        )
    if "reduce_timeouts" in found.text:
        return _unknown(
            f"{local.path} configures the overload action reduce_timeouts, which shortens idle_timeout "
            "under load",
            local,
        )
    results = [(listener, _keep_alive(listener, local)) for listener in listeners]
    if len({(keep.mode, keep.seconds) for _, keep in results}) > 1:
        shown = "; ".join(f"{keep.describe()} ({keep.evidence})" for _, keep in results)
        return _unknown(
            f"Envoy's listeners differ, and which one receives the traffic is not known: {shown}", local
        )
    listener, keep_alive = next(((each, keep) for each, keep in results if each.idle is not None), results[0])
    if listener.idle is None:
        return Server(NAME, "", keep_alive, None, _REMEDY, local)
    remedy = f"change `idle_timeout: {show(listener.idle.text)}` to `idle_timeout: {{seconds}}s`"
    return Server(NAME, "", keep_alive, None, remedy, keep_alive.evidence.location)
