"""Spring Boot's embedded servers, plain `java`, and the official tomcat image."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.servers.base import Mode, Server
from policies.servers.spring import image_command
from tests.helpers import DEFAULT_IMAGE, rules_of, scan_tree, server_of, service_tf

JAR = ["java", "-jar", "app.jar"]
SPRING = {"SPRING_PROFILES_ACTIVE": "prod"}  # evidence that the jar is a Spring Boot app, not of its stack
TOMCAT = {"SERVER_TOMCAT_THREADS_MAX": "50"}  # evidence that it runs embedded Tomcat
DEFAULT_SAYS = (
    "neither server.tomcat.keep-alive-timeout nor server.tomcat.connection-timeout is set, so Tomcat's "
    "built-in connectionTimeout of 60 s applies (embedded Tomcat does not read server.xml); this assumes no "
    "application.properties/yml in the jar or next to it sets it"
)


@pytest.mark.parametrize(
    ("command", "environment"),
    [
        ([*JAR, "--spring.profiles.active=prod"], None),
        (JAR, SPRING),
        (JAR, {"SERVER_PORT": "8000"}),
        (["/opt/java/openjdk/bin/java", "-Dserver.port=8000", "-jar", "/app/app.jar"], None),
        # layered jars: the launcher is the main class (Spring Boot 3.2+ and before)
        (["java", "org.springframework.boot.loader.launch.JarLauncher"], None),
        (["java", "-XX:MaxRAMPercentage=75", "org.springframework.boot.loader.JarLauncher"], None),
        # Jib: classpath and main class
        (["java", "-cp", "/app/resources:/app/classes:/app/libs/*", "com.example.App"], SPRING),
        (
            [
                "java",
                "-Dspring.profiles.active=prod",
                "-cp",
                "@/app/jib-classpath-file",
                "@/app/jib-main-class-file",
            ],
            None,
        ),
        # a shell expands JAVA_OPTS into the command
        (
            ["sh", "-c", "exec java $JAVA_OPTS -jar /app.jar"],
            {"JAVA_OPTS": "-Xmx512m -Dspring.profiles.active=prod"},
        ),
        (JAR, {"JAVA_TOOL_OPTIONS": "-Dspring.profiles.active=prod"}),
    ],
)
def test_spring_boot_without_its_web_stack_is_unknown(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None
) -> None:
    # Spring MVC on Tomcat closes idle connections after 60 s, WebFlux on Reactor Netty never does
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.name == "Spring Boot"
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "Reactor Netty never closes idle connections" in server.keep_alive.evidence.says
    assert server.request_timeout is None


def test_an_unknown_web_stack_says_both(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=[*JAR, "--spring.profiles.active=prod"])
    assert server.keep_alive.evidence.says == (
        "this Spring Boot app's web stack is not visible (nothing names its embedded server: no "
        "server.tomcat.* or server.netty.* property, server jar in BOOT-INF/lib or starter in a pom.xml or "
        "build.gradle the Dockerfile copies): on Spring MVC's default embedded Tomcat, it closes idle "
        f"keep-alive connections after 60 s: {DEFAULT_SAYS}; on WebFlux (Spring Cloud Gateway), Reactor Netty "
        "never closes idle connections"
    )
    assert server.remedy.startswith("set the environment variable SERVER_TOMCAT_KEEPALIVETIMEOUT={seconds}s")


def test_default_says_why_and_what_it_assumes(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=JAR, environment=TOMCAT)
    assert server.keep_alive.evidence.says == DEFAULT_SAYS
    assert server.keep_alive.evidence.source.endswith("java/org/apache/coyote/http11/Constants.java")
    assert server.remedy == "set the environment variable SERVER_TOMCAT_KEEPALIVETIMEOUT={seconds}s"


@pytest.mark.parametrize(
    ("command", "environment", "seconds", "says"),
    [
        (
            [*JAR, "--server.tomcat.keep-alive-timeout=75s"],
            None,
            75,
            "`--server.tomcat.keep-alive-timeout=75s` in the command",
        ),
        # relaxed binding: camelCase and underscores name the same property
        ([*JAR, "--server.tomcat.keepAliveTimeout=2m"], None, 120, "keepAliveTimeout=2m"),
        ([*JAR, "--server.tomcat.keep_alive_timeout=PT65S"], None, 65, "PT65S"),
        # a bare number is milliseconds
        (
            ["java", "-Dserver.tomcat.keep-alive-timeout=70000", "-jar", "app.jar"],
            None,
            70,
            "(a bare number is milliseconds)",
        ),
        (
            JAR,
            {"JAVA_TOOL_OPTIONS": "-Xss512k -Dserver.tomcat.keep-alive-timeout=65s"},
            65,
            "in JAVA_TOOL_OPTIONS",
        ),
        (JAR, {"JDK_JAVA_OPTIONS": "-Dserver.tomcat.keep-alive-timeout=66s"}, 66, "in JDK_JAVA_OPTIONS"),
        (JAR, {"SERVER_TOMCAT_KEEPALIVETIMEOUT": "90s"}, 90, "SERVER_TOMCAT_KEEPALIVETIMEOUT=90s"),
        # SystemEnvironmentPropertyMapper's legacy form: dashes as underscores
        (JAR, {"SERVER_TOMCAT_KEEP_ALIVE_TIMEOUT": "91s"}, 91, "SERVER_TOMCAT_KEEP_ALIVE_TIMEOUT=91s"),
        (
            JAR,
            {"SPRING_APPLICATION_JSON": '{"server":{"tomcat":{"keep-alive-timeout":"92s"}}}'},
            92,
            "SPRING_APPLICATION_JSON",
        ),
        (
            JAR,
            {"SPRING_APPLICATION_JSON": '{"server.tomcat.keep-alive-timeout": 93000}'},
            93,
            "SPRING_APPLICATION_JSON",
        ),
        (
            ["sh", "-c", "java $JAVA_OPTS -jar app.jar"],
            {"JAVA_OPTS": "-Dserver.tomcat.keep-alive-timeout=61s"},
            61,
            "`-Dserver.tomcat.keep-alive-timeout=61s` in the java command",
        ),
    ],
)
def test_keep_alive_timeout_forms(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, seconds: float, says: str
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.detail == "embedded Tomcat"
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == seconds
    assert says in server.keep_alive.evidence.says


@pytest.mark.parametrize(
    ("command", "environment", "seconds"),
    [
        # command-line arguments > SPRING_APPLICATION_JSON > Java system properties > environment
        (
            [*JAR, "--server.tomcat.keep-alive-timeout=75s"],
            {"SPRING_APPLICATION_JSON": '{"server.tomcat.keep-alive-timeout": "5s"}'},
            75,
        ),
        (
            ["java", "-Dserver.tomcat.keep-alive-timeout=5s", "-jar", "app.jar"],
            {"SPRING_APPLICATION_JSON": '{"server.tomcat.keep-alive-timeout": "76s"}'},
            76,
        ),
        (
            ["java", "-Dserver.tomcat.keep-alive-timeout=77s", "-jar", "app.jar"],
            {"SERVER_TOMCAT_KEEPALIVETIMEOUT": "5s"},
            77,
        ),
        # the command line's -D comes after JAVA_TOOL_OPTIONS, so it wins
        (
            ["java", "-Dserver.tomcat.keep-alive-timeout=78s", "-jar", "app.jar"],
            {"JAVA_TOOL_OPTIONS": "-Dserver.tomcat.keep-alive-timeout=5s"},
            78,
        ),
        # the modern variable name is looked up before the legacy one
        (JAR, {"SERVER_TOMCAT_KEEP_ALIVE_TIMEOUT": "5s", "SERVER_TOMCAT_KEEPALIVETIMEOUT": "79s"}, 79),
        # keep-alive-timeout, wherever it is set, wins over connection-timeout
        ([*JAR, "--server.tomcat.connection-timeout=5s"], {"SERVER_TOMCAT_KEEPALIVETIMEOUT": "80s"}, 80),
    ],
)
def test_property_precedence(
    tmp_path: Path, command: list[str], environment: dict[str, str], seconds: float
) -> None:
    assert server_of(tmp_path, command=command, environment=environment).keep_alive.seconds == seconds


def test_connection_timeout_is_the_keep_alive_when_keep_alive_timeout_is_unset(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=JAR, environment={"SERVER_TOMCAT_CONNECTIONTIMEOUT": "20s"})
    assert server.keep_alive.seconds == 20
    assert server.keep_alive.evidence.says == (
        "SERVER_TOMCAT_CONNECTIONTIMEOUT=20s; server.tomcat.keep-alive-timeout is not set, so Tomcat uses "
        "server.tomcat.connection-timeout"
    )
    assert server.remedy == "set the environment variable SERVER_TOMCAT_KEEPALIVETIMEOUT={seconds}s"


def test_an_argument_needs_an_equals_sign(tmp_path: Path) -> None:
    # SimpleCommandLineArgsParser: `--name value` is an option without a value and a plain argument
    server = server_of(
        tmp_path, command=[*JAR, "--server.tomcat.keep-alive-timeout", "75s"], environment=TOMCAT
    )
    assert server.keep_alive.seconds == 60


def test_java_opts_is_not_read_by_java_itself(tmp_path: Path) -> None:
    environment = {**TOMCAT, "JAVA_OPTS": "-Dserver.tomcat.keep-alive-timeout=75s"}
    server = server_of(tmp_path, command=JAR, environment=environment)
    assert server.keep_alive.seconds == 60
    assert "JAVA_OPTS is set, but `java` does not read it" in server.keep_alive.evidence.says


@pytest.mark.parametrize(
    ("environment", "detail", "mode", "seconds"),
    [
        ({"SERVER_JETTY_THREADS_MAX": "200"}, "embedded Jetty", Mode.IDLE_TIMEOUT, 30),
        ({"SERVER_JETTY_CONNECTIONIDLETIMEOUT": "75s"}, "embedded Jetty", Mode.IDLE_TIMEOUT, 75),
        ({"SERVER_UNDERTOW_THREADS_IO": "4"}, "embedded Undertow", Mode.IDLE_TIMEOUT, 60),
        ({"SERVER_UNDERTOW_NOREQUESTTIMEOUT": "2m"}, "embedded Undertow", Mode.IDLE_TIMEOUT, 120),
        ({"SERVER_NETTY_CONNECTIONTIMEOUT": "5s"}, "embedded Reactor Netty", Mode.NO_TIMEOUT, None),
        ({"SERVER_NETTY_IDLETIMEOUT": "30s"}, "embedded Reactor Netty", Mode.IDLE_TIMEOUT, 30),
        ({"SERVER_TOMCAT_THREADS_MAX": "50"}, "embedded Tomcat", Mode.IDLE_TIMEOUT, 60),
    ],
)
def test_the_embedded_server_is_told_by_its_properties(
    tmp_path: Path, environment: dict[str, str], detail: str, mode: Mode, seconds: float | None
) -> None:
    server = server_of(tmp_path, command=JAR, environment=environment)
    assert server.detail == detail
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_properties_of_two_servers_make_the_server_unknown(tmp_path: Path) -> None:
    environment = {"SERVER_TOMCAT_THREADS_MAX": "50", "SERVER_JETTY_THREADS_MAX": "50"}
    server = server_of(tmp_path, command=JAR, environment=environment)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "both server.tomcat.* and server.jetty.* properties are set" in server.keep_alive.evidence.says


@pytest.mark.parametrize(
    ("environment", "mode"),
    [
        ({"SERVER_TOMCAT_KEEPALIVETIMEOUT": "-1"}, Mode.NO_TIMEOUT),  # documented: -1 is no timeout
        ({"SERVER_TOMCAT_CONNECTIONTIMEOUT": "0"}, Mode.NO_TIMEOUT),
        ({"SERVER_JETTY_CONNECTIONIDLETIMEOUT": "0"}, Mode.NO_TIMEOUT),
        ({"SERVER_UNDERTOW_NOREQUESTTIMEOUT": "0"}, Mode.UNKNOWN),
    ],
)
def test_zero_or_less(tmp_path: Path, environment: dict[str, str], mode: Mode) -> None:
    assert server_of(tmp_path, command=JAR, environment=environment).keep_alive.mode is mode


@pytest.mark.parametrize(
    ("command", "environment", "says"),
    [
        # CommandLinePropertySource joins repeated arguments: "75s,30s" is no duration
        (
            [*JAR, "--server.tomcat.keep-alive-timeout=75s", "--server.tomcat.keep-alive-timeout=30s"],
            None,
            "which Spring Boot joins into `75s,30s`, which is not a duration Spring Boot reads",
        ),
        (
            JAR,
            {"SERVER_TOMCAT_KEEPALIVETIMEOUT": "soon"},
            "SERVER_TOMCAT_KEEPALIVETIMEOUT=soon, which is not a duration",
        ),
        (["sh", "-c", "java -jar app.jar $ARGS"], SPRING, "arguments may be given by `<?>` in the command"),
        (
            ["sh", "-c", "java $OPTS -jar app.jar"],
            SPRING,
            "system properties (-D) may be set by `<?>` in the java command",
        ),
        (JAR, {"SPRING_APPLICATION_JSON": "server.port=8000"}, "is not a JSON object"),
        # server.connection-timeout (Spring Boot 2.0 to 2.2) depends on the version
        (JAR, {"SERVER_CONNECTION_TIMEOUT": "90s"}, "deprecated in Spring Boot 2.2"),
    ],
)
def test_unknown_keep_alive(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, says: str
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.name == "Spring Boot"
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert says in server.keep_alive.evidence.says


def test_environment_files_may_set_any_property(tmp_path: Path) -> None:
    main = service_tf(command=[*JAR, "--server.tomcat.threads.max=50"]).replace(
        "image = ",
        'environmentFiles = [{ value = "arn:aws:s3:::config/app.env", type = "s3" }]\n      image = ',
    )
    server = scan_tree(tmp_path, {"main.tf": main}).targets[0].server
    assert server is not None and server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "server.tomcat.keep-alive-timeout may be set in the environment file arn:aws:s3:::config/app.env: as "
        "SERVER_TOMCAT_KEEPALIVETIMEOUT, in SPRING_APPLICATION_JSON or as a -D option in JAVA_TOOL_OPTIONS"
    )
    assert (
        server.remedy
        == "add `--server.tomcat.keep-alive-timeout={seconds}s` after the jar in the java command"
    )


def test_an_argument_wins_over_environment_files(tmp_path: Path) -> None:
    main = service_tf(command=[*JAR, "--server.tomcat.keep-alive-timeout=75s"]).replace(
        "image = ",
        'environmentFiles = [{ value = "arn:aws:s3:::config/app.env", type = "s3" }]\n      image = ',
    )
    server = scan_tree(tmp_path, {"main.tf": main}).targets[0].server
    assert server is not None and server.keep_alive.seconds == 75


@pytest.mark.parametrize(
    "command",
    [
        JAR,
        ["java", "-Xmx1g", "-jar", "/opt/app/service.jar", "server", "config.yml"],  # a Dropwizard app
        ["java", "-cp", "app.jar", "io.micronaut.runtime.Micronaut"],
    ],
)
def test_java_without_spring_boot_evidence_is_unknown(tmp_path: Path, command: list[str]) -> None:
    server = server_of(tmp_path, command=command)
    assert server.name == "java"
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "nothing shows it is Spring Boot" in server.keep_alive.evidence.says
    assert "closes idle connections after 60 s" in server.keep_alive.evidence.says
    assert "keepalive-guard.keep-alive-seconds" in server.remedy  # the catalog's declaration remedy


def test_plain_java_says_exactly_what_is_missing(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=JAR)
    assert server.title == "java (-jar app.jar)"
    assert server.keep_alive.evidence.says == (
        "`java -jar app.jar` runs a Java application whose HTTP server is not visible: nothing shows it is "
        "Spring Boot (a Spring Boot launcher main class, server.* or spring.* properties, or SPRING_*/SERVER_* "
        "environment variables would); Spring Boot on its default embedded Tomcat closes idle connections after "
        "60 s unless server.tomcat.keep-alive-timeout says otherwise"
    )


# --- configuration files a Dockerfile copies next to the jar ---------------------------------------

DOCKERFILE = """FROM eclipse-temurin:21-jre
WORKDIR /app
COPY target/app.jar app.jar
COPY config/ config/
ENTRYPOINT ["java", "-jar", "app.jar"]
"""


def _with_config(tmp_path: Path, config: dict[str, str], environment: dict[str, str] | None = None) -> Server:
    files: dict[str, str | bytes] = {"Dockerfile": DOCKERFILE, "target/app.jar": b"PK", **config}
    return server_of(tmp_path, files=files, dockerfile="Dockerfile", environment=environment)


def test_application_yml_next_to_the_jar(tmp_path: Path) -> None:
    server = _with_config(
        tmp_path, {"config/application.yml": "server:\n  tomcat:\n    keep-alive-timeout: 70s\n"}
    )
    assert server.keep_alive.seconds == 70
    evidence = server.keep_alive.evidence
    assert evidence.location is not None and evidence.location.line == 3
    assert evidence.location.path.endswith("config/application.yml")
    assert server.remedy.startswith("set `server.tomcat.keep-alive-timeout` to `{seconds}s` in ")


def test_application_properties_tells_the_server_and_its_timeout(tmp_path: Path) -> None:
    server = _with_config(
        tmp_path, {"config/application.properties": "server.jetty.connection-idle-timeout=90000\n"}
    )
    assert server.detail == "embedded Jetty"
    assert server.keep_alive.seconds == 90


def test_profile_specific_file_wins(tmp_path: Path) -> None:
    config = {
        "config/application.yml": "server:\n  tomcat:\n    connection-timeout: 75s\n",
        "config/application-prod.yml": "server:\n  tomcat:\n    connection-timeout: 5s\n",
    }
    assert _with_config(tmp_path, config, SPRING).keep_alive.seconds == 5


def test_environment_wins_over_files(tmp_path: Path) -> None:
    config = {"config/application.properties": "server.tomcat.keep-alive-timeout=5s\n"}
    server = _with_config(tmp_path, config, {"SERVER_TOMCAT_KEEPALIVETIMEOUT": "75s"})
    assert server.keep_alive.seconds == 75


def test_a_later_document_depends_on_its_activation(tmp_path: Path) -> None:
    yaml = (
        "spring:\n  application:\n    name: shop\n---\nspring:\n  config:\n    activate:\n      on-profile: prod\n"
        "server:\n  tomcat:\n    keep-alive-timeout: 5s\n"
    )
    server = _with_config(tmp_path, {"config/application.yml": yaml})
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "is set in a later document of" in server.keep_alive.evidence.says


def test_known_image_contents_change_the_assumption(tmp_path: Path) -> None:
    yaml = "spring:\n  application:\n    name: shop\nserver:\n  servlet:\n    context-path: /shop\n"
    server = _with_config(tmp_path, {"config/application.yml": yaml})
    assert server.detail == "embedded Tomcat, assumed: spring-boot-starter-web's default"
    assert server.keep_alive.seconds == 60
    assert (
        "this assumes no application.properties/yml packaged in the jar sets it"
        in server.keep_alive.evidence.says
    )


# --- the official tomcat image ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "command"),
    [
        ("tomcat:10.1-jdk21", ("catalina.sh", "run")),
        ("docker.io/library/tomcat:9.0", ("catalina.sh", "run")),
        ("public.ecr.aws/docker/library/tomcat:11.0", ("catalina.sh", "run")),
        ("bitnami/tomcat:10.1", None),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/tomcat:1", None),
    ],
)
def test_image_command_of_the_official_tomcat_image(image: str, command: tuple[str, ...] | None) -> None:
    assert image_command(image) == command


@pytest.mark.parametrize(
    ("command", "image"),
    [
        (None, "tomcat:10.1-jdk21-temurin"),  # the image's own CMD
        (["catalina.sh", "run"], "tomcat:9.0"),
        (["/usr/local/tomcat/bin/catalina.sh", "run"], "tomcat:11.0"),
    ],
)
def test_official_tomcat_image_closes_after_20_s(
    tmp_path: Path, command: list[str] | None, image: str
) -> None:
    server = server_of(tmp_path, command=command, image=image)
    assert server.title == "Tomcat (catalina.sh run)"
    assert server.keep_alive.seconds == 20
    assert 'connectionTimeout="20000"' in server.keep_alive.evidence.says
    assert server.remedy == 'set `keepAliveTimeout="{milliseconds}"` on the HTTP Connector in conf/server.xml'


def test_tomcat_in_an_unknown_image_is_unknown(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["catalina.sh", "run"])
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "which is not visible" in server.keep_alive.evidence.says


SERVER_XML = """<Server port="8005" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <!-- <Connector port="8081" connectionTimeout="1000" /> -->
    <Connector port="8080" protocol="HTTP/1.1"
               connectionTimeout="20000"
               {attribute}
               redirectPort="8443" />
    <Connector port="8009" protocol="AJP/1.3" redirectPort="8443" />
  </Service>
</Server>
"""


@pytest.mark.parametrize(
    ("attribute", "mode", "seconds", "says"),
    [
        (
            'keepAliveTimeout="75000"',
            Mode.IDLE_TIMEOUT,
            75,
            'keepAliveTimeout="75000" (milliseconds) on the Connector',
        ),
        ("", Mode.IDLE_TIMEOUT, 20, 'connectionTimeout="20000" (milliseconds) on the Connector'),
        ('keepAliveTimeout="-1"', Mode.NO_TIMEOUT, None, "no timeout"),
        ('keepAliveTimeout="${keepalive}"', Mode.UNKNOWN, None, "not a number"),
    ],
)
def test_server_xml_copied_into_the_tomcat_image(
    tmp_path: Path, attribute: str, mode: Mode, seconds: float | None, says: str
) -> None:
    dockerfile = "FROM tomcat:10.1-jdk21\nCOPY server.xml /usr/local/tomcat/conf/server.xml\n"
    files: dict[str, str | bytes] = {
        "Dockerfile": dockerfile,
        "server.xml": SERVER_XML.format(attribute=attribute),
    }
    server = server_of(tmp_path, files=files, dockerfile="Dockerfile", image="shop/tomcat:1")
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds
    assert says in server.keep_alive.evidence.says
    location = server.keep_alive.evidence.location
    assert location is not None and location.line == 4  # the HTTP connector, not the commented-out one


def test_tomcat_image_without_its_own_server_xml(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "Dockerfile": "FROM tomcat:10.1-jdk21\nCOPY app.war /usr/local/tomcat/webapps/ROOT.war\n",
        "app.war": b"PK",
    }
    server = server_of(tmp_path, files=files, dockerfile="Dockerfile", image="shop/tomcat:1")
    assert server.keep_alive.seconds == 20
    assert "(the Dockerfile copies no server.xml of its own)" in server.keep_alive.evidence.says


# --- whole scans -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "environment", "image", "fires"),
    [
        (JAR, TOMCAT, None, True),  # Tomcat's 60 s is not longer than the ALB's 60 s
        (JAR, {"SERVER_SERVLET_CONTEXTPATH": "/api"}, None, True),  # Spring MVC: Tomcat by default
        ([*JAR, "--server.tomcat.keep-alive-timeout=75s"], None, None, False),
        (JAR, {"SERVER_TOMCAT_KEEPALIVETIMEOUT": "65s"}, None, False),
        (JAR, {"SERVER_NETTY_PORT": "8000"}, None, False),  # Reactor Netty never closes idle connections
        (None, None, "tomcat:10.1", True),  # the stock server.xml: 20 s
    ],
)
def test_scan(
    tmp_path: Path,
    command: list[str] | None,
    environment: dict[str, str] | None,
    image: str | None,
    fires: bool,
) -> None:
    tf = service_tf(command=command, environment=environment, image=image or DEFAULT_IMAGE)
    result = scan_tree(tmp_path, {"main.tf": tf})
    assert ("KA001" in rules_of(result)) is fires
    assert "KA002" not in rules_of(result)


def test_scan_fix_names_the_environment_variable(tmp_path: Path) -> None:
    result = scan_tree(tmp_path, {"main.tf": service_tf(command=JAR, environment=TOMCAT)})
    finding = next(finding for finding in result.findings if finding.rule == "KA001")
    assert finding.fix.startswith("Set the environment variable SERVER_TOMCAT_KEEPALIVETIMEOUT=65s")


def test_a_spring_placeholder_is_unknown_and_kept_literally_in_the_fix(tmp_path: Path) -> None:
    command = [*JAR, "--server.tomcat.keep-alive-timeout=${KEEP_ALIVE:75s}"]
    result = scan_tree(tmp_path, {"main.tf": service_tf(command=command)})
    finding = next(finding for finding in result.findings if finding.rule == "KA002")
    assert "not a duration Spring Boot reads" in finding.message
    assert finding.fix.startswith(
        "Change `--server.tomcat.keep-alive-timeout=${KEEP_ALIVE:75s}` to `--server.tomcat.keep-alive-timeout=65s`"
    )


@pytest.mark.parametrize(
    ("name", "seconds"),
    [
        ("server.tomcat.keep-alive-timeout", 75),  # DefaultPropertyMapper: a variable named like the property
        ("server.tomcat.keepAliveTimeout", 75),
    ],
)
def test_an_environment_variable_named_like_the_property(tmp_path: Path, name: str, seconds: float) -> None:
    server = server_of(tmp_path, command=JAR, environment={name: "75s"})
    assert server.detail == "embedded Tomcat"
    assert server.keep_alive.seconds == seconds
    assert server.keep_alive.evidence.says == f"{name}=75s"


def test_the_upper_case_variable_is_looked_up_before_the_dotted_one(tmp_path: Path) -> None:
    environment = {"server.tomcat.keep-alive-timeout": "5s", "SERVER_TOMCAT_KEEPALIVETIMEOUT": "75s"}
    assert server_of(tmp_path, command=JAR, environment=environment).keep_alive.seconds == 75


@pytest.mark.parametrize(
    ("command", "environment", "detail", "mode"),
    [
        (
            [*JAR, "--server.servlet.context-path=/api"],
            None,
            "embedded Tomcat, assumed: spring-boot-starter-web's default",
            Mode.IDLE_TIMEOUT,
        ),
        (
            JAR,
            {"SPRING_MVC_SERVLET_PATH": "/"},
            "embedded Tomcat, assumed: spring-boot-starter-web's default",
            Mode.IDLE_TIMEOUT,
        ),
        (
            JAR,
            {"SPRING_WEBFLUX_BASEPATH": "/api"},
            "embedded Reactor Netty, assumed: spring-boot-starter-webflux's default",
            Mode.NO_TIMEOUT,
        ),
        (
            [*JAR, "--spring.main.web-application-type=reactive"],
            None,
            "embedded Reactor Netty, assumed: spring-boot-starter-webflux's default",
            Mode.NO_TIMEOUT,
        ),
        (
            [*JAR, "--spring.main.web-application-type=servlet"],
            None,
            "embedded Tomcat, assumed: spring-boot-starter-web's default",
            Mode.IDLE_TIMEOUT,
        ),
        ([*JAR, "--spring.main.web-application-type=none"], None, "", Mode.UNKNOWN),
        # both stacks' properties: not told
        (JAR, {"SPRING_MVC_SERVLET_PATH": "/", "SPRING_WEBFLUX_BASEPATH": "/"}, "", Mode.UNKNOWN),
    ],
)
def test_properties_only_one_stack_reads_tell_it(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, detail: str, mode: Mode
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.detail == detail
    assert server.keep_alive.mode is mode


_POM = """<project>
  <dependencies>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>{artifact}</artifactId>
    </dependency>
    <!-- <artifactId>spring-boot-starter-jetty</artifactId> -->
  </dependencies>
</project>
"""
_SINGLE_STAGE = """FROM maven:3.9-eclipse-temurin-21
WORKDIR /app
COPY . .
RUN mvn -q package
ENTRYPOINT ["java", "-jar", "target/app.jar"]
"""


@pytest.mark.parametrize(
    ("files", "detail", "mode"),
    [
        ({"pom.xml": _POM.format(artifact="spring-boot-starter-web")}, "embedded Tomcat", Mode.IDLE_TIMEOUT),
        (
            {"pom.xml": _POM.format(artifact="spring-boot-starter-webflux")},
            "embedded Reactor Netty",
            Mode.NO_TIMEOUT,
        ),
        (
            {"pom.xml": _POM.format(artifact="spring-cloud-starter-gateway")},
            "embedded Reactor Netty",
            Mode.NO_TIMEOUT,
        ),
        (
            {
                "build.gradle": "dependencies {\n  implementation 'org.springframework.boot:spring-boot-starter-web'\n}\n"
            },
            "embedded Tomcat",
            Mode.IDLE_TIMEOUT,
        ),
        # Jetty replaces Tomcat only where spring-boot-starter-tomcat is excluded: not read
        (
            {
                "pom.xml": _POM.format(artifact="spring-boot-starter-web")
                .replace("<!-- ", "")
                .replace(" -->", "")
            },
            "",
            Mode.UNKNOWN,
        ),
    ],
)
def test_a_copied_build_file_tells_the_server(
    tmp_path: Path, files: dict[str, str], detail: str, mode: Mode
) -> None:
    server = server_of(tmp_path, files={"Dockerfile": _SINGLE_STAGE, **files}, dockerfile="Dockerfile")
    assert server.name == "Spring Boot"
    assert server.detail == detail
    assert server.keep_alive.mode is mode


_EXPLODED = """FROM eclipse-temurin:21-jre
WORKDIR /app
COPY target/dependency/BOOT-INF/lib /app/lib
COPY target/dependency/BOOT-INF/classes /app
ENTRYPOINT ["java", "-cp", "/app:/app/lib/*", "com.example.Application"]
"""


@pytest.mark.parametrize(
    ("jars", "detail", "mode"),
    [
        (("spring-webmvc-6.1.5.jar", "tomcat-embed-core-10.1.19.jar"), "embedded Tomcat", Mode.IDLE_TIMEOUT),
        # WebClient in an MVC app brings reactor-netty; the servlet stack still runs Tomcat
        (
            ("spring-webmvc-6.1.5.jar", "tomcat-embed-core-10.1.19.jar", "reactor-netty-http-1.1.17.jar"),
            "embedded Tomcat",
            Mode.IDLE_TIMEOUT,
        ),
        (
            ("spring-webflux-6.1.5.jar", "reactor-netty-http-1.1.17.jar"),
            "embedded Reactor Netty",
            Mode.NO_TIMEOUT,
        ),
        (("spring-webmvc-6.1.5.jar", "jetty-server-12.0.7.jar"), "embedded Jetty", Mode.IDLE_TIMEOUT),
    ],
)
def test_copied_libraries_tell_the_server(
    tmp_path: Path, jars: tuple[str, ...], detail: str, mode: Mode
) -> None:
    files: dict[str, str | bytes] = {
        "Dockerfile": _EXPLODED,
        "target/dependency/BOOT-INF/classes/application.properties": "spring.application.name=shop\n",
    }
    files.update({f"target/dependency/BOOT-INF/lib/{jar}": b"PK\x03\x04" for jar in jars})
    server = server_of(tmp_path, files=files, dockerfile="Dockerfile")
    assert server.name == "Spring Boot"
    assert server.detail == detail
    assert server.keep_alive.mode is mode


def test_a_generic_spring_boot_app_is_a_warning_not_an_error(tmp_path: Path) -> None:
    tf = service_tf(command=[*JAR, "--spring.profiles.active=prod"])
    assert rules_of(scan_tree(tmp_path, {"main.tf": tf})) == ["KA002"]
