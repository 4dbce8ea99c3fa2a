"""Caddy: idle timeout 5 min by default since v2.3, set in the Caddyfile's global options or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies.model import Location
from policies.servers.base import Mode, Server
from policies.servers.caddy import duration, image_command
from tests.helpers import rules_of, scan_tree, server_of, service_tf

# Findings show local files relative to the working directory.
pytestmark = pytest.mark.usefixtures("in_tmp")


def _built(
    tmp_path: Path, config: str, name: str = "Caddyfile", base: str = "caddy:2.8", **service: Any
) -> Server:
    dockerfile = f"FROM {base}\nCOPY {name} /etc/caddy/{name}\n"
    if name != "Caddyfile":
        dockerfile += f'CMD ["caddy", "run", "--config", "/etc/caddy/{name}"]\n'
    files = {"web/Dockerfile": dockerfile, f"web/{name}": config}
    return server_of(tmp_path, files=files, dockerfile="web/Dockerfile", image="web:1", **service)


_SITE = ":8000 {\n    reverse_proxy app:3000\n}\n"


def _global(servers: str) -> str:
    return "{\n    email ops@example.com\n" + servers + "}\n\n" + _SITE


@pytest.mark.parametrize(
    ("image", "mode", "seconds"),
    [
        ("caddy:2", Mode.IDLE_TIMEOUT, 300),  # a tag without a minor is the newest 2.x
        ("caddy:2.8.4-alpine", Mode.IDLE_TIMEOUT, 300),
        ("caddy:2.2", Mode.NO_TIMEOUT, None),  # before 2.3 Go's http.Server default: never
    ],
)
def test_the_official_image_runs_its_own_caddyfile(
    tmp_path: Path, image: str, mode: Mode, seconds: int | None
) -> None:
    server = server_of(tmp_path, image=image)
    assert server.name == "caddy"
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_the_default_says_so(tmp_path: Path) -> None:
    server = server_of(tmp_path, image="caddy:2.8")
    assert server.keep_alive.evidence.says == (
        "no idle timeout in the official Caddy image's /etc/caddy/Caddyfile: Caddy's default is 5 min (since 2.3)"
    )


def test_image_command() -> None:
    assert image_command("caddy:2.8") == (
        "caddy",
        "run",
        "--config",
        "/etc/caddy/Caddyfile",
        "--adapter",
        "caddyfile",
    )
    assert image_command("caddy:builder") is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("75s", 75), ("1m30s", 90), ("1d", 86400), ("1.5d", 129600), ("0", 0), ("75", None), ("soon", None)],
)
def test_caddy_durations(text: str, seconds: float | None) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize(
    ("servers", "mode", "seconds"),
    [
        ("", Mode.IDLE_TIMEOUT, 300),
        (
            "    servers {\n        timeouts {\n            idle 30s\n        }\n    }\n",
            Mode.IDLE_TIMEOUT,
            30,
        ),
        (
            "    servers {\n        timeouts {\n            idle 2m  # longer\n        }\n    }\n",
            Mode.IDLE_TIMEOUT,
            120,
        ),
        (
            "    servers {\n        timeouts {\n            idle 0\n        }\n    }\n",
            Mode.IDLE_TIMEOUT,
            300,
        ),  # 0: default
        ("    servers {\n        protocols h1 h2\n    }\n", Mode.IDLE_TIMEOUT, 300),
        (
            "    servers {\n        timeouts {\n            idle {$IDLE}\n        }\n    }\n",
            Mode.UNKNOWN,
            None,
        ),
    ],
)
def test_global_servers_options(tmp_path: Path, servers: str, mode: Mode, seconds: float | None) -> None:
    server = _built(tmp_path, _global(servers))
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_the_setting_is_located_and_fixed_there(tmp_path: Path) -> None:
    server = _built(
        tmp_path, _global("    servers {\n        timeouts {\n            idle 30s\n        }\n    }\n")
    )
    assert server.keep_alive.evidence.says == "`servers { timeouts { idle 30s } }` in web/Caddyfile"
    assert server.keep_alive.evidence.location == Location("web/Caddyfile", 5)
    assert server.remedy == "change `idle 30s` to `idle {seconds}s`"


def test_environment_placeholders_are_replaced(tmp_path: Path) -> None:
    config = _global("    servers {\n        timeouts {\n            idle {$IDLE:45s}\n        }\n    }\n")
    assert _built(tmp_path, config).keep_alive.seconds == 45
    assert _built(tmp_path / "env", config, environment={"IDLE": "70s"}).keep_alive.seconds == 70


def test_servers_options_that_differ_make_it_unknown(tmp_path: Path) -> None:
    servers = "    servers :443 {\n        timeouts {\n            idle 30s\n        }\n    }\n"
    server = _built(tmp_path, _global(servers))
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "servers differ" in server.keep_alive.evidence.says


def test_json_configuration(tmp_path: Path) -> None:
    config = {"apps": {"http": {"servers": {"srv0": {"listen": [":8000"], "idle_timeout": "40s"}}}}}
    assert _built(tmp_path, json.dumps(config), "caddy.json").keep_alive.seconds == 40
    nanoseconds = {
        "apps": {"http": {"servers": {"srv0": {"listen": [":8000"], "idle_timeout": 90_000_000_000}}}}
    }
    assert _built(tmp_path / "ns", json.dumps(nanoseconds), "caddy.json").keep_alive.seconds == 90


@pytest.mark.parametrize(
    ("command", "seconds"),
    [
        (["caddy", "reverse-proxy", "--from", ":8000", "--to", "app:3000"], 300),
        (["caddy", "file-server", "--listen", ":8000"], 300),
    ],
)
def test_commands_that_build_their_config(tmp_path: Path, command: list[str], seconds: int) -> None:
    assert server_of(tmp_path, image="caddy:2.8", command=command).keep_alive.seconds == seconds


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["caddy", "run", "--config", "/etc/caddy/Caddyfile"], "is not visible in the scanned files"),
        (["caddy", "run", "--resume"], "`--resume` runs the last configuration Caddy saved"),
        (["caddy", "version"], "`caddy version` is not a command"),
    ],
)
def test_what_it_cannot_see(tmp_path: Path, command: list[str], says: str) -> None:
    server = server_of(tmp_path, command=command)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert says in server.keep_alive.evidence.says


def test_terraform_scan_flags_a_short_idle_and_not_the_default(tmp_path: Path) -> None:
    files = {
        "main.tf": service_tf(image="web:1"),
        "web/Dockerfile": "FROM caddy:2.8\nCOPY Caddyfile /etc/caddy/Caddyfile\n",
        "web/Caddyfile": _global(
            "    servers {\n        timeouts {\n            idle 20s\n        }\n    }\n"
        ),
    }
    dockerfiles = (("web:1", tmp_path / "short/web/Dockerfile"),)
    assert "KA001" in rules_of(scan_tree(tmp_path / "short", files, dockerfiles=dockerfiles))
    default = scan_tree(tmp_path / "default", {"main.tf": service_tf(image="caddy:2.8")})
    assert "KA001" not in rules_of(default)
