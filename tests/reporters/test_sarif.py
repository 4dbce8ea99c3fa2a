"""SARIF: valid against the SARIF 2.1.0 schema, and carrying what code scanning shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from policies import rule_url
from policies.rules import RULES
from tests.reporters import mixed, run

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def sarif(root: Path, *args: str) -> tuple[dict[str, Any], int]:
    result = run("scan", ".", "--format", "sarif", "--output", "report.sarif", *args, cwd=root)
    assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
    document = json.loads((root / "report.sarif").read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document), key=str)
    assert not errors, [f"{list(error.path)}: {error.message}" for error in errors]
    return document, result.returncode


def test_the_schema_rejects_what_is_not_sarif() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert not validator.is_valid({"version": "2.1.0", "runs": [{"tool": {}}]})  # no driver
    assert not validator.is_valid({"version": "2.1.0", "runs": [], "extra": 1})
    assert validator.is_valid({"version": "2.1.0", "runs": []})


def test_rules_results_locations_and_notifications(tmp_path: Path) -> None:
    document, code = sarif(mixed(tmp_path))
    assert code == 1
    assert document["version"] == "2.1.0"
    (run_,) = document["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "keepalive-guard"
    assert [rule["id"] for rule in driver["rules"]] == [rule.id for rule in RULES]
    for rule, described in zip(RULES, driver["rules"], strict=True):
        assert described["helpUri"] == rule_url(rule.id)
        assert described["help"]["text"].startswith("## What it does")
        assert described["defaultConfiguration"]["level"] == rule.severity.value
    results = run_["results"]
    error = next(r for r in results if r["ruleId"] == "KA001" and "suppressions" not in r)
    assert error["level"] == "error" and error["ruleIndex"] == 0
    assert error["message"]["text"].endswith(
        "Fix: Add `--timeout-keep-alive 65` to the uvicorn command at broken/main.tf:36"
    )
    (place,) = error["locations"]
    assert place["physicalLocation"] == {
        "artifactLocation": {"uri": "broken/main.tf", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 36},
    }
    # the other side of the mismatch: the load balancer's idle timeout
    (related,) = error["relatedLocations"]
    assert related["physicalLocation"]["region"] == {"startLine": 1}
    assert related["message"]["text"] == "the load balancer's idle timeout (60 s)"
    assert len(error["partialFingerprints"]["keepaliveGuard/v1"]) == 32
    warning = next(r for r in results if r["ruleId"] == "KA002")
    assert warning["level"] == "warning" and warning["ruleIndex"] == 1
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    (invocation,) = run_["invocations"]
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error" and notification["message"]["text"].startswith("HCL syntax error")
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad/main.tf"
    assert "baselineState" not in error


def test_acknowledged_findings_are_suppressed_results(tmp_path: Path) -> None:
    document, _ = sarif(mixed(tmp_path))
    (acknowledged,) = [r for r in document["runs"][0]["results"] if "suppressions" in r]
    assert acknowledged["ruleId"] == "KA001"
    assert (
        acknowledged["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "acknowledged/main.tf"
    )
    assert acknowledged["suppressions"] == [
        {
            "kind": "inSource",
            "status": "accepted",
            "justification": "an nginx sidecar terminates the ALB connections",
            "location": {
                "physicalLocation": {
                    "artifactLocation": {"uri": "acknowledged/main.tf", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 1},
                }
            },
        }
    ]


def test_baselined_findings_are_unchanged_and_new_ones_new(tmp_path: Path) -> None:
    root = mixed(tmp_path)
    assert run("baseline", "create", "broken", "-o", "baseline.json", cwd=root).returncode == 0
    document, code = sarif(root, "--baseline", "baseline.json")
    assert code == 2  # the only error is in the baseline; KA002 (new) is a warning; bad/ cannot be analysed
    results = document["runs"][0]["results"]
    states = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): r for r in results
    }
    old = states[("KA001", "broken/main.tf")]
    assert old["baselineState"] == "unchanged" and old["suppressions"][0]["kind"] == "external"
    assert old["suppressions"][0]["justification"] == "recorded in the baseline baseline.json"
    assert states[("KA002", "unknown/main.tf")]["baselineState"] == "new"
    assert all("baselineState" in result for result in results)


def test_paths_with_spaces_are_uri_encoded(tmp_path: Path) -> None:
    mixed(tmp_path / "my infra")
    document, _ = sarif(tmp_path)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in document["runs"][0]["results"]
    }
    assert "my%20infra/broken/main.tf" in uris


def test_paths_start_at_the_repository_root_wherever_the_scan_runs(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    infra = mixed(tmp_path / "infra")
    document, _ = sarif(infra)
    (run_,) = document["runs"]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run_["results"]}
    assert "infra/broken/main.tf" in uris
    prints = sorted(r["partialFingerprints"]["keepaliveGuard/v1"] for r in run_["results"])
    result = run("scan", "infra", "--format", "sarif", cwd=tmp_path)  # from the root: the same fingerprints
    again = json.loads(result.stdout)["runs"][0]["results"]
    assert sorted(r["partialFingerprints"]["keepaliveGuard/v1"] for r in again) == prints


def test_github_workspace_is_the_root_in_github_actions(tmp_path: Path) -> None:
    infra = mixed(tmp_path / "checkout" / "infra")
    result = run(
        "scan", ".", "--format", "sarif", cwd=infra, env={"GITHUB_WORKSPACE": str(tmp_path / "checkout")}
    )
    results = json.loads(result.stdout)["runs"][0]["results"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} >= {
        "infra/broken/main.tf"
    }


def test_findings_on_the_same_resources_get_distinct_fingerprints(tmp_path: Path) -> None:
    template = (Path(__file__).parents[1] / "fixtures" / "cloudformation" / "intrinsics.yaml").read_text()
    (tmp_path / "intrinsics.yaml").write_text(template, encoding="utf-8")
    document, _ = sarif(tmp_path)
    prints = [r["partialFingerprints"]["keepaliveGuard/v1"] for r in document["runs"][0]["results"]]
    assert len(prints) == len(set(prints)) and any(p.endswith(":2") for p in prints), prints
