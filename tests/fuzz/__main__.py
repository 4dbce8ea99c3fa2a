"""The long fuzzing run: `python -m tests.fuzz --cases 100000 [--seed N] [--jobs N] [--out DIR]`.

Runs `--cases` cases (the fixture files in turn, seeds counting up from `--seed`), or only the ones named
with `--case FILE@SEED` (repeatable: a failure's reproduction, run twice in two workers), and prints
how many ran, how long it took, and the failures grouped by kind, each kind with a case that shows
it. Written to `--out`: `failures.txt`, every failing case with its report, and, for the first
`--keep` cases of each kind, `<case>/input/` (the target with the file mutated: scan it as
`<case>/report.txt` says) and `<case>/report.txt`. Exit status 1 when a case failed.
The test suite's share is in tests/fuzz/test_fuzz.py.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from policies.loaders import available_cpus
from tests.fuzz import pool
from tests.fuzz.case import FLAGS, Outcome, materialize, report
from tests.fuzz.corpus import Case, select


def kind(outcome: Outcome) -> str:
    """What went wrong, without the particulars of the case: the exception main caught, the frame a
    hang was interrupted in or a crash happened in, or the first line of the first problem with file
    names and numbers left out."""
    text = "\n".join(outcome.problems)
    if caught := re.search(r"internal error: (.*?)\. Please report", text):
        frames = re.findall(r'File "([^"]+/policies/[^"]+)", line (\d+), in (\S+)', text)
        where = f" in {frames[-1][2]} ({Path(frames[-1][0]).name}:{frames[-1][1]})" if frames else ""
        return f"internal error: {caught[1]}{where}"
    first = text.splitlines()[0]
    if text.startswith("no result after"):  # a Python traceback: the innermost frame is the last
        frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', text)[::-1]
    else:  # faulthandler's stack of a crashed worker: the innermost frame is the first
        frames = re.findall(r'File "([^"]+)", line (\d+) in (\S+)', text)
    if frames:
        path, line, function = frames[0]
        return f"{first.split(';')[0].split(' it was')[0]} in {function} ({Path(path).name}:{line})"
    return re.sub(r"[\w./@-]*\.(?:ya?ml|json|tf|tfvars|tpl)\b|\b\d+\b", "…", first)[:160]


def _write(outcome: Outcome, out: Path) -> Path:
    """The failing case's input directory and report under `out`."""
    case = Case.parse(outcome.case)
    directory = out / re.sub(r"[^\w.@-]+", "_", outcome.case)
    arguments, _ = materialize(case, directory / "input")
    command = " ".join(["keepalive-guard", "scan", *arguments, *FLAGS])
    text = f"{report(outcome)}\nor, in {directory / 'input'}: {command}\n"
    (directory / "report.txt").write_text(text, encoding="utf-8")
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000, help="how many cases (default 20000)")
    parser.add_argument("--seed", type=int, default=0, help="the first case's seed (default 0)")
    parser.add_argument("--case", action="append", type=Case.parse, help="run this FILE@SEED case only")
    parser.add_argument(
        "--jobs", type=int, default=available_cpus(), help="worker processes (default: the CPUs)"
    )
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds a case may take (default 20)")
    parser.add_argument(
        "--recheck", type=int, default=4, help="run every Nth case twice (default 4; 0: none)"
    )
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where failures are written")
    parser.add_argument(
        "--keep", type=int, default=20, help="inputs written per kind of failure (default 20)"
    )
    arguments = parser.parse_args(argv)
    cases = arguments.case or select(arguments.cases, arguments.seed)
    recheck = 1 if arguments.case else arguments.recheck
    jobs = max(1, arguments.jobs)
    print(f"{len(cases)} cases, {jobs} workers, every {recheck or 'no'}th run twice", file=sys.stderr)
    arguments.out.mkdir(parents=True, exist_ok=True)
    started = last = time.monotonic()
    kinds: Counter[str] = Counter()
    examples: dict[str, str] = {}
    slowest: list[tuple[float, str]] = []
    done = 0
    with (
        tempfile.TemporaryDirectory(prefix="keepalive-guard-fuzz-") as scratch,
        (arguments.out / "failures.txt").open("w", encoding="utf-8") as failures,
    ):
        for outcome in pool.run(cases, Path(scratch), jobs, arguments.timeout, recheck):
            done += 1
            slowest = sorted([*slowest, (outcome.seconds, outcome.case)], reverse=True)[:5]
            if outcome.problems:
                what = kind(outcome)
                kinds[what] += 1
                examples.setdefault(what, outcome.case)
                failures.write(f"[{what}]\n{report(outcome)}\n\n")
                failures.flush()
                if kinds[what] <= arguments.keep:
                    where = _write(outcome, arguments.out)
                    print(f"\nFAILED {report(outcome)}\n(written to {where})\n", file=sys.stderr)
            if time.monotonic() - last > 30 or done == len(cases):
                last = time.monotonic()
                rate = done / max(last - started, 1e-9)
                failed = sum(kinds.values())
                print(f"{done}/{len(cases)} cases, {rate:.0f}/s, {failed} failed", file=sys.stderr)
    elapsed = time.monotonic() - started
    print(f"{done} cases in {elapsed:.0f} s ({elapsed / 60:.1f} min), {sum(kinds.values())} failed")
    print("slowest: " + ", ".join(f"{case} {seconds:.1f} s" for seconds, case in slowest))
    for what, count in kinds.most_common():
        print(f"{count:6} × {what}\n         e.g. python -m tests.fuzz --case {examples[what]}")
    if kinds:
        print(f"every failure: {arguments.out / 'failures.txt'}")
    return 1 if kinds else 0


if __name__ == "__main__":
    sys.exit(main())
