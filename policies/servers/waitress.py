"""waitress (`waitress-serve`): closes idle connections after `--channel-timeout` seconds (default 120).

waitress does not time each connection: every `cleanup_interval` (30 s) its maintenance closes the
connections without a request in flight that have been inactive for longer than `channel_timeout`, so an
idle connection is closed 120 to 150 s after its last response. keepalive-guard reports the lower
bound, the moment waitress may close it. `waitress-serve` reads its options with getopt: long options
only, `--name=value` or `--name value`, unique prefixes accepted, and nothing after the application
(the first argument that is not an option), which waitress-serve refuses. There is no environment
variable or config file, and no per-request timeout (`channel_timeout` skips connections with a
request in flight).
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.model import UNKNOWN_PART, show
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Server
from policies.servers.units import integer

NAME = "waitress"
RECOGNISED = "`waitress-serve`, `python -m waitress`"
_DOCS = "https://docs.pylonsproject.org/projects/waitress/en/stable/arguments.html"
# src/waitress/adjustments.py: `channel_timeout = 120` ("Maximum seconds to leave an inactive connection
# open") and `cleanup_interval = 30`; server.py `readable()` runs `maintenance(now)` once per cleanup
# interval, which sets `will_close` on channels with `not channel.requests` and `last_activity < now -
# channel_timeout`. Measured with waitress 3.0.2: an idle connection closed 148 s after its response.
CHANNEL_TIMEOUT_DEFAULT = 120
CLEANUP_INTERVAL_DEFAULT = 30
_SOURCE = "https://github.com/Pylons/waitress/blob/main/src/waitress/server.py"

FACTS = (
    Fact(
        "waitress (`waitress-serve`)",
        "`--channel-timeout`, closed at the next cleanup (`--cleanup-interval`, 30 s)",
        f"{CHANNEL_TIMEOUT_DEFAULT} s",
        _DOCS,
    ),
)

# adjustments.py Adjustments._params: `asbool` options are flags (with a `no-` form), the others take a
# value. Adjustments.parse_args builds getopt's long options from them, plus --help and --call.
_FLAGS = frozenset(
    {
        "ipv4",
        "ipv6",
        "log-untrusted-proxy-headers",
        "clear-untrusted-proxy-headers",
        "log-socket-errors",
        "expose-tracebacks",
        "asyncore-use-poll",
    }
)
_VALUED = frozenset(
    {
        "host",
        "port",
        "listen",
        "threads",
        "trusted-proxy",
        "trusted-proxy-count",
        "trusted-proxy-headers",
        "url-scheme",
        "url-prefix",
        "backlog",
        "recv-bytes",
        "send-bytes",
        "outbuf-overflow",
        "outbuf-high-watermark",
        "inbuf-overflow",
        "connection-limit",
        "cleanup-interval",
        "channel-timeout",
        "max-request-header-size",
        "max-request-body-size",
        "ident",
        "asyncore-loop-timeout",
        "unix-socket",
        "unix-socket-perms",
        "sockets",
        "channel-request-lookahead",
        "server-name",
    }
)
_NAMES = _VALUED | _FLAGS | {f"no-{flag}" for flag in _FLAGS} | {"help", "call"}


def recognises(invocation: Invocation) -> bool:
    return invocation.program in ("waitress-serve", "waitress")


@dataclass(frozen=True)
class _Given:
    value: str
    written: str
    index: int  # of the value in the arguments


def _parse(args: tuple[str, ...]) -> tuple[dict[str, _Given], str]:
    """The options as getopt.getopt reads them (the last occurrence of each), or a reason why
    waitress-serve would refuse the command line."""
    given: dict[str, _Given] = {}
    index = 0
    while index < len(args) and args[index].startswith("--") and args[index] != "--":
        text = args[index][2:]
        name, equals, value = text.partition("=")
        matches = [known for known in _NAMES if known.startswith(name)]
        full = name if name in _NAMES else (matches[0] if len(matches) == 1 else None)
        if full is None:
            return {}, f"`{show(args[index])}` is not an option of waitress-serve, or a prefix of several"
        if full not in _VALUED and equals:
            return {}, f"`{show(args[index])}`: --{full} takes no value"
        if full in _VALUED:
            if not equals:
                if index + 1 >= len(args):
                    return {}, f"`{show(args[index])}` lacks its value"
                index += 1
                value = args[index]
            written = args[index] if equals else f"{args[index - 1]} {args[index]}"
            given[full] = _Given(value, written, index)
        index += 1
    if index < len(args) and args[index].startswith("-") and args[index] not in ("-", "--"):
        return {}, f"`{show(args[index])}`: waitress-serve takes long options only"
    rest = args[index + 1 :] if index < len(args) and args[index] == "--" else args[index:]
    if len(rest) != 1:
        shown = " ".join(show(arg) for arg in rest)
        return {}, f"waitress-serve takes exactly one application and no option after it, not `{shown}`"
    return given, ""


def analyse(invocation: Invocation) -> Server:
    given, problem = _parse(invocation.args)
    remedy = "add `--channel-timeout={seconds}` before the application in the waitress-serve command"
    if problem and any(UNKNOWN_PART in arg for arg in invocation.args):
        says = f"the waitress-serve command line `{show(' '.join(invocation.args))}` is not fully known"
        return Server(NAME, "", KeepAlive.unknown(Evidence(says, invocation.location)), None, remedy)
    if problem:
        evidence = Evidence(f"waitress-serve would refuse this command line: {problem}", invocation.location)
        return Server(NAME, "", KeepAlive.unknown(evidence), None, remedy, invocation.location)
    cleanup = given.get("cleanup-interval")
    interval = integer(cleanup.value) if cleanup is not None else CLEANUP_INTERVAL_DEFAULT
    found = given.get("channel-timeout")
    if found is None:
        says = f"no --channel-timeout given: waitress's default is {CHANNEL_TIMEOUT_DEFAULT} s"
        evidence = Evidence(_window(says, CHANNEL_TIMEOUT_DEFAULT, interval), invocation.location, _DOCS)
        keep_alive = KeepAlive.after(CHANNEL_TIMEOUT_DEFAULT, evidence)
        return Server(NAME, "", keep_alive, None, remedy, invocation.location)
    written = show(found.written)
    where = invocation.where(found.index)
    remedy = f"change `{written}` to `--channel-timeout={{seconds}}` in the waitress-serve command"
    seconds = integer(found.value)  # adjustments.py casts with int(): anything else stops waitress
    evidence = Evidence(f"`{written}` in the command", where)
    if seconds is None or seconds < 0:
        return Server(NAME, "", KeepAlive.unknown(evidence), None, remedy, where)
    evidence = Evidence(_window(evidence.says, seconds, interval), where, _SOURCE)
    return Server(NAME, "", KeepAlive.after(seconds, evidence), None, remedy, where)


def _window(says: str, seconds: int, interval: int | None) -> str:
    if interval is None or interval < 0:
        return f"{says}; it closes an idle connection at its next cleanup, whose interval is not known"
    return (
        f"{says}; it closes an idle connection at its next cleanup (every {interval} s), "
        f"so {seconds} to {seconds + interval} s after its last response"
    )
