"""Thruster (`thrust`, as Rails 8 Dockerfiles run it): the proxy the load balancer talks to.

`thrust ./bin/rails server` listens on HTTP_PORT (80) and proxies to the command it starts (Puma on
TARGET_PORT 3000), so Thruster's idle timeout is the one that meets the load balancer; Puma's only
concerns Thruster. Thruster is configured by environment variables only (internal/config.go), each also
accepted with a THRUSTER_ prefix that wins when set, read as whole seconds with strconv.Atoi: anything
else ("75s") is silently ignored and the default applies. It serves with Go's http.Server:
HTTP_IDLE_TIMEOUT (default 60 s) is IdleTimeout, and HTTP_WRITE_TIMEOUT (default 30 s) is WriteTimeout,
which cuts off any response not written within it after the request headers were read: a request bound.
"""

from __future__ import annotations

import re

from policies.model import UNKNOWN_PART, Location, Setting, show
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, RequestTimeout, Server

NAME = "thruster"
RECOGNISED = "`thrust` (`./bin/thrust ./bin/rails server` in Rails 8 images)"
_CONFIG = "https://github.com/basecamp/thruster/blob/main/internal/config.go"
# internal/config.go: defaultHttpIdleTimeout = 60 * time.Second (since v0.0.2), defaultHttpReadTimeout
# and defaultHttpWriteTimeout = 30 * time.Second; internal/server.go defaultHttpServer sets them as
# http.Server IdleTimeout, ReadTimeout and WriteTimeout.
IDLE_DEFAULT, READ_DEFAULT, WRITE_DEFAULT = 60, 30, 30
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


def analyse(invocation: Invocation) -> Server:
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
