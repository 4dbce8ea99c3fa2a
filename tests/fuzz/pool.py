"""Worker processes that run cases, and what a case's outcome is when a worker cannot say.

Each worker is a fresh interpreter (`tests.fuzz.case.serve`) with its own scratch directory and a
PYTHONHASHSEED of its own (slot 0 runs with 1, slot 1 with 2, ...), so that set and dict orders that
depend on string hashes differ between workers, the same way on every run. A worker that dies (a
segfault in a C extension, an abort) or does not answer within twice the case time limit plus 10 s
(stuck in C code, where SIGALRM cannot interrupt it) is replaced, and its case fails with the signal
and the end of the worker's standard error: for a segfault, faulthandler's Python stack.

Determinism: every `recheck`-th case is run a second time in a different worker (another process,
another hash seed, another history of cases before it), and fails unless both runs gave the same exit
code and the same bytes on standard output and error.
"""

from __future__ import annotations

import difflib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.fuzz.case import Outcome, mutations_of
from tests.fuzz.corpus import REPO, Case


@dataclass
class Job:
    case: Case
    recheck: bool  # run its determinism check after it
    first: Outcome | None = None  # the first run, when this is the second


class Worker:
    def __init__(self, slot: int, root: Path, timeout: float) -> None:
        self.slot, self.timeout = slot, timeout
        self.directory = root / f"worker-{slot}"
        shutil.rmtree(self.directory, ignore_errors=True)  # a replaced worker's copies, one file mutated
        self.directory.mkdir(parents=True)
        self.log = root / f"worker-{slot}.log"
        self.job: Job | None = None
        self.started = 0.0
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GITHUB_", "KEEPALIVE_GUARD_", "PYTHONHASHSEED"))
        }
        environment["PYTHONHASHSEED"] = str(slot + 1)
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from tests.fuzz.case import serve; serve()",
                    str(self.directory),
                    str(timeout),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=environment,
                cwd=self.directory,
            )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin: IO[bytes] = self.process.stdin
        self.stdout: IO[bytes] = self.process.stdout

    def send(self, job: Job) -> None:
        self.job, self.started = job, time.monotonic()
        request = {"case": str(job.case), "keep_output": job.recheck or job.first is not None}
        try:
            self.stdin.write(json.dumps(request).encode() + b"\n")
            self.stdin.flush()
        except BrokenPipeError:  # it died starting: its standard output ends, the case fails with its log
            pass

    @property
    def deadline(self) -> float:
        return self.started + 2 * self.timeout + 10

    def failed(self, why: str) -> Outcome:
        """The outcome of the case in hand when the worker died or had to be killed."""
        self.process.kill()
        self.process.wait()
        code = self.process.returncode
        died = (
            f"signal {signal.Signals(-code).name}" if -code in signal.valid_signals() else f"exit code {code}"
        )
        log = self.log.read_text(encoding="utf-8", errors="replace").strip()[-6000:]
        assert self.job is not None
        problem = f"{why} (the worker process ended with {died}); its standard error:\n{log or '(empty)'}"
        case = self.job.case
        return Outcome(str(case), mutations_of(case), [problem], seconds=time.monotonic() - self.started)

    def close(self) -> None:
        self.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stdout.close()


def _compare(first: Outcome, second: Outcome) -> Outcome:
    """The first run's outcome, failing when the second run (in another worker) differs from it."""
    problems = list(first.problems)
    if second.problems:
        problems.append("a second run, in another process, failed:\n" + "\n".join(second.problems))
    elif first.digest != second.digest:
        diff = difflib.unified_diff(
            (first.output or "").splitlines(),
            (second.output or "").splitlines(),
            "first run",
            "second run (another process and PYTHONHASHSEED)",
            lineterm="",
        )
        problems.append("nondeterministic: two runs of the same input differ:\n" + "\n".join(list(diff)[:60]))
    return Outcome(first.case, first.mutations, problems, first.digest, None, first.seconds)


def run(cases: Sequence[Case], root: Path, jobs: int, timeout: float, recheck: int) -> Iterator[Outcome]:
    """The outcome of every case, in the order they finish, run by `jobs` workers under `root`; every
    `recheck`-th case (0: none) run twice, in two workers."""
    pending = deque(Job(case, recheck > 0 and index % recheck == 0) for index, case in enumerate(cases))
    reruns: deque[tuple[Job, int]] = deque()  # second runs, with the slot that must not take them
    workers = [Worker(slot, root, timeout) for slot in range(jobs)]
    selector = selectors.DefaultSelector()
    for worker in workers:
        selector.register(worker.stdout, selectors.EVENT_READ, worker)
    try:
        while True:
            for worker in workers:
                if worker.job is None and (job := _next(pending, reruns, worker.slot, jobs)) is not None:
                    worker.send(job)
            busy = [worker for worker in workers if worker.job is not None]
            if not busy:
                return
            wait = max(0.0, min(worker.deadline for worker in busy) - time.monotonic())
            ready = {key.data for key, _ in selector.select(wait)}
            for worker in busy:
                if worker in ready:
                    line = worker.stdout.readline()
                    outcome = (
                        Outcome(**json.loads(line))
                        if line.endswith(b"\n")
                        else worker.failed("the worker died while running the case")
                    )
                elif time.monotonic() > worker.deadline:
                    outcome = worker.failed(f"no answer within {2 * worker.timeout + 10:.0f} s; killed")
                else:
                    continue
                job = worker.job
                assert job is not None
                worker.job = None
                if worker.process.poll() is not None:  # replaced, same slot and hash seed
                    selector.unregister(worker.stdout)
                    worker.close()
                    workers[worker.slot] = worker = Worker(worker.slot, root, timeout)
                    selector.register(worker.stdout, selectors.EVENT_READ, worker)
                if job.first is not None:
                    yield _compare(job.first, outcome)
                elif job.recheck and not outcome.problems:
                    reruns.append((Job(job.case, False, outcome), worker.slot))
                else:
                    outcome.output = None
                    yield outcome
    finally:
        selector.close()
        for worker in workers:
            worker.close()


def _next(pending: deque[Job], reruns: deque[tuple[Job, int]], slot: int, jobs: int) -> Job | None:
    """A second run that another worker did the first run of (any, with one worker), else a new case."""
    for index, (job, first_slot) in enumerate(reruns):
        if first_slot != slot or jobs == 1:
            del reruns[index]
            return job
    return pending.popleft() if pending else None
