"""hypercorn: `--keep-alive` seconds (default 5), over `keep_alive_timeout` in a TOML config file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policies.servers.base import Mode, Server
from tests.helpers import rules_of, scan_tree, server_of, service_tf


@pytest.mark.parametrize(
    ("command", "seconds", "says"),
    [
        (["hypercorn", "app:app"], 5, "no --keep-alive given: hypercorn's default is 5 s"),
        (["hypercorn", "--bind", "0.0.0.0:8000", "app:app"], 5, "default is 5 s"),
        (["python", "-m", "hypercorn", "-b", "0.0.0.0:8000", "app:app"], 5, "default is 5 s"),
        (["/usr/local/bin/hypercorn", "-k", "uvloop", "app:app"], 5, "default is 5 s"),
        (["hypercorn", "--keep-alive", "75", "app:app"], 75, "`--keep-alive 75` in the command"),
        (["hypercorn", "app:app", "--keep-alive=65"], 65, "`--keep-alive=65` in the command"),
        # argparse keeps the last occurrence
        (["hypercorn", "--keep-alive", "3", "--keep-alive", "70", "app:app"], 70, "`--keep-alive 70`"),
        # 0: the idle timer fires at once, closing connections as soon as they are idle, unannounced
        (["hypercorn", "--keep-alive", "0", "app:app"], 0, "`--keep-alive 0`"),
        (["sh", "-c", "exec hypercorn --keep-alive ${KA:-61} app:app"], 61, "`--keep-alive 61`"),
    ],
)
def test_keep_alive_from_the_command_line(
    tmp_path: Path, command: list[str], seconds: float, says: str
) -> None:
    server = server_of(tmp_path, command=command)
    assert server.name == "hypercorn"
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == seconds
    assert says in server.keep_alive.evidence.says
    assert server.request_timeout is None


def test_default_evidence_and_remedy(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["hypercorn", "app:app"])
    assert server.keep_alive.evidence.says == "no --keep-alive given: hypercorn's default is 5 s"
    assert server.keep_alive.evidence.source.startswith("https://hypercorn.readthedocs.io/")
    assert server.remedy == "add `--keep-alive {seconds}` to the hypercorn command"


@pytest.mark.parametrize(
    "command",
    [
        ["hypercorn", "--keep-alive", "7.5", "app:app"],  # argparse type=int refuses it
        ["hypercorn", "--keep-alive", "-1", "app:app"],
        ["sh", "-c", "hypercorn --keep-alive $(cat /run/ka) app:app"],
    ],
)
def test_unreadable_values_are_unknown(tmp_path: Path, command: list[str]) -> None:
    server = server_of(tmp_path, command=command)
    assert server.keep_alive.mode is Mode.UNKNOWN


def _with_config(
    tmp_path: Path, config: str, command: str, name: str = "hypercorn.toml", **service: Any
) -> Server:
    dockerfile = f"FROM python:3.12-slim\nWORKDIR /srv\nCOPY . .\nCMD {command}\n"
    files = {"web/Dockerfile": dockerfile, f"web/{name}": config}
    return server_of(tmp_path, files=files, dockerfile="web/Dockerfile", **service)


_WITH_CONFIG = '["hypercorn", "-c", "hypercorn.toml", "app:app"]'


@pytest.mark.parametrize(
    ("config", "command", "mode", "seconds"),
    [
        ('bind = ["0.0.0.0:8000"]\nkeep_alive_timeout = 75\n', _WITH_CONFIG, Mode.IDLE_TIMEOUT, 75),
        (
            "keep_alive_timeout = 62.5\n",
            '["hypercorn", "--config=hypercorn.toml", "app:app"]',
            Mode.IDLE_TIMEOUT,
            62.5,
        ),
        ('bind = ["0.0.0.0:8000"]\n', _WITH_CONFIG, Mode.IDLE_TIMEOUT, 5),
        # hypercorn sets only top-level keys (Config.from_mapping)
        ("[server]\nkeep_alive_timeout = 75\n", _WITH_CONFIG, Mode.IDLE_TIMEOUT, 5),
        # the command line wins over the config file
        (
            "keep_alive_timeout = 75\n",
            '["hypercorn", "-c", "hypercorn.toml", "--keep-alive", "10", "app:app"]',
            Mode.IDLE_TIMEOUT,
            10,
        ),
        ('keep_alive_timeout = "75"\n', _WITH_CONFIG, Mode.UNKNOWN, None),
        ("keep_alive_timeout = \n", _WITH_CONFIG, Mode.UNKNOWN, None),
        # Python config files are run by hypercorn, never by keepalive-guard
        (
            "keep_alive_timeout = 75\n",
            '["hypercorn", "-c", "file:hypercorn.toml", "app:app"]',
            Mode.UNKNOWN,
            None,
        ),
        ("", '["hypercorn", "-c", "python:settings.hypercorn", "app:app"]', Mode.UNKNOWN, None),
        # a config file the Dockerfile does not copy may set it
        ("", '["hypercorn", "-c", "/etc/hypercorn.toml", "app:app"]', Mode.UNKNOWN, None),
    ],
)
def test_config_file(tmp_path: Path, config: str, command: str, mode: Mode, seconds: float | None) -> None:
    server = _with_config(tmp_path, config, command)
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_config_file_value_is_located_and_remedied_there(tmp_path: Path) -> None:
    server = _with_config(tmp_path, 'bind = ["0.0.0.0:8000"]\nkeep_alive_timeout = 30\n', _WITH_CONFIG)
    location = server.keep_alive.evidence.location
    assert location is not None and location.path.endswith("web/hypercorn.toml") and location.line == 2
    assert server.keep_alive.evidence.says == "`keep_alive_timeout = 30` in hypercorn.toml"
    assert server.remedy == "set `keep_alive_timeout = {seconds}` in hypercorn.toml"


def test_config_file_not_visible_says_so(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["hypercorn", "-c", "hypercorn.toml", "app:app"])
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "--keep-alive is not on the command line, and the config file `hypercorn.toml` (not visible in the "
        "scanned files) may set keep_alive_timeout"
    )


def test_terraform_scan(tmp_path: Path) -> None:
    unsafe = scan_tree(tmp_path / "default", {"main.tf": service_tf(command=["hypercorn", "app:app"])})
    assert rules_of(unsafe) == ["KA001"]
    assert "Add `--keep-alive 65` to the hypercorn command" in unsafe.findings[0].fix
    safe = service_tf(command=["hypercorn", "--keep-alive", "75", "app:app"])
    assert rules_of(scan_tree(tmp_path / "safe", {"main.tf": safe})) == []
