"""Time keepalive-guard against checkov and python-hcl2 on generated corpora; print a table.

    python bench/run.py                 # monorepos of 50, 200 and 500 services, stacks, a 50 MB plan
    python bench/run.py 1000            # monorepos of these sizes only
    python bench/run.py --no-checkov    # without checkov (no virtual environment to install)

Every corpus is generated fresh into a temporary directory (`generate.py`, `generate_cfn.py`,
`generate_plan.py`) and each tool runs on it as a user would run it, in a child process:

- keepalive-guard cold: an empty parse cache (`KEEPALIVE_GUARD_CACHE_DIR` is a new directory);
  warm: the same command again; after a one-file change: one service's main.tf edited, then again;
  serial: `--no-cache --jobs 1` (what the cache and the worker processes save);
- python-hcl2: `hcl2.parses_to_tree` over every `.tf` file of the corpus, the parse alone (`hcl2.load`
  does that and more);
- checkov, restricted to the same framework (`--framework terraform`, `cloudformation`,
  `terraform_plan`), installed with `bench/requirements-checkov.txt` in its own virtual environment,
  `bench/.venv`, created on first use.

Wall times are the best of three runs (checkov: one run, on the largest corpora it takes minutes);
peak memory is the largest resident set of the process tree's processes, from `getrusage`. As after
`pip install`, the code runs from compiled bytecode (compiled first; PYTHONDONTWRITEBYTECODE unset).
The table ends with the targets of issue 8, each with the figures that decide it.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import generate as generate_monorepo  # noqa: E402
from generate_cfn import generate as generate_stacks  # noqa: E402
from generate_plan import generate as generate_plan  # noqa: E402

CHECKOV_VENV = HERE / ".venv"
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
PLAN_SERVICES = 1400  # about 50 MB of plan JSON
STACKS, STACK_SERVICES = 10, 30  # ten stacks of about 450 resources
PARSE_ALL = """
import pathlib, sys, hcl2
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.tf")):
    hcl2.parses_to_tree(path.read_text())
"""
# Run in a fresh interpreter so that only this command's processes count for the peak.
_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "peak_kb": peak, "code": done.returncode, "stdout": done.stdout.decode(errors="replace")}))
"""


@dataclass
class Run:
    wall: float
    peak_mb: float
    code: int
    stdout: str


def measure(command: Sequence[str], env: dict[str, str] | None = None, runs: int = 3) -> Run:
    best: Run | None = None
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, "-c", _MEASURE, *command],
            capture_output=True,
            text=True,
            env=env or ENV,
            check=True,
        )
        found = json.loads(completed.stdout)
        run = Run(found["wall"], found["peak_kb"] / 1024, found["code"], found["stdout"])
        best = run if best is None or run.wall < best.wall else best
    assert best is not None
    return best


def checkov() -> Path | None:
    """The checkov executable of the benchmark's own virtual environment, installed on first use."""
    scripts = CHECKOV_VENV / ("Scripts" if os.name == "nt" else "bin")
    executable = scripts / "checkov"
    if not executable.exists():
        print(f"installing checkov into {CHECKOV_VENV} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        pip = [str(scripts / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "-r", str(HERE / "requirements-checkov.txt")], check=True)
    return executable


class Table:
    """Rows of one corpus under its name; the speed-up is checkov's wall time over the row's."""

    def __init__(self) -> None:
        print(f"{'corpus / tool':<58} {'wall (s)':>9} {'peak (MB)':>10} {'vs checkov':>11}")

    def row(self, corpus: str, tool: str, run: Run, baseline: Run | None = None) -> None:
        if corpus:
            print(corpus)
        ratio = f"{baseline.wall / run.wall:.1f}x" if baseline is not None else ""
        print(f"  {tool:<56} {run.wall:>9.2f} {run.peak_mb:>10.0f} {ratio:>11}", flush=True)


def keepalive_guard(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "policies", "scan", *arguments, "--format", "json"]


def summary(run: Run) -> str:
    found = json.loads(run.stdout)["summary"]
    return f"{found['targets']} targets, {found['errors'] + found['warnings']} findings"


def bench_corpus(
    table: Table, name: str, path: Path, framework: str, checkov_bin: Path | None, edit: Path | None = None
) -> dict[str, Run]:
    """Cold, warm, after a one-file change (when `edit` is given) and serial, then checkov."""
    cache = Path(tempfile.mkdtemp(prefix="kg-cache-"))
    env = {**ENV, "KEEPALIVE_GUARD_CACHE_DIR": str(cache)}
    runs: dict[str, Run] = {}
    colds = []
    for _ in range(3):  # best of three cold runs, each with an empty cache
        shutil.rmtree(cache, ignore_errors=True)
        colds.append(measure(keepalive_guard(str(path)), env, runs=1))
    cold = min(colds, key=lambda run: run.wall)
    warm = measure(keepalive_guard(str(path)), env)
    checkov_run = None
    if checkov_bin is not None:
        command = [
            str(checkov_bin),
            "--framework",
            framework,
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ]
        command += ["-f", str(path)] if path.is_file() else ["-d", str(path)]
        checkov_run = runs["checkov"] = measure(command, {**ENV, "BC_SKIP_MAPPING": "TRUE"}, runs=1)
    runs["cold"], runs["warm"] = cold, warm
    table.row(name, f"keepalive-guard, cold ({summary(cold)})", cold, checkov_run)
    table.row("", "keepalive-guard, warm cache", warm, checkov_run)
    if edit is not None:
        edit.write_text(edit.read_text() + "\n# edited\n")
        changed = measure(keepalive_guard(str(path)), env, runs=1)
        table.row("", "keepalive-guard, one file changed", changed, checkov_run)
    serial = measure(keepalive_guard(str(path), "--no-cache", "--jobs", "1"), env)
    table.row("", "keepalive-guard --no-cache --jobs 1", serial, checkov_run)
    if framework == "terraform":
        parse = runs["parse"] = measure([sys.executable, "-c", PARSE_ALL, str(path)])
        table.row("", "python-hcl2: parse every .tf file", parse, checkov_run)
    if checkov_run is not None:
        table.row("", f"checkov --framework {framework}", checkov_run, checkov_run)
    shutil.rmtree(cache, ignore_errors=True)
    return runs


def targets(startup: Run, version: Run, largest: dict[str, Run], plan: dict[str, Run] | None) -> None:
    """Issue 8's targets, each with the figures that decide it."""

    def line(met: bool, text: str) -> None:
        print(f"  [{'met' if met else 'NOT met'}] {text}")

    print("\ntargets (the largest monorepo; the plan):")
    cold, warm = largest["cold"], largest["warm"]
    if "checkov" in largest:
        ratio = largest["checkov"].wall / cold.wall
        line(ratio >= 20, f"cold scan >= 20x faster than checkov: {ratio:.1f}x")
    parse = largest["parse"]
    line(
        cold.wall < parse.wall,
        f"cold scan faster than python-hcl2 parsing every .tf: {cold.wall:.2f} s vs {parse.wall:.2f} s",
    )
    line(cold.wall >= 10 * warm.wall, f"warm >= 10x faster than cold: {cold.wall / warm.wall:.1f}x")
    times = version.wall / startup.wall
    line(times <= 3, f"--version within 3x of python -c pass: {times:.1f}x")
    if plan is not None:
        run = plan["cold"]
        line(
            run.wall < 10 and run.peak_mb < 500,
            f"50 MB plan under 10 s and 500 MB: {run.wall:.2f} s, {run.peak_mb:.0f} MB",
        )


def main(sizes: list[int], with_checkov: bool) -> None:
    checkov_bin = checkov() if with_checkov else None
    compileall.compile_dir(HERE.parent / "policies", quiet=1)  # as pip install does
    python = [sys.executable, "-c", "pass"]
    startup, version = (
        measure(python, runs=5),
        measure([sys.executable, "-m", "policies", "--version"], runs=5),
    )
    print(
        f"python -c pass: {startup.wall * 1000:.0f} ms; keepalive-guard --version: {version.wall * 1000:.0f} ms "
        f"({version.wall / startup.wall:.1f}x); {os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n"
    )
    table = Table()
    largest: dict[str, Run] = {}
    plan_runs = None
    for size in sizes:
        with tempfile.TemporaryDirectory() as directory:
            root = generate_monorepo(size, Path(directory))
            files = list(root.rglob("*.tf"))
            megabytes = sum(path.stat().st_size for path in files) / 1e6
            corpus = f"monorepo {size} services ({len(files)} .tf, {megabytes:.1f} MB)"
            edit = root / "services" / "svc-0001" / "main.tf"
            largest = bench_corpus(table, corpus, root, "terraform", checkov_bin, edit)
    if sizes == DEFAULT_SIZES:
        with tempfile.TemporaryDirectory() as directory:
            root = generate_stacks(STACKS, STACK_SERVICES, Path(directory))
            megabytes = sum(path.stat().st_size for path in root.iterdir()) / 1e6
            corpus = f"{STACKS} CloudFormation stacks ({megabytes:.1f} MB)"
            bench_corpus(table, corpus, root, "cloudformation", checkov_bin)
        with tempfile.TemporaryDirectory() as directory:
            plan = Path(directory) / "plan.json"
            generate_plan(PLAN_SERVICES, plan)
            corpus = f"plan JSON, {PLAN_SERVICES} services ({plan.stat().st_size / 1e6:.0f} MB)"
            plan_runs = bench_corpus(table, corpus, plan, "terraform_plan", checkov_bin)
    targets(startup, version, largest, plan_runs)


DEFAULT_SIZES = [50, 200, 500]

if __name__ == "__main__":
    arguments = [argument for argument in sys.argv[1:] if argument != "--no-checkov"]
    if not all(argument.isdigit() for argument in arguments):
        sys.exit("usage: python bench/run.py [--no-checkov] [SERVICES...]   (default: 50 200 500)")
    main([int(argument) for argument in arguments] or DEFAULT_SIZES, "--no-checkov" not in sys.argv)
