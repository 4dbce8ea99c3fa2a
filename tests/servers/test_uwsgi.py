"""uWSGI's three HTTP modes (as measured with uWSGI 2.0.31 on the wire), and its getopt trap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policies.servers.base import Mode, Server
from tests.helpers import server_of

# fmt: off
MODE_CASES = [
    # closes right after each response without Connection: close: a race with no idle time at all
    (["uwsgi", "--http-socket", ":8000", "--module", "app:app"], None, Mode.IDLE_TIMEOUT, 0),
    (["uwsgi", "--http-socket", ":8000", "--add-header", "Connection: close"], None, Mode.NO_KEEP_ALIVE, None),
    (["uwsgi"], {"UWSGI_HTTP_SOCKET": ":8000"}, Mode.IDLE_TIMEOUT, 0),
    (["uwsgi", "--http11-socket", ":8000"], None, Mode.IDLE_TIMEOUT, 4),
    (["uwsgi", "--http11-socket", ":8000", "--socket-timeout", "90"], None, Mode.IDLE_TIMEOUT, 90),
    (["uwsgi", "--http", ":8000"], None, Mode.IDLE_TIMEOUT, 0),
    (["uwsgi", "--http=:8000", "--http-keepalive=0"], None, Mode.IDLE_TIMEOUT, 0),
    (["uwsgi", "--http", ":8000", "--http-keepalive"], None, Mode.IDLE_TIMEOUT, 60),
    (["uwsgi", "--http", ":8000", "--http-keepalive", "--http-timeout", "90"], None, Mode.IDLE_TIMEOUT, 90),
    (["uwsgi", "--http", ":8000", "--http-keepalive=75"], None, Mode.IDLE_TIMEOUT, 75),
    # getopt optional argument: 75 is not the option's value; uWSGI loads "75" as a config file and exits
    (["uwsgi", "--http", ":8000", "--http-keepalive", "75"], None, Mode.UNKNOWN, None),
    (["uwsgi", "--http", ":8000"], {"UWSGI_HTTP_KEEPALIVE": "80"}, Mode.IDLE_TIMEOUT, 80),
    (["uwsgi", "--ini", "uwsgi.ini"], None, Mode.UNKNOWN, None),
    (["uwsgi", "uwsgi.ini"], None, Mode.UNKNOWN, None),
    (["uwsgi", "--socket", ":3031"], None, Mode.UNKNOWN, None),
]
# fmt: on


@pytest.mark.parametrize(("command", "environment", "mode", "seconds"), MODE_CASES)
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
    assert 'takes "75" as a configuration file to load and exits at start-up' in says
    assert server.remedy.startswith("change `--http-keepalive` to `--http-keepalive={seconds}`")


def test_silent_close_is_explained(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["uwsgi", "--http-socket", ":8000"])
    assert "without sending `Connection: close`" in server.keep_alive.evidence.says
    assert server.remedy.startswith('add `--add-header "Connection: close"`')


@pytest.mark.parametrize(
    ("command", "environment", "seconds"),
    [
        (["uwsgi", "--http-socket", ":8000", "--harakiri", "30"], None, 30),
        (["uwsgi", "--http", ":8000", "--harakiri=45"], None, 45),
        (["uwsgi", "--http-socket", ":8000"], {"UWSGI_HARAKIRI": "20"}, 20),
        (["uwsgi", "--http-socket", ":8000", "-t", "15"], None, 15),
    ],
)
def test_harakiri_is_a_request_timeout_not_a_keep_alive(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, seconds: float
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.request_timeout is not None and server.request_timeout.seconds == seconds
    assert "harakiri" not in server.keep_alive.evidence.says


def _with_ini(
    tmp_path: Path, ini: str, command: str = '["uwsgi", "--ini", "uwsgi.ini"]', **service: Any
) -> Server:
    dockerfile = f"FROM python:3.12-slim\nWORKDIR /srv\nCOPY . .\nCMD {command}\n"
    files = {"web/Dockerfile": dockerfile, "web/uwsgi.ini": ini}
    return server_of(tmp_path, files=files, dockerfile="web/Dockerfile", **service)


@pytest.mark.parametrize(
    ("ini", "command", "environment", "mode", "seconds"),
    [
        ("[uwsgi]\nhttp-socket = :8000\n", None, None, Mode.IDLE_TIMEOUT, 0),
        (
            "[uwsgi]\nhttp-socket = :8000\nadd-header = Connection: close\n",
            None,
            None,
            Mode.NO_KEEP_ALIVE,
            None,
        ),
        ("[uwsgi]\nhttp11-socket = :8000\nsocket-timeout = 75\n", None, None, Mode.IDLE_TIMEOUT, 75),
        ("[uwsgi]\nhttp = :8000\nhttp-keepalive = 75\n", None, None, Mode.IDLE_TIMEOUT, 75),
        (
            "[uwsgi]\nhttp = :8000\nhttp-keepalive = $(KEEPALIVE)\n",
            None,
            {"KEEPALIVE": "70"},
            Mode.IDLE_TIMEOUT,
            70,
        ),
        ("[uwsgi]\nhttp = :8000\nhttp-keepalive = %(ka)\n", None, None, Mode.UNKNOWN, None),
        # another section is not read; the positional form and a named section are
        ("[other]\nhttp11-socket = :8000\n", None, None, Mode.UNKNOWN, None),
        ("[prod]\nhttp11-socket = :8000\n", '["uwsgi", "uwsgi.ini:prod"]', None, Mode.IDLE_TIMEOUT, 4),
        # the command line after --ini overrides it; before, the ini file does
        (
            "[uwsgi]\nhttp11-socket = :8000\nsocket-timeout = 10\n",
            '["uwsgi", "--ini", "uwsgi.ini", "--socket-timeout", "90"]',
            None,
            Mode.IDLE_TIMEOUT,
            90,
        ),
        (
            "[uwsgi]\nhttp11-socket = :8000\nsocket-timeout = 10\n",
            '["uwsgi", "--socket-timeout", "90", "--ini", "uwsgi.ini"]',
            None,
            Mode.IDLE_TIMEOUT,
            10,
        ),
    ],
)
def test_ini_files_copied_into_the_image_are_read(
    tmp_path: Path,
    ini: str,
    command: str | None,
    environment: dict[str, str] | None,
    mode: Mode,
    seconds: float | None,
) -> None:
    args = {"command": command} if command else {}
    server = _with_ini(tmp_path, ini, environment=environment, **args)
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_ini_settings_are_located_in_the_file(tmp_path: Path) -> None:
    server = _with_ini(tmp_path, "[uwsgi]\nmodule = app\nhttp11-socket = :8000\nsocket-timeout = 30\n")
    location = server.keep_alive.evidence.location
    assert location is not None and location.path.endswith("web/uwsgi.ini") and location.line == 4
    assert server.keep_alive.evidence.says.startswith("`socket-timeout = 30` in ")
