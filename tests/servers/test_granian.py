"""granian: the HTTP/1 header read timeout (milliseconds, at most 60000) closes idle connections."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.servers.base import Mode
from tests.helpers import only, rules_of, scan_tree, server_of, service_tf


@pytest.mark.parametrize(
    ("command", "environment", "seconds", "says"),
    [
        (["granian", "--interface", "asgi", "app:app"], None, 30, "granian's default is 30000 ms"),
        (
            ["python", "-m", "granian", "--interface", "wsgi", "--host", "0.0.0.0", "app:app"],
            None,
            30,
            "30000 ms",
        ),
        (["granian", "--interface", "asgi", "--http", "1", "app:app"], None, 30, "30000 ms"),
        (
            ["granian", "--http1-header-read-timeout", "45000", "app:app"],
            None,
            45,
            "`--http1-header-read-timeout 45000` in the command (milliseconds)",
        ),
        (["granian", "app:app", "--http1-header-read-timeout=60000"], None, 60, "=60000` in the command"),
        (["granian", "--http1-header-read-timeout", "500", "app:app"], None, 0.5, "500`"),
        (
            ["granian", "app:app"],
            {"GRANIAN_HTTP1_HEADER_READ_TIMEOUT": "50000"},
            50,
            "GRANIAN_HTTP1_HEADER_READ_TIMEOUT=50000",
        ),
        # the command line wins over the environment (click)
        (
            ["granian", "--http1-header-read-timeout", "20000", "app:app"],
            {"GRANIAN_HTTP1_HEADER_READ_TIMEOUT": "50000"},
            20,
            "in the command",
        ),
        # click reads an empty variable as unset
        (["granian", "app:app"], {"GRANIAN_HTTP1_HEADER_READ_TIMEOUT": ""}, 30, "30000 ms"),
        (["granian", "--http1-keep-alive", "app:app"], {"GRANIAN_HTTP1_KEEP_ALIVE": "false"}, 30, "30000 ms"),
    ],
)
def test_header_read_timeout_closes_idle_connections(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, seconds: float, says: str
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.name == "granian"
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == seconds
    assert says in server.keep_alive.evidence.says
    assert server.request_timeout is None


def test_default_evidence(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["granian", "--interface", "asgi", "app:app"])
    assert server.title == "granian (asgi interface)"
    assert server.keep_alive.evidence.says == (
        "no --http1-header-read-timeout given: granian's default is 30000 ms, which also closes idle keep-alive "
        "connections (granian 2.0+)"
    )


@pytest.mark.parametrize(
    ("command", "environment"),
    [
        (["granian", "--no-http1-keep-alive", "app:app"], None),
        (["granian", "--http1-keep-alive", "--no-http1-keep-alive", "app:app"], None),  # the last flag wins
        (["granian", "app:app"], {"GRANIAN_HTTP1_KEEP_ALIVE": "false"}),
        (["granian", "app:app"], {"GRANIAN_HTTP1_KEEP_ALIVE": "Off"}),
        (["granian", "app:app"], {"GRANIAN_HTTP1_KEEP_ALIVE": "0"}),
    ],
)
def test_no_keep_alive_answers_connection_close(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.keep_alive.mode is Mode.NO_KEEP_ALIVE
    assert server.keep_alive.evidence.says.endswith(
        ": granian answers every request with `Connection: close`"
    )


@pytest.mark.parametrize(
    ("command", "environment", "says"),
    [
        # click's IntRange(1, 60000) refuses these, and granian does not start
        (["granian", "--http1-header-read-timeout", "90000", "app:app"], None, "which granian refuses"),
        (["granian", "--http1-header-read-timeout", "0", "app:app"], None, "which granian refuses"),
        (["granian", "--http1-header-read-timeout", "30s", "app:app"], None, "30s"),
        (["granian", "app:app"], {"GRANIAN_HTTP1_KEEP_ALIVE": "maybe"}, "GRANIAN_HTTP1_KEEP_ALIVE=maybe"),
        (["granian", "--http", "2", "app:app"], None, "serves HTTP/2 only"),
        (["granian", "app:app"], {"GRANIAN_HTTP": "2"}, "serves HTTP/2 only"),
    ],
)
def test_unknown_cases(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, says: str
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert says in server.keep_alive.evidence.says


@pytest.mark.parametrize(
    ("command", "environment", "remedy"),
    [
        (
            ["granian", "app:app"],
            None,
            "add `--http1-header-read-timeout 60000` (granian's maximum) to the granian command and keep the load "
            "balancer's idle_timeout below 60 s, or add `--no-http1-keep-alive` to turn keep-alive off",
        ),
        (
            ["granian", "--http1-header-read-timeout", "45000", "app:app"],
            None,
            "change `--http1-header-read-timeout 45000` to `--http1-header-read-timeout 60000` (granian's maximum) "
            "and keep the load balancer's idle_timeout below 60 s, or add `--no-http1-keep-alive` to turn "
            "keep-alive off",
        ),
        (
            ["granian", "app:app"],
            {"GRANIAN_HTTP1_HEADER_READ_TIMEOUT": "45000"},
            "set GRANIAN_HTTP1_HEADER_READ_TIMEOUT=60000 (granian's maximum) and keep the load balancer's "
            "idle_timeout below 60 s, or set GRANIAN_HTTP1_KEEP_ALIVE=false to turn keep-alive off",
        ),
        (
            ["granian", "--http1-header-read-timeout", "60000", "app:app"],
            None,
            "add `--no-http1-keep-alive` to turn keep-alive off (--http1-header-read-timeout cannot exceed 60000 ms)",
        ),
    ],
)
def test_remedies_never_suggest_more_than_granian_takes(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, remedy: str
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.remedy == remedy
    assert "{seconds}" not in server.remedy and "{milliseconds}" not in server.remedy


def test_terraform_scan(tmp_path: Path) -> None:
    default = scan_tree(tmp_path / "default", {"main.tf": service_tf(command=["granian", "app:app"])})
    finding = only(default, "KA001")
    assert "closes idle keep-alive connections after 30 s" in finding.message
    assert "60001" not in finding.fix and "65000" not in finding.fix
    # the longest timeout granian takes, under an idle timeout below it
    safe = service_tf(command=["granian", "--http1-header-read-timeout", "60000", "app:app"], idle_timeout=59)
    assert rules_of(scan_tree(tmp_path / "safe", {"main.tf": safe})) == []
    off = service_tf(command=["granian", "--no-http1-keep-alive", "app:app"])
    assert rules_of(scan_tree(tmp_path / "off", {"main.tf": off})) == []
