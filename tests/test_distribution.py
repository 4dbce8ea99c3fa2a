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

from tests.helpers import service_tf

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
    install = step("Install keepalive-guard")["run"]
    assert 'pip install --disable-pip-version-check --quiet "$GITHUB_ACTION_PATH"' in install  # this checkout
    assert step("Scan")["run"].count('"$RUNNER_TEMP/keepalive-guard/bin/keepalive-guard" scan ') == 1
    upload = step("Upload SARIF")
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["continue-on-error"] is True
    assert "inputs.upload-sarif == 'true'" in step("Keep the findings to upload")["if"]
    # inputs reach the scripts through the environment, never spliced into the script text
    for item in ACTION["runs"]["steps"]:
        assert "${{" not in item.get("run", "")


def runner(tmp_path: Path) -> dict[str, str]:
    """What the action's steps find on a runner: $RUNNER_TEMP with the installed keepalive-guard, and
    $GITHUB_OUTPUT."""
    environment = tmp_path / "runner"
    (environment / "keepalive-guard" / "bin").mkdir(parents=True)
    installed = Path(sys.executable).parent
    for name in ("keepalive-guard", "python"):
        (environment / "keepalive-guard" / "bin" / name).symlink_to(installed / name)
    output = tmp_path / "github_output"
    output.write_text("", encoding="utf-8")
    return {"RUNNER_TEMP": str(environment), "GITHUB_OUTPUT": str(output)}


def outputs(environment: dict[str, str]) -> dict[str, str]:
    lines = Path(environment["GITHUB_OUTPUT"]).read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_action_scan_upload_and_gate_steps(tmp_path: Path) -> None:
    environment = runner(tmp_path)
    work = tmp_path / "work"
    (work / "my infra").mkdir(parents=True)
    suppressed = (ROOT / "examples" / "cloudformation" / "web.yaml").read_text(encoding="utf-8")
    marker = "  TaskDefinition:\n"
    (work / "my infra" / "web.yaml").write_text(
        suppressed.replace(marker, "  # keepalive-guard:ignore KA001 nginx in front\n" + marker),
        encoding="utf-8",
    )
    inputs = {
        "PATHS": f"{BROKEN}\n  my infra  \n",  # one per line: spaces inside a path are kept
        "FORMAT": "github",
        "FAIL_ON": "",
        "SARIF_FILE": "reports/keepalive-guard.sarif",
        "ARGS": "--strict --min-margin 0",
    }
    scanned = bash(step("Scan")["run"], work, **environment, **inputs)
    assert scanned.returncode == 0, scanned.stderr  # the step itself never fails: the gate does
    assert outputs(environment) == {"exit-code": "1"}
    annotations = [line for line in scanned.stdout.splitlines() if line.startswith("::error file=")]
    assert any("terraform/broken/main.tf" in line for line in annotations)
    sarif = json.loads((work / "reports" / "keepalive-guard.sarif").read_text(encoding="utf-8"))
    results = sarif["runs"][0]["results"]
    assert sum(1 for result in results if "suppressions" in result) == 1  # the file keeps every finding
    kept = bash(
        step("Keep the findings to upload")["run"], work, **environment, SARIF_FILE=inputs["SARIF_FILE"]
    )
    assert kept.returncode == 0, kept.stderr
    upload = Path(outputs(environment)["sarif"])
    uploaded = json.loads(upload.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert len(uploaded) == len(results) - 1 and not any("suppressions" in result for result in uploaded)
    assert bash(step("Gate")["run"], work, CODE="1").returncode == 1
    assert bash(step("Gate")["run"], work, CODE="0").returncode == 0


def test_action_fail_on_defaults_to_the_configuration_and_no_paths_pass(tmp_path: Path) -> None:
    environment = runner(tmp_path)
    work = tmp_path / "work"
    (work / "infra").mkdir(parents=True)
    (work / "infra" / "main.tf").write_text(service_tf(command=["uvicorn", "app:app"]), encoding="utf-8")
    (work / ".keepalive-guard.toml").write_text('fail_on = "never"\n', encoding="utf-8")
    inputs = {"PATHS": "infra", "FORMAT": "text", "FAIL_ON": "", "SARIF_FILE": "k.sarif", "ARGS": ""}
    assert bash(step("Scan")["run"], work, **environment, **inputs).returncode == 0
    assert outputs(environment) == {"exit-code": "0"}  # fail_on = "never" from the configuration
    environment = runner(tmp_path / "again")
    scanned = bash(step("Scan")["run"], work, **environment, **{**inputs, "FAIL_ON": "error"})
    assert scanned.returncode == 0 and outputs(environment) == {"exit-code": "1"}  # the input wins
    environment = runner(tmp_path / "none")
    nothing = bash(step("Scan")["run"], work, **environment, **{**inputs, "PATHS": " \n "})
    assert nothing.stdout == "::notice title=keepalive-guard::no paths to scan\n"
    assert outputs(environment) == {"exit-code": "0"}


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
