"""Mutated fixtures, in the test suite: 2,000 cases (every fuzzed file in turn, seeds 0 to 1,999), run by
one worker process per CPU before the first of them is checked; every 8th run a second time in another
worker for determinism. A test's id is its case (`FILE@SEED`) and the mutations the seed applies; a
failure says what was done to the file, what went wrong, and the command that runs the case again.
The long run: `python -m tests.fuzz --cases 100000` (tests/fuzz/__main__.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from policies.loaders import available_cpus
from tests.fuzz import pool
from tests.fuzz.case import Hang, Outcome, check, report, scan, time_limit
from tests.fuzz.corpus import REPO, TARGETS, Case, Target, files, select
from tests.fuzz.mutations import MUTATIONS, mutate, plan

CASES = select(2_000)
TIMEOUT = 20.0  # seconds a case may take: a fixture scans in 2 to 60 ms, the slowest mutants in 3 s
RECHECK = 8


@pytest.fixture(scope="session")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """The outcome of every case this session selected (all of them, or those -k or an id names)."""
    cases = [
        case
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.originalname == "test_mutated_input"
        and isinstance(case := item.callspec.params["case"], Case)
    ]
    root = Path(tmp_path_factory.mktemp("fuzz"))
    return {outcome.case: outcome for outcome in pool.run(cases, root, available_cpus(), TIMEOUT, RECHECK)}


def _id(case: Case) -> str:
    return f"{case}:{'+'.join(plan(case.suffix, case.seed))}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_mutated_input(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[str(case)]
    if outcome.problems:
        pytest.fail(report(outcome), pytrace=False)


# --- the fuzzer itself: its fixtures pass unmutated, its checks catch what they are for --------------


@pytest.mark.parametrize("target", TARGETS, ids=lambda target: target.copy)
def test_every_target_passes_unmutated(
    target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / target.copy, tmp_path / "case")
    file = next(file for file, its in files().items() if its is target)
    problems, _ = scan(tmp_path / "case", target.arguments(Path(file).relative_to(target.copy).as_posix()))
    assert problems == []


def _report(errors: list[dict[str, object]], severity: str = "warning") -> str:
    return json.dumps({"findings": [{"severity": severity}], "errors": errors})


@pytest.mark.parametrize(
    ("code", "stdout", "stderr", "caught"),
    [
        (2, _report([{"path": "main.tf", "line": 3, "message": "two\nlines"}]), "", "not one line"),
        (2, _report([{"path": "main.tf", "line": 3, "message": "two\u2028lines"}]), "", "not one line"),
        (2, _report([{"path": "../elsewhere.tf", "line": None, "message": "m"}]), "", "outside the case"),
        (2, _report([{"path": "", "line": None, "message": "m"}]), "", "names no file"),
        (
            2,
            _report([{"path": "asset.x\ny/Dockerfile", "line": None, "message": "m"}]),
            "",
            "path is not one",
        ),
        (2, _report([{"path": "main.tf", "line": 0, "message": "m"}]), "", "not a positive number"),
        (2, _report([]), "", "exit code 2 where the report calls for 0"),
        (0, _report([], "error"), "", "exit code 0 where the report calls for 1"),
        (3, _report([]), "", "exit code 3, not one of"),
        (2, "", "keepalive-guard: internal error: KeyError: 'x'. Please report it", "shows an exception"),
        (0, _report([]), "Cannot read file contents: /tmp/x.yaml", "not keepalive-guard's"),
        (0, "{", "", "not a JSON report"),
    ],
)
def test_checks_catch(code: int, stdout: str, stderr: str, caught: str, tmp_path: Path) -> None:
    problems = check(code, stdout, stderr, tmp_path)
    assert any(caught in problem for problem in problems), problems


def test_a_clean_scan_passes_the_checks(tmp_path: Path) -> None:
    errors = [{"path": "sub/main.tf", "line": 2, "message": "HCL syntax error: unexpected token"}]
    assert check(1, _report(errors, "error"), "", tmp_path) == []


def test_a_case_is_the_same_mutation_on_every_run_and_names_its_mutations_without_the_file() -> None:
    data = (REPO / "tests/fixtures/terraform/sidecar/main.tf").read_bytes()
    for seed in range(300):
        assert mutate(data, ".tf", seed) == mutate(data, ".tf", seed)
        assert [step.split(":")[0] for step in mutate(data, ".tf", seed)[1]] == plan(".tf", seed)
    used = {name for seed in range(300) for name in plan(".json", seed)}
    assert used == set(MUTATIONS)
    assert Case.parse("tests/fixtures/terraform/sidecar/main.tf@17") == Case(
        "tests/fixtures/terraform/sidecar/main.tf", 17
    )


def test_the_time_limit_interrupts_python_code_and_says_where() -> None:
    stacks: list[str] = []
    with pytest.raises(Hang), time_limit(0.05, stacks):
        while True:
            pass
    assert "test_the_time_limit_interrupts_python_code" in stacks[0]


def test_a_worker_that_dies_fails_its_case(tmp_path: Path) -> None:
    worker = pool.Worker(0, tmp_path, TIMEOUT)
    worker.send(pool.Job(CASES[0], recheck=False))
    os.kill(worker.process.pid, signal.SIGSEGV)
    assert worker.stdout.readline() == b""
    outcome = worker.failed("the worker died while running the case")
    worker.close()
    assert outcome.case == str(CASES[0]) and outcome.mutations
    assert (
        "the worker died while running the case (the worker process ended with signal SIGSEGV)"
        in (outcome.problems[0])
    )
