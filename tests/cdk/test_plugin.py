"""KeepAlivePolicyPlugin in CDK's policy validation: real synthesis, CDK's own validation report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from cdk_constructs import KeepAlivePolicyPlugin
from tests.cdk.apps import pattern

GUNICORN = ["gunicorn", "--threads", "4", "app:app"]


def synthesize(app: cdk.App, outdir: Path) -> dict[str, Any] | None:
    """Synthesizes; None when validation passed, else keepalive-guard's part of CDK's report."""
    try:
        app.synth()
    except RuntimeError as error:
        assert "validation-report.json" in str(error)
        report = json.loads((outdir / "validation-report.json").read_text())
        (ours,) = [plugin for plugin in report["pluginReports"] if plugin["pluginName"] == "keepalive-guard"]
        return ours
    return None


def test_a_raw_override_the_aspect_cannot_see_fails_the_synthesis(tmp_path: Path) -> None:
    outdir = tmp_path / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    cdk.Validations.of(app).add_plugins(KeepAlivePolicyPlugin())
    service = pattern(cdk.Stack(app, "Web"), ["uvicorn", "app:app", "--timeout-keep-alive", "125"])
    service.task_definition.node.default_child.add_property_override(
        "ContainerDefinitions.0.Command", GUNICORN
    )
    report = synthesize(app, outdir)
    assert report is not None and report["conclusion"] == "failure"
    assert report["metadata"] == {"targets checked": "1", "acknowledged": "0"}
    (violation,) = report["violations"]
    assert violation["ruleName"] == "KA001" and violation["severity"] == "error"
    assert violation["description"].startswith("gunicorn (gthread worker, because of `--threads 4`)")
    assert "120 s idle timeout of the load balancer ApiLB" in violation["description"]
    assert violation["suggestedFix"].startswith("Add `--keep-alive 125` to the gunicorn command")
    (construct,) = violation["violatingConstructs"]
    assert construct["constructPath"] == "Web/Api/TaskDef"
    assert construct["cloudFormationResource"]["templatePath"] == "Web.template.json"
    assert construct["cloudFormationResource"]["logicalId"].startswith("ApiTaskDef")


def test_the_fixed_app_synthesizes(tmp_path: Path) -> None:
    outdir = tmp_path / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    cdk.Validations.of(app).add_plugins(KeepAlivePolicyPlugin())
    pattern(cdk.Stack(app, "Web"), ["uvicorn", "app:app", "--timeout-keep-alive", "125"])
    assert synthesize(app, outdir) is None


def test_cdk_acknowledges_by_construct_path_and_warnings_pass_unless_strict(tmp_path: Path) -> None:
    outdir = tmp_path / "ack" / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    cdk.Validations.of(app).add_plugins(KeepAlivePolicyPlugin())
    stack = cdk.Stack(app, "Web")
    service = pattern(stack, GUNICORN)
    cdk.Validations.of(service).acknowledge(
        cdk.Acknowledgment(id="keepalive-guard::KA001", reason="internal tool, retries on 502")
    )
    assert synthesize(app, outdir) is None

    for strict in (False, True):
        outdir = tmp_path / f"strict-{strict}" / "cdk.out"
        app = cdk.App(outdir=str(outdir))
        cdk.Validations.of(app).add_plugins(KeepAlivePolicyPlugin(strict=strict))
        pattern(cdk.Stack(app, "Web"), ["./server"])
        report = synthesize(app, outdir)
        if strict:
            assert report is not None and [v["ruleName"] for v in report["violations"]] == ["KA002"]
        else:
            assert report is None


def test_the_deprecated_app_property_and_stages(tmp_path: Path) -> None:
    """`App(policy_validation_beta1=...)` still works; a Stage's stacks are read from its own assembly."""
    outdir = tmp_path / "cdk.out"
    app = cdk.App(outdir=str(outdir), policy_validation_beta1=[KeepAlivePolicyPlugin(min_margin=10)])
    stage = cdk.Stage(app, "Prod")
    pattern(cdk.Stack(stage, "Web"), ["uvicorn", "app:app", "--timeout-keep-alive", "125"])
    report = synthesize(app, outdir)
    assert report is not None
    (violation,) = report["violations"]
    assert "120 s idle timeout + the 10 s margin" in violation["description"]
    (construct,) = violation["violatingConstructs"]
    assert construct["constructPath"] == "Prod/Web/Api/TaskDef"
