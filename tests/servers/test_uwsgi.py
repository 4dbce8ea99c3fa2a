"""uWSGI's three HTTP modes, and its getopt trap: `--http-keepalive 75` does not mean 75."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.servers.base import Mode
from tests.helpers import server_of


@pytest.mark.parametrize(
    ("command", "environment", "mode", "seconds"),
    [
        (["uwsgi", "--http-socket", ":8000", "--module", "app:app"], None, Mode.NO_KEEP_ALIVE, None),
        (["uwsgi", "--http11-socket", ":8000"], None, Mode.IDLE_TIMEOUT, 4),
        (["uwsgi", "--http11-socket", ":8000", "--socket-timeout", "90"], None, Mode.IDLE_TIMEOUT, 90),
        (["uwsgi", "--http", ":8000"], None, Mode.NO_KEEP_ALIVE, None),
        (["uwsgi", "--http", ":8000", "--http-keepalive"], None, Mode.IDLE_TIMEOUT, 60),
        (
            ["uwsgi", "--http", ":8000", "--http-keepalive", "--http-timeout", "90"],
            None,
            Mode.IDLE_TIMEOUT,
            90,
        ),
        (["uwsgi", "--http", ":8000", "--http-keepalive=75"], None, Mode.IDLE_TIMEOUT, 75),
        # getopt optional argument: 75 is not the option's value, keep-alive is on with --http-timeout (60)
        (["uwsgi", "--http", ":8000", "--http-keepalive", "75"], None, Mode.IDLE_TIMEOUT, 60),
        (["uwsgi", "--http", ":8000"], {"UWSGI_HTTP_KEEPALIVE": "80"}, Mode.IDLE_TIMEOUT, 80),
        (["uwsgi", "--http=:8000", "--http-keepalive=0"], None, Mode.NO_KEEP_ALIVE, None),
        (["uwsgi"], {"UWSGI_HTTP_SOCKET": ":8000"}, Mode.NO_KEEP_ALIVE, None),
        (["uwsgi", "--ini", "uwsgi.ini"], None, Mode.UNKNOWN, None),
        (["uwsgi", "uwsgi.ini"], None, Mode.UNKNOWN, None),
        (["uwsgi", "--socket", ":3031"], None, Mode.UNKNOWN, None),
    ],
)
def test_uwsgi_modes(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, mode: Mode, seconds: float | None
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.name == "uWSGI"
    assert server.keep_alive.mode is mode, server.keep_alive.evidence
    assert server.keep_alive.seconds == seconds


def test_separated_keepalive_value_is_explained(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["uwsgi", "--http", ":8000", "--http-keepalive", "75"])
    says = server.keep_alive.evidence.says
    assert "`--http-keepalive 75` does not set 75" in says
    assert "--http-keepalive=75" in says
    assert server.remedy.startswith("change `--http-keepalive` to `--http-keepalive={seconds}`")


@pytest.mark.parametrize(
    ("command", "environment", "seconds"),
    [
        (["uwsgi", "--http-socket", ":8000", "--harakiri", "30"], None, 30),
        (["uwsgi", "--http", ":8000", "--harakiri=45"], None, 45),
        (["uwsgi", "--http-socket", ":8000"], {"UWSGI_HARAKIRI": "20"}, 20),
    ],
)
def test_harakiri_is_a_request_timeout_not_a_keep_alive(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, seconds: float
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.request_timeout is not None and server.request_timeout.seconds == seconds
    assert server.keep_alive.seconds is None
