"""The GitHub Action, the pre-commit hooks and the GitLab CI example: valid for the tools that read them,
and running the real entry point."""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pre_commit.clientlib import InvalidManifestError, load_manifest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
BROKEN = str(ROOT / "examples" / "terraform" / "broken")


def schemastore(name: str) -> jsonschema.protocols.Validator:
    """A schema that check-jsonschema vendors from SchemaStore."""
    files = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((files / name).read_text(encoding="utf-8"))
    validator: jsonschema.protocols.Validator = jsonschema.validators.validator_for(schema)(schema)
    return validator


def errors(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(document)]


def bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A `run:`/`script:` line as the CI runner runs it, with this environment's keepalive-guard first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": path, **env},
    )


def test_the_entry_point_is_the_command_line() -> None:
    assert SCRIPTS == {"keepalive-guard": "policies.cli:main"}


# --- GitHub Action ---------------------------------------------------------------------------------

ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def step(name: str) -> dict[str, Any]:
    return next(item for item in ACTION["runs"]["steps"] if item["name"] == name)


def test_action_is_a_valid_composite_action() -> None:
    validator = schemastore("github-actions.json")
    assert errors(validator, ACTION) == []
    assert errors(validator, {**ACTION, "runs": {"using": "composite", "steps": [{"run": "x"}]}})  # no shell
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) >= {"paths", "format", "fail-on", "upload-sarif", "sarif-file"}


def test_action_installs_this_project_and_runs_its_entry_point() -> None:
    assert '"$GITHUB_ACTION_PATH"' in step("Install keepalive-guard")["run"]  # pip install of this checkout
    assert step("Scan")["run"].count("keepalive-guard scan ") == 1
    upload = step("Upload SARIF")
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert "inputs.upload-sarif == 'true'" in upload["if"]
    # inputs reach the scripts through the environment, never spliced into the script text
    for item in ACTION["runs"]["steps"]:
        assert "${{" not in item.get("run", "")


def test_action_scan_and_gate_steps(tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    output.write_text("", encoding="utf-8")
    environment = {
        "PATHS": f"{BROKEN}\n{ROOT / 'examples' / 'cloudformation'}",
        "FORMAT": "github",
        "FAIL_ON": "error",
        "SARIF_FILE": "reports/keepalive-guard.sarif",
        "ARGS": "--strict --min-margin 0",
        "GITHUB_OUTPUT": str(output),
    }
    scanned = bash(step("Scan")["run"], tmp_path, **environment)
    assert scanned.returncode == 0, scanned.stderr  # the step itself never fails: the gate does
    assert output.read_text(encoding="utf-8") == "exit-code=1\n"
    annotations = [line for line in scanned.stdout.splitlines() if line.startswith("::error file=")]
    assert any("cloudformation/web.yaml" in line for line in annotations)
    assert any("terraform/broken/main.tf" in line for line in annotations)
    sarif = json.loads((tmp_path / "reports" / "keepalive-guard.sarif").read_text(encoding="utf-8"))
    assert len(sarif["runs"][0]["results"]) == len(annotations)
    gate = bash(step("Gate")["run"], tmp_path, CODE="1")
    assert gate.returncode == 1
    assert bash(step("Gate")["run"], tmp_path, CODE="0").returncode == 0


def test_github_workflow_example_uses_the_action() -> None:
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "github-workflow.yml").read_text(encoding="utf-8"))
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as true; GitHub reads YAML 1.2
    assert errors(schemastore("github-workflows.json"), workflow) == []
    uses = [
        step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "keepalive-guard" in step.get("uses", "")
    ]
    assert len(uses) == 2
    for used in uses:
        assert set(used["with"]) <= set(ACTION["inputs"])  # only inputs the action has


# --- pre-commit -------------------------------------------------------------------------------------


def test_pre_commit_hooks_are_a_valid_manifest_running_the_entry_point() -> None:
    hooks = {hook["id"]: hook for hook in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    assert set(hooks) == {"keepalive-guard-terraform", "keepalive-guard-cloudformation"}
    for hook in hooks.values():
        assert hook["language"] == "python"  # pre-commit pip-installs this repository
        assert hook["entry"].split()[0] in SCRIPTS and hook["entry"].split()[1] == "scan"
    terraform = re.compile(hooks["keepalive-guard-terraform"]["files"])
    for name in (
        "main.tf",
        "infra/envs/prod.tfvars",
        "x.tf.json",
        "services/web/Dockerfile",
        ".keepalive-guard.toml",
    ):
        assert terraform.search(name), name
    for name in ("README.md", "main.tfstate", "web.yaml", "notDockerfile/x.py"):
        assert not terraform.search(name), name
    cloudformation = re.compile(hooks["keepalive-guard-cloudformation"]["files"])
    for name in ("template.yaml", "stack.yml", "cdk.out/Web.template.json", "web.template"):
        assert cloudformation.search(name), name
    assert not cloudformation.search("main.tf")


def test_pre_commit_rejects_a_broken_manifest(tmp_path: Path) -> None:
    broken = tmp_path / ".pre-commit-hooks.yaml"
    broken.write_text("- id: x\n  entry: keepalive-guard scan\n", encoding="utf-8")  # no name, no language
    with pytest.raises(InvalidManifestError):
        load_manifest(str(broken))


def test_pre_commit_hook_command_runs(tmp_path: Path) -> None:
    (hook,) = [
        h for h in load_manifest(str(ROOT / ".pre-commit-hooks.yaml")) if h["id"].endswith("terraform")
    ]
    result = bash(" ".join([hook["entry"], *hook["args"]]), ROOT / "examples" / "terraform" / "fixed")
    assert result.returncode == 0 and "0 errors, 0 warnings" in result.stdout, result.stdout + result.stderr


# --- GitLab CI ----------------------------------------------------------------------------------------

GITLAB: dict[str, Any] = yaml.safe_load(
    (ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8")
)


def test_gitlab_example_is_valid_gitlab_ci() -> None:
    validator = schemastore("gitlab-ci.json")
    assert errors(validator, GITLAB) == []
    assert errors(validator, {"job": {"script": "x", "artifacts": {"reports": {"junit": 3}}}})


def test_gitlab_example_scan_writes_the_junit_report_it_publishes(tmp_path: Path) -> None:
    job = GITLAB["keepalive-guard"]
    install, scan = job["script"]
    assert '"$KEEPALIVE_GUARD"' in install
    result = bash(scan, tmp_path, KEEPALIVE_GUARD_PATHS=BROKEN)
    assert result.returncode == 1  # the job fails on the broken example
    assert "error KA001" in result.stdout
    report = ET.parse(tmp_path / job["artifacts"]["reports"]["junit"]).getroot()
    assert report.tag == "testsuites" and report.get("failures") == "1"
    assert (
        json.loads((tmp_path / job["artifacts"]["paths"][0]).read_text(encoding="utf-8"))["summary"]["errors"]
        == 2
    )
