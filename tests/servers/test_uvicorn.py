from __future__ import annotations

from pathlib import Path

import pytest

from policies.servers.base import Mode
from tests.helpers import server_of


@pytest.mark.parametrize(
    ("command", "environment", "seconds", "says"),
    [
        (["uvicorn", "main:app"], None, 5, "uvicorn's default is 5 s"),
        (
            ["uvicorn", "main:app", "--timeout-keep-alive", "75"],
            None,
            75,
            "`--timeout-keep-alive 75` in the command",
        ),
        (["uvicorn", "main:app", "--timeout-keep-alive=65"], None, 65, "`--timeout-keep-alive=65`"),
        (["uvicorn", "main:app"], {"UVICORN_TIMEOUT_KEEP_ALIVE": "90"}, 90, "UVICORN_TIMEOUT_KEEP_ALIVE=90"),
        # the command line wins over the environment (click: CLI options take precedence)
        (
            ["uvicorn", "main:app", "--timeout-keep-alive", "70"],
            {"UVICORN_TIMEOUT_KEEP_ALIVE": "3"},
            70,
            "in the command",
        ),
        (["python", "-m", "uvicorn", "main:app", "--host", "0.0.0.0"], None, 5, "default"),
        (["uv", "run", "--frozen", "uvicorn", "main:app"], None, 5, "default"),
        (
            ["opentelemetry-instrument", "--traces_exporter", "otlp", "uvicorn", "main:app"],
            None,
            5,
            "default",
        ),
        # 0 closes right after each response without Connection: close: still a race
        (["uvicorn", "main:app", "--timeout-keep-alive", "0"], None, 0, "--timeout-keep-alive 0"),
    ],
)
def test_uvicorn_keep_alive(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, seconds: float, says: str
) -> None:
    server = server_of(tmp_path, command=command, environment=environment)
    assert server.name == "uvicorn"
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == seconds
    assert says in server.keep_alive.evidence.says
    assert server.request_timeout is None


@pytest.mark.parametrize("command", [["fastapi", "run", "app/main.py", "--port", "80"], ["fastapi", "run"]])
def test_fastapi_run_is_uvicorn_with_its_default(tmp_path: Path, command: list[str]) -> None:
    # FastAPI's Docker guide: CMD ["fastapi", "run", "app/main.py", "--port", "80"]
    server = server_of(tmp_path, command=command)
    assert server.name == "FastAPI CLI"
    assert server.keep_alive.seconds == 5
    assert server.remedy.startswith(
        "serve with `uvicorn <module>:app --host 0.0.0.0 --timeout-keep-alive {seconds}`"
    )
