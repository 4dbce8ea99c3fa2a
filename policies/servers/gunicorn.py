"""gunicorn: keep-alive depends on the worker class.

The sync worker (the default) answers every request with `Connection: close`, so it never holds an
idle connection; `--threads` > 1 silently turns it into gthread. gthread, gevent, eventlet, asgi and
uvicorn's gunicorn workers close idle connections after `keepalive` (default 2 s); the tornado worker
leaves them to Tornado (3600 s). For the sync worker only, `--timeout` also bounds how long one request
may run. Settings come from the command line, GUNICORN_CMD_ARGS and a config file (`-c`, or
./gunicorn.conf.py when present); what is not visible is said so.
"""

from __future__ import annotations

import ast
import shlex
from dataclasses import dataclass

from policies.model import UNKNOWN_PART, Location, show
from policies.servers.argv import number, option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, RequestTimeout, Server

NAME = "gunicorn"
RECOGNISED = "`gunicorn`, `python -m gunicorn`"
_SETTINGS = "https://docs.gunicorn.org/en/stable/settings.html"
# gunicorn/config.py, class Keepalive: default = 2 (unchanged from 19.0 to 27.0).
KEEPALIVE_DEFAULT = 2
# gunicorn/config.py, class Timeout: default = 30.
TIMEOUT_DEFAULT = 30
_SYNC_SOURCE = "https://github.com/benoitc/gunicorn/blob/master/gunicorn/workers/sync.py"
# gunicorn/workers/gtornado.py sets no_keep_alive after Tornado's HTTPServer has read its options, so
# Tornado closes idle connections after idle_connection_timeout, default 3600 s (tornado/httpserver.py),
# whatever --keep-alive says (measured with gunicorn 27.0.1 and tornado 6.6.1).
TORNADO_IDLE = 3600
_TORNADO_SOURCE = "https://www.tornadoweb.org/en/stable/httpserver.html#http-server"
# gunicorn/config.py get_default_config_file(): ./gunicorn.conf.py is read when no -c is given.
_ASSUMPTION = "assuming no gunicorn.conf.py in the image's working directory, which gunicorn would read"
# uvicorn/workers.py and uvicorn_worker/_workers.py: "timeout_keep_alive": self.cfg.keepalive
_UVICORN_WORKER_SOURCE = "https://github.com/encode/uvicorn/blob/master/uvicorn/workers.py"

# Worker class names as gunicorn accepts them (gunicorn/workers/__init__.py SUPPORTED_WORKERS and the
# dotted paths), mapped to how they treat idle connections.
_WORKERS = {
    "sync": "sync",
    "gunicorn.workers.sync.SyncWorker": "sync",
    "gthread": "gthread",
    "gunicorn.workers.gthread.ThreadWorker": "gthread",
    "gevent": "gevent",
    "gunicorn.workers.ggevent.GeventWorker": "gevent",
    "eventlet": "eventlet",  # removed in gunicorn 26.0; same keep-alive loop as gevent before
    "gunicorn.workers.geventlet.EventletWorker": "eventlet",
    "asgi": "asgi",
    "gunicorn.workers.gasgi.ASGIWorker": "asgi",
    "tornado": "tornado",
    "gunicorn.workers.gtornado.TornadoWorker": "tornado",
    "gevent_wsgi": "gevent_pywsgi",
    "gevent_pywsgi": "gevent_pywsgi",
    "gunicorn.workers.ggevent.GeventPyWSGIWorker": "gevent_pywsgi",
    "uvicorn.workers.UvicornWorker": "uvicorn",
    "uvicorn.workers.UvicornH11Worker": "uvicorn",
    "uvicorn_worker.UvicornWorker": "uvicorn",
    "uvicorn_worker.UvicornH11Worker": "uvicorn",
}
_KEEPALIVE_WORKERS = ("gthread", "gevent", "eventlet")

FACTS = (
    Fact(
        "gunicorn, sync worker (the default)",
        "none: `Connection: close` on every response",
        "no keep-alive",
        _SYNC_SOURCE,
        "-",
    ),
    Fact(
        "gunicorn, gthread (`--threads` > 1), gevent, eventlet, asgi workers",
        "`--keep-alive`, `GUNICORN_CMD_ARGS`",
        f"{KEEPALIVE_DEFAULT} s",
        f"{_SETTINGS}#keepalive",
    ),
    Fact(
        "gunicorn with `uvicorn.workers.UvicornWorker` / `uvicorn_worker.UvicornWorker`",
        "gunicorn's `--keep-alive` (uvicorn's own flags are not read)",
        f"{KEEPALIVE_DEFAULT} s",
        _UVICORN_WORKER_SOURCE,
    ),
    Fact(
        "gunicorn, tornado worker",
        "Tornado's `idle_connection_timeout`",
        f"{TORNADO_IDLE} s",
        _TORNADO_SOURCE,
    ),
    Fact(
        "gunicorn request bound (sync worker only)",
        "`-t`/`--timeout`",
        f"{TIMEOUT_DEFAULT} s",
        f"{_SETTINGS}#timeout",
    ),
)

_FLAGS = {
    "worker_class": ("-k", "--worker-class"),
    "threads": ("--threads",),
    "keepalive": ("--keep-alive",),
    "timeout": ("-t", "--timeout"),
    "config": ("-c", "--config"),
}


def recognises(invocation: Invocation) -> bool:
    return invocation.program in ("gunicorn", "gunicorn3")


@dataclass(frozen=True)
class _Value:
    text: str | None  # None: not known
    evidence: Evidence
    written: str = ""  # the option as written, e.g. "--threads 4"; "" for a default


class _Settings:
    """gunicorn settings as gunicorn/app/base.py load_config() layers them: the config file, then
    GUNICORN_CMD_ARGS, then the command line (the later wins); what none gives is gunicorn's default."""

    def __init__(self, invocation: Invocation):
        self.invocation = invocation
        self.given: dict[str, _Value] = {}
        env_args = invocation.env_value("GUNICORN_CMD_ARGS")
        if env_args is not None and env_args.value is None:
            for name in _FLAGS:
                self.given[name] = _Value(
                    None, Evidence(f"GUNICORN_CMD_ARGS is not known ({env_args.note})", env_args.location)
                )
        elif env_args is not None and env_args.value is not None:
            try:
                words = tuple(shlex.split(env_args.value))
            except ValueError:
                words = tuple(env_args.value.split())
            self._take(words, "in GUNICORN_CMD_ARGS", env_args.location)
        self._take(invocation.args, "in the command", None)
        self.config = self.given.get("config")
        # What the config file says: its settings (under the layers above), or why it is not known.
        self.from_file: dict[str, _Value] = {}
        self.file_unknown: Evidence | None = None
        self.no_file = _ASSUMPTION
        self._read_config()

    def _take(self, words: tuple[str, ...], where: str, location: Location | None) -> None:
        """Options from `words`; a None location means the command itself, where each has its own."""
        for name, flags in _FLAGS.items():
            found = option(words, flags)
            if found is not None:
                written = show(found.written)
                at = location or self.invocation.where(found.index)
                self.given[name] = _Value(found.value, Evidence(f"`{written}` {where}", at), written)

    def _read_config(self) -> None:
        invocation, config = self.invocation, self.config
        path = config.text if config is not None else "gunicorn.conf.py"
        if path is None or UNKNOWN_PART in path or path.startswith("python:"):
            self.file_unknown = Evidence(
                f"the config `{show(path or '<?>')}` (-c) is not a file keepalive-guard can read",
                config.evidence.location if config else invocation.location,
            )
            return
        found = invocation.file(path.removeprefix("file:"))
        if found is None:
            if config is not None:
                says = f"the config file `{show(path)}` (-c) is not visible in the scanned files"
                self.file_unknown = Evidence(says, config.evidence.location)
            elif invocation.build is not None and invocation.directory is None:
                says = "the directory gunicorn starts in is not known, and a gunicorn.conf.py there would be read"
                self.file_unknown = Evidence(says, invocation.location)
            elif invocation.build is not None:
                self.no_file = f"the Dockerfile copies no gunicorn.conf.py into the working directory {invocation.directory}"
            return
        if found.text is None:
            says = f"the config file {found.location.path} cannot be read ({found.problem})"
            self.file_unknown = Evidence(says, found.location)
            return
        self.from_file = _config_file(found.text, found.location.path, invocation)
        self.no_file = f"{found.location.path} does not set it"

    def get(self, name: str, flag: str, default: object) -> _Value:
        if name in self.given:
            return self.given[name]
        if name in self.from_file:
            return self.from_file[name]
        if self.file_unknown is not None:
            says = f"{flag} is not on the command line, and {self.file_unknown.says}, which may set it"
            return _Value(None, Evidence(says, self.file_unknown.location))
        unit = " s" if name in ("keepalive", "timeout") else ""
        says = f"no {flag} given: gunicorn's default is {default}{unit} ({self.no_file})"
        return _Value(
            str(default), Evidence(says, self.invocation.location, f"{_SETTINGS}#{name.replace('_', '-')}")
        )


def _config_file(text: str, path: str, invocation: Invocation) -> dict[str, _Value]:
    """The settings a gunicorn.conf.py assigns, read without running it: literal values, and values
    from `os.environ.get("X", default)` / `os.getenv` (optionally in int()/float()/str()). Anything
    else, or a setting assigned inside a block, is unknown."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        says = f"{path} cannot be parsed as Python ({type(error).__name__})"
        return {name: _Value(None, Evidence(says, Location(path))) for name in _FLAGS if name != "config"}
    names = [name for name in _FLAGS if name != "config"]
    opaque = _opaque(tree)
    if opaque:
        says = f"{path} {opaque}, which keepalive-guard cannot follow without running the file"
        return {name: _Value(None, Evidence(says, Location(path))) for name in names}
    found: dict[str, _Value] = {}
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        for target, value in _assignments(node):
            if target.id not in names:
                continue
            source = ast.get_source_segment(text, node) or target.id
            written = (
                source if value is None else f"{target.id} = {ast.get_source_segment(text, value) or '...'}"
            )
            location = Location(path, getattr(node, "lineno", None))
            known = _literal(value, invocation) if value is not None and id(node) in top_level else None
            says = f"`{written}` in {path}"
            if id(node) not in top_level:
                says += " (assigned inside a block: keepalive-guard does not run the file)"
            elif known is None:
                says += " (not a value keepalive-guard can read without running the file)"
            nested_after = id(node) not in top_level and target.id in found
            found[target.id] = _Value(None if nested_after else known, Evidence(says, location), written)
    return found


def _opaque(tree: ast.Module) -> str:
    """How the file may set names no assignment shows (star imports, globals(), exec), or ""."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            return f"imports every name of {node.module or 'a module'} (line {node.lineno})"
        called = node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else ""
        if called in ("globals", "locals", "vars", "exec", "eval", "setattr"):
            return f"calls {called}() (line {getattr(node, 'lineno', '?')})"
    return ""


def _assignments(node: ast.AST) -> list[tuple[ast.Name, ast.expr | None]]:
    """(name, value) pairs an assignment binds; the value is None when it cannot be read alone
    (`+=`, unpacking of something other than a tuple, an import of the name)."""
    if isinstance(node, ast.Assign):
        pairs: list[tuple[ast.Name, ast.expr | None]] = []
        for target in node.targets:
            pairs.extend(_unpacked(target, node.value))
        return pairs
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [(node.target, node.value)]
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        return [(node.target, None)]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(ast.Name(alias.asname or alias.name), None) for alias in node.names]
    return []


def _unpacked(target: ast.expr, value: ast.expr | None) -> list[tuple[ast.Name, ast.expr | None]]:
    if isinstance(target, ast.Name):
        return [(target, value)]
    if isinstance(target, (ast.Tuple, ast.List)):
        values = (
            value.elts
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts)
            else None
        )
        return [
            pair
            for index, element in enumerate(target.elts)
            for pair in _unpacked(element, values[index] if values is not None else None)
        ]
    return []


def _literal(node: ast.expr, invocation: Invocation) -> str | None:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (str, int, float))
        and not isinstance(node.value, bool)
    ):
        return str(node.value)
    if isinstance(node, ast.Call) and not node.keywords:
        function = ast.unparse(node.func)
        if function in ("int", "float", "str") and len(node.args) == 1:
            return _literal(node.args[0], invocation)
        if function in ("os.environ.get", "os.getenv", "environ.get", "getenv") and node.args:
            name = node.args[0]
            if not isinstance(name, ast.Constant) or not isinstance(name.value, str):
                return None
            setting = invocation.env_value(name.value)
            if setting is not None:
                return setting.value
            return _literal(node.args[1], invocation) if len(node.args) > 1 else None
    return None


def analyse(invocation: Invocation) -> Server:
    settings = _Settings(invocation)
    worker_value = settings.get("worker_class", "-k/--worker-class", "sync")

    def unknown(evidence: Evidence, detail: str = "") -> Server:
        return Server(NAME, detail, KeepAlive.unknown(evidence))

    if worker_value.text is None or UNKNOWN_PART in worker_value.text:
        return unknown(worker_value.evidence)
    worker = _WORKERS.get(worker_value.text.removeprefix("egg:gunicorn#"))
    if worker is None:
        says = f"worker class `{worker_value.text}` is not one keepalive-guard knows"
        return unknown(Evidence(says, worker_value.evidence.location))
    detail = f"{worker} worker"
    if worker == "sync":
        threads_value = settings.get("threads", "--threads", 1)
        threads = number(threads_value.text)
        if threads is None:
            return unknown(threads_value.evidence, "sync or gthread worker")
        # gunicorn/config.py worker_class: `is_sync = uri.endswith('SyncWorker') or uri == 'sync'` and
        # `if is_sync and self.threads > 1: uri = "gunicorn.workers.gthread.ThreadWorker"`
        is_sync = worker_value.text == "sync" or worker_value.text.endswith("SyncWorker")
        if threads <= 1 or not is_sync:
            return _sync(settings)
        worker, detail = "gthread", f"gthread worker, because of `{threads_value.written}`"
    if worker == "gevent_pywsgi":
        says = (
            "the gevent_pywsgi worker leaves idle connections to gevent's pywsgi server, whose idle "
            "behaviour keepalive-guard has not verified"
        )
        return unknown(Evidence(says, worker_value.evidence.location), detail)
    if worker == "tornado":
        says = f"the tornado worker leaves idle connections to Tornado's idle_connection_timeout ({TORNADO_IDLE} s)"
        return Server(NAME, detail, KeepAlive.after(TORNADO_IDLE, Evidence(says, source=_TORNADO_SOURCE)))
    value = settings.get("keepalive", "--keep-alive", KEEPALIVE_DEFAULT)
    says, source = value.evidence.says, value.evidence.source
    if worker == "uvicorn":
        detail, source = f"{worker_value.text}, which takes gunicorn's --keep-alive", _UVICORN_WORKER_SOURCE
    elif worker == "asgi":
        # Measured on gunicorn 27.0.1: idle connections close after keepalive; earlier asgi workers did not
        # enforce it at all (benoitc/gunicorn#3735), which cannot race.
        says += "; the asgi worker enforces it since gunicorn 27"
    evidence = Evidence(says, value.evidence.location, source)
    keepalive = number(value.text)
    if keepalive is None:
        return unknown(evidence, detail)
    if keepalive <= 0 and worker == "asgi":
        # asgi/protocol.py closed without a Connection: close header until gunicorn 26.2.2 (PR #3731).
        says = f"{says}: the asgi worker closes silently (a race) before gunicorn 26.2.2 and announces it from 26.2.2"
        return unknown(Evidence(says, evidence.location), detail)
    if keepalive <= 0 and worker in _KEEPALIVE_WORKERS:
        # gthread.py, base_async.py: `if not self.cfg.keepalive` the response says Connection: close.
        return Server(NAME, detail, KeepAlive(Mode.NO_KEEP_ALIVE, evidence))
    given = settings.given.get("keepalive") or settings.from_file.get("keepalive")
    remedy = _remedy(given)
    where = given.evidence.location if given is not None else invocation.location
    return Server(NAME, detail, KeepAlive.after(keepalive, evidence), None, remedy, where)


def _sync(settings: _Settings) -> Server:
    says = "gunicorn's sync worker answers every request with `Connection: close`"
    if "worker_class" not in settings.given:
        says += f" (sync is the default worker class, {settings.no_file})"
    evidence = Evidence(says, source=_SYNC_SOURCE)
    timeout_value = settings.get("timeout", "--timeout", TIMEOUT_DEFAULT)
    timeout = number(timeout_value.text)
    request_timeout = None
    if timeout is not None and timeout > 0:
        # For the sync worker the timeout behaves like a request timeout (maintainer, benoitc/gunicorn#2111).
        says = f"{timeout_value.evidence.says}; it kills a sync worker busy with one request for longer"
        request_timeout = RequestTimeout(
            timeout, Evidence(says, timeout_value.evidence.location, f"{_SETTINGS}#timeout")
        )
    return Server(NAME, "sync worker", KeepAlive(Mode.NO_KEEP_ALIVE, evidence), request_timeout)


def _remedy(given: _Value | None) -> str:
    if given is None:
        return "add `--keep-alive {seconds}` to the gunicorn command"
    if given.evidence.location is not None and given.written.startswith("keepalive"):
        return f"change `{given.written}` to `keepalive = {{seconds}}` in {given.evidence.location.path}"
    if "GUNICORN_CMD_ARGS" in given.evidence.says:
        return f"change `{given.written}` to `--keep-alive {{seconds}}` in GUNICORN_CMD_ARGS"
    return f"change `{given.written}` to `--keep-alive {{seconds}}` in the gunicorn command"
