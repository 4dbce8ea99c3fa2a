"""Spring Boot's embedded servers, other `java` commands, and the official `tomcat` image.

Spring Boot reads its properties from, highest precedence first: the application's command-line
arguments (`--server.tomcat.keep-alive-timeout=75s` after the jar or main class), SPRING_APPLICATION_JSON,
Java system properties (`-D` before the jar, and JAVA_TOOL_OPTIONS/JDK_JAVA_OPTIONS, which `java` reads
by itself; JAVA_OPTS only when a shell expands it into the command), environment variables (relaxed
binding: SERVER_TOMCAT_KEEPALIVETIMEOUT, and a variable named like the property itself) and
application.properties/yml. Which embedded server runs is told by the `server.<server>.*` properties
that are set, else by what shows the web stack: spring.main.web-application-type, the server's jar in a
copied BOOT-INF/lib, the starters in a copied pom.xml or build.gradle, or properties only one stack
reads (server.servlet.*, spring.mvc.* for Spring MVC, whose default server is Tomcat; spring.webflux.*
for WebFlux, whose default is Reactor Netty). A launcher, SERVER_PORT or spring.profiles.active alone
shows Spring Boot but not its stack: Spring MVC on Tomcat and WebFlux (Spring Cloud Gateway) on Reactor
Netty behave opposite ways, so the keep-alive is unknown then. Embedded Tomcat does not read server.xml:
with neither keep-alive-timeout nor connection-timeout set it closes idle connections after Tomcat's
built-in 60 s, exactly the ALB's default idle timeout. A `java` command with no sign of Spring Boot may run any Java
server, so its keep-alive is unknown. The official tomcat image (`catalina.sh run`) runs Tomcat's stock
server.xml, whose connector sets connectionTimeout="20000": 20 s.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from policies.model import UNKNOWN_PART, ImageFile, Location, show
from policies.servers import units
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server, library_image

NAME = "spring"
# Spring Boot reference, "Externalized Configuration": the PropertySource order (command-line arguments >
# SPRING_APPLICATION_JSON > Java system properties > OS environment variables > config data), relaxed
# binding and the config data file locations.
_CONFIG_DOCS = "https://docs.spring.io/spring-boot/reference/features/external-config.html"
# java/org/apache/coyote/http11/Constants.java: DEFAULT_CONNECTION_TIMEOUT = 60000, set by the
# AbstractHttp11Protocol constructor; AbstractEndpoint.getKeepAliveTimeout() falls back to it.
_TOMCAT_SOURCE = "https://github.com/apache/tomcat/blob/main/java/org/apache/coyote/http11/Constants.java"
# jetty-server AbstractConnector: `private long _idleTimeout = 30000;` (Jetty 9 to 12)
_JETTY_SOURCE = "https://github.com/jetty/jetty.project/blob/jetty-12.0.x/jetty-core/jetty-server/src/main/java/org/eclipse/jetty/server/AbstractConnector.java"
# io/undertow/Undertow.java start(): `.set(UndertowOptions.NO_REQUEST_TIMEOUT, 60 * 1000)` before the
# builder's own server options (Undertow 2.x, which Spring Boot up to 3.5 uses).
_UNDERTOW_SOURCE = (
    "https://github.com/undertow-io/undertow/blob/main/core/src/main/java/io/undertow/Undertow.java"
)
# ServerProperties.Netty#idleTimeout: "When not set, an infinite timeout is used."
_NETTY_SOURCE = "https://docs.spring.io/spring-boot/appendix/application-properties/index.html#application-properties.server.server.netty.idle-timeout"
# conf/server.xml: `<Connector port="8080" protocol="HTTP/1.1" connectionTimeout="20000" .../>`; the
# official image (docker-library/tomcat) unpacks the release unchanged and ends in CMD ["catalina.sh", "run"].
_SERVER_XML = "https://github.com/apache/tomcat/blob/main/conf/server.xml"
_TOMCAT_HTTP_DOCS = "https://tomcat.apache.org/tomcat-10.1-doc/config/http.html"
STOCK_SERVER_XML_SECONDS = 20
TOMCAT_DEFAULT = 60  # seconds: Constants.DEFAULT_CONNECTION_TIMEOUT
# spring-boot#18618 (2.2.0): server.connection-timeout deprecated for server-specific properties.
_DEPRECATED_TIMEOUT = "server.connection-timeout"
_DECLARE = 'declare it with the docker label `keepalive-guard.keep-alive-seconds = "{seconds}"`'


@dataclass(frozen=True)
class _Embedded:
    """An embedded server: the properties that set its idle timeout, in the order it falls back
    through them, and what it does when none is set."""

    name: str
    keys: tuple[str, ...]
    default: float | None  # seconds; None: it never closes idle connections
    default_says: str
    source: str
    non_positive_is_infinite: bool  # whether a value of zero or less means "no timeout"


# Tomcat, Jetty: the idle check only fires for a timeout > 0 (NioEndpoint.Poller `timeout > 0 && delta >
# timeout`; Jetty IdleTimeout `idleTimeout > 0`). Tomcat's docs: "-1 ... no (i.e. infinite) timeout".
_TOMCAT = _Embedded(
    "Tomcat",
    ("server.tomcat.keep-alive-timeout", "server.tomcat.connection-timeout"),
    TOMCAT_DEFAULT,
    "Tomcat's built-in connectionTimeout of 60 s applies (embedded Tomcat does not read server.xml)",
    _TOMCAT_SOURCE,
    True,
)
_JETTY = _Embedded(
    "Jetty",
    ("server.jetty.connection-idle-timeout",),
    30,
    "Jetty's connectors close idle connections after their built-in 30 s",
    _JETTY_SOURCE,
    True,
)
_UNDERTOW = _Embedded(
    "Undertow",
    ("server.undertow.no-request-timeout",),
    60,
    "Undertow's builder sets NO_REQUEST_TIMEOUT to 60 s",
    _UNDERTOW_SOURCE,
    False,
)
_NETTY = _Embedded(
    "Reactor Netty",
    ("server.netty.idle-timeout",),
    None,
    "Reactor Netty applies no idle timeout",
    _NETTY_SOURCE,
    False,
)
_EMBEDDED = {"tomcat": _TOMCAT, "jetty": _JETTY, "undertow": _UNDERTOW, "netty": _NETTY}

# org.springframework.boot.loader.launch.* since Spring Boot 3.2, org.springframework.boot.loader.* before.
_LAUNCHERS = frozenset(
    f"org.springframework.boot.loader.{package}{launcher}"
    for package in ("", "launch.")
    for launcher in ("JarLauncher", "WarLauncher", "PropertiesLauncher")
)
# java launcher options that take the next word as their value (`java --help`).
_VALUE_OPTIONS = frozenset(
    {
        "-cp",
        "-classpath",
        "--class-path",
        "-p",
        "--module-path",
        "--upgrade-module-path",
        "--add-modules",
        "--limit-modules",
        "--add-reads",
        "--add-exports",
        "--add-opens",
        "--patch-module",
        "--enable-native-access",
    }
)
# Read by the JVM (JAVA_TOOL_OPTIONS, by JNI_CreateJavaVM) and the `java` launcher (JDK_JAVA_OPTIONS, JDK
# 9+), both ahead of the command line's own options, so a `-D` on the command line wins over them.
_JVM_VARIABLES = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS")
_OFFICIAL_TOMCAT = library_image("tomcat")

RECOGNISED = (
    "`java -jar`, `java <main class>` (Jib), Spring Boot launchers: Spring Boot when a launcher, its starters or jars, `server.*`/"
    "`spring.*` properties or `SPRING_*`/`SERVER_*` variables show it; `catalina.sh run`, the official `tomcat` image"
)
_DURATION = "duration: `75s`, `PT75S`; a bare number is milliseconds"

FACTS = (
    Fact(
        "Spring Boot, embedded Tomcat (spring-boot-starter-web)",
        "`server.tomcat.keep-alive-timeout`, else `server.tomcat.connection-timeout`; "
        "`SERVER_TOMCAT_KEEPALIVETIMEOUT`",
        "60 s",
        _TOMCAT_SOURCE,
        _DURATION,
    ),
    Fact(
        "Spring Boot, embedded Jetty",
        "`server.jetty.connection-idle-timeout`",
        "30 s",
        _JETTY_SOURCE,
        _DURATION,
    ),
    Fact(
        "Spring Boot ≤ 3.5, embedded Undertow",
        "`server.undertow.no-request-timeout`",
        "60 s",
        _UNDERTOW_SOURCE,
        _DURATION,
    ),
    Fact(
        "Spring Boot WebFlux, Reactor Netty",
        "`server.netty.idle-timeout`",
        "never closes",
        _NETTY_SOURCE,
        _DURATION,
    ),
    Fact(
        "Tomcat, official `tomcat` image (`catalina.sh run`)",
        "`keepAliveTimeout`, else `connectionTimeout` on the Connector in conf/server.xml",
        f"{STOCK_SERVER_XML_SECONDS} s",
        _SERVER_XML,
        "milliseconds",
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program in ("java", "catalina.sh")


def image_command(image: str) -> tuple[str, ...] | None:
    """The official tomcat images end in `CMD ["catalina.sh", "run"]` (docker-library/tomcat)."""
    return ("catalina.sh", "run") if _official_tomcat(image) else None


def _official_tomcat(image: str | None) -> bool:
    return image is not None and UNKNOWN_PART not in image and _OFFICIAL_TOMCAT.match(image) is not None


def analyse(invocation: Invocation) -> Server:
    if invocation.program == "catalina.sh":
        return _catalina(invocation)
    java = _java(invocation.args)
    sources = _sources(invocation, java)
    names = {name for source in sources for name in source.values}
    built = _from_jars(invocation) or _from_build_files(invocation)  # Spring Boot's own jars or starters
    spring = java.main in _LAUNCHERS or any(name.startswith(("server.", "spring.")) for name in names)
    if not spring and built is None:
        return _plain_java(invocation, java)
    families = [
        family
        for prefix, family in _EMBEDDED.items()
        if any(n.startswith(f"server.{prefix}.") for n in names)
    ]
    if len(families) > 1:
        shown = " and ".join(f"server.{prefix}.*" for prefix, f in _EMBEDDED.items() if f in families)
        says = f"both {shown} properties are set, so which embedded server this Spring Boot app runs is not visible"
        return Server("Spring Boot", "", KeepAlive.unknown(Evidence(says, invocation.location, _CONFIG_DOCS)))
    if families:
        return _embedded(invocation, sources, families[0], f"embedded {families[0].name}")
    stack = _stack(invocation, sources, names, built)
    if stack.family is None:
        tomcat = _embedded(invocation, sources, _TOMCAT, "").keep_alive
        known = f"it {tomcat.describe()}: " if tomcat.mode is not Mode.UNKNOWN else ""
        says = (
            f"{stack.says}: on Spring MVC's default embedded Tomcat, {known}{tomcat.evidence.says}; on WebFlux "
            "(Spring Cloud Gateway), Reactor Netty never closes idle connections"
        )
        remedy = (
            "set the environment variable SERVER_TOMCAT_KEEPALIVETIMEOUT={seconds}s (embedded Tomcat's "
            f"keep-alive; Reactor Netty keeps idle connections anyway), or {_DECLARE}"
        )
        keep_alive = KeepAlive.unknown(Evidence(says, stack.location or invocation.location, _TOMCAT_SOURCE))
        return Server("Spring Boot", "", keep_alive, None, remedy, invocation.location)
    detail = f"embedded {stack.family.name}" + ("" if stack.certain else f", assumed: {stack.assumed}")
    return _embedded(invocation, sources, stack.family, detail, stack.says)


# --- which web stack and server ---------------------------------------------------------------------

# Properties only one stack reads (Spring Boot's ServerProperties.Servlet, WebMvcProperties,
# WebFluxProperties).
_SERVLET_PREFIXES = ("server.servlet.", "spring.mvc.")
_REACTIVE_PREFIXES = ("spring.webflux.",)
# The jars that make each embedded server (Maven artifact ids); spring-webmvc makes a servlet app even
# when spring-webflux is there too (WebApplicationType.deduceFromClasspath).
_SERVER_JARS = {"tomcat": "tomcat-embed-core", "jetty": "jetty-server", "undertow": "undertow-core"}
_NETTY_JARS = ("reactor-netty-http", "reactor-netty")
_LIB_DIRECTORIES = ("BOOT-INF/lib", "lib", "libs", "dependencies/BOOT-INF/lib")
_BUILD_FILES = ("pom.xml", "build.gradle", "build.gradle.kts")
_STARTER = r"(?![\w.-])"  # the artifact id ends there: spring-boot-starter-web, not -webflux


@dataclass(frozen=True)
class _Stack:
    """The embedded server the visible evidence shows (None: not shown), and what showed it."""

    family: _Embedded | None
    says: str
    certain: bool = True  # False: the stack is visible, the server is that stack's default
    assumed: str = ""
    location: Location | None = None


def _stack(invocation: Invocation, sources: list[_Source], names: set[str], built: _Stack | None) -> _Stack:
    chosen = _resolve(sources, "spring.main.web-application-type")
    kind = (chosen.text or "").strip().lower() if chosen is not None else ""
    if chosen is not None and kind == "reactive":
        return _Stack(
            _NETTY,
            f"{chosen.says}: WebFlux, on Reactor Netty",
            False,
            "spring-boot-starter-webflux's default",
        )
    if chosen is not None and kind == "servlet":
        return _Stack(_TOMCAT, f"{chosen.says}: Spring MVC", False, "spring-boot-starter-web's default")
    if chosen is not None and kind == "none":
        return _Stack(None, f"{chosen.says} runs no web server", location=chosen.location)
    if built is not None:
        return built
    servlet = sorted(name for name in names if name.startswith(_SERVLET_PREFIXES))
    reactive = sorted(name for name in names if name.startswith(_REACTIVE_PREFIXES))
    if servlet and not reactive:
        shown = _resolve(sources, servlet[0])
        says = f"{shown.says}, read by Spring MVC only" if shown is not None else servlet[0]
        return _Stack(_TOMCAT, says, False, "spring-boot-starter-web's default")
    if reactive and not servlet:
        shown = _resolve(sources, reactive[0])
        says = f"{shown.says}, read by WebFlux only" if shown is not None else reactive[0]
        return _Stack(_NETTY, says, False, "spring-boot-starter-webflux's default")
    return _Stack(
        None,
        "this Spring Boot app's web stack is not visible (nothing names its embedded server: no "
        "server.tomcat.* or server.netty.* property, server jar in BOOT-INF/lib or starter in a pom.xml or "
        "build.gradle the Dockerfile copies)",
    )


def _from_jars(invocation: Invocation) -> _Stack | None:
    """The embedded server of a copied library directory (an exploded or layered jar)."""
    jars = {
        posixpath.basename(file.path): file
        for directory in _LIB_DIRECTORIES
        for file in invocation.files(f"{directory}/*.jar")
    }

    def named(artifact: str) -> ImageFile | None:
        return next(
            (file for name, file in jars.items() if re.match(rf"{re.escape(artifact)}-\d", name)), None
        )

    servlet, reactive = named("spring-webmvc"), named("spring-webflux")
    if servlet is None and reactive is None:
        return None
    servers = {key: file for key, artifact in _SERVER_JARS.items() if (file := named(artifact)) is not None}
    netty = next((file for artifact in _NETTY_JARS if (file := named(artifact)) is not None), None)
    if servlet is None and netty is not None:
        servers["netty"] = netty
    stack = "Spring MVC" if servlet is not None else "WebFlux"
    if not servers:
        return None  # the server's jar may be elsewhere
    if len(servers) > 1:
        shown = " and ".join(f"`{posixpath.basename(file.path)}`" for file in servers.values())
        first = servlet or reactive
        where = first.location if first is not None else None
        return _Stack(None, f"the copied libraries hold {stack} and {shown}", location=where)
    [(key, file)] = servers.items()
    says = (
        f"`{posixpath.basename(file.path)}` is among the libraries copied to {posixpath.dirname(file.path)}, "
        f"with {stack}"
    )
    return _Stack(_EMBEDDED[key], says, location=file.location)


def _from_build_files(invocation: Invocation) -> _Stack | None:
    """The embedded server a copied pom.xml or build.gradle chooses with its starters."""
    for name in _BUILD_FILES:
        file = invocation.file(name)
        if file is None or file.text is None:
            continue
        text = re.sub(r"<!--.*?-->", "", file.text, flags=re.S)

        def has(artifact: str, text: str = text) -> bool:
            return re.search(re.escape(artifact) + _STARTER, text) is not None

        where = file.location.path
        others = [
            artifact
            for artifact in ("spring-boot-starter-jetty", "spring-boot-starter-undertow")
            if has(artifact)
        ]
        servlet = (
            has("spring-boot-starter-web")
            or has("spring-cloud-starter-gateway-server-webmvc")
            or has("spring-cloud-starter-gateway-mvc")
        )
        reactive = (
            has("spring-boot-starter-webflux")
            or has("spring-cloud-starter-gateway")
            or has("spring-cloud-starter-gateway-server-webflux")
        )
        tomcat = has("spring-boot-starter-tomcat") or has("tomcat-embed-core")
        if others:
            return _Stack(
                None,
                f"{where} names {' and '.join(others)}, which replaces Tomcat only where spring-boot-starter-tomcat is "
                "excluded, and keepalive-guard does not read exclusions",
                location=file.location,
            )
        if servlet or (tomcat and not reactive):
            artifact = "spring-boot-starter-web" if servlet else "spring-boot-starter-tomcat"
            return _Stack(_TOMCAT, f"{where} depends on {artifact}, which runs embedded Tomcat")
        if reactive:
            return _Stack(
                _NETTY,
                f"{where} depends on WebFlux (spring-boot-starter-webflux or the Spring Cloud Gateway "
                "starter) and not spring-boot-starter-web, which runs Reactor Netty",
            )
    return None


# --- the java command line ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Java:
    main: str  # the main class, "-jar app.jar", a module, or "" when none is visible
    options: tuple[tuple[int, str], ...]  # the JVM's options, with their index in the arguments
    arguments: tuple[tuple[int, str], ...]  # the application's arguments, with their index


def _java(args: tuple[str, ...]) -> _Java:
    """`java [options] (-jar file | -m module | mainclass | @argfile) [args]`."""
    options: list[tuple[int, str]] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-jar", "-m", "--module") or arg.startswith("--module="):
            split = arg.startswith("--module=")
            target = arg.partition("=")[2] if split else (args[index + 1] if index + 1 < len(args) else "")
            rest = index + 1 if split else index + 2
            main = f"-jar {target}" if arg == "-jar" else target
            return _Java(main, tuple(options), tuple(enumerate(args))[rest:])
        if arg in _VALUE_OPTIONS:
            index += 2
            continue
        if arg.startswith("-") or UNKNOWN_PART in arg:
            options.append((index, arg))  # an unknown word here may be options: treated as options
            index += 1
            continue
        return _Java(arg, tuple(options), tuple(enumerate(args))[index + 1 :])
    return _Java("", tuple(options), ())


def _plain_java(invocation: Invocation, java: _Java) -> Server:
    command = f"java {show(java.main)}" if java.main else "java"
    says = (
        f"`{command}` runs a Java application whose HTTP server is not visible: nothing shows it is Spring "
        "Boot (a Spring Boot launcher main class, server.* or spring.* properties, or SPRING_*/SERVER_* "
        "environment variables would); Spring Boot on its default embedded Tomcat closes idle connections "
        "after 60 s unless server.tomcat.keep-alive-timeout says otherwise"
    )
    return Server(
        "java", show(java.main), KeepAlive.unknown(Evidence(says, invocation.location, _TOMCAT_SOURCE))
    )


# --- Spring Boot's property sources -----------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """Where a property is set: its text (None when it may be set where keepalive-guard cannot see),
    how it was written, and how to change it there (with `{seconds}`)."""

    text: str | None
    says: str
    location: Location
    remedy: str = ""


@dataclass(frozen=True)
class _Source:
    """One of Spring Boot's property sources: what it visibly sets (by relaxed name), and, when it may
    set properties that are not visible, what to say then."""

    values: dict[str, _Found] = field(default_factory=dict)
    unseen: Callable[[str], _Found] | None = None

    def get(self, key: str) -> _Found | None:
        found = self.values.get(_relaxed(key))
        if found is None and self.unseen is not None:
            return self.unseen(key)
        return found


def _unseen(says: str, where: Location) -> Callable[[str], _Found]:
    """For a source that hides every property behind one unknown: say so for any property."""
    return lambda _key: _Found(None, says, where)


def _literal(text: str) -> str:
    """Text written into a remedy, which is a format string (`{seconds}`): braces doubled, so a Spring
    placeholder such as `${KEEP_ALIVE:75s}` stays text."""
    return text.replace("{", "{{").replace("}", "}}")


def _relaxed(name: str) -> str:
    """A property name as Spring Boot's relaxed binding compares it: per element, lower case, letters
    and digits only, so keep-alive-timeout, keepAliveTimeout and keep_alive_timeout are the same."""
    return ".".join(re.sub(r"[^a-z0-9]", "", part.lower()) for part in name.split("."))


def _env_names(key: str) -> tuple[str, str]:
    """SystemEnvironmentPropertyMapper.map: SERVER_TOMCAT_KEEPALIVETIMEOUT, then the legacy form
    SERVER_TOMCAT_KEEP_ALIVE_TIMEOUT (dashes as underscores)."""
    parts = key.split(".")
    modern = "_".join(re.sub(r"[^A-Za-z0-9]", "", part).upper() for part in parts)
    return modern, "_".join(part.replace("-", "_").upper() for part in parts)


def _resolve(sources: list[_Source], key: str) -> _Found | None:
    """The source that decides `key`: the first, in precedence order, that sets it or may set it."""
    for source in sources:
        found = source.get(key)
        if found is not None:
            return found
    return None


def _sources(invocation: Invocation, java: _Java) -> list[_Source]:
    """Spring Boot's property sources in precedence order, config files in the image last."""
    arguments = _arguments(invocation, java)
    properties = _system_properties(invocation, java)
    environment = _environment(invocation)
    json_text = _resolve([arguments, properties, environment], "spring.application.json")
    early = [
        arguments,
        _hidden_environment(invocation),
        _application_json(json_text),
        properties,
        environment,
    ]
    return [*early, _config_files(invocation, early)]


def _hidden_environment(invocation: Invocation) -> _Source:
    """Variables that may be set where keepalive-guard cannot see (an environment file) may set any
    property through SPRING_APPLICATION_JSON, which only command-line arguments outrank."""
    if not invocation.hidden_environment:
        return _Source()
    where = " and ".join(invocation.hidden_environment)

    def unseen(key: str) -> _Found:
        says = (
            f"{key} may be set in {where}: as {_env_names(key)[0]}, in SPRING_APPLICATION_JSON or as a -D "
            "option in JAVA_TOOL_OPTIONS"
        )
        return _Found(None, says, invocation.location)

    return _Source({}, unseen)


def _arguments(invocation: Invocation, java: _Java) -> _Source:
    """`--name=value` arguments (SimpleCommandLineArgsParser); a repeated name gives the values joined
    with commas (CommandLinePropertySource.getProperty)."""
    given: dict[str, list[tuple[int, str]]] = {}
    for index, arg in java.arguments:
        if UNKNOWN_PART in arg:
            says = f"arguments may be given by `{show(arg)}` in the command"
            return _Source({}, _unseen(says, invocation.where(index)))
        if arg.startswith("--") and "=" in arg:
            given.setdefault(_relaxed(arg[2:].partition("=")[0]), []).append((index, arg))
    values = {}
    for name, found in given.items():
        written = " and ".join(f"`{show(arg)}`" for _, arg in found)
        text = ",".join(arg.partition("=")[2] for _, arg in found)
        says = f"{written} in the command" + (
            f", which Spring Boot joins into `{show(text)}`" if len(found) > 1 else ""
        )
        key = found[-1][1][2:].partition("=")[0]
        remedy = _literal(f"change {written} to `--{key}=") + "{seconds}s` in the java command"
        values[name] = _Found(text, says, invocation.where(found[-1][0]), remedy)
    return _Source(values)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _system_properties(invocation: Invocation, java: _Java) -> _Source:
    """`-Dname=value` from JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS and the command line, later ones winning."""
    values: dict[str, _Found] = {}
    unseen: Callable[[str], _Found] | None = None

    def hidden(why: str, where: Location) -> Callable[[str], _Found]:
        return _unseen(f"system properties (-D) may be set {why}", where)

    def take(word: str, where: Location, written_in: str) -> None:
        name, _, text = word[2:].partition("=")
        remedy = _literal(f"change `{show(word)}` {written_in} to `-D{name}=") + "{seconds}s`"
        values[_relaxed(name)] = _Found(text, f"`{show(word)}` {written_in}", where, remedy)

    for variable in _JVM_VARIABLES:
        setting = invocation.env_value(variable)
        if setting is None:
            continue
        if setting.value is None:
            values.clear()
            unseen = hidden(f"in {variable}, which is not known ({setting.note})", setting.location)
            continue
        for word in _split(setting.value):
            if UNKNOWN_PART in word:
                values.clear()
                unseen = hidden(f"by `{show(word)}` in {variable}", setting.location)
            elif word.startswith("-D"):
                take(word, setting.location, f"in {variable}")
    for index, word in java.options:
        if UNKNOWN_PART in word:
            values.clear()
            unseen = hidden(f"by `{show(word)}` in the java command", invocation.where(index))
        elif word.startswith("-D"):
            take(word, invocation.where(index), "in the java command")
    return _Source(values, unseen)


def _environment(invocation: Invocation) -> _Source:
    """Environment variables, by the names Spring Boot maps them to. The environment's property source
    takes SystemEnvironmentPropertyMapper, then DefaultPropertyMapper (SpringConfigurationPropertySource
    SYSTEM_ENVIRONMENT_MAPPERS): SERVER_TOMCAT_KEEPALIVETIMEOUT is server.tomcat.keepalivetimeout, the
    legacy SERVER_TOMCAT_KEEP_ALIVE_TIMEOUT comes next, and a variable named like the property itself
    (`server.tomcat.keep-alive-timeout`, any relaxed form) last."""
    values: dict[str, _Found] = {}
    wanted = [key for family in _EMBEDDED.values() for key in family.keys] + [_DEPRECATED_TIMEOUT]
    dotted = sorted(name for name in invocation.env if "." in name)
    for name in [name for name in invocation.env if "." not in name] + dotted:
        setting = invocation.env[name]
        mapped = ".".join(part.lower() for part in name.split("_"))
        legacy = next((key for key in wanted if _env_names(key)[1] == name), None)
        if "." in name:
            mapped = _relaxed(name)  # DefaultPropertyMapper: the name is a property name
            if mapped in values:
                continue  # SystemEnvironmentPropertyMapper's names are looked up first
        elif legacy is not None:
            mapped = _relaxed(legacy)
            if mapped in values:
                continue  # the modern name is looked up first
        if setting.value is None:
            found = _Found(None, f"{name} is not known ({setting.note})", setting.location)
        else:
            found = _Found(
                setting.value, f"{name}={show(setting.value)}", setting.location, f"set {name}={{seconds}}s"
            )
        values[mapped] = found
    return _Source(values)


def _application_json(found: _Found | None) -> _Source:
    """SPRING_APPLICATION_JSON (or spring.application.json), flattened as JsonPropertySource does."""
    if found is None:
        return _Source()
    where = found.location
    if found.text is None:
        return _Source({}, _unseen(found.says, where))
    try:
        data = json.loads(found.text)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        says = f"{found.says} is not a JSON object, so Spring Boot does not start with it"
        return _Source({}, _unseen(says, where))
    values = {}
    for key, value in _flatten(data, ""):
        text = value if isinstance(value, str) else json.dumps(value)
        remedy = _literal(f'set "{key}" to "') + '{seconds}s" in SPRING_APPLICATION_JSON'
        values[_relaxed(key)] = _Found(
            text, f"`{key}` = {show(json.dumps(value))} in SPRING_APPLICATION_JSON", found.location, remedy
        )
    return _Source(values)


def _flatten(data: object, prefix: str) -> Iterator[tuple[str, object]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif not isinstance(data, list):
        yield prefix, data


def _config_files(invocation: Invocation, sources: list[_Source]) -> _Source:
    """application.properties/yml next to the jar (./ and ./config/), profile-specific ones for the
    active profiles first, as far as a known Dockerfile copies them into the image."""
    for key in ("spring.config.location", "spring.config.additional-location", "spring.config.name"):
        moved = _resolve(sources, key)
        if moved is not None:
            says = moved.says
            if moved.text is not None:
                says = f"{moved.says} points Spring Boot at configuration files keepalive-guard does not read"
            return _Source({}, _unseen(says, moved.location))
    profiles = _resolve(sources, "spring.profiles.active")
    active = [p.strip() for p in (profiles.text or "").split(",") if p.strip()] if profiles else []
    values: dict[str, _Found] = {}
    # Profile-specific files win over plain ones, ./config/ over ./, .properties over .yml (later profiles win).
    for suffix in [f"-{profile}" for profile in reversed(active)] + [""]:
        for directory in ("config/", ""):
            for extension in (".properties", ".yml", ".yaml"):
                image_file = invocation.file(f"{directory}application{suffix}{extension}")
                if image_file is None:
                    continue
                if image_file.text is None:
                    says = f"{image_file.path} cannot be read ({image_file.problem})"
                    return _Source(values, _unseen(says, image_file.location))
                for name, found in _file_properties(image_file).items():
                    values.setdefault(name, found)
    return _Source(values)


def _file_properties(image_file: ImageFile) -> dict[str, _Found]:
    """The properties a .properties or YAML file sets; one set in a later document (`---`, `#---`)
    depends on that document's activation conditions, so it is not known."""
    path, text = image_file.location.path, image_file.text or ""
    entries = _yaml(text) if image_file.path.endswith((".yml", ".yaml")) else _properties(text)
    found: dict[str, _Found] = {}
    for document, key, value, line in entries:
        where = Location(path, line)
        if document:
            says = f"`{key}` is set in a later document of {path}, which applies only when its activation conditions hold"
            found[_relaxed(key)] = _Found(None, says, where)
        elif _relaxed(key) not in found:
            remedy = _literal(f"set `{key}` to `") + "{seconds}s` in " + _literal(path)
            found[_relaxed(key)] = _Found(value, f"`{key}: {value}` in {path}", where, remedy)
    return found


def _properties(text: str) -> list[tuple[int, str, str, int]]:
    entries, document = [], 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped in ("#---", "!---"):
            document += 1
        elif stripped and stripped[0] not in "#!":
            match = re.match(r"([^=:\s]+)\s*[=:\s]\s*(.*)$", stripped)
            if match:
                entries.append((document, match.group(1), match.group(2).strip(), number))
    return entries


def _yaml(text: str) -> list[tuple[int, str, str, int]]:
    """Block mappings of a YAML file as dotted keys (enough for `server: tomcat: keep-alive-timeout: 75s`)."""
    entries, document = [], 0
    parents: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() == "---":
            document, parents = document + 1, []
            continue
        content = re.sub(r"\s+#.*$", "", line.rstrip())
        match = re.match(r"(\s*)([^\s:#-][^:#]*?|\"[^\"]*\"|'[^']*'):(?:\s+(.*))?$", content)
        if not match:
            continue
        indent, key, value = len(match.group(1)), match.group(2).strip("\"'"), (match.group(3) or "").strip()
        while parents and parents[-1][0] >= indent:
            parents.pop()
        dotted = ".".join([*(name for _, name in parents), key])
        if value:
            entries.append((document, dotted, value.strip("\"'"), number))
        else:
            parents.append((indent, key))
    return entries


# --- what the embedded server does --------------------------------------------------------------------


def _embedded(
    invocation: Invocation, sources: list[_Source], family: _Embedded, detail: str, why: str = ""
) -> Server:
    primary = family.keys[0]
    variable = _env_names(primary)[0]
    env_remedy = f"set the environment variable {variable}={{seconds}}s"
    for key in family.keys:
        found = _resolve(sources, key)
        if found is None:
            continue
        keep_alive = _keep_alive(family, found)
        if key != primary and found.text is not None:
            says = f"{keep_alive.evidence.says}; {primary} is not set, so {family.name} uses {key}"
            keep_alive = KeepAlive(
                keep_alive.mode,
                Evidence(says, found.location, keep_alive.evidence.source),
                keep_alive.seconds,
            )
        if found.text is None:  # an argument outranks every other source, and makes the value visible
            remedy, where = (
                f"add `--{primary}={{seconds}}s` after the jar in the java command",
                invocation.location,
            )
        elif key == primary:
            remedy, where = found.remedy, found.location
        else:  # keep-alive-timeout, when set anywhere, wins over connection-timeout
            remedy, where = env_remedy, invocation.location
        return Server("Spring Boot", detail, keep_alive, None, remedy, where)
    deprecated = _resolve(sources, _DEPRECATED_TIMEOUT)
    if deprecated is not None and family is not _NETTY:
        says = (
            f"{deprecated.says}: {_DEPRECATED_TIMEOUT} (deprecated in Spring Boot 2.2 for server-specific "
            f"properties) sets the timeout only on older Spring Boot versions, and the version is not visible"
        )
        keep_alive = KeepAlive.unknown(Evidence(says, deprecated.location, _CONFIG_DOCS))
        return Server("Spring Boot", detail, keep_alive, None, env_remedy, deprecated.location)
    unset = " nor ".join(family.keys)
    unset = f"neither {unset} is set" if len(family.keys) > 1 else f"{unset} is not set"
    jar = "packaged in the jar" if invocation.build is not None else "in the jar or next to it"
    says = (
        f"{unset}, so {family.default_says}; this assumes no application.properties/yml {jar} sets it"
        f"{_java_opts_note(invocation)}" + (f" ({family.name}: {why})" if why else "")
    )
    evidence = Evidence(says, invocation.location, family.source)
    if family.default is None:
        return Server("Spring Boot", detail, KeepAlive(Mode.NO_TIMEOUT, evidence))
    return Server(
        "Spring Boot",
        detail,
        KeepAlive.after(family.default, evidence),
        None,
        env_remedy,
        invocation.location,
    )


def _keep_alive(family: _Embedded, found: _Found) -> KeepAlive:
    if found.text is None:
        return KeepAlive.unknown(Evidence(found.says, found.location))
    seconds = units.spring_duration(found.text)
    if seconds is None:
        return KeepAlive.unknown(
            Evidence(f"{found.says}, which is not a duration Spring Boot reads", found.location, _CONFIG_DOCS)
        )
    says = found.says + (
        " (a bare number is milliseconds)" if re.fullmatch(r"\s*[+-]?\d+\s*", found.text) else ""
    )
    if seconds > 0:
        return KeepAlive.after(seconds, Evidence(says, found.location))
    if family.non_positive_is_infinite:
        says = f"{says}: {family.name} applies no idle timeout for zero or less"
        return KeepAlive(Mode.NO_TIMEOUT, Evidence(says, found.location, family.source))
    return KeepAlive.unknown(
        Evidence(f"{says}: what {family.name} does with zero or less is not known here", found.location)
    )


def _java_opts_note(invocation: Invocation) -> str:
    """JAVA_OPTS is a convention of launch scripts: `java` itself never reads it."""
    setting = invocation.env.get("JAVA_OPTS")
    if setting is None or not setting.value or "-D" not in setting.value:
        return ""
    if all(word in invocation.args for word in _split(setting.value)):
        return ""  # a shell expanded it into the command
    return "; JAVA_OPTS is set, but `java` does not read it, only a script that expands it into the command"


# --- standalone Tomcat ---------------------------------------------------------------------------------


def _catalina(invocation: Invocation) -> Server:
    base = invocation.base_image
    remedy = 'set `keepAliveTimeout="{milliseconds}"` on the HTTP Connector in conf/server.xml'
    home = "/usr/local/tomcat"  # the official image's CATALINA_HOME
    for variable in ("CATALINA_HOME", "CATALINA_BASE"):  # conf/ is read from CATALINA_BASE, if set
        setting = invocation.env.get(variable)
        if setting is not None and setting.value:
            home = setting.value
    server_xml = invocation.file(f"{home.rstrip('/')}/conf/server.xml")
    if server_xml is not None:
        return _server_xml(server_xml, remedy.replace("conf/server.xml", _literal(server_xml.location.path)))
    if _official_tomcat(base.value):
        copied = " (the Dockerfile copies no server.xml of its own)" if invocation.build is not None else ""
        says = (
            f"the official tomcat image (`{show(base.value or '')}`) runs Tomcat's stock conf/server.xml{copied}, "
            f'whose HTTP connector sets connectionTimeout="20000" and no keepAliveTimeout'
        )
        keep_alive = KeepAlive.after(STOCK_SERVER_XML_SECONDS, Evidence(says, base.location, _SERVER_XML))
        return Server("Tomcat", "catalina.sh run", keep_alive, None, remedy)
    says = (
        f"Tomcat's keep-alive is set in the conf/server.xml of the image `{show(base.value or '')}`, which is not "
        f'visible (the stock server.xml sets connectionTimeout="20000", which closes idle connections after 20 s)'
    )
    keep_alive = KeepAlive.unknown(Evidence(says, invocation.location, _SERVER_XML))
    return Server("Tomcat", "catalina.sh run", keep_alive, None, f"{remedy}, and {_DECLARE}")


def _server_xml(image_file: ImageFile, remedy: str) -> Server:
    """The HTTP connectors of a server.xml: keepAliveTimeout, else connectionTimeout, else 60000 ms."""
    path = image_file.location.path
    if image_file.text is None:
        says = f"{path} cannot be read ({image_file.problem})"
        return Server(
            "Tomcat", "catalina.sh run", KeepAlive.unknown(Evidence(says, image_file.location)), None, remedy
        )
    # comments out, keeping their line breaks so line numbers stay right
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group().count("\n"), image_file.text, flags=re.S)
    results: list[KeepAlive] = []
    for match in re.finditer(r"<Connector\b([^>]*)>", text):
        attributes = dict(re.findall(r"(\w+)\s*=\s*[\"']([^\"']*)[\"']", match.group(1)))
        protocol = attributes.get("protocol", "HTTP/1.1")
        if "ajp" in protocol.lower():
            continue
        where = Location(path, text.count("\n", 0, match.start()) + 1)
        name = next((a for a in ("keepAliveTimeout", "connectionTimeout") if a in attributes), "")
        if not name:
            says = f"the Connector in {path} sets neither keepAliveTimeout nor connectionTimeout: Tomcat's built-in {TOMCAT_DEFAULT} s"
            results.append(KeepAlive.after(TOMCAT_DEFAULT, Evidence(says, where, _TOMCAT_SOURCE)))
            continue
        value = attributes[name]
        says = f'{name}="{value}" (milliseconds) on the Connector in {path}'
        if name == "connectionTimeout":
            says += ", which sets the keep-alive too as keepAliveTimeout is not set"
        milliseconds = units.integer(value)
        if milliseconds is None:
            results.append(
                KeepAlive.unknown(Evidence(f"{says}, which is not a number keepalive-guard can read", where))
            )
        elif milliseconds <= 0:
            results.append(
                KeepAlive(Mode.NO_TIMEOUT, Evidence(f"{says}: no timeout", where, _TOMCAT_HTTP_DOCS))
            )
        else:
            results.append(KeepAlive.after(milliseconds / 1000, Evidence(says, where, _TOMCAT_HTTP_DOCS)))
    if not results:
        says = f"{path} defines no HTTP Connector keepalive-guard can read"
        return Server(
            "Tomcat", "catalina.sh run", KeepAlive.unknown(Evidence(says, image_file.location)), None, remedy
        )
    unknown = next((result for result in results if result.mode is Mode.UNKNOWN), None)
    if unknown is None and len({(result.mode, result.seconds) for result in results}) > 1:
        says = f"the HTTP connectors in {path} differ (" + "; ".join(r.evidence.says for r in results) + ")"
        unknown = KeepAlive.unknown(Evidence(says, image_file.location))
    keep_alive = unknown or results[0]
    return Server("Tomcat", "catalina.sh run", keep_alive, None, remedy, keep_alive.evidence.location)
