"""Envoy as the container that receives the load balancer's traffic.

Envoy closes a downstream connection that has had no active request for the HTTP connection manager's
`common_http_protocol_options.idle_timeout`, 1 hour when it is not set; `0s` disables it. The value
lives in the bootstrap configuration (`-c`/`--config-path`, YAML or JSON); there is no flag or
environment variable for it. Any configuration may set it, so a configuration keepalive-guard cannot
see makes the keep-alive unknown (with the 1 h default named), the same as for nginx; the official
image's own /etc/envoy/envoy.yaml does not set it. Listeners from xDS (`dynamic_resources`) are not
visible either. A TCP proxy listener hands the connection to the upstream, whose keep-alive decides.

When the container port the load balancer targets is known, the listener whose
`socket_address.port_value` is that port is the one that counts; when none is, Envoy does not serve
that port as far as its configuration shows, so the keep-alive is unknown. When the port is not known,
all listeners must agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from policies.model import UNKNOWN_PART, Location, show
from policies.servers.argv import option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server
from policies.servers.documents import Node, Scalar, child, load_document

NAME = "envoy"
RECOGNISED = (
    "`envoy -c FILE` (the official envoyproxy/envoy image, also with options alone), with its YAML or JSON "
    "configuration when the Dockerfile copies it"
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


def image_entrypoint(image: str, command: tuple[str, ...]) -> tuple[str, ...] | None:
    """A command of options runs Envoy with them: the official image's /docker-entrypoint.sh
    (envoyproxy/envoy distribution/docker/docker-entrypoint.sh, formerly ci/docker-entrypoint.sh): "if the
    first argument look like a parameter (i.e. start with '-'), run Envoy": `set -- envoy "$@"`. The
    distroless image's ENTRYPOINT is envoy itself (distribution/docker/Dockerfile-envoy)."""
    if not command or not command[0].startswith("-"):
        return None
    return ("envoy",) if UNKNOWN_PART not in image and _OFFICIAL.match(image) else None


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
    ports: frozenset[int] = frozenset()  # the ports it listens on, as far as they are known


def _ports(listener: Node) -> frozenset[int]:
    """`address.socket_address.port_value` and those of `additional_addresses`."""
    addresses = [child(listener, "address")]
    more = child(listener, "additional_addresses")
    addresses += [child(each, "address") for each in more] if isinstance(more, list) else []
    values = [child(address, "socket_address", "port_value") for address in addresses]
    return frozenset(
        int(value.text) for value in values if isinstance(value, Scalar) and value.text.isdecimal()
    )


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
        ports = _ports(listener)
        for each in _filters(listener):
            kind = child(each, "name")
            typed = child(each, "typed_config", "@type")
            kind_text = kind.text if isinstance(kind, Scalar) else ""
            typed_text = typed.text if isinstance(typed, Scalar) else ""
            if _HCM.search(kind_text) or typed_text.endswith(_HCM_TYPE):
                settings = child(each, "typed_config") or child(each, "config")
                idle = child(settings, "common_http_protocol_options", "idle_timeout")
                found.append(_Listener(label, where, idle if isinstance(idle, Scalar) else None, ports=ports))
            elif _TCP_PROXY.search(kind_text) or typed_text.endswith("TcpProxy"):
                found.append(_Listener(label, where, None, tcp=True, ports=ports))
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
            f"{local.path} is not one YAML or JSON document that keepalive-guard can read (it is empty, "
            "invalid, holds several documents, or grows beyond any configuration through aliases)",
            local,
        )
    every = _listeners(document)
    if isinstance(every, str):
        return _unknown(f"Envoy's configuration {local.path}: {every}", local)
    port = invocation.port
    # a listener whose port is not visible (no socket_address port_value) may be the one on the port
    receiving = [
        listener for listener in every if port is not None and (port in listener.ports or not listener.ports)
    ]
    if port is not None and not receiving:
        listening = ", ".join(f"{listener.name} on {listener.port}" for listener in every)
        return _unknown(
            f"no listener of Envoy's configuration {local.path} with an HTTP connection manager or a TCP "
            f"proxy listens on {port}, the port the load balancer sends traffic to ({listening}), so the "
            "keep-alive of what serves that port is not known",
            local,
        )
    listeners = receiving or every
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
        which = f"HTTP connection managers on port {port}" if receiving else "listeners"
        return _unknown(
            f"Envoy's {which} differ, and which one receives the traffic is not known: {shown}", local
        )
    listener, keep_alive = next(((each, keep) for each, keep in results if each.idle is not None), results[0])
    if len(receiving) < len(every) and receiving:
        evidence = keep_alive.evidence
        says = f"{evidence.says} (the listener on port {port}, where the load balancer sends the traffic)"
        keep_alive = replace(keep_alive, evidence=replace(evidence, says=says))
    if listener.idle is None:
        return Server(NAME, "", keep_alive, None, _REMEDY, local)
    remedy = f"change `idle_timeout: {show(listener.idle.text)}` to `idle_timeout: {{seconds}}s`"
    return Server(NAME, "", keep_alive, None, remedy, keep_alive.evidence.location)
