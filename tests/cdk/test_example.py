"""The actual `cdk synth` of examples/cdk, with the CDK CLI the example pins (examples/cdk/package.json,
installed by the README's test command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "cdk"
CLI = EXAMPLE / "node_modules" / ".bin" / "cdk"


def cdk_synth(app: str, out: Path) -> subprocess.CompletedProcess[str]:
    assert CLI.exists(), (
        "the CDK CLI is missing: the README's test command installs it (npm ci --prefix examples/cdk)"
    )
    environment = {
        **os.environ,
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "CDK_DISABLE_VERSION_CHECK": "true",
    }
    command = [str(CLI), "synth", "--app", f"{sys.executable} {app}", "--output", str(out), "--no-notices"]
    return subprocess.run(command, cwd=EXAMPLE, env=environment, capture_output=True, text=True, timeout=300)


def test_cdk_synth_of_the_example_fails_with_the_guards_message(tmp_path: Path) -> None:
    done = cdk_synth("app.py", tmp_path / "cdk.out")
    assert done.returncode == 1, done.stderr[-3000:]
    assert (
        'ERROR [KA001] uvicorn in container "web" of ApiServiceD5B4A50A (Checkout/Api/Service/Service)'
        in done.stderr
    )
    assert "closes idle keep-alive connections after 5 s" in done.stderr
    assert "Fix: Add `--timeout-keep-alive 65` to the uvicorn command" in done.stderr
    assert "Checkout/Api/TaskDef/Resource" in done.stderr


def test_cdk_synth_of_the_fixed_example_passes(tmp_path: Path) -> None:
    done = cdk_synth("app_fixed.py", tmp_path / "cdk.out")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[KA00" not in done.stderr and "[DR00" not in done.stderr
    template = json.loads((tmp_path / "cdk.out" / "Checkout.template.json").read_text())
    (definition,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    (container,) = definition["Properties"]["ContainerDefinitions"]
    assert container["Environment"] == [{"Name": "UVICORN_TIMEOUT_KEEP_ALIVE", "Value": "65"}]
