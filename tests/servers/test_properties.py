"""Properties of the command-line understanding, over generated inputs: it never crashes, and every
spelling of the same setting (`--x=1`, `--x 1`, quoted, through `sh -c`, through the environment) means
the same thing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.model import Container, Location, Setting
from policies.servers import identify
from policies.servers.argv import split_script
from policies.servers.base import KeepAlive

HERE = Location("main.tf", 1)
# derandomize: the same examples on every run, so CI never fails on an example no one saw locally
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def container(
    command: list[str] | None,
    environment: dict[str, str] | None = None,
    entry_point: list[str] | None = None,
    image: str = "python:3.12",
) -> Container:
    return Container(
        "app",
        HERE,
        Setting(image, HERE),
        Setting(tuple(entry_point), HERE) if entry_point is not None else None,
        Setting(tuple(command), HERE) if command is not None else None,
        tuple((name, Setting(value, HERE)) for name, value in (environment or {}).items()),
    )


# Words a command line is made of: programs and flags the catalog knows, shell syntax, and noise.
# fmt: off
KNOWN_WORDS = [
    "gunicorn", "uvicorn", "uwsgi", "node", "next", "npm", "start", "nginx", "sh", "-c", "bash", "exec",
    "tini", "--", "python", "-m", "env", "A=1", "--keep-alive", "--timeout-keep-alive", "-k", "gevent",
    "--threads", "--http", "--http-keepalive", "--http-keepalive=", "&&", ";", "|", "$A", "${A:-1}",
    '"', "'", "\\", "$(", ")", "`", "{", "}", "#", "\n", "-", "=", "--http11-socket", "--keepAliveTimeout",
]
# fmt: on
WORDS = st.one_of(st.sampled_from(KNOWN_WORDS), st.text(max_size=12))


@SETTINGS
@given(st.text(max_size=200), st.dictionaries(st.sampled_from(["A", "B", "PORT"]), st.text(max_size=10)))
def test_the_shell_lexer_never_crashes(script: str, environment: dict[str, str]) -> None:
    commands = split_script(script, {name: Setting(value, HERE) for name, value in environment.items()})
    assert all(isinstance(word, str) for command in commands for word in command)


@SETTINGS
@given(
    st.one_of(st.none(), st.lists(WORDS, max_size=10)),
    st.one_of(st.none(), st.lists(WORDS, max_size=4)),
    st.dictionaries(st.sampled_from(["A", "GUNICORN_CMD_ARGS", "UVICORN_TIMEOUT_KEEP_ALIVE"]), WORDS),
)
def test_the_catalog_never_crashes(
    command: list[str] | None, entry_point: list[str] | None, environment: dict[str, str]
) -> None:
    server = identify(container(command, environment, entry_point))
    assert server.keep_alive.evidence.says


@dataclass(frozen=True)
class Flag:
    program: str  # the program and the arguments before the flag
    flag: str
    per_second: int  # units of the flag's value in a second (1000 for milliseconds)
    image: str = "python:3.12"
    env: str = ""  # the environment variable that sets the same thing, if any
    maximum: int = 10**6  # the largest value the server accepts


FLAGS = [
    Flag("uvicorn app:app", "--timeout-keep-alive", 1, env="UVICORN_TIMEOUT_KEEP_ALIVE"),
    Flag("gunicorn -k gevent app:app", "--keep-alive", 1),
    Flag("uwsgi --http11-socket :8000", "--socket-timeout", 1, env="UWSGI_SOCKET_TIMEOUT"),
    Flag("next start -p 3000", "--keepAliveTimeout", 1000, image="node:22"),
    Flag("hypercorn app:app", "--keep-alive", 1),
    Flag(
        "granian --interface asgi app:app",
        "--http1-header-read-timeout",
        1000,
        env="GRANIAN_HTTP1_HEADER_READ_TIMEOUT",
        maximum=60_000,
    ),
]


def spellings(flag: Flag, value: int) -> list[tuple[list[str], dict[str, str], list[str] | None]]:
    """(command, environment, entryPoint) that all set `flag` to `value`."""
    program = flag.program.split()
    found: list[tuple[list[str], dict[str, str], list[str] | None]] = [
        ([*program, flag.flag, str(value)], {}, None),
        ([*program, f"{flag.flag}={value}"], {}, None),
        (["sh", "-c", f"exec {flag.program} {flag.flag} '{value}'"], {}, None),
        (["sh", "-c", f'{flag.program} {flag.flag} "$VALUE"'], {"VALUE": str(value)}, None),
        (["/bin/bash", "-c", f"{flag.program} {flag.flag}=${{VALUE:-1}}"], {"VALUE": str(value)}, None),
        ([f"{flag.program} {flag.flag} {value}"], {}, ["tini", "--", "sh", "-c"]),
        ([flag.flag, str(value)], {}, program),
        # a repeated flag: the last one wins, as each of these servers does
        ([*program, flag.flag, "1", flag.flag, str(value)], {}, None),
    ]
    if flag.env:
        found.append((program, {flag.env: str(value)}, None))
    return found


@pytest.mark.parametrize("flag", FLAGS, ids=lambda flag: flag.flag)
@SETTINGS
@given(value=st.integers(min_value=1, max_value=10**6))
def test_equivalent_spellings_mean_the_same(flag: Flag, value: int) -> None:
    value = min(value, flag.maximum)
    results: list[KeepAlive] = []
    for command, environment, entry_point in spellings(flag, value):
        server = identify(container(command, environment, entry_point, flag.image))
        results.append(server.keep_alive)
    assert {keep_alive.seconds for keep_alive in results} == {value / flag.per_second}, results
