"""granian: its HTTP/1 header read timeout (default 30 s) also closes idle keep-alive connections.

granian serves HTTP/1 with hyper and passes `--http1-header-read-timeout` (milliseconds, 1 to 60000) to
hyper's `header_read_timeout` together with a timer. hyper arms that timer whenever a connection waits
for the next request head, so an idle keep-alive connection is closed, without a word, after it: hyper
does so since 1.6.0, which granian 2.0 and later bundle (2.0.0 and 2.8.7 measured: closed after 30 s).
Older granian may have kept idle connections open, which cannot race; keepalive-guard assumes 2.0+.
The timeout cannot exceed 60 s, the load balancer's default idle timeout, so the fixes are a lower idle
timeout on the load balancer or `--no-http1-keep-alive`, with which every response says
`Connection: close`. Options come from the command line or from `GRANIAN_*` environment variables
(click's auto_envvar_prefix), the command line winning. `--http 2` serves HTTP/2 only, which this
catalog does not model. granian has no per-request timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.model import UNKNOWN_PART, Location, show
from policies.servers.argv import option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server
from policies.servers.units import integer

NAME = "granian"
RECOGNISED = "`granian`, `python -m granian`"
_CLI = "https://github.com/emmett-framework/granian/blob/master/granian/cli.py"
# granian/http.py HTTP1Settings: `header_read_timeout: int = 30_000`, `keep_alive: bool = True`; cli.py:
# `--http1-header-read-timeout`, `type=click.IntRange(1, 60_000)`, "Sets a timeout (in milliseconds) to
# read headers"; `--http1-keep-alive/--no-http1-keep-alive`; entrypoint: `cli(auto_envvar_prefix='GRANIAN')`.
TIMEOUT_DEFAULT_MS, TIMEOUT_MAX_MS = 30_000, 60_000
_TIMEOUT_ENV, _KEEP_ALIVE_ENV, _HTTP_ENV = (
    "GRANIAN_HTTP1_HEADER_READ_TIMEOUT",
    "GRANIAN_HTTP1_KEEP_ALIVE",
    "GRANIAN_HTTP",
)
# src/workers.rs: `http1::Builder::new().timer(...).header_read_timeout(...).keep_alive(...)`; hyper
# src/proto/h1/conn.rs starts the header read timer when the connection waits for a request head
# (hyperium/hyper#3828, hyper 1.6.0). With keep_alive(false) hyper answers `connection: close` (measured).
_HYPER = "https://github.com/hyperium/hyper/pull/3828"
# click.types.BoolParamType.bool_states, as click reads a boolean flag's environment variable.
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})

FACTS = (
    Fact(
        "granian 2.0+ (HTTP/1)",
        f"`--http1-header-read-timeout`, `{_TIMEOUT_ENV}` (at most 60000)",
        f"{TIMEOUT_DEFAULT_MS} ms",
        _CLI,
        "milliseconds",
    ),
    Fact(
        "granian with `--no-http1-keep-alive`",
        f"`Connection: close` on every response (`{_KEEP_ALIVE_ENV}=false`)",
        "no keep-alive",
        _CLI,
        "-",
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "granian"


@dataclass(frozen=True)
class _Value:
    text: str | None  # None: not known
    evidence: Evidence
    written: str = ""  # the option as written in the command, or the variable as NAME=value
    from_env: bool = False


def _setting(invocation: Invocation, flag: str, env: str) -> _Value | None:
    """An option from the command line, else from its GRANIAN_* variable; None when neither sets it."""
    found = option(invocation.args, (flag,))
    if found is not None:
        written = show(found.written)
        return _Value(
            found.value, Evidence(f"`{written}` in the command", invocation.where(found.index)), written
        )
    setting = invocation.env_value(env)
    if setting is None or setting.value == "":  # click reads an empty variable as unset
        return None
    if setting.value is None:
        return _Value(None, Evidence(f"{env} is not known ({setting.note})", setting.location), env, True)
    written = f"{env}={show(setting.value)}"
    return _Value(setting.value, Evidence(written, setting.location), written, True)


def _keep_alive_off(invocation: Invocation) -> _Value | None:
    """`--no-http1-keep-alive` (or GRANIAN_HTTP1_KEEP_ALIVE false) when it decides, with its evidence;
    a _Value with text "on" when keep-alive is explicitly on; None when nothing sets it."""
    on = option(invocation.args, ("--http1-keep-alive",), takes_value=False)
    off = option(invocation.args, ("--no-http1-keep-alive",), takes_value=False)
    last = max(
        (found for found in (on, off) if found is not None), key=lambda found: found.index, default=None
    )
    if last is not None:
        evidence = Evidence(f"`{last.written}` in the command", invocation.where(last.index))
        return _Value("off" if last is off else "on", evidence, last.written)
    setting = invocation.env_value(_KEEP_ALIVE_ENV)
    if setting is None or setting.value == "":
        return None
    if setting.value is None:
        says = f"{_KEEP_ALIVE_ENV} is not known ({setting.note})"
        return _Value(None, Evidence(says, setting.location), _KEEP_ALIVE_ENV, True)
    text = setting.value.strip().lower()
    state = "off" if text in _FALSE else "on" if text in _TRUE else None
    written = f"{_KEEP_ALIVE_ENV}={show(setting.value)}"
    return _Value(state, Evidence(written, setting.location), written, True)


def analyse(invocation: Invocation) -> Server:
    interface = option(invocation.args, ("--interface",))
    detail = f"{show(interface.value or '')} interface" if interface is not None else ""

    def unknown(evidence: Evidence) -> Server:
        return Server(NAME, detail, KeepAlive.unknown(evidence))

    http = _setting(invocation, "--http", _HTTP_ENV)
    if http is not None and (http.text is None or UNKNOWN_PART in http.text):
        return unknown(http.evidence)
    if http is not None and http.text == "2":
        says = (
            f"{http.evidence.says}: granian serves HTTP/2 only, whose idle connections keepalive-guard does not "
            "model (a target group speaking HTTP/1.1 cannot reach it at all)"
        )
        return unknown(Evidence(says, http.evidence.location))
    switch = _keep_alive_off(invocation)
    if switch is not None and switch.text is None:
        return unknown(switch.evidence)
    if switch is not None and switch.text == "off":
        says = f"{switch.evidence.says}: granian answers every request with `Connection: close`"
        evidence = Evidence(says, switch.evidence.location, _CLI)
        return Server(NAME, detail, KeepAlive(Mode.NO_KEEP_ALIVE, evidence))
    timeout = _setting(invocation, "--http1-header-read-timeout", _TIMEOUT_ENV)
    if timeout is None:
        says = (
            f"no --http1-header-read-timeout given: granian's default is {TIMEOUT_DEFAULT_MS} ms, which also "
            "closes idle keep-alive connections (granian 2.0+)"
        )
        evidence = Evidence(says, invocation.location, _CLI)
        remedy = _remedy(TIMEOUT_DEFAULT_MS, None)
        keep_alive = KeepAlive.after(TIMEOUT_DEFAULT_MS / 1000, evidence)
        return Server(NAME, detail, keep_alive, None, remedy, invocation.location)
    milliseconds = integer(timeout.text)
    where: Location = timeout.evidence.location or invocation.location
    if milliseconds is None or not 1 <= milliseconds <= TIMEOUT_MAX_MS:
        says = timeout.evidence.says
        if milliseconds is not None:
            says += f", which granian refuses: it takes 1 to {TIMEOUT_MAX_MS} ms"
        return unknown(Evidence(says, where))
    says = f"{timeout.evidence.says} (milliseconds), which also closes idle keep-alive connections"
    evidence = Evidence(says, where, _HYPER)
    keep_alive = KeepAlive.after(milliseconds / 1000, evidence)
    return Server(NAME, detail, keep_alive, None, _remedy(milliseconds, timeout), where)


def _remedy(milliseconds: int, given: _Value | None) -> str:
    """How to outlast the load balancer: granian's timeout cannot exceed 60 s, so it takes a lower idle
    timeout on the load balancer as well, or no keep-alive at all. No `{seconds}`: a longer value than
    60000 would be refused."""
    off = (
        f"set {_KEEP_ALIVE_ENV}=false"
        if given is not None and given.from_env
        else "add `--no-http1-keep-alive`"
    )
    if milliseconds >= TIMEOUT_MAX_MS:
        return f"{off} to turn keep-alive off (--http1-header-read-timeout cannot exceed {TIMEOUT_MAX_MS} ms)"
    if given is None:
        raise_it = (
            f"add `--http1-header-read-timeout {TIMEOUT_MAX_MS}` (granian's maximum) to the granian command"
        )
    elif given.from_env:
        raise_it = f"set {_TIMEOUT_ENV}={TIMEOUT_MAX_MS} (granian's maximum)"
    else:
        raise_it = (
            f"change `{given.written}` to `--http1-header-read-timeout {TIMEOUT_MAX_MS}` (granian's maximum)"
        )
    return f"{raise_it} and keep the load balancer's idle_timeout below 60 s, or {off} to turn keep-alive off"
