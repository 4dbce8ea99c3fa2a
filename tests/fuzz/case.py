"""Running one case: its directory, the scan, the time limit, and what the output must satisfy.

The scan is the command line's own `policies.cli.main`, called in this process with
`scan ARGS --no-cache --jobs 1 --format json` and its standard output and error captured. A case fails
(`Outcome.problems`) when:
- the command raises, or prints "Traceback" or "internal error" (main turns any exception into that
  line; the case then runs the scan command's handler without main's net, to show the traceback);
- it exits with anything but 0, 1 or 2, or not with the code the SPEC gives its report (1 with an
  error-severity finding; otherwise 2 with an input error; otherwise 0);
- standard error has a line that is not keepalive-guard's own (`keepalive-guard: ...`), such as a
  library's log record;
- standard output is not one JSON report, or an error in it is not a one-line message (no line break of
  any kind, `str.splitlines`) naming, by a path that resolves inside the case directory, what could
  not be read;
- it does not return within the time limit. SIGALRM (`signal.setitimer`) interrupts Python code
  wherever it runs, pure-Python parsers included; the handler records the stack it interrupted before
  raising `Hang`, a BaseException that `except Exception` does not swallow, so the hang is reported
  with where it was stuck even when some code swallows it. Code stuck in C does not see the signal:
  the pool (`tests.fuzz.pool`) kills a worker that does not answer in time, and reports the case.

`Outcome.digest` hashes the exit code and both outputs, for the pool to compare with a run of the same
case in another process (another PYTHONHASHSEED).

A worker (`serve`) reads case names from standard input and writes one JSON outcome per line on the
standard output it started with; its file descriptor 1 then goes to its standard error (a log file),
so that nothing the scan writes at the C level can garble the answers. Faulthandler writes there too:
the Python stack of a segfault.
"""

from __future__ import annotations

import contextlib
import faulthandler
import hashlib
import io
import json
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from tests.fuzz.corpus import REPO, Case
from tests.fuzz.mutations import mutate

FLAGS = ("--no-cache", "--jobs", "1", "--format", "json")
EXIT_CODES = (0, 1, 2)  # SPEC.md: 1 findings, 2 usage or unreadable input, 0 clean


@dataclass
class Outcome:
    case: str
    mutations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    digest: str | None = None
    output: str | None = None  # exit code and both outputs, when asked for (to show a difference)
    seconds: float = 0.0


def materialize(case: Case, directory: Path) -> tuple[list[str], list[str]]:
    """The case's target copied to `directory` with the case's file mutated in it: the scan
    arguments, and what the mutations did."""
    shutil.copytree(REPO / case.target.copy, directory, dirs_exist_ok=True)
    return _mutate_in(case, directory)


def mutations_of(case: Case) -> list[str]:
    """What the case's mutations do to its file."""
    return mutate((REPO / case.file).read_bytes(), case.suffix, case.seed)[1]


def _relative(case: Case) -> str:
    """The case's file in a copy of its target."""
    return Path(case.file).relative_to(case.target.copy).as_posix()


def _mutate_in(case: Case, directory: Path) -> tuple[list[str], list[str]]:
    data, done = mutate((REPO / case.file).read_bytes(), case.suffix, case.seed)
    (directory / _relative(case)).write_bytes(data)
    return case.target.arguments(_relative(case)), done


class Workspace:
    """A copy of each target's directory under `root`, made once and reused: the file the previous
    case mutated is written back before the next case mutates one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.copies: dict[str, Path] = {}
        self.mutated: tuple[Path, Path] | None = None  # (the file in a copy, its original)

    def prepare(self, case: Case) -> tuple[Path, list[str], list[str]]:
        """The copy of the case's target with its file mutated; the scan arguments; the mutations."""
        if self.mutated is not None:
            shutil.copyfile(self.mutated[1], self.mutated[0])
            self.mutated = None
        copy = case.target.copy
        if copy not in self.copies:  # named for the target: the same path in every worker
            self.copies[copy] = self.root / copy.replace("/", "_")
            shutil.copytree(REPO / copy, self.copies[copy])
        directory = self.copies[copy]
        self.mutated = (directory / _relative(case), REPO / case.file)
        arguments, done = _mutate_in(case, directory)
        return directory, arguments, done


class Hang(BaseException):
    """The time limit passed (a BaseException: `except Exception` in the code under test lets it by)."""


@contextlib.contextmanager
def time_limit(seconds: float, stacks: list[str]) -> Iterator[None]:
    """Raise Hang after `seconds`, having appended the interrupted stack to `stacks`."""

    def expire(signum: int, frame: FrameType | None) -> None:
        stacks.append("".join(traceback.format_stack(frame)))
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _main(argv: list[str]) -> tuple[int | None, str, str]:
    """`keepalive-guard ARGV` in this process: its exit code (None when it raised) and outputs."""
    from policies.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    code = None
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except Exception:  # main lets this out: the case fails with it
            print(traceback.format_exc(), file=sys.stderr)
        except SystemExit as exit:  # argparse rejects the arguments
            code = exit.code if isinstance(exit.code, int) else 2
            print(f"SystemExit({exit.code!r})", file=sys.stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def _traceback(argv: list[str]) -> str:
    """The traceback `main` turned into "internal error": its handler, run without main's net."""
    from policies.cli import _parser

    arguments = _parser().parse_args(argv)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            arguments.handler(arguments)
        except Exception:
            return traceback.format_exc()
    return "(the handler alone raised nothing: the exception came from main itself)"


def _inside(path: str, directory: Path) -> bool:
    if not path.isprintable():  # errors escape control characters: a raw one is a problem in itself
        return False
    resolved = (directory / path).resolve()
    return resolved == directory or directory in resolved.parents


def check(code: int | None, stdout: str, stderr: str, directory: Path) -> list[str]:
    """What is wrong with a scan's exit code and output (see the module docstring)."""
    problems = []
    for name, text in (("standard output", stdout), ("standard error", stderr)):
        if "Traceback" in text or "internal error" in text:
            problems.append(f"{name} shows an exception:\n{text.strip()[-4000:]}")
    stray = [line for line in stderr.splitlines() if not line.startswith("keepalive-guard: ")]
    if stray:
        problems.append(f"standard error has lines that are not keepalive-guard's: {stray[:3]!r}")
    if code not in EXIT_CODES:
        problems.append(f"exit code {code!r}, not one of {EXIT_CODES}")
    try:
        document: Any = json.loads(stdout)
        findings, errors = list(document["findings"]), list(document["errors"])
        fields = [(error["path"], error["message"], error["line"]) for error in errors]
    except (ValueError, KeyError, TypeError) as why:
        problems.append(f"standard output is not a JSON report ({why!r}): {stdout[:500]!r}")
        return problems
    for error, (path, message, line) in zip(errors, fields, strict=True):
        shown = json.dumps(error, ensure_ascii=False)
        if not isinstance(message, str) or not message or len(message.splitlines()) != 1:
            problems.append(f"an error whose message is not one line: {shown}")
        if not isinstance(path, str) or not path:
            problems.append(f"an error that names no file: {shown}")
        elif len(path.splitlines()) != 1:
            problems.append(f"an error whose path is not one line: {shown}")
        elif not _inside(path, directory):
            problems.append(f"an error naming a path outside the case directory: {shown}")
        if line is not None and (not isinstance(line, int) or line < 1):
            problems.append(f"an error with a line that is not a positive number: {shown}")
    expected = 1 if any(f.get("severity") == "error" for f in findings) else 2 if errors else 0
    if code in EXIT_CODES and code != expected:
        problems.append(f"exit code {code} where the report calls for {expected}")
    return problems


def scan(directory: Path, arguments: list[str]) -> tuple[list[str], str]:
    """`keepalive-guard scan ARGUMENTS` in `directory` (it becomes this process's current directory):
    what is wrong with it, and its exit code and outputs as one text."""
    os.chdir(directory)
    argv = ["scan", *arguments, *FLAGS]
    code, stdout, stderr = _main(argv)
    problems = check(code, stdout, stderr, directory.resolve())
    if "internal error" in stderr:
        problems.append(f"the exception main caught:\n{_traceback(argv)}")
    return problems, f"exit {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"


def run(case: Case, workspace: Workspace, timeout: float, keep_output: bool = False) -> Outcome:
    """Run one case in `workspace`, within `timeout` seconds."""
    outcome = Outcome(str(case))
    started = time.perf_counter()
    stacks: list[str] = []
    said = ""
    try:
        directory, arguments, outcome.mutations = workspace.prepare(case)
        with time_limit(timeout, stacks):
            outcome.problems, said = scan(directory, arguments)
    except Hang:
        pass
    finally:
        outcome.seconds = time.perf_counter() - started
    if stacks:  # however the code under test unwound it
        outcome.problems.append(f"no result after {timeout} s; it was interrupted in:\n{stacks[0]}")
        return outcome
    # a path outside the case directory is shown absolute: the same in every worker once relative
    said = said.replace(str(workspace.root), "<workspace>")
    outcome.digest = hashlib.sha256(said.encode("utf-8", "surrogatepass")).hexdigest()
    outcome.output = said if keep_output else None
    return outcome


def serve() -> None:
    """The worker loop (see the module docstring): `sys.argv[1:]` are its scratch directory and the time
    limit of a case in seconds; each input line is `{"case": "path@seed", "keep_output": bool}`."""
    root, timeout = Path(sys.argv[1]), float(sys.argv[2])
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    faulthandler.enable(sys.stderr)
    workspace = Workspace(root)
    for line in sys.stdin:
        request = json.loads(line)
        with contextlib.suppress(OSError):  # the log holds the current case only
            os.ftruncate(2, 0)
            os.lseek(2, 0, os.SEEK_SET)
        outcome = run(Case.parse(request["case"]), workspace, timeout, request["keep_output"])
        answers.write(json.dumps(asdict(outcome)) + "\n")
        answers.flush()


def report(outcome: Outcome) -> str:
    """A failing case as the fuzzer shows it: what was done to which file, what went wrong, and how to
    run it again."""
    mutations = "\n".join(f"  - {what}" for what in outcome.mutations)
    problems = "\n".join(f"* {problem}" for problem in outcome.problems)
    return (
        f"case {outcome.case}, mutated by:\n{mutations}\n{problems}\n"
        f"reproduce: python -m tests.fuzz --case {outcome.case} --out fuzz-failures"
    )
