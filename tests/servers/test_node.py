"""Node and Next.js: the Node version decides the default; Next.js takes milliseconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.servers.base import Mode
from policies.servers.node import node_major
from tests.helpers import server_of


@pytest.mark.parametrize(
    ("image", "major"),
    [
        ("node:20-alpine", 20),
        ("node:22.11.0-bookworm-slim", 22),
        ("node:26", 26),
        ("docker.io/library/node:18@sha256:abc", 18),
        ("public.ecr.aws/docker/library/node:24-slim", 24),
        ("gcr.io/distroless/nodejs20-debian12", 20),
        ("gcr.io/distroless/nodejs22-debian12:nonroot", 22),
        ("node:lts", None),
        ("node", None),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.2.3", None),
        ("registry.local:5000/node:20", 20),
    ],
)
def test_node_major_from_image(image: str, major: int | None) -> None:
    assert node_major(image) == major


@pytest.mark.parametrize(
    ("image", "mode", "seconds"),
    [
        ("node:20-alpine", Mode.IDLE_TIMEOUT, 5),
        ("node:25", Mode.IDLE_TIMEOUT, 5),
        # nodejs/node#62782 is not among 26.0.0's semver-major commits: Node 26 still defaults to 5 s
        ("node:26-slim", Mode.IDLE_TIMEOUT, 5),
        ("node:27", Mode.IDLE_TIMEOUT, 65),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1", Mode.UNKNOWN, None),
    ],
)
def test_plain_node_uses_the_version_default(
    tmp_path: Path, image: str, mode: Mode, seconds: float | None
) -> None:
    server = server_of(tmp_path, command=["node", "--enable-source-maps", "dist/server.js"], image=image)
    assert server.name == "node"
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_unknown_node_version_names_both_defaults(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["node", "server.js"])
    assert "5 s up to Node 26 and 65 s from Node 27" in server.keep_alive.evidence.says
    assert "keepalive-guard.keep-alive-seconds" in server.remedy


@pytest.mark.parametrize(
    ("command", "seconds"),
    [
        (["next", "start", "--keepAliveTimeout", "70000"], 70),  # milliseconds
        (["npx", "next", "start", "-p", "3000", "--keepAliveTimeout=61000"], 61),
        (["node_modules/.bin/next", "start", "--keepAliveTimeout", "500"], 0.5),
        (["node", "node_modules/next/dist/bin/next", "start", "--keepAliveTimeout", "90000"], 90),
        (["yarn", "next", "start", "--keepAliveTimeout", "65000"], 65),
    ],
)
def test_next_start_keep_alive_is_in_milliseconds(tmp_path: Path, command: list[str], seconds: float) -> None:
    server = server_of(tmp_path, command=command, image="node:22")
    assert server.name == "Next.js"
    assert server.keep_alive.seconds == seconds


def test_next_start_without_flag_uses_node_default(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["next", "start"], image="node:22-alpine")
    assert server.keep_alive.seconds == 5
    assert server.remedy == "add `--keepAliveTimeout {milliseconds}` to `next start`"


def test_next_standalone_reads_keep_alive_timeout_env(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["node", "server.js"], environment={"KEEP_ALIVE_TIMEOUT": "65000"})
    assert server.name == "Next.js" and server.keep_alive.seconds == 65


@pytest.mark.parametrize(
    "command", [["npm", "start"], ["npm", "run", "serve"], ["yarn", "start"], ["pnpm", "start"]]
)
def test_package_scripts_are_unknown(tmp_path: Path, command: list[str]) -> None:
    server = server_of(tmp_path, command=command, image="node:20")
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "package.json script" in server.keep_alive.evidence.says


def test_plain_node_states_its_assumption(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["node", "dist/main.js"], image="node:22")
    assert "assuming the app serves with Node's http.Server defaults" in server.keep_alive.evidence.says


@pytest.mark.parametrize(
    ("command", "environment"),
    [
        (["next", "start", "--keepAliveTimeout", "0"], None),
        (["node", "server.js"], {"KEEP_ALIVE_TIMEOUT": "0"}),
    ],
)
def test_next_zero_keeps_the_node_default(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None
) -> None:
    # start-server.ts: `if (keepAliveTimeout) server.keepAliveTimeout = keepAliveTimeout`
    server = server_of(tmp_path, command=command, environment=environment, image="node:22")
    assert server.keep_alive.seconds == 5
