"""A scan with one of everything the reporters show, run through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import service_tf, write_tree

ROOT = Path(__file__).resolve().parents[2]
SUPPRESSED = service_tf(command=["uvicorn", "app:app"]).replace(
    'resource "aws_lb" "web" {',
    '# keepalive-guard:ignore KA001 an nginx sidecar terminates the ALB connections\nresource "aws_lb" "web" {',
)
MIXED = {
    "broken/main.tf": service_tf(command=["uvicorn", "app:app"]),  # KA001, an error
    "unknown/main.tf": service_tf(),  # KA002, a warning: the image's own command is not visible
    "acknowledged/main.tf": SUPPRESSED,  # KA001, acknowledged
    "fixed/main.tf": service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "75"]),  # clean
    "bad/main.tf": "locals {\n",  # an input that cannot be analysed
}


def mixed(root: Path) -> Path:
    return write_tree(root, MIXED)


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GITHUB_")}
    return subprocess.run(
        [sys.executable, "-m", "policies", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**environment, "PYTHONPATH": str(ROOT), **(env or {})},
    )
