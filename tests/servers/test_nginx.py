from __future__ import annotations

from pathlib import Path

import pytest

from policies.servers.base import Mode
from tests.helpers import server_of


@pytest.mark.parametrize(
    ("image", "command", "seconds"),
    [
        ("nginx:1.27-alpine", ["nginx", "-g", "daemon off;"], 65),  # the official image's nginx.conf
        ("public.ecr.aws/nginx/nginx:stable", ["nginx", "-g", "daemon off;"], 65),
        ("nginxinc/nginx-unprivileged:1.27", ["nginx", "-g", "daemon off;"], 65),
        # a custom configuration decides, and it is not visible: unknown rather than assumed
        ("nginx:1.27", ["nginx", "-c", "/etc/nginx/custom.conf", "-g", "daemon off;"], None),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/edge:7", ["nginx", "-g", "daemon off;"], None),
    ],
)
def test_nginx_keep_alive(tmp_path: Path, image: str, command: list[str], seconds: int | None) -> None:
    server = server_of(tmp_path, command=command, image=image)
    assert server.name == "nginx"
    assert server.keep_alive.seconds == seconds
    assert (server.keep_alive.mode is Mode.UNKNOWN) is (seconds is None)
    assert "keepalive_timeout" in server.keep_alive.evidence.says


def test_official_image_without_command_runs_nginx(tmp_path: Path) -> None:
    server = server_of(tmp_path, image="nginx:1.27-alpine", idle_timeout=120)
    assert server.name == "nginx" and server.keep_alive.seconds == 65
    assert server_of(tmp_path, image="example/edge:1").keep_alive.mode is Mode.UNKNOWN
