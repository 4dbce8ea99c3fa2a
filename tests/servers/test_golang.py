"""Go programs: recognised from a golang build stage or image; their keep-alive is set in code."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.model import ImageBuild, Location, Setting
from policies.servers import golang
from policies.servers.base import Invocation, Mode
from tests.helpers import DEFAULT_IMAGE, rules_of, scan_tree, server_of, service_tf

MULTI_STAGE = """FROM golang:1.23 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/api ./cmd/api
FROM gcr.io/distroless/static-debian12
COPY --from=build /out/api /api
ENTRYPOINT ["/api"]
"""
SAYS = (
    "`/api` is taken for a Go program, as the image copies files from a build stage on `golang:1.23`: if it "
    "serves with net/http, http.Server.IdleTimeout decides, which is set only in code; zero falls back to "
    "ReadTimeout, and with both zero (as http.ListenAndServe leaves them) idle connections are never closed"
)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("golang:1.23", True),
        ("golang:1.23-alpine", True),
        ("golang", True),
        ("docker.io/library/golang:1.22", True),
        ("public.ecr.aws/docker/library/golang:1.22-bookworm", True),
        ("golangci/golangci-lint:v1", False),
        ("gcr.io/distroless/static", False),
        ("", False),
    ],
)
def test_go_image(image: str, expected: bool) -> None:
    assert golang.go_image(image) is expected


def test_binary_from_a_go_build_stage(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"Dockerfile": MULTI_STAGE, "go.mod": "module api\n"}
    server = server_of(tmp_path, files=files, dockerfile="Dockerfile")
    assert server.title == "Go (/api)"
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == SAYS
    assert server.keep_alive.evidence.source == "https://pkg.go.dev/net/http#Server"
    # no setting to change: the catalog asks for the declaration
    assert "keepalive-guard.keep-alive-seconds" in server.remedy


@pytest.mark.parametrize(
    ("command", "title"),
    [
        (["go", "run", "./cmd/api"], "Go (go run)"),
        (["/usr/local/bin/api", "-addr", ":8000"], "Go (/usr/local/bin/api)"),
    ],
)
def test_program_in_a_go_image(tmp_path: Path, command: list[str], title: str) -> None:
    server = server_of(tmp_path, command=command, image="golang:1.23-alpine")
    assert server.title == title
    assert server.keep_alive.mode is Mode.UNKNOWN


def _invocation(
    argv: tuple[str, ...], builders: tuple[str, ...], base: str = "gcr.io/distroless/static"
) -> Invocation:
    build = ImageBuild(
        images=("api",),
        dockerfile=Location("Dockerfile", 1),
        base=Setting(base, Location("Dockerfile", 5)),
        entry_point=None,
        command=None,
        builders=builders,
    )
    return Invocation(argv, {}, Location("main.tf", 3), Setting("api:1", Location("main.tf", 2)), build=build)


@pytest.mark.parametrize(
    ("argv", "builders", "recognised"),
    [
        (("/api",), ("golang:1.23",), True),
        (("./server", "--port", "8000"), ("node:22", "golang:1.22-alpine"), True),
        (("/api",), ("rust:1.80",), False),
        (("/api",), (), False),
        # scripts and interpreters are not the Go app
        (("./entrypoint.sh",), ("golang:1.23",), False),
        (("python3", "app.py"), ("golang:1.23",), False),
        (("tail", "-f", "/dev/null"), ("golang:1.23",), False),  # beside the server, not the server
        (("sleep", "infinity"), ("golang:1.23",), False),
        (("go", "version"), ("golang:1.23",), False),
    ],
)
def test_recognised_only_with_go_evidence(
    argv: tuple[str, ...], builders: tuple[str, ...], recognised: bool
) -> None:
    assert golang.recognises(_invocation(argv, builders)) is recognised


def test_without_a_known_build_a_binary_is_not_go(tmp_path: Path) -> None:
    assert server_of(tmp_path, command=["/api"]).name == "unknown"


def test_scan_warns_until_declared(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"Dockerfile": MULTI_STAGE, "go.mod": "module api\n"}
    tf = service_tf()
    result = scan_tree(
        tmp_path, {"main.tf": tf, **files}, dockerfiles=((DEFAULT_IMAGE, tmp_path / "Dockerfile"),)
    )
    assert rules_of(result) == ["KA002"]
    declared = service_tf(labels={"keepalive-guard.keep-alive-seconds": "75"})
    result = scan_tree(
        tmp_path, {"main.tf": declared}, dockerfiles=((DEFAULT_IMAGE, tmp_path / "Dockerfile"),)
    )
    assert rules_of(result) == []
    declared = service_tf(labels={"keepalive-guard.keep-alive-seconds": "30"})
    result = scan_tree(
        tmp_path, {"main.tf": declared}, dockerfiles=((DEFAULT_IMAGE, tmp_path / "Dockerfile"),)
    )
    assert rules_of(result) == ["KA001"]


def test_programs_other_families_know_are_theirs_even_when_built_with_go(tmp_path: Path) -> None:
    # Caddy is a Go program too, but its own family (asked before this one) knows its settings
    dockerfile = 'FROM golang:1.23 AS build\nRUN go build -o /caddy\nFROM alpine\nCOPY --from=build /caddy /usr/bin/caddy\nCMD ["caddy", "run"]\n'
    server = server_of(tmp_path, files={"Dockerfile": dockerfile}, dockerfile="Dockerfile")
    assert server.name.lower().startswith("caddy")
