"""A mutation fuzzer over the fixture files: every mutated input must be scanned without an exception,
a hang or a crash, exit 0, 1 or 2, report each input error as one line naming a file of the case, and
give the same output in another process.

- `corpus.py`: what is fuzzed (the fixture files, each with the directory copied around it and the
  `keepalive-guard scan` arguments it is scanned with) and which cases a run takes. A case is
  `FILE@SEED`; that is all it takes to run it again.
- `mutations.py`: the seeded mutations of a file's bytes.
- `case.py`: running one case in a worker process: its directory, the scan, the time limit, the checks.
- `pool.py`: the worker processes: a segfault or a hang in C code costs a worker, not the run; some
  cases are run a second time in another worker (another PYTHONHASHSEED) for determinism.
- `test_fuzz.py`: 2,000 cases in the test suite. `python -m tests.fuzz --cases 100000`: a long run.
"""
