"""uWSGI: three HTTP modes, and the two default ones close connections without saying so.

* `--http-socket`: one request per connection (proto/http.c closes the fd after the response), but the
  HTTP/1.1 response carries no `Connection: close`, so a load balancer takes the connection as reusable
  and may send the next request into it as it closes: the race, with no idle time at all.
  `--add-header "Connection: close"` announces the close and makes it safe.
* `--http` (the HTTP router) without `--http-keepalive`: the same silent close.
* `--http11-socket`: keeps connections, closing them after `--socket-timeout` (default 4 s).
* `--http` with `--http-keepalive`: the option takes an *optional* argument (getopt), so only
  `--http-keepalive=75` sets 75; a bare `--http-keepalive` means on, with `--http-timeout` (default 60 s)
  as the idle timeout; `--http-keepalive 75` makes uWSGI load "75" as a configuration file and exit.
Measured with uWSGI 2.0.31 on the wire. `--harakiri` (`-t`) is a request timeout, not a keep-alive
setting. Options may also come from `UWSGI_*` environment variables (lowercased, `_` as `-`), which the
command line overrides.
"""

from __future__ import annotations

import re

from policies.model import UNKNOWN_PART, Location, show
from policies.servers.argv import number, option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, RequestTimeout, Server

NAME = "uWSGI"
RECOGNISED = "`uwsgi`, with its ini file when the Dockerfile copies it"
_OPTIONS = "https://uwsgi-docs.readthedocs.io/en/latest/Options.html"
_HTTP = "https://uwsgi-docs.readthedocs.io/en/latest/HTTP.html"
_HTTP_SOURCE = "https://github.com/unbit/uwsgi/blob/master/plugins/http/http.c"
# core/init.c: `uwsgi.socket_timeout = 4;`
SOCKET_TIMEOUT_DEFAULT = 4
# plugins/corerouter/corerouter.c: `if (!ucr->socket_timeout) ucr->socket_timeout = 60;`
HTTP_TIMEOUT_DEFAULT = 60
_CONFIG_OPTIONS = ("--ini", "--yaml", "--yml", "--json", "--xml", "--config")
_CONFIG_SUFFIXES = (".ini", ".yaml", ".yml", ".json", ".xml")
_SILENT = (
    "closes the connection right after each response without sending `Connection: close`, so the load "
    "balancer may reuse it as it closes"
)
_ANNOUNCE = (
    'add `--add-header "Connection: close"` to the uWSGI command (or serve with `--http11-socket` '
    "and `--socket-timeout {seconds}`)"
)

FACTS = (
    Fact(
        "uWSGI `--http-socket`, or `--http` without `--http-keepalive`",
        '`--add-header "Connection: close"` makes it safe',
        "silent close after every response (0 s)",
        f"{_HTTP}#http-sockets",
        "-",
    ),
    Fact(
        "uWSGI `--http11-socket`",
        "`--socket-timeout`",
        f"{SOCKET_TIMEOUT_DEFAULT} s",
        _OPTIONS + "#socket-timeout",
    ),
    Fact(
        "uWSGI `--http` router with `--http-keepalive`",
        "`--http-keepalive=N` (N > 1), else `--http-timeout`",
        f"{HTTP_TIMEOUT_DEFAULT} s with a bare `--http-keepalive`",
        _HTTP_SOURCE,
    ),
    Fact("uWSGI request bound", "`--harakiri`, `-t`", "none", _OPTIONS + "#harakiri"),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program in ("uwsgi", "uwsgi-core", "uwsgi_python3")


class _Options:
    """uWSGI options as uWSGI applies them: UWSGI_* variables first, then the command line in order, an
    ini file expanded where `--ini` (or a positional `.ini`) names it; the last value of an option wins."""

    def __init__(self, invocation: Invocation):
        self.invocation = invocation
        self.config, self.config_index = self._config_file()
        self.ini: list[tuple[str, str, Location]] = []
        self.ini_read = False
        if self.config is not None and self.config.partition(":")[0].endswith(".ini"):
            path, _, section = self.config.partition(":")
            found = invocation.file(path)
            if found is not None and found.text is not None:
                self.ini = _ini(found.text, section or "uwsgi", found.location.path, invocation)
                self.ini_read = True

    def get(self, name: str, short: str | None = None) -> tuple[str | None, Evidence] | None:
        names = (f"--{name}",) + ((short,) if short else ())
        found = option(self.invocation.args, names)
        in_ini = [(value, location) for key, value, location in self.ini if key == name]
        if in_ini and (found is None or found.index < self.config_index):
            value, location = in_ini[-1]
            return value, Evidence(f"`{name} = {show(value)}` in {location.path}", location)
        if found is not None:
            return found.value, Evidence(
                f"`{show(found.written)}` in the command", self.invocation.where(found.index)
            )
        env_name = "UWSGI_" + name.upper().replace("-", "_")
        setting = self.invocation.env_value(env_name)
        if setting is not None:
            if setting.value is None:
                return None, Evidence(f"{env_name} is not known ({setting.note})", setting.location)
            return setting.value, Evidence(f"{env_name}={show(setting.value)}", setting.location)
        return None

    def values(self, name: str) -> list[str]:
        """Every value given to a repeatable option such as add-header, in the ini file and the command."""
        return [value for key, value, _ in self.ini if key == name] + _values(
            self.invocation.args, f"--{name}"
        )

    def _config_file(self) -> tuple[str | None, int]:
        args = self.invocation.args
        for name in _CONFIG_OPTIONS:
            found = option(args, (name,))
            if found is not None:
                return found.value or name, found.index
        for index, arg in enumerate(args):
            if not arg.startswith("-") and arg.partition(":")[0].endswith(_CONFIG_SUFFIXES):
                return arg, index
        return None, len(args)


def _ini(text: str, section: str, path: str, invocation: Invocation) -> list[tuple[str, str, Location]]:
    """(option, value, where) of the ini file's [uwsgi] section, in order (core/ini.c). `$(VAR)` is the
    environment variable; other magic (`%(x)`, `@(file)`) is not known."""
    found: list[tuple[str, str, Location]] = []
    current = None
    for line_number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].strip()
        elif current == section and "=" in stripped:
            key, _, value = stripped.partition("=")

            def variable(match: re.Match[str]) -> str:
                setting = invocation.env_value(match.group(1))
                return setting.value if setting is not None and setting.value is not None else UNKNOWN_PART

            value = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", variable, value.strip())
            value = re.sub(r"[%@]\([^)]*\)", UNKNOWN_PART, value)
            found.append((key.strip(), value, Location(path, line_number)))
    return found


def analyse(invocation: Invocation) -> Server:
    options = _Options(invocation)
    request_timeout = _harakiri(options)
    if options.get("http") or options.get("https"):
        keep_alive, detail, remedy = _router(invocation, options)
    elif options.get("http11-socket"):
        keep_alive, detail, remedy = _http11(invocation, options)
    elif options.get("http-socket"):
        keep_alive, detail, remedy = (
            _silent_close(invocation, options, "--http-socket"),
            "--http-socket",
            _ANNOUNCE,
        )
    else:
        config = options.config
        if config is not None and not options.ini_read:
            says = (
                f"the HTTP mode is set in the config file `{show(config)}`, not visible in the scanned files"
            )
        elif options.get("socket", "-s") or options.get("uwsgi-socket"):
            says = "uWSGI serves the uwsgi protocol (--socket), which a load balancer does not speak"
        else:
            says = "no --http, --http-socket or --http11-socket option"
        keep_alive, detail, remedy = KeepAlive.unknown(Evidence(says, invocation.location)), "", ""
    return Server(NAME, detail, keep_alive, request_timeout, remedy, invocation.location)


def _values(args: tuple[str, ...], name: str) -> list[str]:
    """Every value given to a repeatable option such as --add-header."""
    values = []
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            values.append(args[index + 1])
        elif arg.startswith(name + "="):
            values.append(arg[len(name) + 1 :])
    return values


def _silent_close(invocation: Invocation, options: _Options, mode: str) -> KeepAlive:
    headers = options.values("add-header")
    announced = [header for header in headers if header.lower().replace(" ", "") == "connection:close"]
    if announced:
        says = (
            f'uWSGI\'s {mode} closes after every response and `--add-header "{announced[-1]}"` announces it'
        )
        return KeepAlive(Mode.NO_KEEP_ALIVE, Evidence(says, invocation.location, _HTTP))
    return KeepAlive.after(0, Evidence(f"uWSGI's {mode} {_SILENT}", invocation.location, _HTTP))


def _router(invocation: Invocation, options: _Options) -> tuple[KeepAlive, str, str]:
    detail = "--http router"
    remedy = "add `--http-keepalive={seconds}` (with `=`: uWSGI only takes a value attached to this option)"
    args = invocation.args
    value: str | None
    positions = [
        i for i, arg in enumerate(args) if arg == "--http-keepalive" or arg.startswith("--http-keepalive=")
    ]
    if positions:
        written = args[positions[-1]]
        remedy = f"change `{show(written)}` to `--http-keepalive={{seconds}}` (uWSGI only takes a value attached with `=`)"
        following = args[positions[-1] + 1] if positions[-1] + 1 < len(args) else ""
        if "=" not in written and number(following) is not None:
            says = (
                f"`--http-keepalive {following}` does not set {following}: the option's argument is optional, so "
                f'uWSGI takes "{following}" as a configuration file to load and exits at start-up'
            )
            return KeepAlive.unknown(Evidence(says, invocation.location, _HTTP_SOURCE)), detail, remedy
        value = written.partition("=")[2] if "=" in written else "1"
        evidence = Evidence(f"`{show(written)}` in the command", invocation.location, _HTTP_SOURCE)
    else:
        given = options.get("http-keepalive")
        if given is None:
            return (
                _silent_close(invocation, options, "--http router without --http-keepalive"),
                detail,
                remedy,
            )
        value, evidence = given
    if value is None or UNKNOWN_PART in value:
        return KeepAlive.unknown(evidence), detail, remedy
    seconds = _atoi(value)
    if seconds <= 0:
        return (
            _silent_close(invocation, options, f"--http router ({evidence.says}: keep-alive off)"),
            detail,
            remedy,
        )
    if seconds > 1:
        return (
            KeepAlive.after(seconds, Evidence(evidence.says, evidence.location, _HTTP_SOURCE)),
            detail,
            remedy,
        )
    # http.c: a keepalive of 1 leaves the idle timer at the router's socket timeout (--http-timeout).
    timeout = options.get("http-timeout")
    if timeout is None:
        says = f"{evidence.says} turns keep-alive on with --http-timeout as the idle timeout, default {HTTP_TIMEOUT_DEFAULT} s"
        return (
            KeepAlive.after(HTTP_TIMEOUT_DEFAULT, Evidence(says, evidence.location, _HTTP_SOURCE)),
            detail,
            remedy,
        )
    timeout_value = number(timeout[0])
    if timeout_value is None:
        return KeepAlive.unknown(timeout[1]), detail, remedy
    says = f"{evidence.says} turns keep-alive on, idle timeout from {timeout[1].says}"
    return KeepAlive.after(timeout_value, Evidence(says, timeout[1].location, _HTTP_SOURCE)), detail, remedy


def _http11(invocation: Invocation, options: _Options) -> tuple[KeepAlive, str, str]:
    detail = "--http11-socket"
    remedy = "add `--socket-timeout {seconds}` to the uWSGI command"
    given = options.get("socket-timeout", "-z")
    if given is None:
        says = f"--http11-socket closes idle connections after --socket-timeout, default {SOCKET_TIMEOUT_DEFAULT} s"
        evidence = Evidence(says, invocation.location, _OPTIONS + "#socket-timeout")
        return KeepAlive.after(SOCKET_TIMEOUT_DEFAULT, evidence), detail, remedy
    value, evidence = given
    seconds = number(value)
    if seconds is None:
        return KeepAlive.unknown(evidence), detail, remedy
    return KeepAlive.after(seconds, evidence), detail, remedy


def _harakiri(options: _Options) -> RequestTimeout | None:
    given = options.get("harakiri", "-t")
    if given is None or given[0] is None:
        return None
    seconds = number(given[0])
    if seconds is None or seconds <= 0:
        return None
    evidence = given[1]
    says = f"{evidence.says} (uWSGI kills a worker stuck on one request longer)"
    return RequestTimeout(seconds, Evidence(says, evidence.location, _OPTIONS + "#harakiri"))


def _atoi(text: str) -> int:
    """C atoi: leading digits, else 0 (uWSGI's uwsgi_opt_set_int)."""
    digits = ""
    for char in text.strip():
        if not char.isdecimal():
            break
        digits += char
    return int(digits) if digits else 0
