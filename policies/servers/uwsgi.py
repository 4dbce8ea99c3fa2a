"""uWSGI: three HTTP modes, none of which keeps connections alive by default.

* `--http-socket`: one request per connection, always (proto/http.c closes the fd).
* `--http11-socket`: keeps connections, closing them after `--socket-timeout` (default 4 s).
* `--http` (the HTTP router): keep-alive only with `--http-keepalive`. The option takes an *optional*
  argument (getopt), so only `--http-keepalive=75` sets 75; a bare `--http-keepalive` means on, with
  `--http-timeout` (default 60 s) as the idle timeout — and in `--http-keepalive 75` the 75 is not its value.
`--harakiri` is a request timeout, not a keep-alive setting. Options may also come from `UWSGI_*`
environment variables (lowercased, `_` as `-`), which the command line overrides.
"""

from __future__ import annotations

from policies.model import UNKNOWN_PART, show
from policies.servers.argv import number, option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, RequestTimeout, Server

NAME = "uWSGI"
_OPTIONS = "https://uwsgi-docs.readthedocs.io/en/latest/Options.html"
_HTTP = "https://uwsgi-docs.readthedocs.io/en/latest/HTTP.html"
_HTTP_SOURCE = "https://github.com/unbit/uwsgi/blob/master/plugins/http/http.c"
# core/init.c: `uwsgi.socket_timeout = 4;`
SOCKET_TIMEOUT_DEFAULT = 4
# plugins/corerouter/corerouter.c: `if (!ucr->socket_timeout) ucr->socket_timeout = 60;`
HTTP_TIMEOUT_DEFAULT = 60
_CONFIG_OPTIONS = ("--ini", "--yaml", "--yml", "--json", "--xml", "--config")
_CONFIG_SUFFIXES = (".ini", ".yaml", ".yml", ".json", ".xml")

FACTS = (
    Fact(
        "uWSGI `--http-socket`", "none: closes after every response", "no keep-alive", f"{_HTTP}#http-sockets"
    ),
    Fact(
        "uWSGI `--http11-socket`",
        "`--socket-timeout`",
        f"{SOCKET_TIMEOUT_DEFAULT} s",
        _OPTIONS + "#socket-timeout",
    ),
    Fact(
        "uWSGI `--http` router",
        "`--http-keepalive=N` (N > 1), else `--http-timeout` when keep-alive is on",
        f"off; {HTTP_TIMEOUT_DEFAULT} s with a bare `--http-keepalive`",
        _HTTP_SOURCE,
    ),
    Fact("uWSGI request bound", "`--harakiri`", "none", _OPTIONS + "#harakiri"),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program in ("uwsgi", "uwsgi-core", "uwsgi_python3")


class _Options:
    """Options from the command line, then from UWSGI_* variables."""

    def __init__(self, invocation: Invocation):
        self.invocation = invocation

    def get(self, name: str, short: str | None = None) -> tuple[str | None, Evidence] | None:
        names = (f"--{name}",) + ((short,) if short else ())
        found = option(self.invocation.args, names)
        if found is not None:
            return found.value, Evidence(f"`{show(found.written)}` in the command", self.invocation.location)
        env_name = "UWSGI_" + name.upper().replace("-", "_")
        setting = self.invocation.env.get(env_name)
        if setting is not None:
            if setting.value is None:
                return None, Evidence(f"{env_name} is not known ({setting.note})", setting.location)
            return setting.value, Evidence(f"{env_name}={show(setting.value)}", setting.location)
        return None

    def config_file(self) -> str | None:
        for name in _CONFIG_OPTIONS:
            found = option(self.invocation.args, (name,))
            if found is not None:
                return found.value or name
        positional = [arg for arg in self.invocation.args if not arg.startswith("-")]
        return next((arg for arg in positional if arg.endswith(_CONFIG_SUFFIXES)), None)


def analyse(invocation: Invocation) -> Server:
    options = _Options(invocation)
    request_timeout = _harakiri(options)
    if options.get("http") or options.get("https"):
        keep_alive, detail, remedy = _router(invocation, options)
    elif options.get("http11-socket"):
        keep_alive, detail, remedy = _http11(invocation, options)
    elif options.get("http-socket"):
        says = "uWSGI's --http-socket closes the connection after every response"
        keep_alive, detail, remedy = (
            KeepAlive(Mode.NO_KEEP_ALIVE, Evidence(says, invocation.location, _HTTP)),
            "--http-socket",
            "",
        )
    else:
        config = options.config_file()
        if config is not None:
            says = (
                f"the HTTP mode is set in the config file `{show(config)}`, not visible in the scanned files"
            )
        elif options.get("socket", "-s") or options.get("uwsgi-socket"):
            says = "uWSGI serves the uwsgi protocol (--socket), which a load balancer does not speak"
        else:
            says = "no --http, --http-socket or --http11-socket option"
        keep_alive, detail, remedy = KeepAlive.unknown(Evidence(says, invocation.location)), "", ""
    return Server(NAME, detail, keep_alive, request_timeout, remedy, invocation.location)


def _router(invocation: Invocation, options: _Options) -> tuple[KeepAlive, str, str]:
    detail = "--http router"
    remedy = "add `--http-keepalive={seconds}` (with `=`: uWSGI only takes a value attached to this option)"
    trap = ""
    value: str | None
    args = invocation.args
    positions = [
        index
        for index, arg in enumerate(args)
        if arg == "--http-keepalive" or arg.startswith("--http-keepalive=")
    ]
    if positions:
        last = positions[-1]
        written = args[last]
        remedy = f"change `{show(written)}` to `--http-keepalive={{seconds}}` (uWSGI only takes a value attached with `=`)"
        value = written.partition("=")[2] if "=" in written else "1"
        evidence = Evidence(f"`{show(written)}` in the command", invocation.location, _HTTP_SOURCE)
        following = args[last + 1] if last + 1 < len(args) else ""
        if "=" not in written and number(following) is not None:
            trap = (
                f"; `--http-keepalive {following}` does not set {following}: the option's argument is optional, "
                f"so uWSGI only takes `--http-keepalive={following}`, and {following} becomes a stray argument"
            )
    else:
        given = options.get("http-keepalive")
        if given is None:
            says = "the --http router keeps no connection alive without --http-keepalive"
            return (
                KeepAlive(Mode.NO_KEEP_ALIVE, Evidence(says, invocation.location, _HTTP_SOURCE)),
                detail,
                "",
            )
        value, evidence = given
    if value is None or UNKNOWN_PART in value:
        return KeepAlive.unknown(evidence), detail, remedy
    seconds = _atoi(value)
    if seconds <= 0:
        says = f"{evidence.says}: keep-alive off (uWSGI reads the value with atoi)"
        return KeepAlive(Mode.NO_KEEP_ALIVE, Evidence(says, evidence.location, _HTTP_SOURCE)), detail, ""
    if seconds > 1:
        return (
            KeepAlive.after(seconds, Evidence(evidence.says + trap, evidence.location, _HTTP_SOURCE)),
            detail,
            remedy,
        )
    # http.c: a keepalive of 1 leaves the idle timer at the router's socket timeout (--http-timeout).
    timeout = options.get("http-timeout")
    if timeout is None:
        says = f"{evidence.says} turns keep-alive on with --http-timeout as the idle timeout, default {HTTP_TIMEOUT_DEFAULT} s{trap}"
        return (
            KeepAlive.after(HTTP_TIMEOUT_DEFAULT, Evidence(says, evidence.location, _HTTP_SOURCE)),
            detail,
            remedy,
        )
    timeout_value = number(timeout[0])
    if timeout_value is None:
        return KeepAlive.unknown(timeout[1]), detail, remedy
    says = f"{evidence.says} turns keep-alive on, idle timeout from {timeout[1].says}{trap}"
    return KeepAlive.after(timeout_value, Evidence(says, timeout[1].location, _HTTP_SOURCE)), detail, remedy


def _http11(invocation: Invocation, options: _Options) -> tuple[KeepAlive, str, str]:
    detail = "--http11-socket"
    remedy = "add `--socket-timeout {seconds}` to the uWSGI command"
    given = options.get("socket-timeout", "-z")
    if given is None:
        says = f"--http11-socket closes idle connections after --socket-timeout, default {SOCKET_TIMEOUT_DEFAULT} s"
        return (
            KeepAlive.after(
                SOCKET_TIMEOUT_DEFAULT, Evidence(says, invocation.location, _OPTIONS + "#socket-timeout")
            ),
            detail,
            remedy,
        )
    value, evidence = given
    seconds = number(value)
    if seconds is None:
        return KeepAlive.unknown(evidence), detail, remedy
    return KeepAlive.after(seconds, evidence), detail, remedy


def _harakiri(options: _Options) -> RequestTimeout | None:
    given = options.get("harakiri")
    if given is None or given[0] is None:
        return None
    seconds = number(given[0])
    if seconds is None or seconds <= 0:
        return None
    evidence = given[1]
    return RequestTimeout(
        seconds,
        Evidence(
            f"{evidence.says} (uWSGI kills a worker stuck on one request longer)",
            evidence.location,
            _OPTIONS + "#harakiri",
        ),
    )


def _atoi(text: str) -> int:
    """C atoi: leading digits, else 0 (uWSGI's uwsgi_opt_set_int)."""
    digits = ""
    for char in text.strip():
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else 0
