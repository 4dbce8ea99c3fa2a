"""Go programs: recognised only when the image shows Go built them.

Go's net/http (and gin, echo, chi on top of it) closes idle keep-alive connections after
`http.Server.IdleTimeout`, which exists only in code: no flag, no environment variable. Zero falls back to
`ReadTimeout`, and both zero, as `http.ListenAndServe` leaves them, means idle connections are never
closed. So the keep-alive of a Go binary is unknown until declared with the docker label
`keepalive-guard.keep-alive-seconds`. A Go binary has no recognisable name: it is taken for one when the
Dockerfile copies files from a `golang` build stage, or when the image itself is a `golang` image.
"""

from __future__ import annotations

import re

from policies.model import UNKNOWN_PART, show
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Server

NAME = "golang"
# net/http Server.IdleTimeout: "If zero, the value of ReadTimeout is used. If negative, or if zero and
# ReadTimeout is zero or negative, there is no timeout." (src/net/http/server.go, Server.idleTimeout())
_DOCS = "https://pkg.go.dev/net/http#Server"
# Interpreters and shells: what they run is a script, never the app's own Go binary. (The registry asks
# this family last, so programs other families know, Traefik and Caddy among them, never get here.)
_NOT_GO_APPS = frozenset(
    {"sh", "bash", "ash", "node", "python", "python3", "java", "ruby", "perl", "php"}
    # and the tools a start-up script runs beside the server
    | {
        "sleep",
        "tail",
        "tee",
        "cat",
        "echo",
        "printf",
        "true",
        "false",
        "test",
        "[",
        "wait",
        "trap",
        "cp",
        "mv",
    }
    | {
        "rm",
        "mkdir",
        "chmod",
        "chown",
        "ln",
        "touch",
        "sed",
        "awk",
        "grep",
        "envsubst",
        "curl",
        "wget",
        "set",
    }
)
_SCRIPT = re.compile(r"\.(sh|bash|py|js|mjs|cjs|rb|pl|jar|dll)$")

RECOGNISED = (
    "a program in a `golang` image or copied from a `golang` build stage (its keep-alive must be declared "
    "with the docker label)"
)

FACTS = (
    Fact(
        "Go `net/http` (gin, echo, chi...)",
        "`http.Server.IdleTimeout` in code only (zero: `ReadTimeout`)",
        "never closes",
        _DOCS,
        "`time.Duration`",
    ),
)


def go_image(image: str | None) -> bool:
    """Whether an image reference names the official golang image (golang:1.23-alpine, docker.io/library/golang)."""
    if not image or UNKNOWN_PART in image:
        return False
    return re.match(r"^(docker\.io/|public\.ecr\.aws/docker/)?(library/)?golang(:|@|$)", image) is not None


def _built_with(invocation: Invocation) -> str | None:
    """The golang image that shows the program is Go, if any."""
    if invocation.build is not None:
        builder = next((image for image in invocation.build.builders if go_image(image)), None)
        if builder is not None:
            return builder
    image = invocation.base_image.value
    return image if go_image(image) else None


def recognises(invocation: Invocation) -> bool:
    program = invocation.program
    if not program or UNKNOWN_PART in program or program in _NOT_GO_APPS or _SCRIPT.search(program):
        return False
    if program == "go":
        return invocation.args[:1] == ("run",) and _built_with(invocation) is not None
    return _built_with(invocation) is not None


def analyse(invocation: Invocation) -> Server:
    image = show(_built_with(invocation) or "")
    if invocation.program == "go":
        program, lead = "go run", f"`go run` runs a Go program in `{image}`"
    else:
        program = show(invocation.argv[0])
        how = "is" if go_image(invocation.base_image.value) else "copies files from a build stage on"
        lead = f"`{program}` is taken for a Go program, as the image {how} `{image}`"
    says = (
        f"{lead}: if it serves with net/http, http.Server.IdleTimeout decides, which is set only in code; "
        "zero falls back to ReadTimeout, and with both zero (as http.ListenAndServe leaves them) idle "
        "connections are never closed"
    )
    return Server("Go", program, KeepAlive.unknown(Evidence(says, invocation.location, _DOCS)))
