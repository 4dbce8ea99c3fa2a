"""nginx as the container that receives the load balancer's traffic (often a sidecar proxy).

`keepalive_timeout` lives in nginx.conf and cannot be set with `-g` (that only takes main-context
directives). The built-in default is 75 s; the stock nginx.conf of the official image sets 65 s in the
http block and includes /etc/nginx/conf.d/*.conf inside it. When the Dockerfile is known, nginx.conf
(or the `-c` file) and the files it includes are read where the Dockerfile copies them; a server block
overrides the http block, a location block the server block, and `0` turns keep-alive off. Without
the Dockerfile, a custom image or `-c` means a configuration keepalive-guard cannot see (tuning guides
often lower the timeout), so the keep-alive is unknown there until declared with the docker label.
The server blocks that listen on the container port the load balancer targets are the ones that count;
when none does (or the port is not known), all server blocks are compared.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, replace

from policies.model import UNKNOWN_PART, Location, show
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
        self.skipped_stock_server = False

    def read(self, path: str, depth: int = 0) -> tuple[_Directive, ...] | None:
        """The directives of `path`, or None when the file is neither copied nor stock."""
        found = self.invocation.file(path)
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
        copied = self.invocation.files(pattern)
        for file in copied:
            included.extend(self.read(file.path, depth + 1) or ())
        for path in _STOCK if self.stock else ():
            stock_directory, stock_name = posixpath.split(path)
            if stock_directory != directory or not fnmatch.fnmatchcase(stock_name, name):
                continue
            if any(file.path == path for file in copied):
                continue
            directives = self.read(path, depth + 1) or ()
            if copied and any(each.name == "server" for each in directives):
                # the stock conf.d/default.conf is usually removed (RUN rm) when an image brings its
                # own server: it is not taken for the one that receives the traffic
                self.skipped_stock_server = True
                continue
            included.extend(directives)
        return included


@dataclass(frozen=True)
class _Value:
    directive: _Directive | None  # None: nginx's built-in default
    where: str  # "the http block", "the server block listening on 8000"...
    ports: frozenset[int] | None = None  # those of the server it applies in; None: no server block


def _listen_port(address: str) -> int | None:
    """The port of a `listen` address as ngx_http_core_listen parses it (ngx_parse_url with
    default_port 80): `8000`, `*:8000`, `127.0.0.1` (80), `[::]:8000`; None for a unix socket."""
    if UNKNOWN_PART in address or address.startswith("unix:"):
        return None
    if address.startswith("["):  # [::]:8000, or [::] alone
        address = address.partition("]")[2] or ":80"
    _, colon, port = address.rpartition(":")
    if colon:
        return int(port) if port.isdigit() else None
    return int(address) if address.isdigit() else 80  # a port alone, or an address alone


def _ports(server: _Directive) -> frozenset[int]:
    """The ports a server block listens on. Without `listen`, ngx_http_core_server adds *:80 when nginx
    starts as root and *:8000 otherwise (`htons((getuid() == 0) ? 80 : 8000)` in
    src/http/ngx_http_core_module.c); the user nginx starts as is not visible, so either."""
    listens = [each.args[0] for each in server.block or () if each.name == "listen" and each.args]
    if not listens:
        return frozenset({80, 8000})
    return frozenset(port for port in map(_listen_port, listens) if port is not None)


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
        where, ports = _server_name(server), _ports(server)
        values.append(_Value(own, where, ports) if own is not None else replace(http_value, ports=ports))
        values.extend(
            _Value(inner, f"a location of {where}", ports) for inner in _in_locations(server.block or ())
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


def _unknown(says: str, invocation: Invocation) -> Server:
    return Server(NAME, "", KeepAlive.unknown(Evidence(says, invocation.location)), None, _declare(_REMEDY))


def _from_configuration(invocation: Invocation, path: str) -> Server:
    """The keep-alive nginx's configuration gives, when the Dockerfile that builds the image is known."""
    image = invocation.base_image
    configuration = _Configuration(invocation, official(image.value), posixpath.dirname(path))
    try:
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
    https = [directive for directive in main if directive.name == "http" and directive.block is not None]
    values = [value for http in https for value in _candidates(http)]
    if not values:
        return _unknown(f"nginx's configuration `{show(path)}` has no http block", invocation)
    port = invocation.port
    receiving = [value for value in values if port is not None and port in (value.ports or ())]
    found = [(value, _keep_alive(value, image.location)) for value in receiving or values]
    if len({(keep.mode, keep.seconds) for _, keep in found}) > 1:
        shown = "; ".join(f"{keep.describe()} ({keep.evidence})" for _, keep in found)
        which = f"server blocks on port {port}" if receiving else "server blocks"
        return _unknown(
            f"nginx's {which} differ, and which one receives the traffic is not known: {shown}",
            invocation,
        )
    chosen, keep_alive = next(((v, k) for v, k in found if v.directive is not None), found[0])
    if receiving and len(receiving) < len(values):
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
    if configuration.skipped_stock_server and any(
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
    written = show(f"keepalive_timeout {' '.join(directive.args)};")
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
