"""nginx as the container that receives the load balancer's traffic (often a sidecar proxy).

`keepalive_timeout` lives in nginx.conf and cannot be set with `-g` (that only takes main-context
directives). The built-in default is 75 s; the stock nginx.conf of the official image sets 65 s in the
http block and includes /etc/nginx/conf.d/*.conf inside it. When the Dockerfile is known, nginx.conf
(or the `-c` file) and the files it includes are read where the Dockerfile copies them; a server block
overrides the http block, a location block the server block, and `0` turns keep-alive off. Without
the Dockerfile, a custom image or `-c` means a configuration keepalive-guard cannot see (tuning guides
often lower the timeout), so the keep-alive is unknown there until declared with the docker label.
The official images' entrypoint renders the templates copied to /etc/nginx/templates into conf.d first
(envsubst of the variables the container defines), so a rendered template is read where it lands.
The server blocks that listen on the container port the load balancer targets are the ones that count;
when none does, nginx does not serve that port as far as the configuration shows, so the keep-alive is
unknown, except that an image bringing no server block of its own is taken to have moved the stock
default.conf to that port (`RUN sed`, which is not visible), and says so; when the port is not known,
all server blocks are compared.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, replace

from policies.model import UNKNOWN_PART, ImageBuild, ImageFile, Location, show
from policies.servers import units
from policies.servers.argv import option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server

NAME = "nginx"
RECOGNISED = (
    "`nginx` (the official nginx images), with nginx.conf and the files it includes when the Dockerfile "
    "copies them"
)
_DOCS = "https://nginx.org/en/docs/http/ngx_http_core_module.html#keepalive_timeout"
# src/http/ngx_http_core_module.c: ngx_conf_merge_msec_value(conf->keepalive_timeout, ..., 75000)
BUILT_IN_DEFAULT = 75
# conf/nginx.conf in nginx's sources and the official image's /etc/nginx/nginx.conf: `keepalive_timeout 65;`
IMAGE_DEFAULT = 65
_IMAGE_CONF = "https://github.com/nginx/nginx/blob/master/conf/nginx.conf"
_OFFICIAL = re.compile(
    r"^(docker\.io/|public\.ecr\.aws/nginx/|public\.ecr\.aws/docker/library/)?(library/)?(nginx|nginxinc/nginx-unprivileged)(:|@|$)"
)
# The official image's configuration (nginxinc/docker-nginx, from nginx's pkg-oss packages), as far as
# keep-alive goes: nginx.conf sets the timeout in http and includes conf.d/*.conf there; the stock
# conf.d/default.conf holds one server (listen 80, or 8080 in nginx-unprivileged) that sets nothing.
_PREFIX = "/etc/nginx"
_MAIN = "/etc/nginx/nginx.conf"
_STOCK = {
    _MAIN: (
        "http {\n    include /etc/nginx/mime.types;\n    keepalive_timeout  65;\n"
        "    include /etc/nginx/conf.d/*.conf;\n}\n"
    ),
    "/etc/nginx/mime.types": "types {\n}\n",
    "/etc/nginx/conf.d/default.conf": "server {\n    listen 80;\n}\n",
}
MAX_INCLUDE_DEPTH = 8
_STOCK_LABEL = "the official image's "
# Files every nginx package ships that hold only types, charset maps or *_param lines.
_SHIPPED = re.compile(
    r"mime\.types|fastcgi_params|fastcgi\.conf|uwsgi_params|scgi_params|proxy_params|koi-utf|koi-win|win-utf"
)
_REMEDY = "set `keepalive_timeout {seconds}s;` in the http block of nginx.conf"
# The official images' /docker-entrypoint.d/20-envsubst-on-templates.sh (nginxinc/docker-nginx
# entrypoint/20-envsubst-on-templates.sh, since 1.19): every file under NGINX_ENVSUBST_TEMPLATE_DIR whose
# name ends in NGINX_ENVSUBST_TEMPLATE_SUFFIX becomes NGINX_ENVSUBST_OUTPUT_DIR/<relative path without
# the suffix>, through `envsubst "$defined_envs"`: only the variables the environment defines (those whose
# names match NGINX_ENVSUBST_FILTER, a regular expression, when set) are replaced, `${NAME}` and `$NAME`
# alike; any other `$...` stays as written (nginx's own `$host`).
_TEMPLATES = "https://github.com/nginxinc/docker-nginx/blob/master/entrypoint/20-envsubst-on-templates.sh"
_TEMPLATE_SETTINGS = (
    ("NGINX_ENVSUBST_TEMPLATE_DIR", "/etc/nginx/templates"),
    ("NGINX_ENVSUBST_TEMPLATE_SUFFIX", ".template"),
    ("NGINX_ENVSUBST_OUTPUT_DIR", "/etc/nginx/conf.d"),
)
_FIRST_WITH_TEMPLATES = (1, 19)  # docker-nginx added the script with nginx 1.19.0
# gettext's envsubst: `$NAME` takes the longest name, `${NAME}` needs its closing brace.
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
# Variables every such container defines without the task saying so, with values not visible: Docker's
# HOSTNAME/HOME/PATH, the shell's PWD/SHLVL, the image's own ENV (NGINX_VERSION, NJS_VERSION,
# NJS_RELEASE, PKG_RELEASE, DYNPKG_RELEASE) and those ECS adds (ECS_CONTAINER_METADATA_URI, AWS_REGION...).
_RUNTIME_VARIABLE = re.compile(
    r"HOSTNAME|HOME|PATH|PWD|SHLVL|(NGINX|NJS|PKG|DYNPKG)_(VERSION|RELEASE)|(ECS|AWS)_[A-Z0-9_]+"
)
# ngx_http_block: the ports nginx listens on come only from the server blocks (ngx_http_core_server's
# listen or its implicit one), so an http block without servers listens nowhere.
_LISTEN_DOCS = "https://nginx.org/en/docs/http/ngx_http_core_module.html#listen"

FACTS = (
    Fact(
        "nginx, official image's nginx.conf",
        "`keepalive_timeout` in nginx.conf",
        f"{IMAGE_DEFAULT} s",
        _IMAGE_CONF,
        "nginx time (a bare number is seconds)",
    ),
    Fact(
        "nginx, nginx.conf without keepalive_timeout",
        "`keepalive_timeout` in nginx.conf",
        f"{BUILT_IN_DEFAULT} s",
        _DOCS,
        "nginx time (a bare number is seconds)",
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "nginx"


def official(image: str | None) -> bool:
    return image is not None and UNKNOWN_PART not in image and _OFFICIAL.match(image) is not None


def image_command(image: str) -> tuple[str, ...] | None:
    """The command an image runs by itself: the official nginx images end in `CMD ["nginx", "-g",
    "daemon off;"]` (nginxinc/docker-nginx Dockerfiles)."""
    return ("nginx", "-g", "daemon off;") if official(image) else None


@dataclass(frozen=True)
class _Directive:
    name: str
    args: tuple[str, ...]
    location: Location
    block: tuple[_Directive, ...] | None  # the directives of a `{ ... }` block


class _Unreadable(Exception):
    """nginx's configuration cannot be followed: the message says why."""


def _tokens(text: str) -> list[tuple[str, int]]:
    """nginx's configuration tokens (`ngx_conf_read_token`): words, quoted strings, and the `;`, `{`,
    `}` that end directives, each with its line; comments dropped."""
    found: list[tuple[str, int]] = []
    line, position, length = 1, 0, len(text)
    while position < length:
        char = text[position]
        if char == "\n":
            line += 1
            position += 1
        elif char.isspace():
            position += 1
        elif char == "#":
            end = text.find("\n", position)
            position = length if end < 0 else end
        elif char in ";{}":
            found.append((char, line))
            position += 1
        elif char in "\"'":
            word, start = [], line
            position += 1
            while position < length and text[position] != char:
                if text[position] == "\\" and position + 1 < length:
                    position += 1
                line += text[position] == "\n"
                word.append(text[position])
                position += 1
            if position >= length:
                raise _Unreadable(f"an unterminated quoted string at line {start}")
            found.append(("".join(word), start))
            position += 1
        else:
            start = position
            while position < length:
                char = text[position]
                # a word ends at white space, ";" or a "{" that does not open a ${variable}
                if char.isspace() or char == ";" or (char == "{" and text[position - 1] != "$"):
                    break
                position += 2 if char == "\\" else 1
            found.append((text[start:position], line))
    return found


def _parse(text: str, path: str) -> tuple[_Directive, ...]:
    tokens = _tokens(text)
    position = 0

    def block(closed: bool) -> tuple[_Directive, ...]:
        nonlocal position
        directives: list[_Directive] = []
        words: list[tuple[str, int]] = []
        while position < len(tokens):
            word, line = tokens[position]
            position += 1
            if word == ";" or word == "{":
                if not words:
                    raise _Unreadable(f"an unexpected '{word}' at line {line}")
                location = Location(path, words[0][1])
                inner = block(True) if word == "{" else None
                directives.append(_Directive(words[0][0], tuple(w for w, _ in words[1:]), location, inner))
                words = []
            elif word == "}":
                if words or not closed:
                    raise _Unreadable(f"an unexpected '}}' at line {line}")
                return tuple(directives)
            else:
                words.append((word, line))
        if words or closed:
            raise _Unreadable("the file ends inside a directive or block")
        return tuple(directives)

    return block(False)


class _Configuration:
    """nginx's configuration as the image holds it: files a known Dockerfile copies, else the official
    image's stock files; includes expanded in place, as nginx reads them. Relative include paths are
    relative to the directory of the main file (nginx's conf_prefix)."""

    def __init__(self, invocation: Invocation, stock: bool, prefix: str):
        self.invocation, self.stock, self.prefix = invocation, stock, prefix
        self.hidden: list[str] = []  # includes whose files are not visible
        self.skipped_stock_ports: set[int] = set()  # of the stock server taken not to be there
        self.unknown_variables: list[str] = []  # why a template's variable is shown as <?>
        self.rendered = _rendered_templates(invocation, self.unknown_variables) if stock else {}

    def read(self, path: str, depth: int = 0) -> tuple[_Directive, ...] | None:
        """The directives of `path`, or None when the file is neither copied, rendered nor stock."""
        found = self.rendered.get(path) or self.invocation.file(path)
        if found is not None:
            if found.text is None:
                raise _Unreadable(f"{found.location.path} cannot be read ({found.problem})")
            return self.expand(_parse(found.text, found.location.path), depth)
        if self.stock and path in _STOCK:
            text = _STOCK[path]
            if "nginx-unprivileged" in (self.invocation.base_image.value or ""):
                text = text.replace("listen 80;", "listen 8080;")
            return self.expand(_parse(text, _STOCK_LABEL + path), depth)
        return None

    def expand(self, directives: tuple[_Directive, ...], depth: int) -> tuple[_Directive, ...]:
        expanded: list[_Directive] = []
        for directive in directives:
            if directive.name == "include" and directive.block is None and len(directive.args) == 1:
                expanded.extend(self.include(directive, depth))
            elif directive.block is not None:
                inner = self.expand(directive.block, depth)
                expanded.append(_Directive(directive.name, directive.args, directive.location, inner))
            else:
                expanded.append(directive)
        return tuple(expanded)

    def include(self, directive: _Directive, depth: int) -> list[_Directive]:
        written = f"`include {show(directive.args[0])};` at {directive.location}"
        pattern = posixpath.normpath(posixpath.join(self.prefix, directive.args[0]))
        directory, name = posixpath.split(pattern)
        if UNKNOWN_PART in pattern or depth >= MAX_INCLUDE_DEPTH or re.search(r"[*?\[]", directory):
            self.hidden.append(written)
            return []
        if not re.search(r"[*?\[]", name):
            found = self.read(pattern, depth + 1)
            if found is None and not _SHIPPED.fullmatch(name):
                self.hidden.append(written)
            return list(found or ())
        included: list[_Directive] = []
        rendered = [path for path in self.rendered if _globbed(path, directory, name)]
        copied = sorted({file.path for file in self.invocation.files(pattern)} | set(rendered))
        for path in copied:
            included.extend(self.read(path, depth + 1) or ())
        for path in _STOCK if self.stock else ():
            if not _globbed(path, directory, name) or path in copied:
                continue
            directives = self.read(path, depth + 1) or ()
            if copied and any(each.name == "server" for each in directives):
                # the stock conf.d/default.conf is usually removed (RUN rm) when an image brings its
                # own server: it is not taken for the one that receives the traffic
                servers = (each for each in directives if each.name == "server")
                self.skipped_stock_ports.update(port for server in servers for port in _ports(server)[0])
                continue
            included.extend(directives)
        return included


def _globbed(path: str, directory: str, name: str) -> bool:
    """Whether glob(3) matches `path` with `directory`/`name` (no leading dot for a wildcard)."""
    found_directory, found_name = posixpath.split(path)
    hidden = found_name.startswith(".") and not name.startswith(".")
    return found_directory == directory and fnmatch.fnmatchcase(found_name, name) and not hidden


def _copied_under(build: ImageBuild, directory: str) -> list[str]:
    """The paths of the files a Dockerfile copies anywhere below `directory` (absolute)."""
    prefix = directory.rstrip("/") + "/"
    found: set[str] = set()
    for copy in build.copies:
        destination = copy.destination
        if not copy.source.is_dir():
            target = posixpath.normpath(
                destination + copy.source.name if destination.endswith("/") else destination
            )
            if target.startswith(prefix):
                found.add(target)
            continue
        root = destination.rstrip("/")
        if (root + "/").startswith(prefix):
            local = copy.source
        elif prefix.startswith(root + "/"):
            local = copy.source / prefix[len(root) + 1 :]
        else:
            continue
        if local.is_dir():
            for each in local.rglob("*"):
                if each.is_file():
                    relative = each.relative_to(copy.source).as_posix()
                    found.add(posixpath.join(root or "/", relative))
    return sorted(found)


def _image_version(image: str) -> tuple[int, int] | None:
    found = re.search(r":(\d+)\.(\d+)", image)
    return (int(found.group(1)), int(found.group(2))) if found else None


def _template_setting(invocation: Invocation, name: str, default: str) -> str:
    """One of the entrypoint's NGINX_ENVSUBST_* settings, as the task or the Dockerfile sets it. One
    that only an environment file might set is taken to be unset: those name the image's layout, which
    its Dockerfile sets when it changes it."""
    setting = invocation.env.get(name)
    if setting is None:
        return default
    if setting.value is None or UNKNOWN_PART in setting.value:
        raise _Unreadable(
            f"{name} is not known ({setting.note or 'not visible'}), and the official image's entrypoint "
            "renders nginx's configuration templates with it"
        )
    return setting.value


def _render(text: str, invocation: Invocation, unknown: list[str]) -> str:
    """A template as envsubst renders it with the variables the container defines (<?> for a value
    that is not visible); `unknown` collects why."""
    chosen = invocation.env.get("NGINX_ENVSUBST_FILTER")
    pattern = "" if chosen is None else chosen.value  # awk's `name ~ /filter/`: "" matches every name
    try:
        only = re.compile(pattern) if pattern is not None and UNKNOWN_PART not in pattern else None
    except re.error:  # an ERE Python does not read alike
        only = None

    def note(why: str) -> str:
        if why not in unknown:
            unknown.append(why)
        return UNKNOWN_PART

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        setting = invocation.env_value(name)
        if setting is None and not _RUNTIME_VARIABLE.fullmatch(name):
            return match.group(0)  # not defined: envsubst leaves it as written
        if only is None:
            return note("NGINX_ENVSUBST_FILTER, which picks the variables the templates take, is not known")
        if not only.search(name):
            return match.group(0)
        if setting is None:
            return note(f"{name} is set when the container starts")
        if setting.value is None:
            hidden = name not in invocation.env
            return note(
                f"the templates' variables may be set in {' and '.join(invocation.hidden_environment)}"
                if hidden
                else setting.note or f"{name} is not known"
            )
        return setting.value

    return _VARIABLE.sub(substitute, text)


def _rendered_templates(invocation: Invocation, unknown: list[str]) -> dict[str, ImageFile]:
    """The files the official image's entrypoint renders from the templates the Dockerfile copies, by
    the path they are written to. The entrypoint runs them when it starts `nginx` (not a path to it)
    and the Dockerfile keeps the image's ENTRYPOINT."""
    build = invocation.build
    version = _image_version(invocation.base_image.value or "")
    if build is None or invocation.argv[:1] != ("nginx",) or (version and version < _FIRST_WITH_TEMPLATES):
        return {}
    entry_point = build.entry_point.value if build.entry_point is not None else None
    if entry_point and entry_point[0].rsplit("/", 1)[-1] != "docker-entrypoint.sh":
        return {}
    directory, suffix, output = (_template_setting(invocation, *each) for each in _TEMPLATE_SETTINGS)
    directory = posixpath.normpath(directory)
    rendered: dict[str, ImageFile] = {}
    for path in _copied_under(build, directory):
        template = build.file(path)
        if template is None or not path.endswith(suffix):
            continue
        relative = path[len(directory) + 1 :]
        target = posixpath.normpath(posixpath.join(output, relative[: len(relative) - len(suffix)]))
        text = _render(template.text, invocation, unknown) if template.text is not None else None
        rendered[target] = replace(template, path=target, text=text)
    return rendered


@dataclass(frozen=True)
class _Value:
    directive: _Directive | None  # None: nginx's built-in default
    where: str  # "the http block", "the server block listening on 8000"...
    ports: frozenset[int] | None = None  # those of the server it applies in; None: no server block
    unsure: str = ""  # a `listen` of that server whose port is not known, as written
    stock: bool = False  # the server is the official image's stock one


def _listen_port(address: str) -> int | None:
    """The port of a `listen` address as ngx_http_core_listen parses it (ngx_parse_url with
    default_port 80): `8000`, `*:8000`, `127.0.0.1` (80), `[::]:8000`; None for a unix socket."""
    if UNKNOWN_PART in address or "$" in address or address.startswith("unix:"):
        return None  # `listen` takes no variables: an envsubst variable left as written
    if address.startswith("["):  # [::]:8000, or [::] alone
        address = address.partition("]")[2] or ":80"
    _, colon, port = address.rpartition(":")
    if colon:
        return int(port) if port.isdecimal() else None
    return int(address) if address.isdecimal() else 80  # a port alone, or an address alone


def _ports(server: _Directive) -> tuple[frozenset[int], str]:
    """The ports a server block listens on, and a `listen` whose port is not known (as written). Without
    `listen`, ngx_http_core_server adds *:80 when nginx starts as root and *:8000 otherwise
    (`htons((getuid() == 0) ? 80 : 8000)` in src/http/ngx_http_core_module.c); the user nginx starts as
    is not visible, so either."""
    listens = [each for each in server.block or () if each.name == "listen" and each.args]
    if not listens:
        return frozenset({80, 8000}), ""
    ports = {each: _listen_port(each.args[0]) for each in listens}
    unsure = [
        f"`listen {show(each.args[0])};` at {each.location}"
        for each, port in ports.items()
        if port is None and not each.args[0].startswith("unix:")
    ]
    return frozenset(port for port in ports.values() if port is not None), " and ".join(unsure)


def _own(directives: tuple[_Directive, ...]) -> _Directive | None:
    found = [directive for directive in directives if directive.name == "keepalive_timeout"]
    return found[-1] if found else None


def _in_locations(directives: tuple[_Directive, ...]) -> list[_Directive]:
    """keepalive_timeout directives inside location blocks, at any depth: after a request to such a
    location, the connection idles with that location's timeout."""
    found: list[_Directive] = []
    for directive in directives:
        if directive.block is not None and directive.name in ("location", "if", "limit_except"):
            own = _own(directive.block)
            if own is not None:
                found.append(own)
            found.extend(_in_locations(directive.block))
    return found


def _server_name(server: _Directive) -> str:
    ports = [show(each.args[0]) for each in server.block or () if each.name == "listen" and each.args]
    return f"the server block listening on {', '.join(ports)}" if ports else "a server block"


def _candidates(http: _Directive) -> list[_Value]:
    """The keep-alive each server of the http block idles with (the http block's when it has none)."""
    block = http.block or ()
    http_value = _Value(_own(block), "the http block")
    servers = [directive for directive in block if directive.name == "server" and directive.block is not None]
    values: list[_Value] = [] if servers else [http_value]
    for server in servers:
        own = _own(server.block or ())
        where, (ports, unsure) = _server_name(server), _ports(server)
        stock = server.location.path.startswith(_STOCK_LABEL)
        values.append(
            _Value(own, where, ports, unsure, stock)
            if own is not None
            else replace(http_value, ports=ports, unsure=unsure, stock=stock)
        )
        values.extend(
            _Value(inner, f"a location of {where}", ports, unsure, stock)
            for inner in _in_locations(server.block or ())
        )
    return values


def _keep_alive(value: _Value, image: Location) -> KeepAlive:
    directive = value.directive
    if directive is None:
        says = (
            f"no keepalive_timeout in nginx's configuration: nginx's built-in default is {BUILT_IN_DEFAULT} s"
        )
        return KeepAlive.after(BUILT_IN_DEFAULT, Evidence(says, None, _DOCS))
    written = show(f"keepalive_timeout {' '.join(directive.args)};")
    if directive.location.path.startswith(_STOCK_LABEL):
        says = f"the official nginx image's nginx.conf sets `{written}` in the http block"
        evidence = Evidence(says, image, _IMAGE_CONF)
    else:
        evidence = Evidence(f"`{written}` in {value.where}", directive.location, _DOCS)
    seconds = units.nginx_time(directive.args[0] if directive.args else None)
    if seconds is None:
        return KeepAlive.unknown(evidence)
    if seconds == 0:
        # ngx_http_core_module.c: `if (clcf->keepalive_timeout == 0) r->keepalive = 0` → Connection: close
        return KeepAlive(Mode.NO_KEEP_ALIVE, evidence)
    return KeepAlive.after(seconds, evidence)


def _declare(remedy: str) -> str:
    return (
        f'{remedy}, and declare it with the docker label `keepalive-guard.keep-alive-seconds = "{{seconds}}"`'
    )


def _unknown(says: str, invocation: Invocation, source: str = "") -> Server:
    evidence = Evidence(says, invocation.location, source)
    return Server(NAME, "", KeepAlive.unknown(evidence), None, _declare(_REMEDY))


def _not_served(port: int, values: list[_Value]) -> str:
    """Why no server block counts: none listens on the load balancer's port."""
    ports = sorted({port for value in values for port in value.ports or ()})
    if any(value.ports is not None for value in values):
        listening = f"they listen on {', '.join(map(str, ports))}" if ports else "they listen on unix sockets"
    else:
        listening = "its http block has no server block, so nginx listens on no port"
    return (
        f"no server block of nginx's configuration listens on {port}, the port the load balancer sends "
        f"traffic to ({listening}), so the keep-alive of what serves that port is not known"
    )


def _from_configuration(invocation: Invocation, path: str) -> Server:
    """The keep-alive nginx's configuration gives, when the Dockerfile that builds the image is known."""
    image = invocation.base_image
    try:
        configuration = _Configuration(invocation, official(image.value), posixpath.dirname(path))
        main = configuration.read(path)
    except _Unreadable as problem:
        return _unknown(f"nginx's configuration cannot be followed: {problem}", invocation)
    if main is None:
        return _unknown(
            f"nginx's configuration `{show(path)}` is not copied by the Dockerfile, so it is not visible",
            invocation,
        )
    if configuration.hidden:
        return _unknown(
            f"{' and '.join(configuration.hidden)} reads files the Dockerfile does not copy, which may set "
            "keepalive_timeout",
            invocation,
        )
    server = _decide(invocation, path, configuration, main)
    evidence = server.keep_alive.evidence
    unknown = configuration.unknown_variables
    if server.keep_alive.mode is Mode.UNKNOWN and show(UNKNOWN_PART) in evidence.says and unknown:
        says = f"{evidence.says} (<?>: {'; '.join(unknown)})"
        return replace(server, keep_alive=KeepAlive.unknown(replace(evidence, says=says)))
    rendered = {file.location.path: file.path for file in configuration.rendered.values()}
    if evidence.location is not None and evidence.location.path in rendered:
        says = (
            f"{evidence.says}; the official image's entrypoint renders {evidence.location.path} to "
            f"{rendered[evidence.location.path]} with the container's environment"
        )
        keep_alive = replace(server.keep_alive, evidence=replace(evidence, says=says, source=_TEMPLATES))
        return replace(server, keep_alive=keep_alive)
    return server


def _decide(
    invocation: Invocation, path: str, configuration: _Configuration, main: tuple[_Directive, ...]
) -> Server:
    image = invocation.base_image
    https = [directive for directive in main if directive.name == "http" and directive.block is not None]
    values = [value for http in https for value in _candidates(http)]
    if not values:
        return _unknown(f"nginx's configuration `{show(path)}` has no http block", invocation)
    port = invocation.port
    # A server block whose `listen` is not known may be the one on the port. When the image brings no
    # server block of its own, the stock one's port may have been changed where keepalive-guard cannot
    # see: `RUN sed` on conf.d/default.conf is the usual way to move it (a mounted file another).
    only_stock = all(value.stock for value in values if value.ports is not None)
    receiving = [
        value
        for value in values
        if port is not None and (port in (value.ports or ()) or value.unsure or (only_stock and value.stock))
    ]
    if port is not None and not receiving:
        return _unknown(_not_served(port, values), invocation, _LISTEN_DOCS)
    assumed = port is not None and all(port not in (value.ports or ()) for value in receiving)
    found = [(value, _keep_alive(value, image.location)) for value in receiving or values]
    if len({(keep.mode, keep.seconds) for _, keep in found}) > 1:
        shown = "; ".join(f"{keep.describe()} ({keep.evidence})" for _, keep in found)
        which = f"server blocks on port {port}" if receiving else "server blocks"
        return _unknown(
            f"nginx's {which} differ, and which one receives the traffic is not known: {shown}",
            invocation,
        )
    chosen, keep_alive = next(((v, k) for v, k in found if v.directive is not None), found[0])
    if assumed and chosen.stock:
        stock_ports = ", ".join(map(str, sorted(chosen.ports or ())))
        says = (
            f"{keep_alive.evidence.says} (no server block visible listens on {port}: the official image's "
            f"conf.d/default.conf listens on {stock_ports}, taken to be changed to {port} where "
            "keepalive-guard cannot see)"
        )
        keep_alive = replace(keep_alive, evidence=replace(keep_alive.evidence, says=says))
    elif receiving and len(receiving) < len(values):
        evidence = keep_alive.evidence
        says = (
            f"{evidence.says} (the load balancer sends the traffic to port {port}; the server blocks on "
            "other ports do not count)"
        )
        keep_alive = replace(keep_alive, evidence=replace(evidence, says=says))
    directive = chosen.directive
    if directive is None:
        local = invocation.file(path)
        evidence = Evidence(keep_alive.evidence.says, local.location if local else invocation.location, _DOCS)
        return Server(NAME, "", KeepAlive(keep_alive.mode, evidence, keep_alive.seconds), None, _REMEDY)
    http_level = [
        _keep_alive(_Value(_own(http.block or ()), "the http block"), image.location) for http in https
    ]
    skipped = configuration.skipped_stock_ports
    if (port in skipped if port is not None else bool(skipped)) and any(
        (keep.mode, keep.seconds) != (keep_alive.mode, keep_alive.seconds) for keep in http_level
    ):
        # the stock server would idle with the http block's timeout, unlike the image's own server
        evidence = keep_alive.evidence
        says = f"{evidence.says} (the image's stock conf.d/default.conf is taken not to receive the traffic)"
        keep_alive = KeepAlive(
            keep_alive.mode, Evidence(says, evidence.location, evidence.source), keep_alive.seconds
        )
    if directive.location.path.startswith(_STOCK_LABEL):
        return Server(NAME, "", keep_alive, None, _REMEDY)
    written = show(f"keepalive_timeout {' '.join(directive.args)};").replace("{", "{{").replace("}", "}}")
    change = f"change `{written}` to `keepalive_timeout {{seconds}}s;` in {chosen.where}"
    return Server(NAME, "", keep_alive, None, change, directive.location)


def analyse(invocation: Invocation) -> Server:
    config = option(invocation.args, ("-c",))
    if invocation.build is not None:
        prefix = option(invocation.args, ("-p",))
        root = prefix.value if prefix is not None and prefix.value else _PREFIX
        path = posixpath.normpath(posixpath.join(root, config.value or "")) if config is not None else _MAIN
        return _from_configuration(invocation, path)
    image = invocation.image.value or ""
    if config is None and official(image):
        says = f"the official nginx image (`{show(image)}`) ships nginx.conf with `keepalive_timeout {IMAGE_DEFAULT};`"
        return Server(
            NAME,
            "",
            KeepAlive.after(IMAGE_DEFAULT, Evidence(says, invocation.image.location, _IMAGE_CONF)),
            None,
            _REMEDY,
        )
    where = (
        f"`{show(config.value or '')}` (-c)"
        if config is not None
        else f"the nginx.conf of the image `{show(image)}`"
    )
    says = (
        f"nginx's keepalive_timeout is set in {where}, which is not visible in the scanned files "
        f"(nginx's built-in default is {BUILT_IN_DEFAULT} s; the official image's nginx.conf sets {IMAGE_DEFAULT} s)"
    )
    return Server(
        NAME, "", KeepAlive.unknown(Evidence(says, invocation.location, _DOCS)), None, _declare(_REMEDY)
    )
