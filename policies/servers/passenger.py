"""Passenger Standalone (`passenger start`): its nginx engine closes idle connections after 60 s.

Passenger Standalone writes an nginx configuration from a template whose http block hard-codes
`keepalive_timeout 60;` (resources/templates/standalone/config.erb, the same from 4.x to 6.x); no
option or environment variable changes it, only a custom template (`--nginx-config-template`), which
is read here when the Dockerfile copies it. Options come, from strongest to weakest, from the command
line, `PASSENGER_<OPTION>` environment variables and Passengerfile.json in the app directory
(standalone/config_utils.rb remerge_all_config). The `builtin` engine's idle handling is not verified,
so it is unknown. `--max-request-time` is Enterprise-only, so it is not taken as a request bound.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass

from policies.model import UNKNOWN_PART, Location, show
from policies.servers import units
from policies.servers.argv import option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server

NAME = "passenger"
RECOGNISED = (
    "`passenger start`, with Passengerfile.json and a custom nginx template when the Dockerfile copies them"
)
# resources/templates/standalone/config.erb, http block: `keepalive_timeout 60;`
TEMPLATE_KEEPALIVE = 60
_TEMPLATE = "https://github.com/phusion/passenger/blob/master/resources/templates/standalone/config.erb"
# nginx's built-in default when a custom template sets no keepalive_timeout (ngx_http_core_module.c).
NGINX_DEFAULT = 75
_NGINX_DOCS = "https://nginx.org/en/docs/http/ngx_http_core_module.html#keepalive_timeout"
_DIRECTIVE = re.compile(r"^\s*keepalive_timeout\s+([^;\s]+)[^;]*;", re.M)

FACTS = (
    Fact(
        "Passenger Standalone (`passenger start`, nginx engine)",
        "`keepalive_timeout` in a custom `--nginx-config-template`",
        f"{TEMPLATE_KEEPALIVE} s",
        _TEMPLATE,
        "nginx time (a bare number is seconds)",
    ),
)


def recognises(invocation: Invocation) -> bool:
    words = [arg for arg in invocation.args if not arg.startswith("-")]
    return invocation.program == "passenger" and words[:1] == ["start"]


@dataclass(frozen=True)
class _Option:
    value: str | None  # None: may be set where it cannot be seen
    says: str  # where it was given, e.g. "`--engine builtin` in the command"; "" for the default
    location: Location | None = None
    base: str = ""  # the directory a relative path is relative to


def _app_dir(invocation: Invocation) -> str:
    """`passenger start [APP_DIR]`: the app directory, relative to the working directory."""
    args = invocation.args[invocation.args.index("start") + 1 :]
    index = 0
    while index < len(args):
        arg = args[index]
        if not arg.startswith("-"):
            return arg
        # boolean switches take no value; the others are `--name VALUE` unless written `--name=VALUE`
        index += 1 if "=" in arg or arg.lstrip("-") in _SWITCHES else 2
    return "."


_SWITCHES = frozenset(
    {"ssl", "daemonize", "d", "friendly-error-pages", "no-friendly-error-pages", "load-shell-envvars",
     "debugger", "rolling-restarts", "resist-deployment-errors", "sticky-sessions", "disable-turbocaching",
     "no-abort-websockets-on-process-shutdown", "debug-nginx-config", "disable-security-update-check",
     "auto", "runtime-check-only", "no-install-runtime", "no-compile-runtime", "h", "help"}
)  # fmt: skip


def _settings(invocation: Invocation) -> tuple[dict[str, _Option], str]:
    """`engine` and `nginx_config_template` from Passengerfile.json, then PASSENGER_* variables, then the
    command line (each stronger than the one before); and the assumption made about Passengerfile.json."""
    found: dict[str, _Option] = {}
    app_dir = _app_dir(invocation)
    note = ""
    if invocation.build is None:
        note = "assuming no Passengerfile.json in the app directory, which Passenger would read"
    else:
        # config_utils.rb load_local_config_file!: Passengerfile.json, else passenger-standalone.json
        for name in ("Passengerfile.json", "passenger-standalone.json"):
            config = invocation.file(posixpath.join(app_dir, name))
            if config is None:
                continue
            try:
                data = json.loads(config.text or "")
            except (ValueError, RecursionError):
                data = None
            if not isinstance(data, dict):
                for key in ("engine", "nginx_config_template"):
                    found[key] = _Option(None, f"{name} cannot be read", config.location)
                break
            for key in ("engine", "nginx_config_template"):
                if isinstance(data.get(key), str):
                    says = f'"{key}": "{data[key]}" in {name}'
                    found[key] = _Option(data[key], says, config.location, posixpath.dirname(config.path))
            break
    for key in ("engine", "nginx_config_template"):
        variable = f"PASSENGER_{key.upper()}"
        setting = invocation.env_value(variable)
        if setting is not None and setting.value != "":  # config_utils.rb load_env_config skips empty values
            says = (
                f"{variable}={show(setting.value)}"
                if setting.value is not None
                else f"{variable} ({setting.note})"
            )
            found[key] = _Option(setting.value, says, setting.location)
        flag = option(invocation.args, (f"--{key.replace('_', '-')}",))
        if flag is not None:
            says = f"`{show(flag.written)}` in the command"
            found[key] = _Option(flag.value, says, invocation.where(flag.index))
    return found, note


def analyse(invocation: Invocation) -> Server:
    settings, note = _settings(invocation)
    engine = settings.get("engine", _Option("nginx", ""))
    if engine.value is None or UNKNOWN_PART in engine.value:
        says = f"the Passenger engine is not known: {engine.says}"
        return Server(NAME, "", KeepAlive.unknown(Evidence(says, engine.location or invocation.location)))
    if engine.value != "nginx":
        says = (
            f"{engine.says} selects the `{show(engine.value)}` engine, whose handling of idle connections "
            "keepalive-guard has not verified"
        )
        return Server(NAME, f"{engine.value} engine", KeepAlive.unknown(Evidence(says, engine.location)))
    template = settings.get("nginx_config_template")
    if template is None:
        says = f"Passenger Standalone's nginx config template sets `keepalive_timeout {TEMPLATE_KEEPALIVE};`"
        if note:
            says += f" ({note})"
        remedy = (
            "copy Passenger's resources/templates/standalone/config.erb, set `keepalive_timeout {seconds};` in it "
            "and start Passenger with `--nginx-config-template` pointing at the copy"
        )
        evidence = Evidence(says, invocation.location, _TEMPLATE)
        keep_alive = KeepAlive.after(TEMPLATE_KEEPALIVE, evidence)
        return Server(NAME, "nginx engine", keep_alive, None, remedy, invocation.location)
    return _custom_template(invocation, template)


def _custom_template(invocation: Invocation, template: _Option) -> Server:
    path = template.value or ""
    found = None
    if UNKNOWN_PART not in path and path:
        found = invocation.file(posixpath.join(template.base, path) if template.base else path)
    if found is None or found.text is None:
        says = f"{template.says}: that nginx config template, where keepalive_timeout is set, cannot be read"
        return Server(NAME, "nginx engine", KeepAlive.unknown(Evidence(says, template.location)))
    text = re.sub(r"#[^\n]*", "", found.text)  # comments; lines stay where they are
    directives = list(_DIRECTIVE.finditer(text))
    if not directives:
        says = f"the template {show(path)} ({template.says}) sets no keepalive_timeout: nginx's default is {NGINX_DEFAULT} s"
        evidence = Evidence(says, found.location, _NGINX_DOCS)
        remedy = f"add `keepalive_timeout {{seconds}};` to the http block of {show(path)}"
        return Server(
            NAME, "nginx engine", KeepAlive.after(NGINX_DEFAULT, evidence), None, remedy, found.location
        )
    last = directives[-1]
    where = Location(found.location.path, text.count("\n", 0, last.start(1)) + 1)
    evidence = Evidence(
        f"`keepalive_timeout {last.group(1)}` in {show(path)} ({template.says})", where, _NGINX_DOCS
    )
    seconds = units.nginx_time(last.group(1))
    if seconds is None:
        return Server(NAME, "nginx engine", KeepAlive.unknown(evidence))
    if seconds == 0:  # nginx: "The zero value disables keep-alive client connections."
        return Server(NAME, "nginx engine", KeepAlive(Mode.NO_KEEP_ALIVE, evidence))
    remedy = f"change `keepalive_timeout {last.group(1)}` to `keepalive_timeout {{seconds}}` in {show(path)}"
    return Server(NAME, "nginx engine", KeepAlive.after(seconds, evidence), None, remedy, where)
