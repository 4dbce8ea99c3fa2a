"""Apache httpd: KeepAlive On and 5 s by default; -C before and -c after the configuration files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from policies.model import Copy, ImageBuild, Location, Setting
from policies.servers.apache import analyse, image_command, image_entrypoint
from policies.servers.base import Invocation, Mode
from tests.helpers import built_server, rules_of, scan_tree, server_of, service_tf

# Findings show local files relative to the working directory.
pytestmark = pytest.mark.usefixtures("in_tmp")


@pytest.mark.parametrize(
    ("image", "command"),
    [
        ("httpd:2.4", None),  # the image's CMD: httpd-foreground
        ("httpd:2.4-alpine", ["httpd-foreground"]),
        ("httpd:2.4", ["httpd", "-DFOREGROUND"]),
        ("public.ecr.aws/docker/library/httpd:2.4", ["/usr/local/apache2/bin/apachectl", "-D", "FOREGROUND"]),
        ("php:8.3-apache", None),  # the image's CMD: apache2-foreground
        ("php:8.2-apache-bookworm", ["apache2-foreground"]),
        ("php:8.3-apache", ["apache2ctl", "-D", "FOREGROUND"]),
        ("php:8.3-apache", ["sh", "-c", "exec /usr/sbin/apache2 -DFOREGROUND"]),
    ],
)
def test_official_images_keep_idle_connections_5_seconds(
    tmp_path: Path, image: str, command: list[str] | None
) -> None:
    server = server_of(tmp_path, image=image, command=command)
    assert server.name == "apache"
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == 5


def test_the_default_says_where_it_comes_from(tmp_path: Path) -> None:
    httpd = server_of(tmp_path / "httpd", image="httpd:2.4")
    assert httpd.keep_alive.evidence.says == (
        "the official httpd image's httpd.conf does not set KeepAliveTimeout: Apache's default is 5 s (no "
        "Listen visible has port 8000: `Listen 80` (the official httpd image's httpd.conf) is taken to be "
        "changed to it where keepalive-guard cannot see)"
    )
    debian = server_of(tmp_path / "php", image="php:8.3-apache")
    assert debian.keep_alive.evidence.says.startswith("Debian's apache2.conf sets `KeepAliveTimeout 5` (")
    assert debian.remedy.startswith('add `-c "KeepAliveTimeout {seconds}"` to the Apache command')


def test_image_command_only_for_official_images() -> None:
    assert image_command("httpd:2.4.62") == ("httpd-foreground",)
    assert image_command("php:8.3-apache") == ("apache2-foreground",)
    assert image_command("php:8.3-fpm") is None
    assert image_command("bitnami/apache:2.4") is None


def test_image_entrypoint_only_for_php_apache() -> None:
    assert image_entrypoint("php:8.3-apache", ("--option",)) == ("apache2-foreground",)
    assert image_entrypoint("php:8.2-apache-bookworm", ("--option",)) == ("apache2-foreground",)
    assert image_entrypoint("httpd:2.4", ("--option",)) is None  # no ENTRYPOINT: options alone do not run
    assert image_entrypoint("php:8.3-fpm", ("--option",)) is None


def test_a_command_of_options_runs_apache_in_php_apache(tmp_path: Path) -> None:
    server = server_of(tmp_path, image="php:8.3-apache", command=["-c", "KeepAliveTimeout 75"])
    assert server.name == "apache"
    assert server.keep_alive.seconds == 75
    assert server.keep_alive.evidence.says.startswith('`-c "KeepAliveTimeout 75"` in the command (')
    httpd = server_of(tmp_path / "httpd", image="httpd:2.4", command=["-c", "KeepAliveTimeout 75"])
    assert httpd.name == "unknown"


@pytest.mark.parametrize(
    ("command", "mode", "seconds", "says"),
    [
        (
            ["httpd-foreground", "-c", "KeepAliveTimeout 75"],
            Mode.IDLE_TIMEOUT,
            75,
            '`-c "KeepAliveTimeout 75"`',
        ),
        (["httpd-foreground", "-cKeepAliveTimeout 65"], Mode.IDLE_TIMEOUT, 65, '`-c "KeepAliveTimeout 65"`'),
        (["httpd", "-DFOREGROUND", "-c", "KeepAliveTimeout 90000ms"], Mode.IDLE_TIMEOUT, 90, "90000ms"),
        (["httpd", "-DFOREGROUND", "-c", "KeepAliveTimeout 2mi"], Mode.IDLE_TIMEOUT, 120, "2mi"),
        (["httpd", "-DFOREGROUND", "-c", "KeepAlive Off"], Mode.NO_KEEP_ALIVE, None, '`-c "KeepAlive Off"`'),
        (["httpd", "-DFOREGROUND", "-C", "KeepAlive Off"], Mode.NO_KEEP_ALIVE, None, '`-C "KeepAlive Off"`'),
        (["httpd", "-DFOREGROUND", "-c", "KeepAliveTimeout soon"], Mode.UNKNOWN, None, "soon"),
    ],
)
def test_directives_on_the_command_line(
    tmp_path: Path, command: list[str], mode: Mode, seconds: float | None, says: str
) -> None:
    server = server_of(tmp_path, image="httpd:2.4", command=command)
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds
    assert says in server.keep_alive.evidence.says


def test_minus_c_is_read_after_the_configuration_and_minus_capital_c_before(tmp_path: Path) -> None:
    # Debian's apache2.conf sets KeepAliveTimeout 5: it overrides -C, and -c overrides it
    before = server_of(
        tmp_path / "C", image="php:8.3-apache", command=["apache2-foreground", "-C", "KeepAliveTimeout 75"]
    )
    assert before.keep_alive.seconds == 5
    after = server_of(
        tmp_path / "c", image="php:8.3-apache", command=["apache2-foreground", "-c", "KeepAliveTimeout 75"]
    )
    assert after.keep_alive.seconds == 75
    assert (
        after.remedy
        == 'change `-c "KeepAliveTimeout 75"` to `-c "KeepAliveTimeout {seconds}"` in the Apache command'
    )


def test_a_custom_image_without_its_dockerfile_is_unknown(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["httpd", "-DFOREGROUND"])
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "KeepAlive and KeepAliveTimeout are set in the Apache configuration of the image "
        "`123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1`, which is not visible in the scanned files "
        "(Apache's default is 5 s)"
    )


def test_a_copied_httpd_conf_is_read(tmp_path: Path) -> None:
    conf = 'ServerRoot "/usr/local/apache2"\n# KeepAliveTimeout 2\nListen 8000\nKeepAlive On\nKeepAliveTimeout \\\n    75\n'
    server = built_server(
        tmp_path, "FROM httpd:2.4\nCOPY httpd.conf /usr/local/apache2/conf/httpd.conf\n", {"httpd.conf": conf}
    )
    assert server.keep_alive.seconds == 75
    assert server.keep_alive.evidence.says == "`KeepAliveTimeout 75` in web/httpd.conf"
    assert server.keep_alive.evidence.location == Location("web/httpd.conf", 5)
    assert server.remedy == "change `KeepAliveTimeout 75` to `KeepAliveTimeout {seconds}` in web/httpd.conf"
    assert server.remedy_location == Location("web/httpd.conf", 5)


def test_a_copied_httpd_conf_without_the_directive_uses_the_default(tmp_path: Path) -> None:
    server = built_server(
        tmp_path,
        "FROM httpd:2.4\nCOPY httpd.conf /usr/local/apache2/conf/\n",
        {"httpd.conf": "Listen 8000\n"},
    )
    assert server.keep_alive.seconds == 5
    assert server.keep_alive.evidence.says == (
        "no KeepAliveTimeout in `/usr/local/apache2/conf/httpd.conf` (web/httpd.conf): Apache's default is 5 s"
    )


def test_keep_alive_off_in_the_configuration(tmp_path: Path) -> None:
    conf = "Listen 8000\nkeepalive off\n"
    server = built_server(
        tmp_path, "FROM httpd:2.4\nCOPY httpd.conf /usr/local/apache2/conf/httpd.conf\n", {"httpd.conf": conf}
    )
    assert server.keep_alive.mode is Mode.NO_KEEP_ALIVE
    assert server.keep_alive.evidence.location == Location("web/httpd.conf", 2)


def test_includes_are_followed(tmp_path: Path) -> None:
    conf = "Listen 8000\nKeepAliveTimeout 10\nInclude conf/extra/httpd-default.conf\nIncludeOptional conf/site/*.conf\n"
    site = "KeepAliveTimeout 70\n"
    dockerfile = (
        "FROM httpd:2.4\nCOPY httpd.conf /usr/local/apache2/conf/httpd.conf\n"
        "COPY site/ /usr/local/apache2/conf/site/\n"
    )
    server = built_server(tmp_path, dockerfile, {"httpd.conf": conf, "site/tuning.conf": site})
    # the stock extra/httpd-default.conf resets it to 5, then the copied site file sets 70
    assert server.keep_alive.seconds == 70
    assert server.keep_alive.evidence.location == Location("web/site/tuning.conf", 1)
    without = built_server(
        tmp_path / "stock", dockerfile, {"httpd.conf": conf.replace("IncludeOptional conf/site/*.conf\n", "")}
    )
    assert without.keep_alive.seconds == 5
    assert (
        without.keep_alive.evidence.says
        == "the official httpd image's httpd-default.conf sets `KeepAliveTimeout 5`"
    )


def test_an_include_that_is_not_visible_makes_it_unknown(tmp_path: Path) -> None:
    conf = "Listen 80\nInclude /etc/tuning/keepalive.conf\n"
    server = built_server(
        tmp_path, "FROM httpd:2.4\nCOPY httpd.conf /usr/local/apache2/conf/httpd.conf\n", {"httpd.conf": conf}
    )
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "`Include /etc/tuning/keepalive.conf` (web/httpd.conf)" in server.keep_alive.evidence.says


def test_virtual_hosts_override_the_main_server(tmp_path: Path) -> None:
    site = "<VirtualHost *:80>\n    ServerName example.com\n    KeepAliveTimeout 120\n</VirtualHost>\n"
    dockerfile = "FROM php:8.3-apache\nCOPY site.conf /etc/apache2/sites-available/000-default.conf\n"
    server = built_server(tmp_path, dockerfile, {"site.conf": site})
    assert server.keep_alive.seconds == 120
    assert server.remedy_location == Location("web/site.conf", 3)


def test_virtual_hosts_that_differ_make_it_unknown(tmp_path: Path) -> None:
    site = (
        "<VirtualHost *:80>\n    KeepAliveTimeout 120\n</VirtualHost>\n"
        "<VirtualHost *:8080>\n    ServerName other\n</VirtualHost>\n"
    )
    dockerfile = "FROM php:8.3-apache\nCOPY site.conf /etc/apache2/sites-enabled/app.conf\n"
    server = built_server(tmp_path, dockerfile, {"site.conf": site})
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "virtual hosts differ" in server.keep_alive.evidence.says


def test_the_virtual_host_on_the_target_port_counts(tmp_path: Path) -> None:
    site = (
        "<VirtualHost *:80>\n    KeepAliveTimeout 120\n</VirtualHost>\n"
        "<VirtualHost *:8000>\n    ServerName app\n    KeepAliveTimeout 30\n</VirtualHost>\n"
    )
    dockerfile = "FROM php:8.3-apache\nCOPY site.conf /etc/apache2/sites-enabled/app.conf\n"
    server = built_server(tmp_path, dockerfile, {"site.conf": site})  # service_tf: container_port 8000
    assert server.keep_alive.seconds == 30
    assert server.keep_alive.evidence.says == (
        "`KeepAliveTimeout 30` in web/site.conf (<VirtualHost *:8000> receives the load balancer's traffic "
        "on port 8000; no Listen visible has port 8000: `Listen 80` (Debian's ports.conf) is taken to be "
        "changed to it where keepalive-guard cannot see)"
    )
    assert server.remedy_location == Location("web/site.conf", 6)


def _invocation(tmp_path: Path, conf: str, port: int | None) -> Invocation:
    (tmp_path / "httpd.conf").write_text(conf)
    build = ImageBuild(
        images=("web",),
        dockerfile=Location("Dockerfile", 1),
        base=Setting("httpd:2.4", Location("Dockerfile", 1)),
        entry_point=None,
        command=None,
        copies=(
            Copy(tmp_path / "httpd.conf", "/usr/local/apache2/conf/httpd.conf", Location("Dockerfile", 2)),
        ),
    )
    image = Setting("web:1", Location("main.tf", 2))
    return Invocation(("httpd-foreground",), {}, Location("main.tf", 3), image, build=build, port=port)


_HOSTS = (
    "Listen 80\nListen 0.0.0.0:8000\nListen [::]:9000\nListen 8080\nListen 8443 https\nListen 7000\n"
    "KeepAliveTimeout 15\n"
    "<VirtualHost *:80 [::]:80>\n    KeepAliveTimeout 120\n</VirtualHost>\n"
    "<VirtualHost 10.0.0.5:8080 _default_:8443>\n    KeepAliveTimeout 40\n</VirtualHost>\n"
    "<VirtualHost *:9000>\n</VirtualHost>\n"
)


@pytest.mark.parametrize(
    ("port", "mode", "seconds"),
    [
        (80, Mode.IDLE_TIMEOUT, 120),
        (8443, Mode.IDLE_TIMEOUT, 40),
        (8080, Mode.IDLE_TIMEOUT, 40),
        (9000, Mode.IDLE_TIMEOUT, 15),  # the virtual host takes the main server's value
        (8000, Mode.IDLE_TIMEOUT, 15),  # Listen 8000 and no virtual host on it: the main server
        (7000, Mode.IDLE_TIMEOUT, 15),  # Listen 7000 and no virtual host on it: the main server
        (7001, Mode.UNKNOWN, None),  # no Listen has it: Apache does not serve it
        (None, Mode.UNKNOWN, None),
    ],
)
def test_the_port_picks_the_virtual_host(
    tmp_path: Path, port: int | None, mode: Mode, seconds: float | None
) -> None:
    server = analyse(_invocation(tmp_path, _HOSTS, port))
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_the_main_server_answers_a_port_no_virtual_host_has(tmp_path: Path) -> None:
    server = analyse(_invocation(tmp_path, _HOSTS, 8000))
    assert server.keep_alive.evidence.says == (
        "`KeepAliveTimeout 15` in httpd.conf (no virtual host is on port 8000, so the main server "
        "receives the traffic)"
    )


def test_a_virtual_host_for_its_port_wins_over_one_for_any_port(tmp_path: Path) -> None:
    conf = (
        "Listen 8000\nListen 9000\n<VirtualHost *:*>\n    KeepAliveTimeout 10\n</VirtualHost>\n"
        "<VirtualHost *:8000>\n    KeepAliveTimeout 20\n</VirtualHost>\n"
        "<VirtualHost *>\n    KeepAliveTimeout 10\n</VirtualHost>\n"
    )
    assert analyse(_invocation(tmp_path, conf, 8000)).keep_alive.seconds == 20
    assert analyse(_invocation(tmp_path, conf, 9000)).keep_alive.seconds == 10  # only the wildcards


def test_a_site_that_a2ensite_may_enable_makes_it_unknown(tmp_path: Path) -> None:
    dockerfile = (
        "FROM php:8.3-apache\nCOPY app.conf /etc/apache2/sites-available/app.conf\nRUN a2ensite app\n"
    )
    server = built_server(
        tmp_path, dockerfile, {"app.conf": "<VirtualHost *:80>\nKeepAliveTimeout 90\n</VirtualHost>\n"}
    )
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "web/app.conf (copied to /etc/apache2/sites-available/app.conf)" in server.keep_alive.evidence.says


def test_the_f_option_names_the_configuration(tmp_path: Path) -> None:
    dockerfile = (
        'FROM httpd:2.4\nCOPY my.conf /srv/my.conf\nCMD ["httpd", "-DFOREGROUND", "-f", "/srv/my.conf"]\n'
    )
    assert (
        built_server(
            tmp_path, dockerfile, {"my.conf": "Listen 8000\nKeepAliveTimeout 61\n"}
        ).keep_alive.seconds
        == 61
    )
    missing = 'FROM httpd:2.4\nCMD ["httpd", "-DFOREGROUND", "-f", "/srv/my.conf"]\n'
    assert built_server(tmp_path / "missing", missing, {}).keep_alive.mode is Mode.UNKNOWN


def test_terraform_scan_flags_the_httpd_default_and_not_a_longer_timeout(tmp_path: Path) -> None:
    default = scan_tree(tmp_path / "default", {"main.tf": service_tf(image="httpd:2.4")})
    assert "KA001" in rules_of(default)
    longer = service_tf(image="httpd:2.4", command=["httpd-foreground", "-c", "KeepAliveTimeout 75"])
    assert "KA001" not in rules_of(scan_tree(tmp_path / "longer", {"main.tf": longer}))


def test_an_included_directory_reads_all_its_files(tmp_path: Path) -> None:
    dockerfile = (
        "FROM httpd:2.4\nCOPY httpd.conf /usr/local/apache2/conf/httpd.conf\n"
        "COPY conf.d/ /usr/local/apache2/conf.d/\n"
    )
    files = {"httpd.conf": "Listen 8000\nInclude conf.d\n", "conf.d/keepalive.conf": "KeepAliveTimeout 80\n"}
    assert built_server(tmp_path, dockerfile, files).keep_alive.seconds == 80


def test_no_listen_on_the_port_is_unknown(tmp_path: Path) -> None:
    conf = "Listen 80\nKeepAliveTimeout 90\n<VirtualHost *:*>\n</VirtualHost>\n"
    server = built_server(
        tmp_path, "FROM httpd:2.4\nCOPY httpd.conf /usr/local/apache2/conf/httpd.conf\n", {"httpd.conf": conf}
    )  # service_tf: container_port 8000
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "no Listen directive of Apache's configuration has port 8000, the port the load balancer sends "
        "traffic to (its Listen directives have 80), so the keep-alive of what serves that port is not known"
    )
    assert analyse(_invocation(tmp_path, conf, None)).keep_alive.seconds == 90  # the port not known


def test_listen_on_the_command_line_and_from_the_environment(tmp_path: Path) -> None:
    conf = "Listen 80\nKeepAliveTimeout 90\n"
    dockerfile = "FROM httpd:2.4\nCOPY httpd.conf /usr/local/apache2/conf/httpd.conf\n"
    command = ["httpd-foreground", "-c", "Listen 8000"]
    given = built_server(tmp_path, dockerfile, {"httpd.conf": conf}, command=command)
    assert given.keep_alive.seconds == 90
    from_env = built_server(
        tmp_path / "env",
        dockerfile,
        {"httpd.conf": "Listen ${PORT}\nKeepAliveTimeout 90\n"},
        environment={"PORT": "8000"},
    )
    assert from_env.keep_alive.seconds == 90
    invocation = _invocation(tmp_path, "Listen ${PORT}\nKeepAliveTimeout 90\n", 8000)
    # PORT may be set where keepalive-guard cannot see: that Listen may be the port
    assert analyse(replace(invocation, hidden_environment=("env.txt",))).keep_alive.seconds == 90


def test_a_stock_listen_may_have_been_changed(tmp_path: Path) -> None:
    # `RUN sed -i 's/80/8080/' /etc/apache2/ports.conf` is how the php images' docs change the port
    dockerfile = "FROM php:8.3-apache\nRUN sed -i 's/Listen 80/Listen 8000/' /etc/apache2/ports.conf\n"
    server = built_server(tmp_path, dockerfile, {})
    assert server.keep_alive.seconds == 5
    assert server.keep_alive.evidence.says == (
        "Debian's apache2.conf sets `KeepAliveTimeout 5` (no Listen visible has port 8000: `Listen 80` "
        "(Debian's ports.conf) is taken to be changed to it where keepalive-guard cannot see)"
    )
