"""HAProxy: timeout http-keep-alive, else http-request, else client; the configuration decides."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from policies.model import Copy, ImageBuild, Location, Setting
from policies.servers.base import Invocation, Mode, Server
from policies.servers.haproxy import analyse, image_command, image_entrypoint
from tests.helpers import rules_of, scan_tree, server_of, service_tf

_CONFIG = "/usr/local/etc/haproxy/haproxy.cfg"


# Findings show local files relative to the working directory.
pytestmark = pytest.mark.usefixtures("in_tmp")


def _built(tmp_path: Path, config: str, **service: Any) -> Server:
    files = {"web/Dockerfile": f"FROM haproxy:2.9\nCOPY haproxy.cfg {_CONFIG}\n", "web/haproxy.cfg": config}
    return server_of(tmp_path, files=files, dockerfile="web/Dockerfile", image="web:1", **service)


def _cfg(defaults: str, frontend: str = "") -> str:
    return (
        "global\n    maxconn 1000\n\n"
        f"defaults\n    mode http\n    timeout connect 5s\n    timeout server 60s\n{defaults}\n"
        f"frontend web\n    bind :8000\n{frontend}    default_backend app\n\n"
        "backend app\n    server s1 127.0.0.1:3000\n"
    )


def test_the_official_image_has_no_configuration(tmp_path: Path) -> None:
    server = server_of(tmp_path, image="haproxy:2.9")
    assert server.name == "haproxy"
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "the configuration `/usr/local/etc/haproxy/haproxy.cfg` (-f) is not visible in the scanned files "
        "(HAProxy has no built-in keep-alive timeout: the configuration decides)"
    )


def test_image_command() -> None:
    assert image_command("haproxy:2.9-alpine") == ("haproxy", "-f", _CONFIG)
    assert image_command("haproxytech/haproxy-alpine:2.9") is None


def test_image_entrypoint_runs_haproxy_with_options() -> None:
    assert image_entrypoint("haproxy:3.0", ("--option",)) == ("haproxy",)
    assert image_entrypoint("haproxytech/haproxy-alpine:2.9", ("--option",)) is None


def test_a_command_of_options_runs_haproxy_in_the_official_image(tmp_path: Path) -> None:
    files = {
        "web/Dockerfile": "FROM haproxy:3.0\nCOPY edge.cfg /etc/haproxy/edge.cfg\n",
        "web/edge.cfg": _cfg("    timeout client 50s\n    timeout http-keep-alive 5s\n"),
    }
    server = server_of(
        tmp_path,
        files=files,
        dockerfile="web/Dockerfile",
        image="web:1",
        command=["-f", "/etc/haproxy/edge.cfg"],
    )
    assert server.name == "haproxy"
    assert server.keep_alive.seconds == 5


@pytest.mark.parametrize(
    ("defaults", "frontend", "mode", "seconds", "says"),
    [
        (
            "    timeout client 50s\n    timeout http-keep-alive 5s\n",
            "",
            Mode.IDLE_TIMEOUT,
            5,
            "`timeout http-keep-alive 5s`",
        ),
        (
            "    timeout client 50s\n    timeout http-keep-alive 75000\n",
            "",
            Mode.IDLE_TIMEOUT,
            75,
            "75000",
        ),  # ms
        (
            "    timeout client 50s\n    timeout http-request 10s\n",
            "",
            Mode.IDLE_TIMEOUT,
            10,
            "so `timeout http-request 10s` applies",
        ),
        ("    timeout client 1m\n", "", Mode.IDLE_TIMEOUT, 60, "so `timeout client 1m` applies"),
        (
            "    timeout client 50s\n",
            "    timeout http-keep-alive 90s\n",
            Mode.IDLE_TIMEOUT,
            90,
            "applies to frontend web",
        ),
        (
            "    timeout client 50s\n    timeout http-keep-alive 0\n",
            "",
            Mode.IDLE_TIMEOUT,
            50,
            "timeout client 50s",
        ),
        ("", "", Mode.NO_TIMEOUT, None, "idle connections are never closed"),
        (
            "    timeout client 50s\n    option httpclose\n",
            "",
            Mode.NO_KEEP_ALIVE,
            None,
            "`option httpclose`",
        ),
        (
            "    timeout client 50s\n    option httpclose\n",
            "    no option httpclose\n",
            Mode.IDLE_TIMEOUT,
            50,
            "client",
        ),
        ("    timeout client 50s\n    option http-server-close\n", "", Mode.IDLE_TIMEOUT, 50, "client"),
    ],
)
def test_the_frontends_timeouts(
    tmp_path: Path, defaults: str, frontend: str, mode: Mode, seconds: float | None, says: str
) -> None:
    server = _built(tmp_path, _cfg(defaults, frontend))
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds
    assert says in server.keep_alive.evidence.says


def test_the_setting_is_located_and_fixed_there(tmp_path: Path) -> None:
    server = _built(tmp_path, _cfg("    timeout client 50s\n    timeout http-keep-alive 5s\n"))
    assert server.keep_alive.evidence.location == Location("web/haproxy.cfg", 9)
    assert server.remedy == "change `timeout http-keep-alive 5s` to `timeout http-keep-alive {seconds}s`"
    assert server.remedy_location == Location("web/haproxy.cfg", 9)


def test_a_backend_httpclose_only_closes_the_server_side(tmp_path: Path) -> None:
    config = _cfg("    timeout client 50s\n").replace("server s1", "option httpclose\n    server s1")
    assert _built(tmp_path, config).keep_alive.seconds == 50


def test_tcp_mode_relays_the_connection(tmp_path: Path) -> None:
    server = _built(tmp_path, _cfg("    timeout client 50s\n").replace("mode http", "mode tcp"))
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "the backend server's keep-alive decides" in server.keep_alive.evidence.says
    no_mode = _built(tmp_path / "default", _cfg("    timeout client 50s\n").replace("    mode http\n", ""))
    assert "sets no mode, so it runs in TCP mode" in no_mode.keep_alive.evidence.says


def test_named_defaults_and_environment_variables(tmp_path: Path) -> None:
    config = (
        'defaults base\n    mode http\n    timeout client "${CLIENT_TIMEOUT}"\n\n'
        "defaults other\n    mode http\n    timeout client 5s\n\n"
        "frontend web from base\n    bind :8000\n"
    )
    assert _built(tmp_path, config, environment={"CLIENT_TIMEOUT": "70s"}).keep_alive.seconds == 70
    assert _built(tmp_path / "unset", config).keep_alive.mode is Mode.UNKNOWN


def test_frontends_that_differ_make_it_unknown(tmp_path: Path) -> None:
    server = analyse(_invocation(tmp_path, None))  # the port is not known: the frontends are compared
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "frontends differ" in server.keep_alive.evidence.says


def test_no_frontend_on_the_port_is_unknown(tmp_path: Path) -> None:
    config = _cfg("    timeout client 90s\n").replace("bind :8000", "bind :9000")  # the target is 8000
    config += "\nfrontend stats\n    bind :8404\n"
    server = _built(tmp_path, config)
    assert server.keep_alive.mode is Mode.UNKNOWN  # both would idle 90 s, but neither binds 8000
    assert server.keep_alive.evidence.says == (
        "no frontend or listen section of HAProxy binds 8000, the port the load balancer sends traffic to "
        "(frontend web: `bind :9000`; frontend stats: `bind :8404`), so the keep-alive of what serves that "
        "port is not known"
    )


def test_a_bind_address_not_known_may_be_the_port(tmp_path: Path) -> None:
    config = _cfg("    timeout client 90s\n").replace("bind :8000", 'bind :"${PORT}"')
    config += "\nfrontend stats\n    bind :8404\n    timeout client 5s\n"
    (tmp_path / "haproxy.cfg").write_text(config)
    build = ImageBuild(
        images=("edge",),
        dockerfile=Location("Dockerfile", 1),
        base=Setting("haproxy:3.0", Location("Dockerfile", 1)),
        entry_point=None,
        command=None,
        copies=(Copy(tmp_path / "haproxy.cfg", _CONFIG, Location("Dockerfile", 2)),),
    )
    image = Setting("edge:1", Location("main.tf", 2))
    invocation = Invocation(
        ("haproxy", "-f", _CONFIG), {}, Location("main.tf", 3), image, ("env.txt",), build=build, port=8000
    )
    assert analyse(invocation).keep_alive.seconds == 90  # PORT may be set in env.txt: web may bind 8000
    known = replace(invocation, env={"PORT": Setting("9000", Location("main.tf", 4))})
    assert analyse(known).keep_alive.mode is Mode.UNKNOWN  # web binds 9000, stats 8404


def test_the_frontend_on_the_target_port_counts(tmp_path: Path) -> None:
    config = _cfg("    timeout client 50s\n") + "\nfrontend stats\n    bind :8404\n    timeout client 5s\n"
    server = _built(tmp_path, config)  # service_tf: container_port 8000, frontend web binds :8000
    assert server.keep_alive.seconds == 50
    assert server.keep_alive.evidence.says == (
        "no timeout http-keep-alive for frontend web, so `timeout client 50s` applies (frontend web binds "
        "port 8000, where the load balancer sends the traffic)"
    )


_FRONTENDS = (
    "defaults\n    mode http\n    timeout client 50s\n\n"
    "frontend web\n    bind *:80,ipv6@:::81\n    timeout http-keep-alive 10s\n\n"
    "frontend api\n    bind 0.0.0.0:9000-9010 ssl crt /etc/ssl/api.pem\n    timeout http-keep-alive 20s\n\n"
    "listen admin\n    bind unix@/run/admin.sock\n    bind [::]:8404\n    timeout http-keep-alive 30s\n\n"
    "frontend local\n    bind unix@/run/8000.sock\n    bind fd@${FD}\n    timeout http-keep-alive 40s\n"
)


def _invocation(tmp_path: Path, port: int | None) -> Invocation:
    (tmp_path / "haproxy.cfg").write_text(_FRONTENDS)
    build = ImageBuild(
        images=("edge",),
        dockerfile=Location("Dockerfile", 1),
        base=Setting("haproxy:3.0", Location("Dockerfile", 1)),
        entry_point=None,
        command=None,
        copies=(Copy(tmp_path / "haproxy.cfg", _CONFIG, Location("Dockerfile", 2)),),
    )
    image = Setting("edge:1", Location("main.tf", 2))
    argv = ("haproxy", "-f", _CONFIG)
    return Invocation(argv, {}, Location("main.tf", 3), image, build=build, port=port)


@pytest.mark.parametrize(
    ("port", "mode", "seconds"),
    [
        (80, Mode.IDLE_TIMEOUT, 10),
        (81, Mode.IDLE_TIMEOUT, 10),
        (9005, Mode.IDLE_TIMEOUT, 20),  # in the range
        (8404, Mode.IDLE_TIMEOUT, 30),
        (8000, Mode.UNKNOWN, None),  # only unix sockets and fd@ mention it: no frontend binds it
        (None, Mode.UNKNOWN, None),
    ],
)
def test_the_port_picks_the_frontend(
    tmp_path: Path, port: int | None, mode: Mode, seconds: float | None
) -> None:
    server = analyse(_invocation(tmp_path, port))
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_a_directory_of_configuration_files(tmp_path: Path) -> None:
    dockerfile = (
        'FROM haproxy:2.9\nCOPY conf/ /etc/haproxy/conf.d/\nCMD ["haproxy", "-f", "/etc/haproxy/conf.d"]\n'
    )
    files = {
        "web/Dockerfile": dockerfile,
        "web/conf/00-defaults.cfg": "defaults\n    mode http\n    timeout client 30s\n",
        "web/conf/10-web.cfg": "frontend web\n    bind :8000\n",
    }
    server = server_of(tmp_path, files=files, dockerfile="web/Dockerfile", image="web:1")
    assert server.keep_alive.seconds == 30


def test_conditional_blocks_are_not_evaluated(tmp_path: Path) -> None:
    config = _cfg("    timeout client 50s\n.if defined(SHORT)\n    timeout http-keep-alive 1s\n.endif\n")
    assert _built(tmp_path, config).keep_alive.mode is Mode.UNKNOWN


def test_terraform_scan_flags_a_short_keep_alive_and_not_a_long_one(tmp_path: Path) -> None:
    files = {
        "main.tf": service_tf(image="web:1"),
        "web/Dockerfile": f"FROM haproxy:2.9\nCOPY haproxy.cfg {_CONFIG}\n",
        "web/haproxy.cfg": _cfg("    timeout client 50s\n    timeout http-keep-alive 10s\n"),
    }
    dockerfiles = (("web:1", tmp_path / "short/web/Dockerfile"),)
    assert "KA001" in rules_of(scan_tree(tmp_path / "short", files, dockerfiles=dockerfiles))
    files["web/haproxy.cfg"] = _cfg("    timeout client 50s\n    timeout http-keep-alive 75s\n")
    dockerfiles = (("web:1", tmp_path / "long/web/Dockerfile"),)
    assert "KA001" not in rules_of(scan_tree(tmp_path / "long", files, dockerfiles=dockerfiles))


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["haproxy", "-W", "-db"], "HAProxy is started without -f"),
        (["haproxy", "-c", "-f", _CONFIG], "does not serve traffic"),
    ],
)
def test_commands_it_cannot_conclude_on(tmp_path: Path, command: list[str], says: str) -> None:
    server = server_of(tmp_path, image="haproxy:2.9", command=command)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert says in server.keep_alive.evidence.says
