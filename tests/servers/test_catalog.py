"""How the catalog picks the server out of a command line, and how declarations override inference."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.servers.base import Mode
from tests.helpers import DEFAULT_IMAGE, scan_tree, server_of, service_tf


@pytest.mark.parametrize(
    ("command", "entry_point", "name", "seconds"),
    [
        # a migration before the server: the last server started is the one that serves
        (["sh", "-c", "python manage.py migrate && exec gunicorn --threads 4 app.wsgi"], None, "gunicorn", 2),
        (
            ["/bin/bash", "-c", "alembic upgrade head; uvicorn app:app --timeout-keep-alive 75"],
            None,
            "uvicorn",
            75,
        ),
        # entryPoint + command, as Docker combines them
        (["gunicorn", "-k", "gevent", "app:app"], ["/usr/bin/dumb-init", "--"], "gunicorn", 2),
        (["--threads", "2", "app:app"], ["gunicorn"], "gunicorn", 2),
        (["uvicorn app:app --timeout-keep-alive 66"], ["sh", "-c"], "uvicorn", 66),
        # "$@" passes the arguments after the script
        (["sh", "-c", 'prepare && exec "$@"', "--", "uvicorn", "app:app"], None, "uvicorn", 5),
        (["docker-entrypoint.sh", "uvicorn", "app:app"], None, "uvicorn", 5),
        (["gosu", "app", "uvicorn", "app:app"], None, "uvicorn", 5),
        (["env", "PYTHONUNBUFFERED=1", "uvicorn", "app:app"], None, "uvicorn", 5),
        (["doppler", "run", "--", "uvicorn", "app:app"], None, "uvicorn", 5),
        (["aws-vault", "exec", "prod", "--", "uvicorn", "app:app"], None, "uvicorn", 5),
        (["newrelic-admin", "run-program", "gunicorn", "-k", "gevent", "app:app"], None, "gunicorn", 2),
        (["poetry", "run", "uvicorn", "app:app"], None, "uvicorn", 5),
        # sh -c 'exec "$0" "$@"' program args: $0 is the word after the script
        (
            ["sh", "-c", 'exec "$0" "$@"', "uvicorn", "app:app", "--timeout-keep-alive", "67"],
            None,
            "uvicorn",
            67,
        ),
        # user switchers and process supervisors' wrappers
        (["su", "app", "-c", "exec uvicorn app:app --timeout-keep-alive 64"], None, "uvicorn", 64),
        (["runuser", "-u", "app", "--", "uvicorn", "app:app"], None, "uvicorn", 5),
        (["s6-setuidgid", "app", "uvicorn", "app:app"], None, "uvicorn", 5),
        (["chpst", "-u", "app", "uvicorn", "app:app"], None, "uvicorn", 5),
        (["setpriv", "--reuid=1000", "--init-groups", "uvicorn", "app:app"], None, "uvicorn", 5),
        (
            ["cross-env", "NODE_ENV=production", "next", "start", "--keepAliveTimeout", "66000"],
            None,
            "Next.js",
            66,
        ),
        # shell compound commands, exec -a, env -S, npx -y
        (
            ["sh", "-c", 'if [ -n "$MIGRATE" ]; then migrate; fi; if true; then exec uvicorn app:app; fi'],
            None,
            "uvicorn",
            5,
        ),
        (["sh", "-c", "while true; do uvicorn app:app --timeout-keep-alive 61; done"], None, "uvicorn", 61),
        (["sh", "-c", "exec -a web uvicorn app:app"], None, "uvicorn", 5),
        (["env", "-S", "uvicorn app:app --timeout-keep-alive 62"], None, "uvicorn", 62),
        (["npx", "-y", "next", "start", "--keepAliveTimeout", "63000"], None, "Next.js", 63),
        # shell options with values before -c (hadolint's SHELL ["/bin/bash", "-o", "pipefail", "-c"])
        (["/bin/bash", "-o", "pipefail", "-c", "uvicorn app:app"], None, "uvicorn", 5),
        (
            ["bash", "-euo", "pipefail", "-c", "exec uvicorn app:app --timeout-keep-alive 70"],
            None,
            "uvicorn",
            70,
        ),
        (["sh", "+o", "posix", "-ec", "uvicorn app:app"], None, "uvicorn", 5),
        # Rails' generated bin/docker-entrypoint ends in `exec "${@}"`; ruby runs the script it names
        (["./bin/rails", "server"], ["/rails/bin/docker-entrypoint"], "puma", 20),
        (["ruby", "-W0", "bin/rails", "s"], None, "puma", 20),
    ],
)
def test_the_server_is_found_behind_wrappers(
    tmp_path: Path, command: list[str], entry_point: list[str] | None, name: str, seconds: float
) -> None:
    server = server_of(tmp_path, command=command, entry_point=entry_point)
    assert server.name == name
    assert server.keep_alive.seconds == seconds


def test_environment_expansion_in_shell_commands(tmp_path: Path) -> None:
    server = server_of(
        tmp_path,
        command=["sh", "-c", "exec uvicorn app:app --timeout-keep-alive ${KEEP_ALIVE:-30}"],
        environment={"KEEP_ALIVE": "70"},
    )
    assert server.keep_alive.seconds == 70


def test_unquoted_variable_is_split_into_arguments(tmp_path: Path) -> None:
    server = server_of(
        tmp_path,
        command=["sh", "-c", "gunicorn $GUNICORN_OPTS app:app"],
        environment={"GUNICORN_OPTS": "-k gthread --keep-alive 61"},
    )
    assert server.keep_alive.seconds == 61


def test_inline_assignment_reaches_the_server(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["sh", "-c", "UVICORN_TIMEOUT_KEEP_ALIVE=80 uvicorn app:app"])
    assert server.keep_alive.seconds == 80
    assert "UVICORN_TIMEOUT_KEEP_ALIVE=80" in server.keep_alive.evidence.says


def test_label_declaration_wins_over_inference(tmp_path: Path) -> None:
    server = server_of(
        tmp_path,
        command=["node", "server.js"],
        image="node:20",
        labels={"keepalive-guard.keep-alive-seconds": "75"},
    )
    assert server.keep_alive.seconds == 75
    assert server.name == "node"
    assert (
        "declared with the docker label keepalive-guard.keep-alive-seconds" in server.keep_alive.evidence.says
    )


@pytest.mark.parametrize(
    ("value", "mode", "seconds"),
    [
        ("none", Mode.NO_KEEP_ALIVE, None),
        ("unlimited", Mode.NO_TIMEOUT, None),
        ("fast", Mode.UNKNOWN, None),
        ("90.5", Mode.IDLE_TIMEOUT, 90.5),
    ],
)
def test_label_values(tmp_path: Path, value: str, mode: Mode, seconds: float | None) -> None:
    server = server_of(tmp_path, command=["./server"], labels={"keepalive-guard.keep-alive-seconds": value})
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_request_timeout_label(tmp_path: Path) -> None:
    server = server_of(
        tmp_path,
        command=["./server"],
        labels={"keepalive-guard.keep-alive-seconds": "90", "keepalive-guard.request-timeout-seconds": "25"},
    )
    assert server.request_timeout is not None and server.request_timeout.seconds == 25


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (None, "sets neither command nor entryPoint"),
        (
            ["./bin/server", "--port", "8000"],
            "`./bin/server --port 8000` is not a server keepalive-guard recognises",
        ),
        (["python", "app.py"], "is not a server keepalive-guard recognises"),
        (["--web.listen-address=:9102"], "holds only options for the image's ENTRYPOINT"),
    ],
)
def test_unrecognised_commands_are_unknown_with_a_reason(
    tmp_path: Path, command: list[str] | None, says: str
) -> None:
    server = server_of(tmp_path, command=command)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert says in server.keep_alive.evidence.says
    assert "keepalive-guard.keep-alive-seconds" in server.remedy


def test_shell_assignments_take_effect_in_order(tmp_path: Path) -> None:
    command = ["sh", "-c", "KA=75; exec uvicorn app:app --timeout-keep-alive $KA"]
    assert server_of(tmp_path, command=command, environment={"KA": "5"}).keep_alive.seconds == 75


def test_only_exported_variables_reach_the_server(tmp_path: Path) -> None:
    plain = server_of(tmp_path, command=["sh", "-c", "UVICORN_TIMEOUT_KEEP_ALIVE=80; exec uvicorn app:app"])
    assert plain.keep_alive.seconds == 5  # a shell variable, not in uvicorn's environment
    command = ["sh", "-c", "export UVICORN_TIMEOUT_KEEP_ALIVE=80; exec uvicorn app:app"]
    assert server_of(tmp_path, command=command).keep_alive.seconds == 80


def test_an_environment_that_cannot_be_evaluated_hides_variables(tmp_path: Path) -> None:
    from tests.helpers import scan_tree, service_tf

    tf = service_tf(command=["uvicorn", "app:app"]).replace(
        "image = ",
        "environment = [for name in sort(keys(var.env)) : { name = name, value = var.env[name] }]\n      image = ",
    )
    unknown = scan_tree(tmp_path, {"main.tf": tf + 'variable "env" {}\n'}).targets[0].server
    assert unknown is not None and unknown.keep_alive.mode is Mode.UNKNOWN
    assert (
        "UVICORN_TIMEOUT_KEEP_ALIVE may be set in environment, which cannot be evaluated"
        in unknown.keep_alive.evidence.says
    )
    given = tf + 'variable "env" {\n  default = { UVICORN_TIMEOUT_KEEP_ALIVE = "70", Z = "1" }\n}\n'
    known = scan_tree(tmp_path, {"main.tf": given}).targets[0].server
    assert (
        known is not None and known.keep_alive.seconds == 70
    )  # sort(), keys() and the for expression are evaluated


@pytest.mark.parametrize("value", ["nan", "inf", "1e1", "7_5", "1" * 400])
def test_numbers_no_server_takes_are_not_numbers(tmp_path: Path, value: str) -> None:
    server = server_of(tmp_path, command=["gunicorn", "-k", "gthread", "--keep-alive", value, "app:app"])
    assert server.keep_alive.mode is Mode.UNKNOWN
    labelled = server_of(tmp_path, command=["app"], labels={"keepalive-guard.keep-alive-seconds": value})
    assert labelled.keep_alive.mode is Mode.UNKNOWN


@pytest.mark.parametrize(
    ("command", "mode"),
    [
        # $GUNICORN_OPTS is not visible: it may hold `-k gevent --keep-alive 5`, so sync is not certain
        (["sh", "-c", "exec gunicorn $GUNICORN_OPTS app:app"], Mode.UNKNOWN),
        (["sh", "-c", "exec uvicorn $UVICORN_ARGS"], Mode.UNKNOWN),
        # the value of an option is only that value
        (["sh", "-c", "exec uvicorn app:app --port $PORT"], Mode.IDLE_TIMEOUT),
        (["sh", "-c", "exec gunicorn --bind 0.0.0.0:$PORT app:app"], Mode.NO_KEEP_ALIVE),
    ],
)
def test_an_argument_that_is_not_visible_may_hold_options(
    tmp_path: Path, command: list[str], mode: Mode
) -> None:
    server = server_of(tmp_path, command=command)
    assert server.keep_alive.mode is mode
    if mode is Mode.UNKNOWN:
        assert "has an argument whose value is not visible" in server.keep_alive.evidence.says


def _with_environment_file(tmp_path: Path, dockerfile: str) -> Mode:
    main = service_tf().replace(
        "image = ",
        'environmentFiles = [{ value = "arn:aws:s3:::config/app.env", type = "s3" }]\n      image = ',
    )
    files = {"main.tf": main, "app/Dockerfile": dockerfile}
    result = scan_tree(tmp_path, files, dockerfiles=((DEFAULT_IMAGE, tmp_path / "app/Dockerfile"),))
    server = result.targets[0].server
    assert server is not None
    return server.keep_alive.mode


@pytest.mark.parametrize(
    "dockerfile",
    [
        # an environment file may set KA, so which word ${KA:-75} takes is not known
        'FROM python:3.12\nCMD ["sh", "-c", "exec gunicorn -k gevent --keep-alive ${KA:-75} app"]\n',
        # environment files override the image's ENV
        'FROM python:3.12\nENV GUNICORN_CMD_ARGS="-k gevent --keep-alive 75"\nCMD ["gunicorn", "app"]\n',
    ],
)
def test_environment_files_make_defaults_and_image_env_unknown(tmp_path: Path, dockerfile: str) -> None:
    assert _with_environment_file(tmp_path, dockerfile) is Mode.UNKNOWN
    # without the environment file, both are 75 s
    result = scan_tree(
        tmp_path, {"main.tf": service_tf()}, dockerfiles=((DEFAULT_IMAGE, tmp_path / "app/Dockerfile"),)
    )
    server = result.targets[0].server
    assert server is not None and server.keep_alive.seconds == 75
