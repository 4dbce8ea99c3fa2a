"""daphne: Twisted's fixed 60 s idle timeout, no setting; `--http-timeout` bounds a request."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.servers.base import Mode
from tests.helpers import only, rules_of, scan_tree, server_of, service_tf


@pytest.mark.parametrize(
    "command",
    [
        ["daphne", "-b", "0.0.0.0", "-p", "8000", "project.asgi:application"],
        ["python", "-m", "daphne", "--bind", "0.0.0.0", "project.asgi:application"],
        ["sh", "-c", "python manage.py migrate && exec daphne -b 0.0.0.0 -p 8000 project.asgi:application"],
        ["/venv/bin/daphne", "-e", "tcp:port=8000:interface=0.0.0.0", "project.asgi:application"],
    ],
)
def test_idle_timeout_is_twisteds_60_s(tmp_path: Path, command: list[str]) -> None:
    server = server_of(tmp_path, command=command)
    assert server.name == "daphne"
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == 60
    assert server.keep_alive.evidence.says == (
        "daphne has no keep-alive setting: Twisted's HTTPFactory closes idle connections after 60 s"
    )
    assert "twisted/web/http.py" in server.keep_alive.evidence.source
    assert server.remedy == ""  # nothing to raise: the load balancer's idle timeout must go below 60 s
    assert server.request_timeout is None


@pytest.mark.parametrize(
    ("flag", "bound"),
    [
        (["-t", "30"], 32),
        (["--http-timeout", "30"], 32),
        (["--http-timeout=120"], 122),
        (["-t90"], 92),
    ],
)
def test_http_timeout_bounds_a_request(tmp_path: Path, flag: list[str], bound: float) -> None:
    server = server_of(tmp_path, command=["daphne", *flag, "project.asgi:application"])
    assert server.request_timeout is not None and server.request_timeout.seconds == bound
    assert server.keep_alive.seconds == 60  # it does not touch idle connections


def test_http_timeout_evidence(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["daphne", "--http-timeout", "30", "project.asgi:application"])
    assert server.request_timeout is not None
    assert server.request_timeout.evidence.says == (
        "`--http-timeout 30` in the command: daphne answers 503 to a request still without a response "
        "after 30 s, checked every 2 s, so at most 32 s"
    )


@pytest.mark.parametrize("value", ["0", "abc"])
def test_no_request_bound_without_a_positive_http_timeout(tmp_path: Path, value: str) -> None:
    server = server_of(tmp_path, command=["daphne", "-t", value, "project.asgi:application"])
    assert server.request_timeout is None


def test_terraform_scan(tmp_path: Path) -> None:
    command = ["daphne", "-b", "0.0.0.0", "-p", "8000", "project.asgi:application"]
    # 60 s equals the load balancer's default idle timeout: at or before it is a race
    finding = only(scan_tree(tmp_path / "default", {"main.tf": service_tf(command=command)}), "KA001")
    assert finding.fix.startswith("Lower idle_timeout to 59 at ")
    # daphne has no setting: only a lower idle timeout is safe
    safe = service_tf(command=command, idle_timeout=59)
    assert rules_of(scan_tree(tmp_path / "safe", {"main.tf": safe})) == []
