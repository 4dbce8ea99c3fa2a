"""Passenger Standalone: the nginx engine's template hard-codes keepalive_timeout 60."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies.model import Location
from policies.servers import passenger
from policies.servers.base import Mode, Server
from tests.helpers import built_invocation, rules_of, scan_tree, server_of, service_tf

TEMPLATE = """http {
    <%= include_passenger_internal_template('http.erb', 4) %>
    # keepalive_timeout 5;
    keepalive_timeout 75s;
}
"""


def analysed(
    tmp_path: Path, argv: tuple[str, ...], files: dict[str, str], environment: dict[str, str] | None = None
) -> Server:
    invocation = built_invocation(tmp_path, argv, files, environment, base="phusion/passenger-ruby33")
    assert passenger.recognises(invocation)
    return passenger.analyse(invocation)


@pytest.mark.parametrize(
    "command",
    [
        ["passenger", "start"],
        ["bundle", "exec", "passenger", "start", "-p", "8000", "--max-pool-size", "4"],
        ["sh", "-c", "bundle exec passenger start --port $PORT --log-file /dev/stdout"],
    ],
)
def test_nginx_engine_template_closes_idle_connections_after_60_s(tmp_path: Path, command: list[str]) -> None:
    server = server_of(tmp_path, command=command, environment={"PORT": "8000"})
    assert server.title == "passenger (nginx engine)"
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == 60
    assert server.request_timeout is None  # --max-request-time is Enterprise-only


def test_default_says_and_remedy(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["passenger", "start"])
    assert server.keep_alive.evidence.says == (
        "Passenger Standalone's nginx config template sets `keepalive_timeout 60;` (assuming no "
        "Passengerfile.json in the app directory, which Passenger would read)"
    )
    assert server.remedy == (
        "copy Passenger's resources/templates/standalone/config.erb, set `keepalive_timeout {seconds};` in it "
        "and start Passenger with `--nginx-config-template` pointing at the copy"
    )


def test_other_passenger_commands_are_not_servers(tmp_path: Path) -> None:
    assert server_of(tmp_path, command=["passenger", "stop"]).name == "unknown"


@pytest.mark.parametrize(
    ("command", "environment"),
    [
        (["passenger", "start", "--engine", "builtin"], None),
        (["passenger", "start", "--engine=builtin"], None),
        (["passenger", "start"], {"PASSENGER_ENGINE": "builtin"}),
    ],
)
def test_builtin_engine_is_unknown(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.title == "passenger (builtin engine)"
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert (
        "whose handling of idle connections keepalive-guard has not verified"
        in server.keep_alive.evidence.says
    )


def test_the_command_line_wins_over_the_environment(tmp_path: Path) -> None:
    server = server_of(
        tmp_path,
        command=["passenger", "start", "--engine", "nginx"],
        environment={"PASSENGER_ENGINE": "builtin"},
    )
    assert server.keep_alive.seconds == 60


def test_an_empty_environment_variable_is_ignored(tmp_path: Path) -> None:
    # standalone/config_utils.rb load_env_config: `next if value.empty?`
    server = server_of(tmp_path, command=["passenger", "start"], environment={"PASSENGER_ENGINE": ""})
    assert server.keep_alive.seconds == 60


def test_custom_template_from_the_command_line(tmp_path: Path) -> None:
    files = {"config/nginx.conf.erb": TEMPLATE}
    argv = ("passenger", "start", "--nginx-config-template", "config/nginx.conf.erb")
    server = analysed(tmp_path, argv, files)
    assert server.keep_alive.seconds == 75
    assert server.keep_alive.evidence.says == (
        "`keepalive_timeout 75s` in config/nginx.conf.erb (`--nginx-config-template config/nginx.conf.erb` in the command)"
    )
    assert server.keep_alive.evidence.location == Location(str(tmp_path / "config/nginx.conf.erb"), 4)
    assert (
        server.remedy
        == "change `keepalive_timeout 75s` to `keepalive_timeout {seconds}` in config/nginx.conf.erb"
    )


def test_custom_template_from_passengerfile_is_relative_to_it(tmp_path: Path) -> None:
    files = {
        "web/Passengerfile.json": json.dumps({"port": 8000, "nginx_config_template": "nginx.conf.erb"}),
        "web/nginx.conf.erb": "http {\n  keepalive_timeout 2m;\n}\n",
    }
    server = analysed(tmp_path, ("passenger", "start", "--port", "8000", "web"), files)
    assert server.keep_alive.seconds == 120
    assert (
        '"nginx_config_template": "nginx.conf.erb" in Passengerfile.json' in server.keep_alive.evidence.says
    )


@pytest.mark.parametrize(
    ("template", "mode", "seconds"),
    [
        ("http {\n}\n", Mode.IDLE_TIMEOUT, 75),  # nginx's own default
        ("http {\n  keepalive_timeout 0;\n}\n", Mode.NO_KEEP_ALIVE, None),
        ("http {\n  keepalive_timeout <%= ENV['KA'] %>;\n}\n", Mode.UNKNOWN, None),
    ],
)
def test_custom_template_values(tmp_path: Path, template: str, mode: Mode, seconds: int | None) -> None:
    server = analysed(
        tmp_path, ("passenger", "start"), {"t.erb": template}, {"PASSENGER_NGINX_CONFIG_TEMPLATE": "t.erb"}
    )
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_custom_template_not_visible_is_unknown(tmp_path: Path) -> None:
    server = server_of(
        tmp_path, command=["passenger", "start", "--nginx-config-template", "/etc/passenger/nginx.erb"]
    )
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "`--nginx-config-template /etc/passenger/nginx.erb` in the command: that nginx config template, where "
        "keepalive_timeout is set, cannot be read"
    )


def test_passengerfile_engine(tmp_path: Path) -> None:
    server = analysed(tmp_path, ("passenger", "start"), {"Passengerfile.json": '{"engine": "builtin"}'})
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says.startswith('"engine": "builtin" in Passengerfile.json selects')


def test_terraform_default_fires_and_a_shorter_idle_timeout_does_not(tmp_path: Path) -> None:
    command = ["bundle", "exec", "passenger", "start", "--port", "8000"]
    unsafe = scan_tree(tmp_path / "unsafe", {"main.tf": service_tf(command=command)})
    assert rules_of(unsafe) == ["KA001"]  # 60 s is not longer than the ALB's 60 s
    safe = scan_tree(tmp_path / "safe", {"main.tf": service_tf(command=command, idle_timeout=50)})
    assert rules_of(safe) == []
