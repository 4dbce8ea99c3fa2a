"""unicorn: no keep-alive at all; `timeout` in the -c config file bounds a request."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.model import Location
from policies.servers import unicorn
from policies.servers.base import Mode, Server
from tests.helpers import built_invocation, rules_of, scan_tree, server_of, service_tf


def analysed(
    tmp_path: Path, argv: tuple[str, ...], files: dict[str, str], environment: dict[str, str] | None = None
) -> Server:
    invocation = built_invocation(tmp_path, argv, files, environment, base="ruby:3.3")
    assert unicorn.recognises(invocation)
    return unicorn.analyse(invocation)


@pytest.mark.parametrize(
    "command",
    [
        ["unicorn"],
        ["bundle", "exec", "unicorn", "-c", "config/unicorn.rb", "-E", "production"],
        ["unicorn_rails", "-p", "8000"],
        ["sh", "-c", "bundle exec rake db:migrate && bundle exec unicorn -p 8000"],
    ],
)
def test_never_keeps_connections_alive(tmp_path: Path, command: list[str]) -> None:
    server = server_of(tmp_path, command=command)
    assert server.name == "unicorn"
    assert server.keep_alive.mode is Mode.NO_KEEP_ALIVE
    assert server.keep_alive.evidence.says == (
        "unicorn answers every request with `Connection: close` and closes the connection"
    )
    assert server.remedy == ""


def test_default_timeout_is_a_request_bound(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["bundle", "exec", "unicorn", "-p", "8000"])
    assert server.request_timeout is not None
    assert server.request_timeout.seconds == 60
    assert server.request_timeout.evidence.says == "no config file (-c): unicorn's default timeout is 60 s"


def test_config_file_not_visible_leaves_the_bound_unknown(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["unicorn", "-c", "config/unicorn.rb"])
    assert server.keep_alive.mode is Mode.NO_KEEP_ALIVE
    assert server.request_timeout is None


@pytest.mark.parametrize(
    ("config", "environment", "seconds"),
    [
        ("worker_processes 4\ntimeout 30\n", {}, 30),
        ("timeout(15) # seconds\n", {}, 15),
        ('timeout ENV.fetch("UNICORN_TIMEOUT", 25).to_i\n', {}, 25),
        ('timeout ENV.fetch("UNICORN_TIMEOUT", 25).to_i\n', {"UNICORN_TIMEOUT": "90"}, 90),
        ("worker_processes 4\n", {}, 60),  # no timeout: the default
        ("timeout 30 if ENV['SLOW']\n", {}, None),
        ("timeout compute_it\n", {}, None),
    ],
)
def test_timeout_from_the_config_file(
    tmp_path: Path, config: str, environment: dict[str, str], seconds: int | None
) -> None:
    server = analysed(
        tmp_path, ("unicorn", "-c", "config/unicorn.rb"), {"config/unicorn.rb": config}, environment
    )
    assert server.keep_alive.mode is Mode.NO_KEEP_ALIVE
    assert (server.request_timeout.seconds if server.request_timeout else None) == seconds


def test_timeout_line_is_where_the_bound_was_set(tmp_path: Path) -> None:
    server = analysed(
        tmp_path,
        ("unicorn", "--config-file", "config/unicorn.rb"),
        {"config/unicorn.rb": "listen 8000\ntimeout 45\n"},
    )
    assert server.request_timeout is not None
    assert server.request_timeout.evidence.says == "`timeout 45` in config/unicorn.rb"
    assert server.request_timeout.evidence.location == Location(str(tmp_path / "config/unicorn.rb"), 2)


def test_terraform_no_keep_alive_never_races_but_the_timeout_needs_draining(tmp_path: Path) -> None:
    command = ["bundle", "exec", "unicorn", "-p", "8000"]
    assert (
        rules_of(scan_tree(tmp_path / "a", {"main.tf": service_tf(command=command, idle_timeout=4000)})) == []
    )
    short_delay = service_tf(command=command, deregistration_delay=20)
    assert rules_of(scan_tree(tmp_path / "b", {"main.tf": short_delay})) == ["DR001"]
