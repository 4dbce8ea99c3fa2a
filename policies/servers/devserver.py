"""Development servers: Django's `manage.py runserver` and Flask's `flask run`. Neither races the load
balancer, but neither is meant for production, and the evidence says so.

Flask's `flask run` serves with Werkzeug's development server, which answers every request with
`Connection: close` since Werkzeug 2.1.2. Django's runserver speaks HTTP/1.1: threaded (the default) it
keeps a connection alive when the response has a Content-Length and then never closes it while idle
(socketserver's handler has no timeout); otherwise, and always with `--nothreading`, it answers with
`Connection: close`. But `daphne` in INSTALLED_APPS (and `channels` before 4.0) replaces runserver with
Daphne's, whose Twisted server closes idle connections after 60 s, when it comes before
`django.contrib.staticfiles` (whose runserver is Django's): of the apps that bring a `runserver`
command, the first listed wins. keepalive-guard reads the settings module (found through `--settings`,
DJANGO_SETTINGS_MODULE or manage.py) when a known Dockerfile copies it, follows how INSTALLED_APPS is
put together (lists, `+`, `+=`, append, insert, imports from other settings modules), and otherwise
assumes Django's own runserver and says so.
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
# django/core/management/__init__.py get_commands: `for app_config in reversed(apps.get_app_configs()):
# commands.update(...)` (Django 1.7 and later): of the apps with a command of the same name, the one
# listed first in INSTALLED_APPS wins.
_GET_COMMANDS = "https://github.com/django/django/blob/main/django/core/management/__init__.py"
# The apps whose `runserver` decides: django.contrib.staticfiles (a subclass of Django's, same server),
# daphne, channels before 4.0. whitenoise.runserver_nostatic (src/whitenoise/runserver_nostatic/
# management/commands/runserver.py get_next_runserver_command) subclasses the runserver of the next app
# listed after it, so it leaves the choice to the others.
_RUNSERVER_APPS = ("django.contrib.staticfiles", "daphne", "channels")
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
        "Django `runserver` with `daphne` before `django.contrib.staticfiles` in INSTALLED_APPS",
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
    if apps.app == "?":
        says = (
            f"{apps.says}: runserver serves with Daphne, whose Twisted HTTPFactory closes idle connections "
            f"after {DAPHNE_IDLE} s, when daphne (or channels before 4.0) comes before "
            "django.contrib.staticfiles in INSTALLED_APPS, else with Django's own server, which never closes an "
            f"idle connection; {_NOT_PRODUCTION}"
        )
        return Server(name, "runserver", KeepAlive.unknown(Evidence(says, where, _GET_COMMANDS)))
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
    keep_alive = KeepAlive(Mode.NO_TIMEOUT, Evidence(says, where, _DJANGO))
    return Server(name, "runserver", keep_alive)


@dataclass(frozen=True)
class _Apps:
    """What the settings modules say about Daphne in INSTALLED_APPS, as far as they are visible."""

    says: str
    app: str = ""  # "daphne", "channels", or "" for neither; "?" when it cannot be told
    location: Location | None = None


@dataclass(frozen=True)
class _Entry:
    """An element of an apps list: its string, or None for a part that is not visible (and why)."""

    name: str | None
    location: Location
    why: str = ""


def _runserver_app(name: str) -> str:
    """Which of the apps that bring a runserver `name` (a module or an AppConfig path) is, or ""."""
    return next((app for app in _RUNSERVER_APPS if name == app or name.startswith(app + ".")), "")


class _Settings:
    """Settings modules read as Python source (never run): the lists their names hold, in order."""

    def __init__(self, invocation: Invocation, base: str):
        self.invocation, self.base = invocation, base
        self.modules: dict[str, dict[str, list[_Entry]]] = {}
        self.hidden = ""  # why a settings module is not visible
        self.conditional = ""  # an apps list that changes under a condition
        self.conditional_at: Location | None = None

    def namespace(self, module: str) -> dict[str, list[_Entry]]:
        """The lists a settings module ends with, by name; a star import of a module that is not
        visible leaves `*` (its entries say why)."""
        if module in self.modules:
            return self.modules[module]
        names: dict[str, list[_Entry]] = {}
        self.modules[module] = names  # an import cycle sees what is known so far
        source = _module_file(self.invocation, self.base, module)
        why = ""
        if len(self.modules) > MAX_IMPORTS:
            why = f"settings modules import more than {MAX_IMPORTS} others, up to {module}"
        elif source is None or source.text is None:
            why = f"the settings module {module} is not visible in the scanned files"
        if source is None or source.text is None or why:
            self.hidden = self.hidden or why
            names["*"] = [_Entry(None, self.invocation.location, why)]
            return names
        try:
            tree = ast.parse(source.text)
        except SyntaxError:
            why = f"the settings module {module} ({source.location}) cannot be parsed"
            self.hidden = self.hidden or why
            names["*"] = [_Entry(None, source.location, why)]
            return names
        context = (module, source.path.endswith("__init__.py"), source.location.path)
        self.run(tree.body, names, context, conditional=False)
        return names

    def run(
        self,
        body: list[ast.stmt],
        names: dict[str, list[_Entry]],
        context: tuple[str, bool, str],
        conditional: bool,
    ) -> None:
        module, package, path = context
        for node in body:
            if isinstance(node, ast.ImportFrom):
                imported = self.namespace(_absolute(node, module, package))
                for alias in node.names:
                    if alias.name == "*":
                        names.update({name: list(value) for name, value in imported.items()})
                    else:
                        found = self.lookup(imported, alias.name, Location(path, node.lineno))
                        self.assign(
                            names, alias.asname or alias.name, found, conditional, Location(path, node.lineno)
                        )
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                where = Location(path, node.lineno)
                value = self.value(node.value, names, path)
                for target in targets:
                    if not isinstance(target, ast.Name):
                        continue
                    if isinstance(node, ast.AugAssign):
                        before = self.lookup(names, target.id, where)
                        after = before + value if isinstance(node.op, ast.Add) else [_Entry(None, where, "")]
                        self.assign(names, target.id, after, conditional, where)
                    else:
                        self.assign(names, target.id, value, conditional, where)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                self.method(node.value, names, path, conditional)
            elif isinstance(node, ast.If | ast.For | ast.While):
                self.run(node.body, names, context, True)
                self.run(node.orelse, names, context, True)
            elif isinstance(node, ast.With):
                self.run(node.body, names, context, conditional)
            elif isinstance(node, ast.Try):
                self.run(node.body, names, context, conditional)
                for handler in node.handlers:
                    self.run(handler.body, names, context, True)
                self.run(node.orelse, names, context, True)
                self.run(node.finalbody, names, context, conditional)

    def lookup(self, names: dict[str, list[_Entry]], name: str, where: Location) -> list[_Entry]:
        if name in names:
            return list(names[name])
        return list(
            names.get("*", [_Entry(None, where, f"{name} is not defined where keepalive-guard can see")])
        )

    def assign(
        self,
        names: dict[str, list[_Entry]],
        name: str,
        value: list[_Entry],
        conditional: bool,
        where: Location,
    ) -> None:
        before = names.get(name, [])
        changed = conditional and name.endswith("APPS") and _order(before) != _order(value)
        if changed and not self.conditional:
            self.conditional, self.conditional_at = f"{name} changes under a condition at {where}", where
        names[name] = value

    def element(self, node: ast.expr, names: dict[str, list[_Entry]], path: str) -> list[_Entry]:
        """One element of a list: a string, a `*starred` list, or a part not visible."""
        where = Location(path, node.lineno)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [_Entry(node.value, where)]
        if isinstance(node, ast.Starred):
            return self.value(node.value, names, path)
        return [_Entry(None, where, f"`{ast.unparse(node)}` at {where}")]

    def value(self, node: ast.expr, names: dict[str, list[_Entry]], path: str) -> list[_Entry]:
        """The entries of a list expression; a part that is not a string, list or list name is a part
        not visible."""
        where = Location(path, node.lineno)
        if isinstance(node, ast.List | ast.Tuple):
            return [entry for element in node.elts for entry in self.element(element, names, path)]
        if isinstance(node, ast.Name):
            return self.lookup(names, node.id, where)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.value(node.left, names, path) + self.value(node.right, names, path)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("list", "tuple")
            and len(node.args) == 1
        ):
            return self.value(node.args[0], names, path)
        return [_Entry(None, where, f"`{ast.unparse(node)}` at {where}")]

    def method(self, call: ast.Call, names: dict[str, list[_Entry]], path: str, conditional: bool) -> None:
        """INSTALLED_APPS.append(...), .insert(i, ...), .extend(...), .remove(...)."""
        func = call.func
        if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
            return
        name, where, args = func.value.id, Location(path, call.lineno), call.args
        if not name.endswith("APPS") or func.attr not in ("append", "extend", "insert", "remove"):
            return
        entries = self.lookup(names, name, where)
        if func.attr == "append" and len(args) == 1:
            entries += self.element(args[0], names, path)
        elif func.attr == "extend" and len(args) == 1:
            entries += self.value(args[0], names, path)
        elif func.attr == "insert" and len(args) == 2:
            index = args[0]
            if isinstance(index, ast.Constant) and isinstance(index.value, int):
                entries[index.value : index.value] = self.element(args[1], names, path)
            else:
                entries += [_Entry(None, where, f"`{ast.unparse(call)}` at {where}")]
        elif func.attr == "remove" and len(args) == 1:
            [removed] = self.element(args[0], names, path)
            gone = next((entry for entry in entries if entry.name == removed.name), None)
            entries = [entry for entry in entries if entry is not gone or removed.name is None]
        self.assign(names, name, entries, conditional, where)


def _order(entries: list[_Entry]) -> list[str | None]:
    """What decides who serves runserver: the runserver apps and the parts not visible, in order."""
    return [
        entry.name and _runserver_app(entry.name)
        for entry in entries
        if entry.name is None or _runserver_app(entry.name)
    ]


def _absolute(node: ast.ImportFrom, module: str, package: bool) -> str:
    """The module an import names, absolute (`from .base import *` in mysite.settings.production)."""
    if not node.level:
        return node.module or ""
    parts = module.split(".") if package else module.split(".")[:-1]
    anchor = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
    return ".".join([*anchor, *([node.module] if node.module else [])])


def _apps(invocation: Invocation, script: str, args: tuple[str, ...]) -> _Apps:
    module, why = _settings_module(invocation, script, args)
    if module is None:
        return _Apps(_ASSUMED.format(why=why))
    settings = _Settings(
        invocation, posixpath.dirname(script) if script else ""
    )  # manage.py's directory is sys.path[0]
    names = settings.namespace(module)
    entries = names.get("INSTALLED_APPS", names.get("*", []))
    where = f"the apps of {module}"
    if settings.conditional and any(entry.name is None or _runserver_app(entry.name) for entry in entries):
        return _Apps(
            f"{settings.conditional}, which keepalive-guard does not evaluate", "?", settings.conditional_at
        )
    channels: _Entry | None = None
    for entry in entries:
        if entry.name is None:
            if channels is None and not any(each.name and _runserver_app(each.name) for each in entries):
                return _Apps(_ASSUMED.format(why=entry.why or settings.hidden))
            listed = ", ".join(
                f'"{each.name}"' for each in entries if each.name and _runserver_app(each.name)
            )
            return _Apps(
                f"{entry.why} is not visible and comes before {listed} in {where}, so which app's runserver "
                "wins is not known (the first app listed that has one)",
                "?",
                entry.location,
            )
        app = _runserver_app(entry.name)
        if app == "daphne":
            before = f', after "{channels.name}"' if channels is not None else ""
            return _Apps(f'"{entry.name}" in {where}{before}', "daphne", entry.location)
        if app == "channels" and channels is None:
            channels = entry
        elif app == "django.contrib.staticfiles":
            later = [
                each for each in entries if each.name and _runserver_app(each.name) in ("daphne", "channels")
            ]
            if channels is not None:
                return _Apps(f'"{channels.name}" in {where}', "channels", channels.location)
            if later:
                says = (
                    f'"{entry.name}" comes before "{later[0].name}" in {where}, so its runserver (Django\'s '
                    "own server) wins: of the apps with a runserver, Django takes the first listed"
                )
                return _Apps(says, "", entry.location)
    if channels is not None:
        return _Apps(f'"{channels.name}" in {where}', "channels", channels.location)
    return _Apps(f"{where} list neither daphne nor channels")


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
