"""Baselines (policies/baseline.py): `baseline create`, `scan --baseline` and `baseline = "…"` in the
configuration, through the real command line and real scans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from policies import __version__, baseline
from policies.scan import scan
from tests.helpers import line_of, service_tf, write_tree

ROOT = Path(__file__).resolve().parents[1]
# uvicorn's default keep-alive (5 s) against the ALB's 60 s, and a 5 s deregistration delay: KA001, DR001.
BROKEN = service_tf(command=["uvicorn", "app:app"], deregistration_delay=5)
SUMMARY = "0 errors, 0 warnings in 1 load balancer target (1 file read); 2 in the baseline {}"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policies", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def report(*args: str, cwd: Path, code: int) -> dict[str, Any]:
    """The JSON report of `scan *args`, which must exit with `code`."""
    result = run("scan", *args, "--format", "json", cwd=cwd)
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def rules(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((entry["rule"], entry["service"]) for entry in entries)


def renamed(text: str, name: str) -> str:
    """The chain of `service_tf` with every resource named `name` instead: another service."""
    for old in ('"web" {', '"http" {', '"app" {'):
        text = text.replace(old, f'"{name}" {{')
    return text.replace("aws_lb.web.", f"aws_lb.{name}.").replace(".app.arn", f".{name}.arn")


def reordered(text: str) -> str:
    """The resources of `text` in reverse order."""
    first, *rest = text.split("\n\nresource ")
    return "\n".join(reversed([first.strip() + "\n", *(f"resource {block.strip()}\n" for block in rest)]))


def create(tmp_path: Path, files: dict[str, str], *args: str) -> None:
    """`files` written under tmp_path, and `baseline create *args` run there."""
    write_tree(tmp_path, files)
    result = run("baseline", "create", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# --- round trip ---------------------------------------------------------------------------------


def test_create_then_scan_with_the_baseline(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": BROKEN})
    created = run("baseline", "create", ".", "-o", "base.json", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stdout == ""
    assert created.stderr == "keepalive-guard: wrote 2 findings to base.json\n"
    document = json.loads((tmp_path / "base.json").read_text())
    assert document["schema_version"] == 1 and document["version"] == __version__
    entries = sorted(document["findings"], key=lambda entry: entry["rule"])
    assert [
        {key: entry[key] for key in ("rule", "unit", "load_balancer", "target_group", "service", "container")}
        for entry in entries
    ] == [
        {
            "rule": rule,
            "unit": ".",
            "load_balancer": "aws_lb.web",
            "target_group": "aws_lb_target_group.app",
            "service": "aws_ecs_service.app",
            "container": "app",
        }
        for rule in ("DR001", "KA001")
    ]
    assert all(len(entry["fingerprint"]) == 32 for entry in entries)
    assert entries[0]["fingerprint"] != entries[1]["fingerprint"]
    assert "uvicorn" in entries[1]["message"]

    # without the baseline the scan fails; with it, nothing is new
    assert run("scan", ".", cwd=tmp_path).returncode == 1
    scanned = report(".", "--baseline", "base.json", cwd=tmp_path, code=0)
    assert scanned["findings"] == []
    assert rules(scanned["baselined"]) == [("DR001", "aws_ecs_service.app"), ("KA001", "aws_ecs_service.app")]
    assert sorted(entry["fingerprint"] for entry in scanned["baselined"]) == sorted(
        entry["fingerprint"] for entry in entries
    )
    assert scanned["baseline"] == {"path": "base.json", "no_longer_found": 0}
    assert scanned["summary"] == {
        "errors": 0,
        "warnings": 0,
        "targets": 1,
        "inputs": 1,
        "input_errors": 0,
        "suppressed": 0,
        "baselined": 2,
        "failing": 0,
    }
    text = run("scan", ".", "--baseline", "base.json", cwd=tmp_path)
    assert text.returncode == 0
    assert text.stdout.splitlines() == [SUMMARY.format("base.json")]
    verbose = run("scan", ".", "--baseline", "base.json", "-v", cwd=tmp_path).stdout
    assert verbose.count("in the baseline: ") == 2
    assert "in the baseline: KA001 at main.tf:" in verbose


def test_the_default_baseline_file_is_in_the_working_directory(tmp_path: Path) -> None:
    write_tree(tmp_path, {"infra/main.tf": BROKEN})
    created = run("baseline", "create", "infra", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stderr == "keepalive-guard: wrote 2 findings to .keepalive-guard-baseline.json\n"
    document = json.loads((tmp_path / ".keepalive-guard-baseline.json").read_text())
    assert sorted(entry["unit"] for entry in document["findings"]) == ["infra", "infra"]
    scanned = report("infra", "--baseline", ".keepalive-guard-baseline.json", cwd=tmp_path, code=0)
    assert scanned["findings"] == [] and len(scanned["baselined"]) == 2


def test_an_empty_baseline_baselines_nothing(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"main.tf": service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "75"])}
    )
    created = run("baseline", "create", ".", "-o", "base.json", cwd=tmp_path)
    assert created.returncode == 0
    assert created.stderr == "keepalive-guard: wrote 0 findings to base.json\n"
    assert json.loads((tmp_path / "base.json").read_text())["findings"] == []
    (tmp_path / "main.tf").write_text(BROKEN)
    scanned = report(".", "--baseline", "base.json", cwd=tmp_path, code=1)
    assert rules(scanned["findings"]) == [("DR001", "aws_ecs_service.app"), ("KA001", "aws_ecs_service.app")]
    assert scanned["baselined"] == []
    assert scanned["summary"]["failing"] == 2 and scanned["summary"]["baselined"] == 0


# --- what a fingerprint survives ----------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda text: "\n\n# The web service.\n// Owned by the platform team.\n\n" + text, id="lines"
        ),
        pytest.param(reordered, id="reordered"),
        pytest.param(
            lambda text: text.replace('"app:app"', '"app:app", "--timeout-keep-alive", "10"'),
            id="keep-alive-5-to-10",
        ),
        pytest.param(
            lambda text: text.replace("deregistration_delay = 5", "deregistration_delay = 20"),
            id="delay-5-to-20",
        ),
    ],
)
def test_fingerprints_survive_moves_and_still_wrong_values(tmp_path: Path, change: Any) -> None:
    create(tmp_path, {"main.tf": BROKEN}, ".", "-o", "base.json")
    before = sorted(scan([tmp_path]).findings, key=lambda finding: finding.rule)
    changed = change(BROKEN)
    assert changed != BROKEN
    (tmp_path / "main.tf").write_text(changed)
    # the findings did change (lines or values), and are the same two
    after = sorted(scan([tmp_path]).findings, key=lambda finding: finding.rule)
    assert [f.rule for f in after] == [f.rule for f in before] == ["DR001", "KA001"]
    assert [(f.locations, f.message) for f in after] != [(f.locations, f.message) for f in before]
    scanned = report(".", "--baseline", "base.json", cwd=tmp_path, code=0)
    assert scanned["findings"] == []
    assert rules(scanned["baselined"]) == [("DR001", "aws_ecs_service.app"), ("KA001", "aws_ecs_service.app")]
    assert scanned["baseline"] == {"path": "base.json", "no_longer_found": 0}


def test_fingerprint_ignores_lines_and_values_in_process(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a/main.tf": BROKEN})
    moved = "\n" * 7 + BROKEN.replace('"app:app"', '"app:app", "--timeout-keep-alive", "30"')
    write_tree(tmp_path, {"b/main.tf": moved})
    first, second = scan([tmp_path / "a"]), scan([tmp_path / "b"])
    by_rule = {finding.rule: finding for finding in first.findings}
    for finding in second.findings:
        other = by_rule[finding.rule]
        assert finding.location != other.location
        # relative to their own directories, the two units are the same unit
        assert baseline.fingerprint(finding, tmp_path / "b") == baseline.fingerprint(other, tmp_path / "a")
        # relative to one directory they are two units
        assert baseline.fingerprint(finding, tmp_path) != baseline.fingerprint(other, tmp_path)
    assert sorted(by_rule) == ["DR001", "KA001"]


def test_renaming_a_resource_retires_its_fingerprints(tmp_path: Path) -> None:
    create(tmp_path, {"main.tf": BROKEN}, ".", "-o", "base.json")
    (tmp_path / "main.tf").write_text(
        BROKEN.replace('resource "aws_ecs_service" "app"', 'resource "aws_ecs_service" "api"')
    )
    scanned = report(".", "--baseline", "base.json", cwd=tmp_path, code=1)
    assert rules(scanned["findings"]) == [("DR001", "aws_ecs_service.api"), ("KA001", "aws_ecs_service.api")]
    assert scanned["baselined"] == []
    assert scanned["baseline"] == {"path": "base.json", "no_longer_found": 2}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (("aws_lb", "web"), ("aws_lb", "edge")),
        (("aws_lb_target_group", "app"), ("aws_lb_target_group", "api")),
        (("aws_ecs_task_definition", "app"), ("aws_ecs_task_definition", "api")),
    ],
)
def test_each_resource_of_the_chain_is_in_the_fingerprint(
    tmp_path: Path, old: tuple[str, str], new: tuple[str, str]
) -> None:
    write_tree(tmp_path, {"main.tf": BROKEN})
    path = tmp_path / "base.json"
    path.write_text(baseline.create(scan([tmp_path]), path))
    text = BROKEN.replace(f'"{old[0]}" "{old[1]}"', f'"{new[0]}" "{new[1]}"')
    text = text.replace(f"{old[0]}.{old[1]}.", f"{new[0]}.{new[1]}.")
    (tmp_path / "main.tf").write_text(text)
    result = scan([tmp_path])
    assert sorted(finding.rule for finding in result.findings) == ["DR001", "KA001"]
    applied, gone = baseline.apply(result, baseline.read(path))
    assert (len(applied.findings), applied.baselined, gone) == (2, (), 2)


def test_the_container_name_is_in_the_fingerprint(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": BROKEN})
    path = tmp_path / "base.json"
    path.write_text(baseline.create(scan([tmp_path]), path))
    text = BROKEN.replace('      name = "app"', '      name = "api"')
    text = text.replace('container_name   = "app"', 'container_name   = "api"')
    assert text.count('"api"') == 2
    (tmp_path / "main.tf").write_text(text)
    result = scan([tmp_path])
    assert {finding.chain.container.name for finding in result.findings if finding.chain.container} == {"api"}
    applied, gone = baseline.apply(result, baseline.read(path))
    assert (len(applied.findings), applied.baselined, gone) == (2, (), 2)


# --- new and fixed findings ---------------------------------------------------------------------


def test_a_new_finding_fails_while_the_old_ones_stay_baselined(tmp_path: Path) -> None:
    create(tmp_path, {"main.tf": BROKEN}, ".", "-o", "base.json")
    worker = renamed(service_tf(command=["uvicorn", "worker:app"]), "worker")
    (tmp_path / "worker.tf").write_text(worker)
    scanned = report(".", "--baseline", "base.json", cwd=tmp_path, code=1)
    (new,) = scanned["findings"]
    assert (new["rule"], new["service"], new["load_balancer"]) == (
        "KA001",
        "aws_ecs_service.worker",
        "aws_lb.worker",
    )
    assert new["locations"][0]["path"] == "worker.tf"
    assert rules(scanned["baselined"]) == [("DR001", "aws_ecs_service.app"), ("KA001", "aws_ecs_service.app")]
    assert scanned["baseline"] == {"path": "base.json", "no_longer_found": 0}
    assert scanned["summary"]["errors"] == 1 and scanned["summary"]["failing"] == 1
    assert scanned["summary"]["baselined"] == 2 and scanned["summary"]["targets"] == 2
    text = run("scan", ".", "--baseline", "base.json", cwd=tmp_path)
    assert text.returncode == 1
    assert text.stdout.splitlines()[-1] == (
        "1 error, 0 warnings in 2 load balancer targets (2 files read); 2 in the baseline base.json"
    )
    assert "aws_ecs_service.worker" in text.stdout and "aws_ecs_service.app →" not in text.stdout


def test_a_fixed_finding_is_no_longer_found(tmp_path: Path) -> None:
    create(tmp_path, {"main.tf": BROKEN}, ".", "-o", "base.json")
    fixed = BROKEN.replace('"app:app"', '"app:app", "--timeout-keep-alive", "75"')
    (tmp_path / "main.tf").write_text(fixed)
    scanned = report(".", "--baseline", "base.json", cwd=tmp_path, code=0)
    assert scanned["findings"] == []
    assert rules(scanned["baselined"]) == [("DR001", "aws_ecs_service.app")]
    assert scanned["baseline"] == {"path": "base.json", "no_longer_found": 1}
    assert scanned["summary"]["baselined"] == 1
    text = run("scan", ".", "--baseline", "base.json", cwd=tmp_path)
    assert text.returncode == 0
    assert text.stdout.splitlines() == [
        "0 errors, 0 warnings in 1 load balancer target (1 file read); 1 in the baseline base.json "
        "(1 baseline finding no longer found: create the baseline again to drop them)"
    ]
    # both fixed: nothing is baselined, two are gone
    (tmp_path / "main.tf").write_text(fixed.replace("deregistration_delay = 5", "deregistration_delay = 300"))
    scanned = report(".", "--baseline", "base.json", cwd=tmp_path, code=0)
    assert scanned["baselined"] == [] and scanned["findings"] == []
    assert scanned["baseline"] == {"path": "base.json", "no_longer_found": 2}
    assert (
        "(2 baseline findings no longer found: "
        in run("scan", ".", "--baseline", "base.json", cwd=tmp_path).stdout
    )


def test_a_fingerprint_recorded_once_baselines_one_finding(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": BROKEN})
    result = scan([tmp_path])
    path = tmp_path / "base.json"
    path.write_text(baseline.create(result, path))
    known = baseline.read(path)
    assert known.path == path and sum(known.fingerprints.values()) == 2
    applied, gone = baseline.apply(result, known)
    assert (applied.findings, len(applied.baselined), gone) == ((), 2, 0)
    # a fingerprint recorded twice but found once: one no longer found
    doubled = baseline.Baseline(path, known.fingerprints + known.fingerprints)
    applied, gone = baseline.apply(result, doubled)
    assert (applied.findings, len(applied.baselined), gone) == ((), 2, 2)
    # a finding found twice but recorded once: the second is new
    twice = type(result)(
        result.findings + result.findings, result.errors, result.targets, result.skipped, result.inputs
    )
    applied, gone = baseline.apply(twice, known)
    assert (len(applied.findings), len(applied.baselined), gone) == (2, 2, 0)
    assert Counter(f.rule for f in applied.findings) == Counter({"KA001": 1, "DR001": 1})


# --- working directories ------------------------------------------------------------------------


def test_the_scan_may_run_from_another_directory(tmp_path: Path) -> None:
    write_tree(tmp_path, {"repo/infra/main.tf": BROKEN, "elsewhere/.keep": ""})
    created = run("baseline", "create", "repo/infra", "-o", "repo/kg-baseline.json", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    document = json.loads((tmp_path / "repo/kg-baseline.json").read_text())
    # the unit is relative to the baseline's directory, not to where it was created from
    assert [entry["unit"] for entry in document["findings"]] == ["infra", "infra"]
    # from the repository, from inside the module, from elsewhere by absolute paths
    for cwd, paths in [
        (tmp_path / "repo", ("infra", "--baseline", "kg-baseline.json")),
        (tmp_path / "repo/infra", (".", "--baseline", "../kg-baseline.json")),
        (
            tmp_path / "elsewhere",
            (str(tmp_path / "repo/infra"), "--baseline", str(tmp_path / "repo/kg-baseline.json")),
        ),
        (tmp_path / "elsewhere", ("../repo/infra/main.tf", "--baseline", "../repo/kg-baseline.json")),
    ]:
        scanned = report(*paths, cwd=cwd, code=0)
        assert scanned["findings"] == [], cwd
        assert len(scanned["baselined"]) == 2
        assert scanned["baseline"]["no_longer_found"] == 0


def test_a_moved_repository_still_matches(tmp_path: Path) -> None:
    write_tree(tmp_path, {"old/infra/main.tf": BROKEN})
    assert run("baseline", "create", "infra", "-o", "b.json", cwd=tmp_path / "old").returncode == 0
    os.rename(tmp_path / "old", tmp_path / "new")
    scanned = report("new/infra", "--baseline", "new/b.json", cwd=tmp_path, code=0)
    assert scanned["findings"] == [] and len(scanned["baselined"]) == 2


def test_the_report_fingerprint_is_the_baseline_fingerprint(tmp_path: Path) -> None:
    write_tree(tmp_path, {"infra/main.tf": BROKEN})
    assert run("baseline", "create", "infra", "-o", "b.json", cwd=tmp_path).returncode == 0
    recorded = sorted(
        entry["fingerprint"] for entry in json.loads((tmp_path / "b.json").read_text())["findings"]
    )
    reported = report("infra", cwd=tmp_path, code=1)["findings"]
    assert sorted(entry["fingerprint"] for entry in reported) == recorded


# --- the configuration file ---------------------------------------------------------------------


def test_the_baseline_named_in_the_configuration(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "repo/infra/main.tf": BROKEN,
            "repo/.keepalive-guard.toml": 'baseline = "ci/kg.json"\n',
            "out/.keep": "",
        },
    )
    missing = run("scan", "infra", cwd=tmp_path / "repo")
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert missing.stderr == (
        "keepalive-guard: ci/kg.json: no such baseline; create it with "
        "`keepalive-guard baseline create PATH... -o ci/kg.json`\n"
    )
    (tmp_path / "repo/ci").mkdir()
    created = run("baseline", "create", "infra", "-o", "ci/kg.json", cwd=tmp_path / "repo")
    assert created.returncode == 0, created.stderr
    # relative to the configuration file, wherever the scan runs from
    scanned = report("infra", cwd=tmp_path / "repo", code=0)
    assert scanned["baseline"] == {"path": "ci/kg.json", "no_longer_found": 0}
    assert len(scanned["baselined"]) == 2 and scanned["findings"] == []
    scanned = report("../repo/infra", cwd=tmp_path / "out", code=0)
    # shown as findings show paths: relative to the working directory when below it, else absolute
    assert scanned["baseline"] == {"path": str(tmp_path.resolve() / "repo/ci/kg.json"), "no_longer_found": 0}
    assert len(scanned["baselined"]) == 2
    # --baseline wins over the configuration
    (tmp_path / "repo/empty.json").write_text('{"schema_version": 1, "findings": []}\n')
    scanned = report("infra", "--baseline", "empty.json", cwd=tmp_path / "repo", code=1)
    assert scanned["baseline"] == {"path": "empty.json", "no_longer_found": 0}
    assert len(scanned["findings"]) == 2 and scanned["baselined"] == []


def test_a_bad_baseline_setting_in_the_configuration(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": BROKEN, ".keepalive-guard.toml": "baseline = 1\n"})
    result = run("scan", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "keepalive-guard: .keepalive-guard.toml: baseline must be a file name, not 1\n"


# --- unusable baselines -------------------------------------------------------------------------


NOT_A_BASELINE = "not a keepalive-guard baseline (schema_version 1 with findings, each with a fingerprint)"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            None,
            "b.json: no such baseline; create it with `keepalive-guard baseline create PATH... -o b.json`",
        ),
        (
            "{\n  oops",
            "b.json:2: not a baseline, not valid JSON (Expecting property name enclosed in double quotes)",
        ),
        ('{"schema_version": 1, "findings": [{"rule": "KA001"}]}', f"b.json: {NOT_A_BASELINE}"),
    ],
)
def test_an_unusable_baseline_is_one_line_and_exit_2(
    tmp_path: Path, content: str | None, message: str
) -> None:
    write_tree(tmp_path, {"main.tf": BROKEN})
    if content is not None:
        (tmp_path / "b.json").write_text(content)
    for fmt in ("text", "json", "sarif"):
        result = run("scan", ".", "--baseline", "b.json", "--format", fmt, cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stdout == ""
        assert result.stderr == f"keepalive-guard: {message}\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "b.json:1: not a baseline, not valid JSON (Expecting value)"),
        (
            '{"findings": [],}',
            "b.json:1: not a baseline, not valid JSON (Expecting property name enclosed in double quotes)",
        ),
        ("[]", f"b.json: {NOT_A_BASELINE}"),
        ("null", f"b.json: {NOT_A_BASELINE}"),
        ('{"findings": []}', f"b.json: {NOT_A_BASELINE}"),
        ('{"schema_version": 2, "findings": []}', f"b.json: {NOT_A_BASELINE}"),
        ('{"schema_version": "1", "findings": []}', f"b.json: {NOT_A_BASELINE}"),
        ('{"schema_version": 1, "findings": {}}', f"b.json: {NOT_A_BASELINE}"),
        ('{"schema_version": 1}', f"b.json: {NOT_A_BASELINE}"),
        ('{"schema_version": 1, "findings": [{"fingerprint": 7}]}', f"b.json: {NOT_A_BASELINE}"),
        ('{"schema_version": 1, "findings": ["abc"]}', f"b.json: {NOT_A_BASELINE}"),
        ('{"version": "2.1.0", "runs": []}', f"b.json: {NOT_A_BASELINE}"),  # a SARIF report
    ],
)
def test_what_is_not_a_baseline(in_tmp: Path, content: str, message: str) -> None:
    (in_tmp / "b.json").write_text(content)
    with pytest.raises(baseline.BaselineError) as raised:
        baseline.read(Path("b.json"))
    assert str(raised.value) == message


def test_a_baseline_is_read(in_tmp: Path) -> None:
    (in_tmp / "b.json").write_text(
        '{"schema_version": 1, "findings": [{"fingerprint": "a"}, {"fingerprint": "b", "rule": "KA001"}, '
        '{"fingerprint": "a"}]}'
    )
    read = baseline.read(Path("b.json"))
    assert read == baseline.Baseline(Path("b.json"), Counter({"a": 2, "b": 1}))


def test_a_baseline_that_is_not_utf8_or_a_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": BROKEN, "dir.json/.keep": ""})
    (tmp_path / "b.json").write_bytes(b'{"schema_version": 1, "findings": [], "x": "\xff"}')
    for name in ("b.json", "dir.json"):
        result = run("scan", ".", "--baseline", name, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"keepalive-guard: {name}: cannot read the baseline (")
        assert "Traceback" not in result.stderr


def test_a_boolean_schema_version_is_not_a_baseline(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": BROKEN, "b.json": '{"schema_version": true, "findings": []}'})
    result = run("scan", ".", "--baseline", "b.json", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "keepalive-guard: b.json: not a keepalive-guard baseline (schema_version 1 with findings, each with "
        "a fingerprint)\n"
    )


def test_baseline_create_with_an_input_error_still_writes_and_exits_2(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": BROKEN, "bad/x.tf": "locals {\n"})
    result = run("baseline", "create", ".", "-o", "b.json", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "keepalive-guard: input error: bad/x.tf:2: HCL syntax error: unexpected end of file (an unclosed "
        "block, string or bracket?)",
        "keepalive-guard: wrote 2 findings to b.json",
    ]
    document = json.loads((tmp_path / "b.json").read_text())
    assert sorted(entry["rule"] for entry in document["findings"]) == ["DR001", "KA001"]
    # the scan with it: the findings are baselined, the input error still makes it incomplete
    scanned = report(".", "--baseline", "b.json", cwd=tmp_path, code=2)
    assert scanned["findings"] == [] and len(scanned["baselined"]) == 2
    assert [error["path"] for error in scanned["errors"]] == ["bad/x.tf"]


def test_baseline_create_output_directories(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": BROKEN})
    result = run("baseline", "create", ".", "-o", "ci/baselines/b.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(json.loads((tmp_path / "ci/baselines/b.json").read_text())["findings"]) == 2
    # under a file: cannot be written
    result = run("baseline", "create", ".", "-o", "main.tf/b.json", cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("keepalive-guard: cannot write main.tf/b.json: ")
    assert (tmp_path / "main.tf").read_text() == BROKEN


def test_acknowledged_findings_are_not_in_the_baseline(tmp_path: Path) -> None:
    text = BROKEN.replace(
        'resource "aws_lb_target_group" "app" {',
        '# keepalive-guard:ignore DR001 requests finish in a second\nresource "aws_lb_target_group" "app" {',
    )
    write_tree(tmp_path, {"main.tf": text})
    result = run("baseline", "create", ".", "-o", "b.json", cwd=tmp_path)
    assert result.returncode == 0
    (said,) = result.stderr.splitlines()
    assert said.startswith("keepalive-guard: wrote 1 finding to b.json (1 acknowledged")
    (entry,) = json.loads((tmp_path / "b.json").read_text())["findings"]
    assert entry["rule"] == "KA001"
    scanned = report(".", "--baseline", "b.json", cwd=tmp_path, code=0)
    assert [e["rule"] for e in scanned["baselined"]] == ["KA001"]
    assert [e["rule"] for e in scanned["suppressed"]] == ["DR001"]
    assert scanned["suppressed"][0]["suppression"]["line"] == line_of(text, "keepalive-guard:ignore")


# --- SARIF ---------------------------------------------------------------------------------------


def test_sarif_marks_new_and_unchanged_results(tmp_path: Path) -> None:
    create(tmp_path, {"main.tf": BROKEN}, ".", "-o", "b.json")
    (tmp_path / "worker.tf").write_text(renamed(service_tf(command=["uvicorn", "worker:app"]), "worker"))
    result = run("scan", ".", "--baseline", "b.json", "--format", "sarif", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    (sarif_run,) = json.loads(result.stdout)["runs"]
    states = sorted(
        (entry["ruleId"], entry["properties"]["chain"].split(" → ")[0], entry["baselineState"])
        for entry in sarif_run["results"]
    )
    assert states == [
        ("DR001", "aws_lb.web", "unchanged"),
        ("KA001", "aws_lb.web", "unchanged"),
        ("KA001", "aws_lb.worker", "new"),
    ]
    for entry in sarif_run["results"]:
        if entry["baselineState"] == "unchanged":
            assert entry["suppressions"] == [
                {"kind": "external", "status": "accepted", "justification": "recorded in the baseline b.json"}
            ]
        else:
            assert "suppressions" not in entry
    # without a baseline there is no baselineState at all
    plain = json.loads(run("scan", ".", "--format", "sarif", cwd=tmp_path).stdout)["runs"][0]["results"]
    assert len(plain) == 3 and all("baselineState" not in entry for entry in plain)


def test_baseline_create_writes_where_the_configuration_says(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "infra/main.tf": service_tf(command=["uvicorn", "app:app"]),
            ".keepalive-guard.toml": 'baseline = "ci/kg.json"\n',
        },
    )
    created = run("baseline", "create", "infra", cwd=tmp_path)
    assert created.returncode == 0 and created.stderr == "keepalive-guard: wrote 1 finding to ci/kg.json\n"
    assert run("scan", "infra", cwd=tmp_path).returncode == 0  # the configured baseline holds it
