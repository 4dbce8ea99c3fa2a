"""gunicorn's keep-alive depends on its worker class; these are its real semantics, through real HCL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policies.servers.base import Mode, Server
from tests.helpers import DEFAULT_IMAGE, scan_tree, server_of, service_tf, write_tree

# fmt: off
WORKER_CASES = [
    # the sync worker (default) sends Connection: close: no idle connection to race
    (["gunicorn", "app:app"], None, Mode.NO_KEEP_ALIVE, None, "sync worker"),
    (["gunicorn", "-k", "sync", "--keep-alive", "75", "app:app"], None, Mode.NO_KEEP_ALIVE, None, "sync worker"),
    # --threads > 1 turns sync into gthread, which keeps connections for --keep-alive (default 2)
    (["gunicorn", "--threads", "4", "app:app"], None, Mode.IDLE_TIMEOUT, 2, "gthread worker"),
    (["gunicorn", "--threads=4", "--keep-alive=75", "app:app"], None, Mode.IDLE_TIMEOUT, 75, "gthread worker"),
    (["gunicorn", "-k", "gthread", "app:app"], None, Mode.IDLE_TIMEOUT, 2, "gthread worker"),
    (["gunicorn", "-k", "gevent", "--keep-alive", "30", "app:app"], None, Mode.IDLE_TIMEOUT, 30, "gevent worker"),
    (["gunicorn", "--worker-class=eventlet", "app:app"], None, Mode.IDLE_TIMEOUT, 2, "eventlet worker"),
    (["gunicorn", "-k", "asgi", "app:app"], None, Mode.IDLE_TIMEOUT, 2, "asgi worker"),
    # UvicornWorker takes gunicorn's keepalive, not uvicorn's 5 s default
    (["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "app:app"], None, Mode.IDLE_TIMEOUT, 2, "UvicornWorker"),
    (["gunicorn", "-k", "uvicorn_worker.UvicornWorker", "--keep-alive", "90", "app:app"], None, Mode.IDLE_TIMEOUT, 90, "UvicornWorker"),
    # --keep-alive 0: gthread and gevent send Connection: close; the uvicorn worker closes at once, unannounced
    (["gunicorn", "-k", "gthread", "--keep-alive", "0", "app:app"], None, Mode.NO_KEEP_ALIVE, None, "gthread"),
    (["gunicorn", "-k", "gevent", "--keep-alive", "0", "app:app"], None, Mode.NO_KEEP_ALIVE, None, "gevent"),
    (["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "--keep-alive", "0", "app:app"], None, Mode.IDLE_TIMEOUT, 0, "UvicornWorker"),
    # the asgi worker closed silently before 26.2.2 and announces it since: it depends on the version
    (["gunicorn", "-k", "asgi", "--keep-alive", "0", "app:app"], None, Mode.UNKNOWN, None, "asgi"),
    # tornado: Tornado's own idle timeout applies, even with --keep-alive 0 (measured)
    (["gunicorn", "-k", "tornado", "app:app"], None, Mode.IDLE_TIMEOUT, 3600, "tornado worker"),
    (["gunicorn", "-k", "tornado", "--keep-alive", "0", "app:app"], None, Mode.IDLE_TIMEOUT, 3600, "tornado worker"),
    (["gunicorn", "-k", "gevent_pywsgi", "app:app"], None, Mode.UNKNOWN, None, "gevent_pywsgi"),
    (["gunicorn", "-k", "egg:gunicorn#gthread", "app:app"], None, Mode.IDLE_TIMEOUT, 2, "gthread worker"),
    # gunicorn only switches `sync` or a *SyncWorker path to gthread, not the egg form
    (["gunicorn", "-k", "egg:gunicorn#sync", "--threads", "4", "app:app"], None, Mode.NO_KEEP_ALIVE, None, "sync"),
    (["gunicorn", "-k", "gunicorn.workers.sync.SyncWorker", "--threads", "4", "app:app"], None, Mode.IDLE_TIMEOUT, 2, "gthread"),
    (["gunicorn", "-k", "myproject.workers.Custom", "app:app"], None, Mode.UNKNOWN, None, ""),
    (["gunicorn", "-k", "ginterpreter", "app:app"], None, Mode.UNKNOWN, None, ""),  # not in a release
    # GUNICORN_CMD_ARGS is read; the command line overrides it
    (["gunicorn", "app:app"], {"GUNICORN_CMD_ARGS": "--threads 2 --keep-alive 10"}, Mode.IDLE_TIMEOUT, 10, "gthread"),
    (["gunicorn", "--keep-alive", "70", "app:app"], {"GUNICORN_CMD_ARGS": "-k gevent --keep-alive 10"}, Mode.IDLE_TIMEOUT, 70, "gevent"),
    # repeated flags: the last one wins, as in gunicorn's argparse
    (["gunicorn", "-k", "gevent", "--keep-alive", "10", "--keep-alive", "80", "app:app"], None, Mode.IDLE_TIMEOUT, 80, "gevent"),
    # a config file may set what the command line does not
    (["gunicorn", "-c", "gunicorn.conf.py", "app:app"], None, Mode.UNKNOWN, None, ""),
    (["gunicorn", "-c", "gunicorn.conf.py", "-k", "gthread", "--keep-alive", "75", "app:app"], None, Mode.IDLE_TIMEOUT, 75, "gthread"),
    # wrappers and python -m
    (["python", "-m", "gunicorn", "--threads", "8", "app:app"], None, Mode.IDLE_TIMEOUT, 2, "gthread"),
    (["ddtrace-run", "gunicorn", "-k", "gevent", "app:app"], None, Mode.IDLE_TIMEOUT, 2, "gevent"),
    (["/usr/bin/tini", "--", "gunicorn", "-k", "gthread", "app:app"], None, Mode.IDLE_TIMEOUT, 2, "gthread"),
]
# fmt: on


@pytest.mark.parametrize(("command", "environment", "mode", "seconds", "detail"), WORKER_CASES)
def test_keep_alive_by_worker_class(
    tmp_path: Path,
    command: list[str],
    environment: dict[str, str] | None,
    mode: Mode,
    seconds: float | None,
    detail: str,
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.name == "gunicorn"
    assert server.keep_alive.mode is mode, server.keep_alive.evidence
    assert server.keep_alive.seconds == seconds
    assert detail in server.detail


def test_sync_worker_timeout_bounds_requests(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["gunicorn", "--timeout", "120", "app:app"])
    assert server.request_timeout is not None and server.request_timeout.seconds == 120
    assert "--timeout 120" in server.request_timeout.evidence.says


def test_sync_worker_default_timeout_is_30(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["gunicorn", "app:app"])
    assert server.request_timeout is not None and server.request_timeout.seconds == 30


@pytest.mark.parametrize(
    "command", [["gunicorn", "-k", "gthread", "-t", "120", "app:app"], ["gunicorn", "-t", "0", "app:app"]]
)
def test_timeout_is_no_request_bound_outside_the_sync_worker_or_when_off(
    tmp_path: Path, command: list[str]
) -> None:
    # gunicorn#2111: for other workers --timeout only means the worker process is alive
    assert server_of(tmp_path, command=command).request_timeout is None


def test_evidence_cites_default_and_source(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["gunicorn", "--threads", "4", "app:app"])
    assert server.keep_alive.evidence.says == (
        "no --keep-alive given: gunicorn's default is 2 s "
        "(assuming no gunicorn.conf.py in the image's working directory, which gunicorn would read)"
    )
    assert server.keep_alive.evidence.source == "https://docs.gunicorn.org/en/stable/settings.html#keepalive"
    assert server.detail == "gthread worker, because of `--threads 4`"


def test_remedy_names_the_flag_as_written(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["gunicorn", "-k", "gthread", "--keep-alive=5", "app:app"])
    assert server.remedy == "change `--keep-alive=5` to `--keep-alive {seconds}` in the gunicorn command"


def test_unknown_env_args_make_the_setting_unknown(tmp_path: Path) -> None:
    tf = 'variable "args" {}\n'
    main = service_tf(command=["gunicorn", "app:app"]).replace(
        "image = ", 'environment = [{ name = "GUNICORN_CMD_ARGS", value = var.args }]\n      image = '
    )
    result = scan_tree(tmp_path, {"main.tf": main + tf})
    server = result.targets[0].server
    assert server is not None and server.keep_alive.mode is Mode.UNKNOWN
    assert "GUNICORN_CMD_ARGS is not known" in server.keep_alive.evidence.says


def test_environment_files_may_set_gunicorn_cmd_args(tmp_path: Path) -> None:
    main = service_tf(command=["gunicorn", "-k", "gthread", "app:app"]).replace(
        "image = ",
        'environmentFiles = [{ value = "arn:aws:s3:::config/app.env", type = "s3" }]\n      image = ',
    )
    server = scan_tree(tmp_path, {"main.tf": main}).targets[0].server
    assert server is not None and server.keep_alive.mode is Mode.UNKNOWN
    assert (
        "GUNICORN_CMD_ARGS may be set in the environment file arn:aws:s3:::config/app.env"
        in server.keep_alive.evidence.says
    )


def test_command_line_wins_over_environment_files(tmp_path: Path) -> None:
    main = service_tf(command=["gunicorn", "-k", "gthread", "--keep-alive", "75", "app:app"]).replace(
        "image = ",
        'environmentFiles = [{ value = "arn:aws:s3:::config/app.env", type = "s3" }]\n      image = ',
    )
    server = scan_tree(tmp_path, {"main.tf": main}).targets[0].server
    assert server is not None and server.keep_alive.seconds == 75


def _with_config(
    tmp_path: Path, config: str, command: str = '["gunicorn", "app:app"]', **service: Any
) -> Server:
    dockerfile = f"FROM python:3.12-slim\nWORKDIR /srv\nCOPY . .\nCMD {command}\n"
    files = {"web/Dockerfile": dockerfile, "web/gunicorn.conf.py": config}
    return server_of(tmp_path, files=files, dockerfile="web/Dockerfile", **service)


@pytest.mark.parametrize(
    ("config", "environment", "mode", "seconds"),
    [
        ('worker_class = "gthread"\nkeepalive = 75\n', None, Mode.IDLE_TIMEOUT, 75),
        ("threads = 4\n", None, Mode.IDLE_TIMEOUT, 2),  # gthread, default keep-alive
        ("workers = 4\n", None, Mode.NO_KEEP_ALIVE, None),  # sync
        (
            'import os\nworker_class = "gevent"\nkeepalive = int(os.environ.get("KEEPALIVE", "5"))\n',
            {"KEEPALIVE": "70"},
            Mode.IDLE_TIMEOUT,
            70,
        ),
        (
            'import os\nworker_class = "gevent"\nkeepalive = int(os.getenv("KEEPALIVE", 5))\n',
            None,
            Mode.IDLE_TIMEOUT,
            5,
        ),
        # set in code keepalive-guard does not run: unknown, not a default
        ('worker_class = "gevent"\nkeepalive = compute()\n', None, Mode.UNKNOWN, None),
        ('worker_class = "gevent"\nif PROD:\n    keepalive = 75\n', None, Mode.UNKNOWN, None),
        ("worker_class = 'gevent'\nkeepalive = (\n", None, Mode.UNKNOWN, None),
        # unpacking, augmented assignment, star imports, globals(): followed or unknown, never "not set"
        ('worker_class, keepalive = "gevent", 75\n', None, Mode.IDLE_TIMEOUT, 75),
        ("worker_class, keepalive = settings()\n", None, Mode.UNKNOWN, None),
        ('worker_class = "gevent"\nkeepalive = 5\nkeepalive += 70\n', None, Mode.UNKNOWN, None),
        ("from settings import *\n", None, Mode.UNKNOWN, None),
        ('globals()["keepalive"] = 75\nworker_class = "gevent"\n', None, Mode.UNKNOWN, None),
        ('from base import keepalive\nworker_class = "gevent"\n', None, Mode.UNKNOWN, None),
    ],
)
def test_gunicorn_conf_py_copied_into_the_image_is_read(
    tmp_path: Path, config: str, environment: dict[str, str] | None, mode: Mode, seconds: float | None
) -> None:
    server = _with_config(tmp_path, config, environment=environment)
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_config_file_setting_is_located_and_fixed_there(tmp_path: Path) -> None:
    server = _with_config(tmp_path, 'bind = "0.0.0.0:8000"\nworker_class = "gthread"\nkeepalive = 5\n')
    location = server.keep_alive.evidence.location
    assert location is not None and location.path.endswith("web/gunicorn.conf.py") and location.line == 3
    assert server.keep_alive.evidence.says.startswith("`keepalive = 5` in ")
    assert server.remedy.startswith("change `keepalive = 5` to `keepalive = {seconds}` in ")


def test_the_command_line_overrides_the_config_file(tmp_path: Path) -> None:
    command = '["gunicorn", "--keep-alive", "90", "app:app"]'
    server = _with_config(tmp_path, 'worker_class = "gthread"\nkeepalive = 5\n', command)
    assert server.keep_alive.seconds == 90


def test_an_explicit_config_file_is_read(tmp_path: Path) -> None:
    dockerfile = 'FROM python:3.12\nWORKDIR /srv\nCOPY conf/ /etc/gunicorn/\nCMD ["gunicorn", "-c", "/etc/gunicorn/prod.py", "app:app"]\n'
    files = {"web/Dockerfile": dockerfile, "web/conf/prod.py": 'worker_class = "gevent"\nkeepalive = 61\n'}
    server = server_of(tmp_path, files=files, dockerfile="web/Dockerfile")
    assert server.keep_alive.seconds == 61


def test_without_a_config_file_in_the_image_the_default_is_certain(tmp_path: Path) -> None:
    dockerfile = (
        'FROM python:3.12\nWORKDIR /srv\nCOPY app.py .\nCMD ["gunicorn", "--threads", "4", "app:app"]\n'
    )
    files = {"web/Dockerfile": dockerfile, "web/app.py": ""}
    server = server_of(tmp_path, files=files, dockerfile="web/Dockerfile")
    assert server.keep_alive.seconds == 2
    assert server.keep_alive.evidence.says == (
        "no --keep-alive given: gunicorn's default is 2 s "
        "(the Dockerfile copies no gunicorn.conf.py into the working directory /srv)"
    )


@pytest.mark.parametrize("config", ["python:app.gunicorn_settings", "missing.py"])
def test_a_config_that_cannot_be_read_makes_settings_unknown(tmp_path: Path, config: str) -> None:
    command = f'["gunicorn", "-c", "{config}", "-k", "gevent", "app:app"]'
    server = _with_config(tmp_path, "keepalive = 75\n", command)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "which may set it" in server.keep_alive.evidence.says


@pytest.mark.parametrize(
    ("command", "working_directory", "seconds"),
    [
        ('["gunicorn", "-k", "gevent", "app:app"]', None, 75),  # /app/gunicorn.conf.py is read
        # gunicorn reads ./gunicorn.conf.py from the directory it starts in
        ('["sh", "-c", "cd /app/src && exec gunicorn -k gevent app:app"]', None, 2),
        ('["sh", "-c", "cd src; exec gunicorn -k gevent app:app"]', None, 2),
        ('["gunicorn", "-k", "gevent", "app:app"]', "/app/src", 2),
        ('["gunicorn", "-k", "gevent", "app:app"]', "/app", 75),
        ('["sh", "-c", "cd $APP_DIR && exec gunicorn -k gevent app:app"]', None, None),
    ],
)
def test_the_config_file_is_looked_up_where_gunicorn_starts(
    tmp_path: Path, command: str, working_directory: str | None, seconds: float | None
) -> None:
    dockerfile = f"FROM python:3.12\nWORKDIR /app\nCOPY . .\nCMD {command}\n"
    files = {"web/Dockerfile": dockerfile, "web/gunicorn.conf.py": "keepalive = 75\n", "web/src/app.py": ""}
    tf = service_tf()
    if working_directory:
        tf = tf.replace("image = ", f'workingDirectory = "{working_directory}"\n      image = ')
    write_tree(tmp_path, {"main.tf": tf, **files})
    result = scan_tree(tmp_path, dockerfiles=((DEFAULT_IMAGE, tmp_path / "web/Dockerfile"),))
    server = result.targets[0].server
    assert server is not None and server.keep_alive.seconds == seconds
