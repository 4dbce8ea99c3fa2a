"""Development servers: Django's runserver (no idle timeout, unless Daphne serves it) and `flask run`
(Connection: close)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policies.servers.base import Mode, Server
from tests.helpers import DEFAULT_IMAGE, rules_of, scan_tree, server_of, service_tf


@pytest.mark.parametrize(
    "command",
    [
        ["python", "manage.py", "runserver", "0.0.0.0:8000"],
        ["python3", "-u", "manage.py", "runserver", "0.0.0.0:8000"],
        ["/usr/local/bin/python3.12", "/app/src/manage.py", "runserver", "0:8000", "--noreload"],
        ["./manage.py", "runserver", "0.0.0.0:8000"],
        ["django-admin", "runserver", "0.0.0.0:8000", "--settings=mysite.settings"],
        ["python", "-m", "django", "runserver", "0.0.0.0:8000"],
        ["sh", "-c", "python manage.py migrate && python manage.py runserver 0.0.0.0:8000"],
        ["poetry", "run", "python", "manage.py", "runserver", "0.0.0.0:8000"],
    ],
)
def test_django_runserver_never_closes_idle_connections(tmp_path: Path, command: list[str]) -> None:
    server = server_of(tmp_path, command=command)
    assert server.title == "Django development server (runserver)"
    assert server.keep_alive.mode is Mode.NO_TIMEOUT
    assert "not meant for production" in server.keep_alive.evidence.says


def test_django_runserver_evidence(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["python", "manage.py", "runserver", "0.0.0.0:8000"])
    assert server.keep_alive.evidence.says == (
        "Django's runserver keeps a connection alive when the response has a Content-Length (otherwise it "
        "answers `Connection: close`) and never closes an idle one (assuming neither daphne nor channels is "
        "in INSTALLED_APPS, as the settings module is not visible in the scanned files); a development "
        "server, not meant for production"
    )
    assert "django/core/servers/basehttp.py" in server.keep_alive.evidence.source


def test_nothreading_closes_after_every_response(tmp_path: Path) -> None:
    server = server_of(
        tmp_path, command=["python", "manage.py", "runserver", "--nothreading", "0.0.0.0:8000"]
    )
    assert server.keep_alive.mode is Mode.NO_KEEP_ALIVE
    assert server.keep_alive.evidence.says == (
        "`runserver --nothreading` answers every request with `Connection: close`; a development server, "
        "not meant for production"
    )


@pytest.mark.parametrize(
    "command",
    [
        ["flask", "run", "--host=0.0.0.0", "--port=8000"],
        ["flask", "--app", "app:create_app", "run", "-h", "0.0.0.0"],
        ["flask", "--debug", "run"],
        ["python", "-m", "flask", "-A", "app", "run", "--host", "0.0.0.0"],
        ["uv", "run", "flask", "run", "--host", "0.0.0.0"],
    ],
)
def test_flask_run_answers_connection_close(tmp_path: Path, command: list[str]) -> None:
    server = server_of(tmp_path, command=command)
    assert server.title == "Flask development server (flask run)"
    assert server.keep_alive.mode is Mode.NO_KEEP_ALIVE
    assert server.keep_alive.evidence.says == (
        "flask run serves with Werkzeug's development server, which answers every request with "
        "`Connection: close` (Werkzeug 2.1.2 and later); a development server, not meant for production"
    )


@pytest.mark.parametrize(
    "command",
    [
        ["python", "manage.py", "migrate"],
        [
            "python",
            "manage.py",
            "--settings=mysite.settings",
            "runserver",
        ],  # Django takes argv[1] as the command
        ["python", "app.py", "runserver"],
        ["flask", "db", "upgrade"],
        ["python", "-m", "django", "check"],
    ],
)
def test_other_commands_are_not_development_servers(tmp_path: Path, command: list[str]) -> None:
    assert server_of(tmp_path, command=command).name == "unknown"


_MANAGE = (
    "import os, sys\n"
    "if __name__ == '__main__':\n"
    "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n"
    "    from django.core.management import execute_from_command_line\n"
    "    execute_from_command_line(sys.argv)\n"
)
_RUNSERVER = '["python", "manage.py", "runserver", "0.0.0.0:8000"]'


def _project(tmp_path: Path, settings: dict[str, str], command: str = _RUNSERVER, **service: Any) -> Server:
    dockerfile = f"FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD {command}\n"
    files = {"web/Dockerfile": dockerfile, "web/manage.py": _MANAGE}
    files.update({f"web/{path}": text for path, text in settings.items()})
    return server_of(tmp_path, files=files, dockerfile="web/Dockerfile", **service)


_WITH_DAPHNE = {"mysite/settings.py": 'INSTALLED_APPS = [\n    "daphne",\n    "django.contrib.admin",\n]\n'}


def test_daphne_in_installed_apps_serves_runserver_with_daphne(tmp_path: Path) -> None:
    server = _project(tmp_path, _WITH_DAPHNE)
    assert server.title == "Django development server (runserver with Daphne)"
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == 60
    location = server.keep_alive.evidence.location
    assert location is not None and location.path.endswith("web/mysite/settings.py") and location.line == 2
    assert server.keep_alive.evidence.says.startswith(
        '"daphne" in the apps of mysite.settings: runserver serves with Daphne, whose Twisted HTTPFactory '
        "closes idle connections after 60 s"
    )
    assert server.remedy == ""


@pytest.mark.parametrize(
    ("settings", "command", "environment", "mode"),
    [
        # Daphne's runserver falls back to Django's with --noasgi
        (
            _WITH_DAPHNE,
            '["python", "manage.py", "runserver", "--noasgi", "0.0.0.0:8000"]',
            None,
            Mode.NO_TIMEOUT,
        ),
        (
            {"mysite/settings.py": "INSTALLED_APPS = ['django.contrib.admin']\n"},
            _RUNSERVER,
            None,
            Mode.NO_TIMEOUT,
        ),
        # channels before 4.0 replaced runserver too; its version is not visible
        ({"mysite/settings.py": "INSTALLED_APPS = ['channels', 'app']\n"}, _RUNSERVER, None, Mode.UNKNOWN),
        # channels 4 needs daphne listed for that: daphne decides
        (
            {"mysite/settings.py": "INSTALLED_APPS = ['daphne', 'channels']\n"},
            _RUNSERVER,
            None,
            Mode.IDLE_TIMEOUT,
        ),
        # split settings: the star import brings THIRD_PARTY_APPS, combined into INSTALLED_APPS
        (
            {
                "mysite/settings/__init__.py": "",
                "mysite/settings/base.py": 'THIRD_PARTY_APPS = ["daphne"]\nINSTALLED_APPS = THIRD_PARTY_APPS\n',
                "mysite/settings/production.py": "from .base import *\nDEBUG = False\n",
            },
            _RUNSERVER,
            {"DJANGO_SETTINGS_MODULE": "mysite.settings.production"},
            Mode.IDLE_TIMEOUT,
        ),
        (
            {
                "conf/base.py": "INSTALLED_APPS = ['django.contrib.admin']\n",
                "conf/prod.py": "from conf.base import INSTALLED_APPS\nINSTALLED_APPS += ['daphne.apps.DaphneConfig']\n",
            },
            '["python", "manage.py", "runserver", "--settings", "conf.prod"]',
            None,
            Mode.IDLE_TIMEOUT,
        ),
        # conf.base is not visible, and it may list django.contrib.staticfiles before daphne
        (
            {
                "conf/prod.py": "from conf.base import INSTALLED_APPS\nINSTALLED_APPS += ['daphne.apps.DaphneConfig']\n"
            },
            '["python", "manage.py", "runserver", "--settings", "conf.prod"]',
            None,
            Mode.UNKNOWN,
        ),
        # a star-imported module that is not visible: Django's own runserver is assumed, and said so
        ({"mysite/settings.py": "from .local import *\n"}, _RUNSERVER, None, Mode.NO_TIMEOUT),
        ({"mysite/settings.py": "INSTALLED_APPS = [\n"}, _RUNSERVER, None, Mode.NO_TIMEOUT),
    ],
)
def test_settings_decide_who_serves_runserver(
    tmp_path: Path, settings: dict[str, str], command: str, environment: dict[str, str] | None, mode: Mode
) -> None:
    server = _project(tmp_path, settings, command, environment=environment)
    assert server.keep_alive.mode is mode


def test_visible_settings_without_daphne_are_named(tmp_path: Path) -> None:
    server = _project(tmp_path, {"mysite/settings.py": "INSTALLED_APPS = ['django.contrib.admin']\n"})
    assert "(the apps of mysite.settings list neither daphne nor channels)" in server.keep_alive.evidence.says


def test_terraform_scan(tmp_path: Path) -> None:
    def scan(root: Path, settings: str, idle_timeout: int | None = None) -> list[str]:
        dockerfile = f"FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD {_RUNSERVER}\n"
        files = {
            "main.tf": service_tf(idle_timeout=idle_timeout),
            "Dockerfile": dockerfile,
            "manage.py": _MANAGE,
            "mysite/settings.py": settings,
        }
        return rules_of(scan_tree(root, files, dockerfiles=((DEFAULT_IMAGE, root / "Dockerfile"),)))

    # Daphne's 60 s equals the default idle timeout; Django's own runserver never closes idle connections
    assert scan(tmp_path / "daphne", "INSTALLED_APPS = ['daphne']\n") == ["KA001"]
    assert scan(tmp_path / "lower", "INSTALLED_APPS = ['daphne']\n", idle_timeout=59) == []
    assert scan(tmp_path / "django", "INSTALLED_APPS = ['django.contrib.admin']\n") == []


@pytest.mark.parametrize(
    ("apps", "mode"),
    [
        # Django's get_commands: of the apps with a runserver, the first listed wins
        ("['daphne', 'django.contrib.staticfiles']", Mode.IDLE_TIMEOUT),
        ("['django.contrib.staticfiles', 'daphne']", Mode.NO_TIMEOUT),
        (
            "['django.contrib.staticfiles.apps.StaticFilesConfig', 'daphne.apps.DaphneConfig']",
            Mode.NO_TIMEOUT,
        ),
        # whitenoise.runserver_nostatic subclasses the runserver of the next app listed
        ("['whitenoise.runserver_nostatic', 'daphne', 'django.contrib.staticfiles']", Mode.IDLE_TIMEOUT),
        ("['whitenoise.runserver_nostatic', 'django.contrib.staticfiles', 'daphne']", Mode.NO_TIMEOUT),
        # channels before 4.0 has its own (Daphne); channels 4 leaves it to the next app
        ("['channels', 'django.contrib.staticfiles']", Mode.UNKNOWN),
        ("['channels', 'daphne', 'django.contrib.staticfiles']", Mode.IDLE_TIMEOUT),
        ("['django.contrib.staticfiles', 'channels']", Mode.NO_TIMEOUT),
    ],
)
def test_the_first_app_with_a_runserver_serves_it(tmp_path: Path, apps: str, mode: Mode) -> None:
    server = _project(tmp_path, {"mysite/settings.py": f"INSTALLED_APPS = {apps}\n"})
    assert server.keep_alive.mode is mode


def test_staticfiles_before_daphne_is_said(tmp_path: Path) -> None:
    settings = "INSTALLED_APPS = [\n    'django.contrib.staticfiles',\n    'daphne',\n]\n"
    server = _project(tmp_path, {"mysite/settings.py": settings})
    assert server.keep_alive.mode is Mode.NO_TIMEOUT
    assert (
        '("django.contrib.staticfiles" comes before "daphne" in the apps of mysite.settings, so its runserver '
        "(Django's own server) wins: of the apps with a runserver, Django takes the first listed)"
    ) in server.keep_alive.evidence.says
    location = server.keep_alive.evidence.location
    assert location is not None and location.path.endswith("web/mysite/settings.py") and location.line == 2


@pytest.mark.parametrize(
    ("settings", "mode"),
    [
        (
            "DJANGO_APPS = ['django.contrib.staticfiles']\nTHIRD = ['daphne']\nINSTALLED_APPS = THIRD + DJANGO_APPS\n",
            Mode.IDLE_TIMEOUT,
        ),
        (
            "DJANGO_APPS = ['django.contrib.staticfiles']\nTHIRD = ['daphne']\nINSTALLED_APPS = [*DJANGO_APPS, *THIRD]\n",
            Mode.NO_TIMEOUT,
        ),
        (
            "INSTALLED_APPS = ['django.contrib.staticfiles']\nINSTALLED_APPS.insert(0, 'daphne')\n",
            Mode.IDLE_TIMEOUT,
        ),
        (
            "INSTALLED_APPS = ('django.contrib.staticfiles',)\nINSTALLED_APPS += ('daphne',)\n",
            Mode.NO_TIMEOUT,
        ),
        (
            "INSTALLED_APPS = ['django.contrib.staticfiles']\nINSTALLED_APPS.append('daphne')\n",
            Mode.NO_TIMEOUT,
        ),
        ("INSTALLED_APPS = ['daphne'] + load_apps()\n", Mode.IDLE_TIMEOUT),  # daphne first whatever follows
        ("INSTALLED_APPS = load_apps() + ['daphne']\n", Mode.UNKNOWN),  # load_apps() may list staticfiles
        # a change under a condition that moves daphne: not evaluated
        (
            "import os\nINSTALLED_APPS = ['django.contrib.staticfiles']\n"
            "if os.environ.get('ASGI'):\n    INSTALLED_APPS.insert(0, 'daphne')\n",
            Mode.UNKNOWN,
        ),
        # one that does not: irrelevant
        (
            "DEBUG = True\nINSTALLED_APPS = ['daphne', 'django.contrib.staticfiles']\n"
            "if DEBUG:\n    INSTALLED_APPS += ['debug_toolbar']\n",
            Mode.IDLE_TIMEOUT,
        ),
    ],
)
def test_the_order_of_installed_apps_is_followed(tmp_path: Path, settings: str, mode: Mode) -> None:
    server = _project(tmp_path, {"mysite/settings.py": settings})
    assert server.keep_alive.mode is mode
