"""Apache httpd as the container that receives the load balancer's traffic.

Apache keeps connections alive by default (`KeepAlive On`) and closes idle ones after
`KeepAliveTimeout`, 5 s when nothing sets it (include/httpd.h DEFAULT_KEEPALIVE_TIMEOUT): a 502 risk
behind a load balancer. `KeepAlive Off` answers every response with `Connection: close`. The value
comes from the configuration: the official `httpd` image's httpd.conf leaves it at the default;
Debian's apache2.conf (php:*-apache images, apt's apache2) sets `KeepAliveTimeout 5`. A virtual host
may set its own; `-C "directive"` on the command line is read before the configuration files and
`-c "directive"` after them, so `-c` overrides the main server's value. Configuration files are read
where a known Dockerfile copies them, with their Include/IncludeOptional files. Apache accepts
connections only on the ports of its Listen directives: when none has the container port the load
balancer targets, Apache does not serve that port as far as its configuration shows, so the keep-alive
is unknown; a Listen of a stock file (httpd.conf, Debian's ports.conf) is taken to have been moved to
that port by a step that is not visible (`RUN sed`, the images' documented way), and that is said. The
virtual hosts on that port are the ones that count (the main server when none is); when the port is not
known, all virtual hosts are compared.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from policies.model import UNKNOWN_PART, Location, show
from policies.servers import units
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server, library_image

NAME = "apache"
RECOGNISED = (
    "`httpd`, `httpd-foreground`, `apachectl`, `apache2`, `apache2-foreground`, `apache2ctl` (the official "
    "httpd and php:*-apache images, the latter also with options alone), with their configuration files when "
    "the Dockerfile copies them"
)
_DOCS = "https://httpd.apache.org/docs/2.4/mod/core.html#keepalivetimeout"
_KEEPALIVE_DOCS = "https://httpd.apache.org/docs/2.4/mod/core.html#keepalive"
# include/httpd.h: `#define DEFAULT_KEEPALIVE_TIMEOUT 5`; server/config.c init_server_config:
# `s->keep_alive_timeout = apr_time_from_sec(DEFAULT_KEEPALIVE_TIMEOUT); ... s->keep_alive = 1;`
DEFAULT_TIMEOUT = 5
_DEBIAN_CONF = "https://salsa.debian.org/apache-team/apache2/-/blob/master/debian/config-dir/apache2.conf.in"
_HTTPD_CONF = "https://github.com/apache/httpd/blob/2.4.x/docs/conf/httpd.conf.in"
# Official images: docker-library/httpd 2.4/Dockerfile `CMD ["httpd-foreground"]` (httpd-foreground ends
# in `exec httpd -DFOREGROUND "$@"`); docker-library/php */apache/Dockerfile `CMD ["apache2-foreground"]`
# (apache2-foreground ends in `exec apache2 -DFOREGROUND "$@"`).
_HTTPD_IMAGE = library_image("httpd")
_PHP_APACHE_IMAGE = library_image("php", r":([^@]*-)?apache(-[^@]*)?(@.*)?$")
_HTTPD_PROGRAMS = frozenset({"httpd", "httpd-foreground", "apachectl"})
_DEBIAN_PROGRAMS = frozenset({"apache2", "apache2-foreground", "apache2ctl"})
MAX_INCLUDE_DEPTH = 8

FACTS = (
    Fact(
        "Apache httpd",
        "`KeepAliveTimeout` (httpd.conf, `-c`), `KeepAlive Off`",
        f"{DEFAULT_TIMEOUT} s",
        _DOCS,
        "seconds (or ms, mi, h suffix)",
    ),
    Fact(
        "Apache httpd, Debian's apache2 (php:*-apache images)",
        "`KeepAliveTimeout` in apache2.conf",
        f"{DEFAULT_TIMEOUT} s",
        _DEBIAN_CONF,
        "seconds (or ms, mi, h suffix)",
    ),
)


@dataclass(frozen=True)
class _Layout:
    """Where an Apache build keeps its configuration, and what its stock files say about keep-alive."""

    name: str  # "the official httpd image": its stock files are "the official httpd image's httpd.conf"
    root: str  # ServerRoot
    config: str  # the main configuration file
    source: str  # the stock main configuration file, for people
    stock: dict[str, str] = field(default_factory=dict)  # stock files, as far as keep-alive goes
    # Directories of stock files taken not to set KeepAlive*: Apache's own extra/ examples, Debian's
    # module, conf and site snippets.
    stock_directories: tuple[str, ...] = ()


# docs/conf/httpd.conf.in: the extra/ files, among them httpd-default.conf, are included only in comments
# ("#Include @rel_sysconfdir@/extra/httpd-default.conf"), so the compiled-in defaults apply; the image
# only rewrites log, User and Group lines; it has `Listen 80`. docs/conf/extra/httpd-default.conf.in sets
# KeepAlive On and KeepAliveTimeout 5, for a configuration that includes it.
_OFFICIAL = _Layout(
    "the official httpd image",
    "/usr/local/apache2",
    "/usr/local/apache2/conf/httpd.conf",
    _HTTPD_CONF,
    {
        "/usr/local/apache2/conf/httpd.conf": "Listen 80\n",
        "/usr/local/apache2/conf/extra/httpd-default.conf": "KeepAlive On\nKeepAliveTimeout 5\n",
    },
    ("/usr/local/apache2/conf/extra/", "/usr/local/apache2/conf/original/"),
)
# debian/config-dir/apache2.conf.in: `KeepAlive On`, `KeepAliveTimeout 5`, then the Include lines; the
# enabled site 000-default.conf is a link to sites-available/000-default.conf.
_DEBIAN = _Layout(
    "Debian",
    "/etc/apache2",
    "/etc/apache2/apache2.conf",
    _DEBIAN_CONF,
    {
        "/etc/apache2/apache2.conf": (
            "KeepAlive On\nKeepAliveTimeout 5\nIncludeOptional mods-enabled/*.load\n"
            "IncludeOptional mods-enabled/*.conf\nInclude ports.conf\nIncludeOptional conf-enabled/*.conf\n"
            "IncludeOptional sites-enabled/*.conf\n"
        ),
        "/etc/apache2/ports.conf": "Listen 80\n",  # debian/config-dir/ports.conf (and 443 with mod_ssl)
    },
    tuple(
        f"/etc/apache2/{name}"
        for name in ("mods-enabled/", "conf-enabled/", "sites-enabled/", "ports.conf", "envvars")
    ),
)
_DEBIAN_ENABLED_SITE = "/etc/apache2/sites-available/000-default.conf"


def recognises(invocation: Invocation) -> bool:
    return invocation.program in _HTTPD_PROGRAMS | _DEBIAN_PROGRAMS


def image_command(image: str) -> tuple[str, ...] | None:
    """The official httpd image runs httpd-foreground, the php:*-apache images apache2-foreground."""
    if UNKNOWN_PART in image:
        return None
    if _HTTPD_IMAGE.match(image):
        return ("httpd-foreground",)
    return ("apache2-foreground",) if _PHP_APACHE_IMAGE.match(image) else None


def image_entrypoint(image: str, command: tuple[str, ...]) -> tuple[str, ...] | None:
    """A command of options runs Apache with them in the php:*-apache images: their ENTRYPOINT
    docker-php-entrypoint (docker-library/php) does `set -- php "$@"` when "first arg is `-f` or
    `--some-option`", and apply-templates.sh rewrites ` php ` to ` apache2-foreground ` for the apache
    variant. The httpd image has no ENTRYPOINT, so options alone do not run there."""
    if not command or not command[0].startswith("-"):
        return None
    return ("apache2-foreground",) if UNKNOWN_PART not in image and _PHP_APACHE_IMAGE.match(image) else None


@dataclass(frozen=True)
class _Directive:
    name: str  # lowercased
    value: str  # the first argument
    written: str  # the directive as written, for people
    location: Location | None  # None: a stock file
    where: str  # "conf/httpd.conf", "the command", "the official httpd image's httpd.conf"...


@dataclass
class _Host:
    """The main server or a <VirtualHost>: its own KeepAlive and KeepAliveTimeout."""

    title: str
    keep_alive: _Directive | None = None
    timeout: _Directive | None = None
    ports: frozenset[int] | None = None  # a <VirtualHost>'s ports; None: any (`*:*`, no port, unknown)

    def take(self, directive: _Directive) -> None:
        if directive.name == "keepalive":
            self.keep_alive = directive
        else:
            self.timeout = directive


class _Unreadable(Exception):
    """The configuration cannot be followed: the message says why."""


class _Reader:
    """Apache's configuration files in the order httpd reads them, Include/IncludeOptional followed."""

    def __init__(self, invocation: Invocation, layout: _Layout | None, root: str):
        self.invocation, self.layout, self.root = invocation, layout, root
        self.main = _Host("the main server")
        self.hosts: list[_Host] = []
        self.host: _Host | None = None  # the <VirtualHost> being read
        self.hidden: list[str] = []
        self.stock_read: set[str] = set()  # the stock files read, by path in the image
        self.listens: set[int] = set()  # the ports of the Listen directives
        self.unsure_listens: list[str] = []  # Listen directives whose port is not known, as written

    def file(self, path: str, depth: int = 0) -> Location | None:
        """Read `path`: where it was read from (a local file, else the image for a stock file), or None
        when it is neither copied by the Dockerfile nor a stock file."""
        found = self.invocation.file(path)
        if found is not None:
            if found.text is None:
                raise _Unreadable(f"{found.location.path} cannot be read ({found.problem})")
            self.text(found.text, found.location.path, found.location.path, depth)
            return found.location
        if self.layout is not None and path in self.layout.stock:
            where = f"{self.layout.name}'s {posixpath.basename(path)}"
            self.stock_read.add(path)
            self.text(self.layout.stock[path], None, where, depth)
            return self.invocation.base_image.location
        return None

    def text(self, text: str, shown: str | None, where: str, depth: int) -> None:
        lines = text.splitlines()
        number = 0
        while number < len(lines):
            start, line = number + 1, lines[number]
            while line.endswith("\\") and number + 1 < len(lines):
                number += 1
                line = line[:-1] + " " + lines[number].strip()
            number += 1
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            tag = re.match(r"<(/?)\s*([A-Za-z]+)", line)
            if tag:
                if tag.group(2).lower() == "virtualhost":
                    self.host = None if tag.group(1) else _Host(f"<{line.strip('<>')}> in {where}")
                    if self.host is not None:
                        addresses = self.expand(line.strip("<>")).split()[1:]
                        self.host.ports = _vhost_ports(addresses)
                        self.hosts.append(self.host)
                continue  # other sections (IfModule, IfDefine...) are taken as applying
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            name = words[0].lower() if len(words) > 1 else ""
            location = Location(shown, start) if shown is not None else None
            if name in ("keepalive", "keepalivetimeout"):
                directive = _Directive(name, self.expand(words[1]), " ".join(words), location, where)
                (self.host or self.main).take(directive)
            elif name == "serverroot":
                self.root = posixpath.normpath(self.expand(words[1]))
            elif name == "listen":
                self.listen(self.expand(words[1]), f"`{' '.join(words)}` ({where})", stock=shown is None)
            elif name in ("include", "includeoptional"):
                self.include(self.expand(words[1]), name == "includeoptional", line, where, depth)

    def listen(self, address: str, written: str, stock: bool = False) -> None:
        """`Listen [IP-address:]portnumber [protocol]` (server/listen.c ap_set_listener). The port of a
        stock file may have been changed by a step keepalive-guard cannot see: the images' documented
        way to change it is `RUN sed` on that file, so another port is taken to be possible."""
        port = address.rpartition(":")[2]
        if port.isdecimal():
            self.listens.add(int(port))
        if not port.isdecimal() or stock:
            self.unsure_listens.append(show(written))

    def expand(self, text: str) -> str:
        """`${NAME}` as Apache expands it at start-up, from the environment (Define is not followed)."""

        def variable(match: re.Match[str]) -> str:
            setting = self.invocation.env_value(match.group(1))
            return setting.value if setting is not None and setting.value is not None else UNKNOWN_PART

        return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", variable, text)

    def include(self, pattern: str, optional: bool, line: str, where: str, depth: int) -> None:
        path = posixpath.normpath(posixpath.join(self.root, pattern))
        directory, name = posixpath.split(path)
        written = f"`{show(line)}` ({where})"
        if UNKNOWN_PART in path or depth >= MAX_INCLUDE_DEPTH or re.search(r"[*?\[]", directory):
            self.hidden.append(written)
            return
        if not re.search(r"[*?\[]", name):
            if self.file(path, depth + 1) is not None:
                return
            inside = self.invocation.files(posixpath.join(path, "*"))  # a directory: all its files
            for file in inside:
                self.file(file.path, depth + 1)
            if not inside and not optional and not self.stock_file(path):
                self.hidden.append(written)
            return
        names = sorted({posixpath.basename(file.path) for file in self.invocation.files(path)})
        if (
            self.layout is _DEBIAN
            and directory == "/etc/apache2/sites-enabled"
            and "000-default.conf" not in names
            and self.invocation.file(_DEBIAN_ENABLED_SITE) is not None
        ):
            self.file(_DEBIAN_ENABLED_SITE, depth + 1)  # sites-enabled/000-default.conf links to it
        for each in names:
            self.file(posixpath.join(directory, each), depth + 1)

    def stock_file(self, path: str) -> bool:
        """A file the layout ships that keepalive-guard takes not to set KeepAlive*."""
        return self.layout is not None and path.startswith(self.layout.stock_directories)


def _vhost_ports(addresses: list[str]) -> frozenset[int] | None:
    """The ports of `<VirtualHost addr[:port] ...>` (server/vhost.c get_addresses): `:*` or `*` is any
    port, and so is an address without one (it takes the main server's port, 0 unless ServerName
    names one)."""
    ports: set[int] = set()
    for address in addresses:
        port = address.rpartition("]")[2] if address.startswith("[") else address
        _, colon, digits = port.rpartition(":")
        if not colon or not digits.isdecimal():
            return None
        ports.add(int(digits))
    return frozenset(ports)


def _not_served(reader: _Reader, port: int) -> str:
    listening = (
        f"its Listen directives have {', '.join(map(str, sorted(reader.listens)))}"
        if reader.listens
        else "it has no Listen directive"
    )
    return (
        f"no Listen directive of Apache's configuration has port {port}, the port the load balancer sends "
        f"traffic to ({listening}), so the keep-alive of what serves that port is not known"
    )


def _receiving(reader: _Reader, port: int | None) -> tuple[list[_Host], str, bool]:
    """The servers that may receive a connection on `port` (server/vhost.c ap_update_vhost_given_ip: the
    virtual hosts whose address has that port, else those for any port, else the main server), with a
    note for people and whether the port picked them; all virtual hosts (or the main server) when the
    port does not tell. None when no Listen has the port: Apache accepts connections on the ports of its
    Listen directives only (server/listen.c)."""
    everyone = reader.hosts or [reader.main]
    if port is None:
        return everyone, "", False
    assumed = ""
    if port not in reader.listens:
        if not reader.unsure_listens:
            return [], "", False
        assumed = (
            f"no Listen visible has port {port}: {' or '.join(reader.unsure_listens)} is taken to be "
            "changed to it where keepalive-guard cannot see"
        )
    exact = [host for host in reader.hosts if host.ports is not None and port in host.ports]
    wildcard = [host for host in reader.hosts if host.ports is None]
    chosen = exact or wildcard
    if not reader.hosts or (chosen and len(chosen) == len(everyone)):
        return everyone, assumed, bool(chosen)
    if chosen:
        titles = " and ".join(host.title.partition(" in ")[0] for host in chosen)
        verb = "receives" if len(chosen) == 1 else "receive"
        note = f"{titles} {verb} the load balancer's traffic on port {port}"
        return chosen, "; ".join(filter(None, (note, assumed))), True
    if assumed:
        # the step that changed the Listen may have changed the virtual hosts with it
        return everyone, assumed, False
    return [reader.main], f"no virtual host is on port {port}, so the main server receives the traffic", True


def _evaluate(host: _Host, main: _Host) -> tuple[KeepAlive, _Directive | None]:
    """What a host does: its own directives, else the main server's, else Apache's defaults."""
    keep_alive = host.keep_alive or main.keep_alive
    if keep_alive is not None and keep_alive.value.lower() == "off":
        says = f"`{show(keep_alive.written)}` in {keep_alive.where}"
        return KeepAlive(Mode.NO_KEEP_ALIVE, Evidence(says, keep_alive.location, _KEEPALIVE_DOCS)), None
    if keep_alive is not None and keep_alive.value.lower() != "on":
        says = f"`{show(keep_alive.written)}` in {keep_alive.where} is not On or Off"
        return KeepAlive.unknown(Evidence(says, keep_alive.location)), None
    timeout = host.timeout or main.timeout
    if timeout is None:
        says = f"Apache's default is {DEFAULT_TIMEOUT} s"
        return KeepAlive.after(DEFAULT_TIMEOUT, Evidence(says, None, _DOCS)), None
    if timeout.location is None:  # a stock file
        evidence = Evidence(f"{timeout.where} sets `{show(timeout.written)}`", None, _DOCS)
    else:
        evidence = Evidence(f"`{show(timeout.written)}` in {timeout.where}", timeout.location, _DOCS)
    seconds = units.apache_time(timeout.value)
    if seconds is None:
        return KeepAlive.unknown(evidence), timeout
    return KeepAlive.after(seconds, evidence), timeout


def _command_directives(invocation: Invocation, flag: str, reader: _Reader) -> str | None:
    """Apply the `-C`/`-c` directives of the command to the main server (and their Listen); the problem
    when one of them is not known."""
    args = invocation.args
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            text, at = args[index + 1], index + 1
        elif arg.startswith(flag) and len(arg) > 2:
            text, at = arg[2:], index
        else:
            continue
        words = text.split()
        written = f'{flag} "{show(text)}"'
        if words and words[0].lower() in ("keepalive", "keepalivetimeout"):
            if UNKNOWN_PART in text or len(words) < 2:
                return f"`{written}` in the command is not known"
            directive = _Directive(words[0].lower(), words[1], written, invocation.where(at), "the command")
            reader.main.take(directive)
        elif words and words[0].lower() == "listen" and len(words) > 1:
            reader.listen(words[1], f"`{written}` (the command)")
        elif words and UNKNOWN_PART in words[0]:  # it may be KeepAliveTimeout or Listen
            return f"`{written}` in the command is not known"
    return None


def _layout(invocation: Invocation) -> _Layout | None:
    image = invocation.base_image.value or ""
    if UNKNOWN_PART in image:
        image = ""
    if invocation.program in _DEBIAN_PROGRAMS:
        return _DEBIAN if invocation.build is not None or _PHP_APACHE_IMAGE.match(image) else None
    return _OFFICIAL if _HTTPD_IMAGE.match(image) else None


def _option(invocation: Invocation, flag: str) -> str | None:
    found = None
    for index, arg in enumerate(invocation.args):
        if arg == flag and index + 1 < len(invocation.args):
            found = invocation.args[index + 1]
        elif arg.startswith(flag) and len(arg) > 2:
            found = arg[2:]
    return found


def _unknown(says: str, invocation: Invocation) -> Server:
    remedy = (
        'add `-c "KeepAliveTimeout {seconds}"` to the Apache command, and declare it with the docker label '
        '`keepalive-guard.keep-alive-seconds = "{seconds}"`'
    )
    return Server(NAME, "", KeepAlive.unknown(Evidence(says, invocation.location, _DOCS)), None, remedy)


def _enabled_elsewhere(invocation: Invocation) -> list[str]:
    """Files copied to Debian's sites-available/ or conf-available/ that set KeepAlive*: a2ensite or
    a2enconf in a RUN step (not visible) may enable them."""
    found = []
    for directory in ("sites-available", "conf-available"):
        for file in invocation.files(f"/etc/apache2/{directory}/*"):
            if file.path != _DEBIAN_ENABLED_SITE and re.search(r"(?im)^\s*KeepAlive", file.text or ""):
                found.append(f"{file.location.path} (copied to {file.path})")
    return found


def analyse(invocation: Invocation) -> Server:
    layout = _layout(invocation)
    root = _option(invocation, "-d") or (layout.root if layout is not None else "/")
    config = _option(invocation, "-f")
    if config is not None:
        path = posixpath.normpath(posixpath.join(root, config))
    elif layout is not None:
        path = layout.config
    else:
        image = show(invocation.base_image.value or "an unknown image")
        return _unknown(
            f"KeepAlive and KeepAliveTimeout are set in the Apache configuration of the image `{image}`, "
            f"which is not visible in the scanned files (Apache's default is {DEFAULT_TIMEOUT} s)",
            invocation,
        )
    reader = _Reader(invocation, layout, root)
    problem = _command_directives(invocation, "-C", reader)
    try:
        read = None if problem or UNKNOWN_PART in path else reader.file(path)
    except _Unreadable as error:
        return _unknown(f"Apache's configuration cannot be followed: {error}", invocation)
    problem = problem or _command_directives(invocation, "-c", reader)
    if problem:
        return _unknown(problem, invocation)
    if read is None:
        return _unknown(
            f"KeepAlive and KeepAliveTimeout are set in `{show(path)}` (-f), which is not visible in the "
            f"scanned files (Apache's default is {DEFAULT_TIMEOUT} s)",
            invocation,
        )
    hidden = reader.hidden + (_enabled_elsewhere(invocation) if layout is _DEBIAN else [])
    if hidden:
        return _unknown(
            f"{' and '.join(hidden)} may set KeepAlive or KeepAliveTimeout, and keepalive-guard cannot see "
            "whether it is read",
            invocation,
        )
    hosts, note, picked = _receiving(reader, invocation.port)
    if not hosts and invocation.port is not None:
        return _unknown(_not_served(reader, invocation.port), invocation)
    results = [(host, *_evaluate(host, reader.main)) for host in hosts]
    if len({(keep.mode, keep.seconds) for _, keep, _ in results}) > 1:
        shown = "; ".join(f"{host.title}: {keep.describe()} ({keep.evidence})" for host, keep, _ in results)
        which = f"virtual hosts on port {invocation.port}" if picked else "virtual hosts"
        return _unknown(
            f"Apache's {which} differ, and which one receives the traffic is not known: {shown}",
            invocation,
        )
    _, keep_alive, timeout = results[0]
    evidence = keep_alive.evidence
    if keep_alive.mode is Mode.IDLE_TIMEOUT and timeout is None:
        if path in reader.stock_read and layout is not None:
            says = (
                f"{layout.name}'s {posixpath.basename(path)} does not set KeepAliveTimeout: {evidence.says}"
            )
        else:
            says = f"no KeepAliveTimeout in `{show(path)}` ({read.path}): {evidence.says}"
        evidence = Evidence(says, read, _DOCS)
    elif evidence.location is None:  # a stock file
        evidence = Evidence(evidence.says, invocation.base_image.location, layout.source if layout else _DOCS)
    if note:
        evidence = Evidence(f"{evidence.says} ({note})", evidence.location, evidence.source)
    keep_alive = KeepAlive(keep_alive.mode, evidence, keep_alive.seconds)
    if timeout is not None and timeout.location is not None:
        if timeout.where == "the command":
            remedy = (
                f'change `{timeout.written}` to `-c "KeepAliveTimeout {{seconds}}"` in the Apache command'
            )
        else:
            remedy = f"change `{show(timeout.written)}` to `KeepAliveTimeout {{seconds}}` in {timeout.where}"
        return Server(NAME, "", keep_alive, None, remedy, timeout.location)
    remedy = (
        'add `-c "KeepAliveTimeout {seconds}"` to the Apache command (or set `KeepAliveTimeout {seconds}` in '
        "its configuration)"
    )
    return Server(NAME, "", keep_alive, None, remedy, invocation.location)
