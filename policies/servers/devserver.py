"""Development servers: Django's `manage.py runserver` and Flask's `flask run`. Neither races the load
balancer, but neither is meant for production, and the evidence says so.

Flask's `flask run` serves with Werkzeug's development server, which answers every request with
`Connection: close` since Werkzeug 2.1.2. Django's runserver speaks HTTP/1.1: threaded (the default) it
keeps a connection alive when the response has a Content-Length and then never closes it while idle
(socketserver's handler has no timeout); otherwise, and always with `--nothreading`, it answers with
`Connection: close`. But `daphne` in INSTALLED_APPS (and `channels` before 4.0) replaces runserver with
Daphne's, whose Twisted server closes idle connections after 60 s: keepalive-guard reads the settings
module (found through `--settings`, DJANGO_SETTINGS_MODULE or manage.py) when a known Dockerfile copies
it, and otherwise assumes Django's own runserver and says so.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass

from policies.model import UNKNOWN_PART, ImageFile, Location, show
from policies.servers.argv import option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server
from policies.servers.daphne import IDLE_TIMEOUT as DAPHNE_IDLE

NAME = "devserver"
RECOGNISED = "`python manage.py runserver`, `django-admin runserver`, `flask run`, `python -m flask run`"
# src/werkzeug/serving.py WSGIRequestHandler.run_wsgi: `self.send_header("Connection", "close")` on every
# response, "This disables HTTP/1.1 keep-alive connections" (pallets/werkzeug#2399, Werkzeug 2.1.2).
_WERKZEUG = "https://github.com/pallets/werkzeug/blob/main/src/werkzeug/serving.py"
# django/core/servers/basehttp.py ServerHandler.cleanup_headers: `Connection: close` when the response has
# no Content-Length, or "Persistent connections require threading server"; WSGIRequestHandler.handle
# loops `while not self.close_connection`, reading with socketserver.StreamRequestHandler's `timeout =
# None`. Measured with Django 5.2: an idle keep-alive connection was still open after 80 s.
_DJANGO = "https://github.com/django/django/blob/main/django/core/servers/basehttp.py"
# daphne/management/commands/runserver.py: `class Command(RunserverCommand)` serving with daphne's Server
# (`--noasgi` falls back to Django's); channels 2 and 3 shipped the same override, channels 4 moved it here.
_DAPHNE_RUNSERVER = "https://github.com/django/daphne/blob/main/daphne/management/commands/runserver.py"
_NOT_PRODUCTION = "a development server, not meant for production"
_ASSUMED = "assuming neither daphne nor channels is in INSTALLED_APPS, as {why}"

FACTS = (
    Fact(
        "Django `runserver` (threaded)",
        "none: never closes an idle keep-alive connection",
        "no idle timeout",
        _DJANGO,
        "-",
    ),
    Fact(
        "Django `runserver` with `daphne` in INSTALLED_APPS",
        "none: Daphne's Twisted `HTTPFactory` timeout",
        f"{DAPHNE_IDLE} s",
        _DAPHNE_RUNSERVER,
        "-",
    ),
    Fact(
        "Flask `flask run` (Werkzeug)",
        "none: `Connection: close` on every response",
        "no keep-alive",
        _WERKZEUG,
        "-",
    ),
)

_PYTHON = re.compile(r"python(\d+(\.\d+)?)?$")
_PYTHON_VALUES = frozenset({"-W", "-X"})
_FLASK_VALUES = frozenset({"--app", "-A", "--env-file", "-e"})
_DJANGO_ADMIN = frozenset({"django-admin", "django-admin.py", "django"})  # `python -m django` too
_SETTINGS_LINE = re.compile(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""")
MAX_IMPORTS = 8  # settings modules star-importing each other: more is not a settings package


def _django(invocation: Invocation) -> tuple[str, tuple[str, ...]] | None:
    """(the manage.py path, or "" for django-admin; the arguments after `runserver`) for a runserver."""
    program, args = invocation.program, invocation.args
    script = ""
    if _PYTHON.fullmatch(program):
        index = 0
        while index < len(args) and args[index].startswith("-"):
            index += 2 if args[index] in _PYTHON_VALUES else 1
        if index >= len(args) or posixpath.basename(args[index]) != "manage.py":
            return None
        script, args = args[index], args[index + 1 :]
    elif program == "manage.py":
        script = invocation.argv[0]
    elif program not in _DJANGO_ADMIN:
        return None
    # django/core/management/__init__.py ManagementUtility: `subcommand = self.argv[1]`
    return (script, args[1:]) if args[:1] == ("runserver",) else None


def _flask(invocation: Invocation) -> bool:
    if invocation.program != "flask":
        return False
    args, index = invocation.args, 0
    while index < len(args) and args[index].startswith("-"):
        index += 2 if args[index] in _FLASK_VALUES else 1
    return args[index : index + 1] == ("run",)


def recognises(invocation: Invocation) -> bool:
    return _flask(invocation) or _django(invocation) is not None


def analyse(invocation: Invocation) -> Server:
    django = _django(invocation)
    if django is None:
        says = (
            "flask run serves with Werkzeug's development server, which answers every request with "
            f"`Connection: close` (Werkzeug 2.1.2 and later); {_NOT_PRODUCTION}"
        )
        keep_alive = KeepAlive(Mode.NO_KEEP_ALIVE, Evidence(says, invocation.location, _WERKZEUG))
        return Server("Flask development server", "flask run", keep_alive)
    script, args = django
    name = "Django development server"
    apps = _apps(invocation, script, args)
    where = apps.location or invocation.location
    if apps.app == "daphne" and option(args, ("--noasgi",), takes_value=False) is None:
        says = (
            f"{apps.says}: runserver serves with Daphne, whose Twisted HTTPFactory closes idle connections "
            f"after {DAPHNE_IDLE} s; {_NOT_PRODUCTION}"
        )
        keep_alive = KeepAlive.after(DAPHNE_IDLE, Evidence(says, where, _DAPHNE_RUNSERVER))
        return Server(name, "runserver with Daphne", keep_alive)
    if apps.app == "channels":
        says = (
            f"{apps.says}: channels before 4.0 replaces runserver with Daphne, which closes idle connections "
            f"after {DAPHNE_IDLE} s, channels 4 does not, and the channels version is not visible; "
            f"{_NOT_PRODUCTION}"
        )
        return Server(name, "runserver", KeepAlive.unknown(Evidence(says, where, _DAPHNE_RUNSERVER)))
    nothreading = option(args, ("--nothreading",), takes_value=False)
    if nothreading is not None:
        says = f"`runserver --nothreading` answers every request with `Connection: close`; {_NOT_PRODUCTION}"
        at = invocation.where(nothreading.index + len(invocation.args) - len(args))
        return Server(name, "runserver", KeepAlive(Mode.NO_KEEP_ALIVE, Evidence(says, at, _DJANGO)))
    says = (
        "Django's runserver keeps a connection alive when the response has a Content-Length (otherwise it "
        f"answers `Connection: close`) and never closes an idle one ({apps.says}); {_NOT_PRODUCTION}"
    )
    keep_alive = KeepAlive(Mode.NO_TIMEOUT, Evidence(says, invocation.location, _DJANGO))
    return Server(name, "runserver", keep_alive)


@dataclass(frozen=True)
class _Apps:
    """What the settings modules say about Daphne in INSTALLED_APPS, as far as they are visible."""

    says: str
    app: str = ""  # "daphne", "channels", or "" for neither
    location: Location | None = None


def _apps(invocation: Invocation, script: str, args: tuple[str, ...]) -> _Apps:
    module, why = _settings_module(invocation, script, args)
    if module is None:
        return _Apps(_ASSUMED.format(why=why))
    base = posixpath.dirname(script) if script else ""  # manage.py's directory is sys.path[0]
    seen: list[str] = []
    pending = [module]
    found: dict[str, _Apps] = {}
    hidden = ""
    while pending and len(seen) < MAX_IMPORTS:
        current = pending.pop()
        if current in seen:
            continue
        seen.append(current)
        source = _module_file(invocation, base, current)
        if source is None or source.text is None:
            hidden = hidden or f"the settings module {current} is not visible in the scanned files"
            continue
        try:
            tree = ast.parse(source.text)
        except SyntaxError:
            hidden = hidden or f"the settings module {current} ({source.location}) cannot be parsed"
            continue
        for value, line in _app_names(tree):
            app = value.split(".", 1)[0]
            if app in ("daphne", "channels") and app not in found:
                where = Location(source.location.path, line)
                found[app] = _Apps(f'"{value}" in the apps of {current}', app, where)
        pending.extend(_imported(tree, current, source.path.endswith("__init__.py")))
    if found:
        return found.get("daphne") or found["channels"]
    if hidden:
        return _Apps(_ASSUMED.format(why=hidden))
    return _Apps(f"the apps of {module} list neither daphne nor channels")


def _settings_module(invocation: Invocation, script: str, args: tuple[str, ...]) -> tuple[str | None, str]:
    """The settings module as django.core.management finds it: --settings, else DJANGO_SETTINGS_MODULE
    (which manage.py sets by default); or None and why it is not known."""
    flag = option(args, ("--settings",))
    if flag is not None:
        value = flag.value or ""
        return (value, "") if UNKNOWN_PART not in value else (None, f"`{show(flag.written)}` is not known")
    env = invocation.env_value("DJANGO_SETTINGS_MODULE")
    if env is not None:
        if env.value is None or UNKNOWN_PART in env.value:
            return None, f"DJANGO_SETTINGS_MODULE is not known ({env.note or show(env.value or '')})"
        return env.value, ""
    manage = invocation.file(script) if script and UNKNOWN_PART not in script else None
    match = _SETTINGS_LINE.search(manage.text) if manage is not None and manage.text is not None else None
    if match is None:
        return None, "the settings module is not visible in the scanned files"
    return match.group(1), ""


def _module_file(invocation: Invocation, base: str, module: str) -> ImageFile | None:
    path = posixpath.join(base, *module.split("."))
    return invocation.file(path + ".py") or invocation.file(posixpath.join(path, "__init__.py"))


def _app_names(tree: ast.Module) -> list[tuple[str, int]]:
    """The strings in assignments to names ending in APPS (INSTALLED_APPS, THIRD_PARTY_APPS, ...) and in
    calls of their methods (INSTALLED_APPS.append("daphne")), with their lines."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            targets = [node.func.value]
        if not any(isinstance(target, ast.Name) and target.id.endswith("APPS") for target in targets):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                found.append((inner.value, inner.lineno))
    return found


def _imported(tree: ast.Module, module: str, package: bool) -> list[str]:
    """The modules a settings module takes its apps from (`from .base import *`, `from .base import
    INSTALLED_APPS`), absolute."""
    found = []
    parts = module.split(".") if package else module.split(".")[:-1]
    for node in ast.walk(tree):  # also inside `try:` blocks
        if isinstance(node, ast.ImportFrom) and any(
            alias.name == "*" or alias.name.endswith("APPS") for alias in node.names
        ):
            if node.level:
                anchor = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                found.append(".".join([*anchor, *([node.module] if node.module else [])]))
            elif node.module:
                found.append(node.module)
    return found
