"""The promises the README makes: its commands, its examples, its generated tables."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from policies.docs import expected
from policies.rules import Severity
from policies.scan import scan

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_has_exactly_the_two_setup_commands_and_ci_runs_the_test_one() -> None:
    run_examples, run_tests = readme_commands()
    assert run_examples.endswith("keepalive-guard scan examples/")
    assert run_tests.endswith("pytest")
    assert run_tests in (ROOT / ".ci" / "run").read_text()


def test_examples_broken_has_findings_and_fixed_has_none() -> None:
    broken = scan([ROOT / "examples" / "terraform" / "broken"])
    fixed = scan([ROOT / "examples" / "terraform" / "fixed"])
    assert [finding.rule for finding in broken.findings] == ["KA001", "DR001"]
    assert all(finding.severity is Severity.ERROR for finding in broken.findings)
    assert fixed.findings == () and fixed.errors == ()
    assert len(fixed.targets) == 1


def test_scanning_all_examples_prints_the_story() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "policies", "scan", "examples/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "examples/terraform/broken/main.tf:16: error KA001" in result.stdout
    assert (
        "fix: Add `--keep-alive 65` to the gunicorn command at examples/terraform/broken/main.tf:16"
        in result.stdout
    )
    assert "examples/terraform/fixed" not in result.stdout.split("\n\n")[-1]
    # the checkout service leaves its command to its image: the Dockerfile mapped in
    # examples/.keepalive-guard.toml runs `npm start`, which package.json makes `node dist/server.js`
    assert "examples/checkout/package.json:6: error KA001" in result.stdout
    words = " ".join(result.stdout.split())
    assert "node (dist/server.js, started by npm start)" in words
    assert "`node dist/server.js` on Node 22 (image `node:22-alpine`)" in words
    # the plan of a stack built from registry modules (examples/plan/README.md)
    # whose services take their task definitions from a local the plan does not describe: not guessed
    assert "examples/plan/plan.json:192: warning KA002" in result.stdout
    assert "comes through local.task_definition, which the plan does not describe" in " ".join(
        result.stdout.split()
    )
    # a CloudFormation template: gunicorn's --keep-alive=5 behind the ALB's default 60 s
    assert "examples/cloudformation/web.yaml:55: error KA001" in result.stdout
    assert result.stdout.splitlines()[-1] == "4 errors, 2 warnings in 6 load balancer targets (9 files read)"


def test_generated_documentation_is_current() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, content in expected().items()
        if not path.exists() or path.read_text() != content
    ]
    assert stale == [], "run: python -m policies.docs"
