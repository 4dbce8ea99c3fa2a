"""Time keepalive-guard on a generated monorepo and print wall time and peak memory.

    python bench/run.py [SERVICES ...]        # default: 50 200 500

Each size is generated fresh into a temporary directory, then scanned by the installed CLI in a
child process (as a user would run it), three times; the best wall time and the peak resident
memory of the child are reported. For reference the run also times `python -c pass` and
`keepalive-guard --version` (start-up cost), and a generated 50 MB plan JSON (`generate_plan.py`).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import generate
from generate_plan import generate as generate_plan

PLAN_SERVICES = 1400  # about 50 MB of plan JSON


def timed(command: list[str], cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, completed


def best(
    command: list[str], runs: int = 3, cwd: Path | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    results = [timed(command, cwd) for _ in range(runs)]
    return min(results, key=lambda item: item[0])


def main(sizes: list[int]) -> None:
    python = sys.executable
    startup, _ = best([python, "-c", "pass"], 5)
    version, _ = best([python, "-m", "policies", "--version"], 5)
    print(f"python -c pass: {startup * 1000:.0f} ms; keepalive-guard --version: {version * 1000:.0f} ms")
    print(
        f"{'services':>8} {'files':>6} {'targets':>7} {'findings':>8} {'wall (s)':>9} {'peak RSS (MB)':>13}"
    )
    for size in sizes:
        with tempfile.TemporaryDirectory() as directory:
            root = generate(size, Path(directory))
            files = sum(1 for _ in root.rglob("*.tf"))
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            wall, completed = best([python, "-m", "policies", "scan", str(root), "--format", "json"])
            peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
            report = json.loads(completed.stdout)
            summary = report["summary"]
            print(
                f"{size:>8} {files:>6} {summary['targets']:>7} {summary['errors'] + summary['warnings']:>8} "
                f"{wall:>9.2f} {peak:>13.0f}"
            )
    with tempfile.TemporaryDirectory() as directory:
        plan = Path(directory) / "plan.json"
        generate_plan(PLAN_SERVICES, plan)
        megabytes = plan.stat().st_size / 1e6
        wall, completed = best([python, "-m", "policies", "scan", str(plan), "--format", "json"])
        peak = own_peak([python, "-m", "policies", "scan", str(plan), "--format", "json"])
        targets = json.loads(completed.stdout)["summary"]["targets"]
        print(
            f"plan JSON of {PLAN_SERVICES} services ({megabytes:.0f} MB, {targets} targets): {wall:.2f} s, {peak:.0f} MB"
        )


def own_peak(command: list[str]) -> float:
    """The peak resident memory (MB) of one run of `command`, measured in a fresh parent process so
    that earlier, larger children do not count."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    completed = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True)
    return int(completed.stdout.strip()) / 1024


if __name__ == "__main__":
    if not all(arg.isdigit() for arg in sys.argv[1:]):
        sys.exit("usage: python bench/run.py [SERVICES...]   (default: 50 200 500)")
    main([int(arg) for arg in sys.argv[1:]] or [50, 200, 500])
