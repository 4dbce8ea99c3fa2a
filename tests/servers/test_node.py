"""Node and Next.js: the Node version decides the default; Next.js takes milliseconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.servers.base import Mode, Server
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
        # not visible: the older default, assumed and said
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1", Mode.IDLE_TIMEOUT, 5),
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
    assert "keepalive-guard assumes the older default" in server.keep_alive.evidence.says
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
def test_package_scripts_without_a_dockerfile_are_unknown(tmp_path: Path, command: list[str]) -> None:
    server = server_of(tmp_path, command=command, image="node:20")
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "of the image's package.json, which is not visible" in server.keep_alive.evidence.says


PACKAGE = """{
  "name": "web",
  "engines": {"node": "20.x"},
  "scripts": {
    "build": "tsc",
    "start": "node dist/main.js",
    "start:prod": "NODE_ENV=production next start -p 3000",
    "serve": "npm run build && exec next start --keepAliveTimeout 70000"
  }
}
"""
DOCKERFILE = """FROM node:22-alpine AS build
WORKDIR /app
COPY package.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:22-alpine
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/dist ./dist
CMD ["npm", "start"]
"""


@pytest.mark.parametrize(
    ("command", "name", "seconds", "line"),
    [
        (None, "node", 5, 6),  # the Dockerfile's CMD: npm start
        (["npm", "start"], "node", 5, 6),
        (["npm", "run", "start:prod"], "Next.js", 5, 7),
        (["yarn", "serve"], "Next.js", 70, 8),  # runs `npm run build` first, then next start
        (["pnpm", "run", "serve"], "Next.js", 70, 8),
        (["npm", "run", "start:prod", "--", "--keepAliveTimeout", "66000"], "Next.js", 66, 7),
    ],
)
def test_package_scripts_are_read_from_the_image_package_json(
    tmp_path: Path, command: list[str] | None, name: str, seconds: float, line: int
) -> None:
    files = {"web/package.json": PACKAGE, "web/Dockerfile": DOCKERFILE, "web/dist/main.js": ""}
    server = server_of(tmp_path, command=command, files=files, dockerfile="web/Dockerfile")
    assert server.name == name
    assert server.keep_alive.seconds == seconds
    location = server.keep_alive.evidence.location if seconds != 5 else server.remedy_location
    assert location is not None and location.path.endswith("web/package.json") and location.line == line


def test_npm_start_without_a_start_script_runs_server_js(tmp_path: Path) -> None:
    files = {
        "web/package.json": '{"name": "web"}',
        "web/Dockerfile": 'FROM node:20\nWORKDIR /srv\nCOPY . .\nENV KEEP_ALIVE_TIMEOUT=65000\nCMD ["npm", "start"]\n',
    }
    server = server_of(tmp_path, files=files, dockerfile="web/Dockerfile")
    # npm docs: "If the scripts object does not define a start property, npm will run node server.js";
    # a standalone Next.js server.js reads KEEP_ALIVE_TIMEOUT
    assert server.name == "Next.js" and server.keep_alive.seconds == 65


def test_a_missing_script_says_so(tmp_path: Path) -> None:
    files = {"web/package.json": PACKAGE, "web/Dockerfile": DOCKERFILE}
    server = server_of(tmp_path, command=["yarn", "run", "dev"], files=files, dockerfile="web/Dockerfile")
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert (
        server.keep_alive.evidence.says
        == "`yarn dev` runs the script dev of package.json, which has no such script"
    )


def test_package_json_engines_decides_the_node_version_when_the_image_does_not(tmp_path: Path) -> None:
    dockerfile = "FROM company/base-node:latest\nWORKDIR /app\nCOPY . .\nCMD node dist/main.js\n"
    files = {"web/package.json": PACKAGE, "web/Dockerfile": dockerfile}
    server = server_of(tmp_path, files=files, dockerfile="web/Dockerfile")
    assert server.keep_alive.seconds == 5
    assert "on Node 20 (package.json engines)" in server.keep_alive.evidence.says


@pytest.mark.parametrize(
    ("command", "mode", "seconds"),
    [
        (["pm2-runtime", "dist/main.js"], Mode.IDLE_TIMEOUT, 5),
        (["pm2-runtime", "start", "dist/main.js", "-i", "max"], Mode.IDLE_TIMEOUT, 5),
        (["pm2", "start", "dist/main.js", "--no-daemon"], Mode.IDLE_TIMEOUT, 5),
        (["pm2-runtime", "start", "ecosystem.config.js", "--env", "production"], Mode.UNKNOWN, None),
        (["pm2-runtime", "process.yml"], Mode.UNKNOWN, None),
    ],
)
def test_pm2_runtime_runs_node(tmp_path: Path, command: list[str], mode: Mode, seconds: float | None) -> None:
    server = server_of(tmp_path, command=command, image="node:20-slim")
    assert server.keep_alive.mode is mode and server.keep_alive.seconds == seconds
    if mode is Mode.UNKNOWN:
        assert "a configuration keepalive-guard does not evaluate" in server.keep_alive.evidence.says


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


@pytest.mark.parametrize(
    ("command", "image", "name"),
    [
        # nodejs/docker-node docker-entrypoint.sh: options and scripts run under node
        (["server.js"], "node:22-alpine", "node"),
        (["--enable-source-maps", "dist/main.mjs"], "node:22", "node"),
        (["server.js"], "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1", "unknown"),
    ],
)
def test_the_node_image_entrypoint_runs_scripts_with_node(
    tmp_path: Path, command: list[str], image: str, name: str
) -> None:
    server = server_of(tmp_path, command=command, image=image)
    assert server.name == name
    if name == "node":
        assert server.keep_alive.seconds == 5


def test_a_dockerfile_cmd_of_options_goes_to_the_image_entrypoint(tmp_path: Path) -> None:
    files = {"web/Dockerfile": 'FROM node:27-slim\nWORKDIR /app\nCOPY . .\nCMD ["dist/server.js"]\n'}
    server = server_of(tmp_path, files=files, dockerfile="web/Dockerfile")
    assert server.name == "node" and server.keep_alive.seconds == 65


def _package_with(tmp_path: Path, scripts: dict[str, str], command: list[str]) -> Server:
    import json

    files = {
        "web/package.json": json.dumps({"scripts": scripts}),
        "web/Dockerfile": f"FROM node:22\nWORKDIR /app\nCOPY . .\nCMD {json.dumps(command)}\n",
    }
    return server_of(tmp_path, files=files, dockerfile="web/Dockerfile")


def test_scripts_that_run_themselves_end_with_a_reason(tmp_path: Path) -> None:
    server = _package_with(tmp_path, {"start": "npm start; npm start"}, ["npm", "start"])
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "runs itself through package.json scripts" in server.keep_alive.evidence.says


def test_scripts_fanning_out_are_bounded(tmp_path: Path) -> None:
    # each script runs the next five times: 5**6 commands if nothing bounded it
    scripts = {f"s{i}": "; ".join([f"npm run s{i + 1}"] * 5) for i in range(6)}
    scripts["s6"] = "next start --keepAliveTimeout 70000"
    server = _package_with(tmp_path, scripts, ["npm", "run", "s0"])
    assert server.name == "Next.js"


@pytest.mark.parametrize(
    ("command", "seconds"),
    [
        # yarn and pnpm pass every argument after the script's name; npm only those after --
        (["yarn", "start", "--keepAliveTimeout", "70000"], 70),
        (["pnpm", "start", "--keepAliveTimeout", "70000"], 70),
        (["npm", "start", "--", "--keepAliveTimeout", "70000"], 70),
        (["npm", "start", "--keepAliveTimeout", "70000"], 5),
    ],
)
def test_arguments_reach_the_script_as_each_package_manager_passes_them(
    tmp_path: Path, command: list[str], seconds: float
) -> None:
    server = _package_with(tmp_path, {"start": "next start"}, command)
    assert server.keep_alive.seconds == seconds
