"""Thruster: the proxy in front of Puma in Rails 8 images; environment variables in whole seconds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from policies.loaders import LoadOptions
from policies.model import Copy, ImageBuild, Location, Setting
from policies.rules import Options
from policies.scan import scan
from policies.servers.base import Invocation, Mode
from policies.servers.thruster import analyse
from tests.helpers import rules_of, scan_tree, server_of, service_tf, write_tree


@pytest.mark.parametrize(
    "command",
    [
        ["./bin/thrust", "./bin/rails", "server"],
        ["bundle", "exec", "thrust", "bin/rails", "server"],
        ["sh", "-c", "./bin/rails db:prepare && exec ./bin/thrust ./bin/rails server"],
    ],
)
def test_recognised_forms(tmp_path: Path, command: list[str]) -> None:
    server = server_of(tmp_path, command=command)
    assert server.name == "thruster"
    assert server.keep_alive.seconds == 60


def test_default_says_who_the_load_balancer_talks_to(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["./bin/thrust", "./bin/rails", "server"])
    assert server.title == "thruster (proxying to `./bin/rails server`)"
    assert server.keep_alive.evidence.says == (
        "HTTP_IDLE_TIMEOUT not set: Thruster's default is 60 s (the load balancer talks to Thruster, not to "
        "`./bin/rails server` behind it); Thruster listens on 80 (HTTP_PORT is not set: 80) as far as the task "
        "shows, not on 8000, where the load balancer sends traffic: HTTP_PORT is taken to be set in the image's "
        "ENV, which is not visible"
    )
    assert server.remedy == "set HTTP_IDLE_TIMEOUT={seconds}"
    assert server.request_timeout is not None
    assert server.request_timeout.seconds == 30
    assert server.request_timeout.evidence.says == (
        "HTTP_WRITE_TIMEOUT not set: Thruster's default is 30 s; Go's http.Server cuts off a response not "
        "written within it"
    )


@pytest.mark.parametrize(
    ("environment", "seconds", "says"),
    [
        ({"HTTP_IDLE_TIMEOUT": "75"}, 75, "HTTP_IDLE_TIMEOUT=75"),
        (
            {"THRUSTER_HTTP_IDLE_TIMEOUT": "80", "HTTP_IDLE_TIMEOUT": "30"},
            80,
            "THRUSTER_HTTP_IDLE_TIMEOUT=80",
        ),
        # the prefixed variable wins when set, even when Thruster cannot use it
        (
            {"THRUSTER_HTTP_IDLE_TIMEOUT": "abc", "HTTP_IDLE_TIMEOUT": "90"},
            60,
            "THRUSTER_HTTP_IDLE_TIMEOUT=abc is not a whole number",
        ),
        (
            {"HTTP_IDLE_TIMEOUT": "75s"},
            60,
            "HTTP_IDLE_TIMEOUT=75s is not a whole number of seconds, which Thruster silently ignores: its default "
            "60 s applies",
        ),
        # IdleTimeout 0: Go's http.Server waits ReadTimeout instead
        ({"HTTP_IDLE_TIMEOUT": "0"}, 30, "uses the read timeout instead: HTTP_READ_TIMEOUT not set"),
        ({"HTTP_IDLE_TIMEOUT": "0", "HTTP_READ_TIMEOUT": "45"}, 45, "HTTP_READ_TIMEOUT=45"),
    ],
)
def test_idle_timeout_settings(tmp_path: Path, environment: dict[str, str], seconds: int, says: str) -> None:
    server = server_of(tmp_path, command=["thrust", "bin/rails", "server"], environment=environment)
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == seconds
    assert says in server.keep_alive.evidence.says


def test_prefixed_remedy(tmp_path: Path) -> None:
    environment = {"THRUSTER_HTTP_IDLE_TIMEOUT": "30"}
    server = server_of(tmp_path, command=["thrust", "bin/rails", "server"], environment=environment)
    assert server.remedy == "set THRUSTER_HTTP_IDLE_TIMEOUT={seconds}"


def test_no_idle_and_no_read_timeout_never_closes(tmp_path: Path) -> None:
    environment = {"HTTP_IDLE_TIMEOUT": "0", "HTTP_READ_TIMEOUT": "0"}
    server = server_of(tmp_path, command=["thrust", "bin/rails", "server"], environment=environment)
    assert server.keep_alive.mode is Mode.NO_TIMEOUT


def test_negative_idle_timeout_is_unknown(tmp_path: Path) -> None:
    environment = {"HTTP_IDLE_TIMEOUT": "-1"}  # no timeout from Go 1.23, an immediate deadline before
    server = server_of(tmp_path, command=["thrust", "bin/rails", "server"], environment=environment)
    assert server.keep_alive.mode is Mode.UNKNOWN


@pytest.mark.parametrize(("value", "seconds"), [("120", 120), ("0", None), ("2m", 30)])
def test_write_timeout_bounds_a_request(tmp_path: Path, value: str, seconds: int | None) -> None:
    environment = {"HTTP_WRITE_TIMEOUT": value}
    server = server_of(tmp_path, command=["thrust", "bin/rails", "server"], environment=environment)
    assert (server.request_timeout.seconds if server.request_timeout else None) == seconds


def test_terraform_default_fires_and_a_longer_idle_timeout_does_not(tmp_path: Path) -> None:
    command = ["./bin/thrust", "./bin/rails", "server"]
    unsafe = scan_tree(tmp_path / "unsafe", {"main.tf": service_tf(command=command)})
    assert rules_of(unsafe) == ["KA001"]  # 60 s is not longer than the ALB's 60 s
    safe_tf = service_tf(command=command, environment={"HTTP_IDLE_TIMEOUT": "75"})
    assert rules_of(scan_tree(tmp_path / "safe", {"main.tf": safe_tf})) == []


@pytest.mark.parametrize(("environment", "rules"), [("", ["KA001"]), ("ENV HTTP_IDLE_TIMEOUT=75\n", [])])
def test_terraform_runs_the_rails_8_dockerfile_command(
    tmp_path: Path, environment: str, rules: list[str]
) -> None:
    dockerfile = (
        "FROM ruby:3.4-slim\nWORKDIR /rails\nENV RAILS_ENV=production HTTP_PORT=8000\n"
        f'{environment}COPY . .\nEXPOSE 8000\nCMD ["./bin/thrust", "./bin/rails", "server"]\n'
    )
    write_tree(tmp_path, {"main.tf": service_tf(), "app/Dockerfile": dockerfile})
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1"  # service_tf's image
    result = scan([tmp_path], Options(), LoadOptions(dockerfiles=((image, tmp_path / "app/Dockerfile"),)))
    assert rules_of(result) == rules
    server = result.targets[0].server
    assert server is not None and server.title == "thruster (proxying to `./bin/rails server`)"


def _invocation(
    tmp_path: Path, environment: dict[str, str], port: int | None, build: bool = True
) -> Invocation:
    (tmp_path / "Gemfile.lock").write_text("GEM\n  specs:\n    puma (6.4.2)\n")
    image_build = ImageBuild(
        images=("app",),
        dockerfile=Location("Dockerfile", 1),
        base=Setting("ruby:3.4-slim", Location("Dockerfile", 1)),
        entry_point=None,
        command=None,
        workdir="/rails",
        environment=(("RAILS_ENV", Setting("production", Location("Dockerfile", 3))),),
        copies=(Copy(tmp_path, "/rails/", Location("Dockerfile", 4)),),
    )
    env = {name: Setting(value, Location("main.tf", 9)) for name, value in environment.items()}
    env["RAILS_ENV"] = Setting("production", Location("Dockerfile", 3))
    return Invocation(
        ("./bin/thrust", "./bin/rails", "server"),
        env,
        Location("main.tf", 3),
        Setting("app:1", Location("main.tf", 2)),
        build=image_build if build else None,
        port=port,
    )


@pytest.mark.parametrize(
    ("environment", "port"),
    [
        ({}, 80),  # HTTP_PORT's default
        ({"HTTP_PORT": "8000"}, 8000),
        ({"THRUSTER_HTTP_PORT": "8000", "HTTP_PORT": "9000"}, 8000),  # the prefixed name wins
        ({"TLS_DOMAIN": "example.com"}, 443),  # HTTPS_PORT, with the same timeouts
        ({}, None),  # the port is not known
    ],
)
def test_the_load_balancer_talks_to_thruster(
    tmp_path: Path, environment: dict[str, str], port: int | None
) -> None:
    server = analyse(_invocation(tmp_path, environment, port))
    assert server.name == "thruster"
    assert server.keep_alive.seconds == 60


@pytest.mark.parametrize(("environment", "port"), [({}, 3000), ({"TARGET_PORT": "8000"}, 8000)])
def test_the_load_balancer_talks_to_the_upstream_on_target_port(
    tmp_path: Path, environment: dict[str, str], port: int
) -> None:
    # Thruster's idle timeout does not meet the load balancer: Puma's does (6.4.2: 20 s)
    server = analyse(_invocation(tmp_path, environment, port))
    assert server.title == "puma (rails server, Puma 6.4.2, behind thruster)"
    assert server.keep_alive.seconds == 20
    assert server.keep_alive.evidence.says.endswith(
        f"(the load balancer sends traffic to port {port}, TARGET_PORT (HTTP_PORT is not set: 80; "
        f"{'TARGET_PORT is not set: 3000' if not environment else 'TARGET_PORT=8000'}), where `./bin/rails server` "
        "listens behind Thruster (which passes it as PORT), so Thruster's own idle timeout does not meet it)"
    )


def test_an_upstream_that_is_not_a_known_server(tmp_path: Path) -> None:
    invocation = replace(_invocation(tmp_path, {}, 3000), argv=("thrust", "./bin/custom-server"))
    server = analyse(invocation)
    assert server.name == "thruster"
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says.endswith("and it is not a server keepalive-guard recognises")


def test_neither_port_is_unknown_when_the_image_is_known(tmp_path: Path) -> None:
    server = analyse(_invocation(tmp_path, {}, 8000))
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "Thruster listens on 80 (HTTP_PORT is not set: 80) and its upstream on 3000 (TARGET_PORT is not set: "
        "3000): neither is 8000, the port the load balancer sends traffic to, so what serves that port is not known"
    )
    assert server.remedy == "set HTTP_PORT=8000"
    unseen = analyse(_invocation(tmp_path, {}, 8000, build=False))  # the image's ENV may set HTTP_PORT
    assert unseen.keep_alive.seconds == 60
