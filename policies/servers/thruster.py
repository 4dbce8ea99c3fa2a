"""Thruster (`thrust`, as Rails 8 Dockerfiles run it): the proxy the load balancer talks to.

`thrust ./bin/rails server` listens on HTTP_PORT (80) and proxies to the command it starts (Puma on
TARGET_PORT 3000, which Thruster hands it as PORT), so when the load balancer sends traffic to HTTP_PORT,
Thruster's idle timeout is the one that meets it and Puma's only concerns Thruster. When the load
balancer's port is TARGET_PORT, it talks to the upstream directly: that command is analysed instead.
When it is neither, nothing Thruster starts listens there as far as the configuration shows. Thruster is configured by environment variables only (internal/config.go), each also
accepted with a THRUSTER_ prefix that wins when set, read as whole seconds with strconv.Atoi: anything
else ("75s") is silently ignored and the default applies. It serves with Go's http.Server:
HTTP_IDLE_TIMEOUT (default 60 s) is IdleTimeout, and HTTP_WRITE_TIMEOUT (default 30 s) is WriteTimeout,
which cuts off any response not written within it after the request headers were read: a request bound.
"""

from __future__ import annotations

import re
from dataclasses import replace

from policies.model import UNKNOWN_PART, Location, Setting, show
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, RequestTimeout, Server

NAME = "thruster"
RECOGNISED = "`thrust` (`./bin/thrust ./bin/rails server` in Rails 8 images)"
_CONFIG = "https://github.com/basecamp/thruster/blob/main/internal/config.go"
# internal/config.go: defaultHttpIdleTimeout = 60 * time.Second (since v0.0.2), defaultHttpReadTimeout
# and defaultHttpWriteTimeout = 30 * time.Second; internal/server.go defaultHttpServer sets them as
# http.Server IdleTimeout, ReadTimeout and WriteTimeout.
IDLE_DEFAULT, READ_DEFAULT, WRITE_DEFAULT = 60, 30, 30
# internal/config.go: defaultHttpPort = 80, defaultHttpsPort = 443 (served too when TLS_DOMAIN is set,
# with the same timeouts), defaultTargetPort = 3000; internal/service.go setEnvironment: `os.Setenv("PORT",
# TargetPort)` for the upstream process.
HTTP_PORT_DEFAULT, HTTPS_PORT_DEFAULT, TARGET_PORT_DEFAULT = 80, 443, 3000
# Go net/http: "IdleTimeout ... If zero, the value of ReadTimeout is used. If negative, or if zero and
# ReadTimeout is zero or negative, there is no timeout" (negative only from Go 1.23, hence unknown here).
# "WriteTimeout is the maximum duration before timing out writes of the response. It is reset whenever a
# new request's header is read." (measured: a 35 s request gets an empty reply, basecamp/thruster#104)
_GO_SERVER = "https://pkg.go.dev/net/http#Server"
_PREFIX = "THRUSTER_"

FACTS = (
    Fact(
        "Thruster (`thrust`)",
        "`HTTP_IDLE_TIMEOUT` / `THRUSTER_HTTP_IDLE_TIMEOUT`",
        f"{IDLE_DEFAULT} s",
        _CONFIG,
        "whole seconds",
    ),
    Fact(
        "Thruster request bound",
        "`HTTP_WRITE_TIMEOUT` / `THRUSTER_HTTP_WRITE_TIMEOUT`",
        f"{WRITE_DEFAULT} s",
        _CONFIG,
        "whole seconds",
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "thrust"


def _variable(invocation: Invocation, key: str) -> tuple[str, Setting[str]] | None:
    """config.go findEnv: THRUSTER_<key> when set (even to something unusable), else <key>."""
    for name in (_PREFIX + key, key):
        setting = invocation.env_value(name)
        if setting is not None:
            return name, setting
    return None


def _seconds(invocation: Invocation, key: str, default: int) -> tuple[int | None, Evidence]:
    """A Thruster duration setting in whole seconds, and how it was decided; None when not known."""
    found = _variable(invocation, key)
    if found is None:
        says = f"{key} not set: Thruster's default is {default} s"
        return default, Evidence(says, invocation.location, _CONFIG)
    name, setting = found
    if setting.value is None:
        return None, Evidence(f"{name} is not known ({setting.note})", setting.location)
    if UNKNOWN_PART in setting.value:
        return None, Evidence(f"{name}={show(setting.value)}", setting.location)
    if not re.fullmatch(r"[+-]?\d+", setting.value):  # strconv.Atoi, as config.go getEnvDuration uses
        says = (
            f"{name}={setting.value} is not a whole number of seconds, which Thruster silently ignores: "
            f"its default {default} s applies"
        )
        return default, Evidence(says, setting.location, _CONFIG)
    return int(setting.value), Evidence(f"{name}={setting.value}", setting.location)


def _port(invocation: Invocation, key: str, default: int) -> tuple[int | None, str]:
    """A port Thruster reads (getEnvInt: strconv.Atoi, else the default), and how it was decided; None
    when not known."""
    found = _variable(invocation, key)
    if found is None:
        return default, f"{key} is not set: {default}"
    name, setting = found
    if setting.value is None:
        return None, f"{name} is not known ({setting.note})"
    if UNKNOWN_PART in setting.value:
        return None, f"{name}={show(setting.value)} is not known"
    if not re.fullmatch(r"[+-]?\d+", setting.value):
        return default, f"{name}={setting.value} is not a number, so {default}"
    return int(setting.value), f"{name}={setting.value}"


def analyse(invocation: Invocation) -> Server:
    port = invocation.port
    if port is None:
        return _thruster(invocation)
    http, http_says = _port(invocation, "HTTP_PORT", HTTP_PORT_DEFAULT)
    target, target_says = _port(invocation, "TARGET_PORT", TARGET_PORT_DEFAULT)
    https, https_says = _port(invocation, "HTTPS_PORT", HTTPS_PORT_DEFAULT)
    tls = _variable(invocation, "TLS_DOMAIN")
    own = [http] + ([https] if tls is not None and tls[1].value != "" else [])
    if port in own or None in own:
        return _thruster(invocation)
    if target == port:
        return _upstream(invocation, port, f"{http_says}; {target_says}")
    listening = f"Thruster listens on {http} ({http_says})" + (
        f" and {https} ({https_says})" if len(own) > 1 else ""
    )
    if target is None:
        says = (
            f"{listening}, not on {port}, the port the load balancer sends traffic to, and {target_says}: whether "
            "the upstream Thruster starts listens there is not known"
        )
    else:
        says = (
            f"{listening} and its upstream on {target} ({target_says}): neither is {port}, the port the load "
            "balancer sends traffic to, so what serves that port is not known"
        )
    if invocation.build is None:
        # the image's ENV is not visible, and HTTP_PORT set there is how such an image moves Thruster
        server = _thruster(invocation)
        evidence = server.keep_alive.evidence
        says = (
            f"{evidence.says}; {listening} as far as the task shows, not on {port}, where the load balancer "
            "sends traffic: HTTP_PORT is taken to be set in the image's ENV, which is not visible"
        )
        return replace(server, keep_alive=replace(server.keep_alive, evidence=replace(evidence, says=says)))
    keep_alive = KeepAlive.unknown(Evidence(says, invocation.location, _CONFIG))
    return Server(NAME, _detail(invocation), keep_alive, None, f"set HTTP_PORT={port}")


def _shown(invocation: Invocation) -> str:
    return show(" ".join(invocation.args))


def _detail(invocation: Invocation) -> str:
    return f"proxying to `{_shown(invocation)}`" if invocation.args else ""


def _upstream(invocation: Invocation, port: int, ports: str) -> Server:
    """The load balancer talks to the command Thruster starts, on TARGET_PORT: that server decides."""
    from policies.servers import SERVERS  # the registry, which lists this module: imported when needed

    note = (
        f"the load balancer sends traffic to port {port}, TARGET_PORT ({ports}), where `{_shown(invocation)}` "
        "listens behind Thruster (which passes it as PORT), so Thruster's own idle timeout does not meet it"
    )
    upstream = replace(
        invocation,
        argv=invocation.args,
        env={**invocation.env, "PORT": Setting(str(port), invocation.location, note="set by Thruster")},
        locations=invocation.locations[1:],
    )
    family = next((family for family in SERVERS if family.recognises(upstream)), None)
    if family is None or not upstream.argv:
        says = f"{note}, and it is not a server keepalive-guard recognises"
        return Server(
            NAME, _detail(invocation), KeepAlive.unknown(Evidence(says, invocation.location, _CONFIG))
        )
    server: Server = family.analyse(upstream)
    evidence = server.keep_alive.evidence
    keep_alive = replace(server.keep_alive, evidence=replace(evidence, says=f"{evidence.says} ({note})"))
    detail = f"{server.detail}, behind thruster" if server.detail else "behind thruster"
    return replace(server, detail=detail, keep_alive=keep_alive)


def _thruster(invocation: Invocation) -> Server:
    upstream = show(" ".join(invocation.args))
    detail = f"proxying to `{upstream}`" if upstream else ""
    idle, evidence = _seconds(invocation, "HTTP_IDLE_TIMEOUT", IDLE_DEFAULT)
    found = _variable(invocation, "HTTP_IDLE_TIMEOUT")
    name = found[0] if found is not None and found[1].value is not None else "HTTP_IDLE_TIMEOUT"
    where: Location = found[1].location if found is not None else invocation.location
    remedy = f"set {name}={{seconds}}"
    request_timeout = _request_timeout(invocation)
    if upstream:
        evidence = Evidence(
            f"{evidence.says} (the load balancer talks to Thruster, not to `{upstream}` behind it)",
            evidence.location,
            evidence.source,
        )
    if idle is None or idle < 0:
        return Server(NAME, detail, KeepAlive.unknown(evidence), request_timeout, remedy, where)
    if idle == 0:
        read, read_evidence = _seconds(invocation, "HTTP_READ_TIMEOUT", READ_DEFAULT)
        says = f"{evidence.says}, so Go's http.Server uses the read timeout instead: {read_evidence.says}"
        evidence = Evidence(says, evidence.location, _GO_SERVER)
        if read is None or read < 0:
            return Server(NAME, detail, KeepAlive.unknown(evidence), request_timeout, remedy, where)
        if read == 0:
            keep_alive = KeepAlive(Mode.NO_TIMEOUT, evidence)
            return Server(NAME, detail, keep_alive, request_timeout, remedy, where)
        idle = read
    return Server(NAME, detail, KeepAlive.after(idle, evidence), request_timeout, remedy, where)


def _request_timeout(invocation: Invocation) -> RequestTimeout | None:
    seconds, evidence = _seconds(invocation, "HTTP_WRITE_TIMEOUT", WRITE_DEFAULT)
    if seconds is None or seconds <= 0:
        return None
    says = f"{evidence.says}; Go's http.Server cuts off a response not written within it"
    return RequestTimeout(seconds, Evidence(says, evidence.location, _GO_SERVER))
