"""Terraform modules loaded, and their root modules evaluated into the model: in this process, or in
forked worker processes when there are many (`--jobs`).

A root is evaluated on its own (`ModuleInstance`) from the modules already loaded, so a forked worker,
which inherits them, can evaluate any run of roots. Workers take contiguous runs and their results are
joined in root order, so the inventory is the one a single process gives: the errors a root reports
(`Loader.report`) are the same wherever it is evaluated, and joining keeps the first of each, where one
process would have reported it. Parses, file probes, opaque modules and files read come back too, for
the caches and the report. Only where a process can fork (Linux); elsewhere a worker would have to read
and parse everything again, so roots are evaluated here.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from policies.cache import Cache
from policies.loaders.reading import Reader
from policies.loaders.terraform.files import Probe
from policies.loaders.terraform.module import Assignment, Loader, Module, ModuleInstance, root_inputs
from policies.loaders.terraform.parsing import Parser, prefilter
from policies.loaders.terraform.resources import DATA_READERS, READERS, Collected, read_resources
from policies.model import Inventory

# Fewer roots than this are evaluated here: starting workers costs more than evaluating them (a root of
# the benchmark's monorepo takes about 4 ms).
_PARALLEL_ROOTS = 64
_PARTS_PER_WORKER = 4  # runs of roots per worker, so that one slow run does not keep the others idle

_state: tuple[Loader, dict[Path, Module], Sequence[Assignment]] | None = None  # inherited by workers


def load_modules(
    directories: Sequence[Path],
    variables: Sequence[Assignment],
    planned: Sequence[Path],
    skip: Callable[[Path], bool],
    cache: Cache | None,
    jobs: int,
    filtered: bool,
    reader: Reader,
) -> tuple[dict[Probe, Any], Inventory]:
    """`load_terraform` without its result cache: the inventory, and the probes of the files it was
    computed from. Parses are written to `cache`."""
    relevant = prefilter({*READERS, *DATA_READERS}) if filtered else None
    loader = Loader(skip, Parser(cache, jobs), relevant, reader)
    loader.read(directories)
    modules = {directory.resolve(): loader.module(directory) for directory in directories}
    called = {loader.files.directory(path) for module in modules.values() for path in module.local_sources()}
    roots = [directory for directory in modules if directory not in called] or list(modules)
    skipped = {directory.resolve() for directory in planned}
    roots = [directory for directory in roots if directory not in skipped]
    out = evaluate_roots(loader, modules, roots, variables, jobs)
    declared = {name for directory in roots for name in modules[directory].variables}
    for assignment in variables:
        if isinstance(assignment, tuple) and assignment[0] not in declared:
            message = f'no root module declares variable "{assignment[0]}"'
            loader.error(f"--var {assignment[0]}", message)
    inventory = dataclasses.replace(
        out.inventory(),
        opaque=tuple(loader.opaque),
        errors=tuple(loader.errors.values()),
        inputs=tuple(dict.fromkeys(loader.read_files)),
    )
    loader.parser.save()
    return loader.files.probes, inventory


def evaluate_roots(
    loader: Loader,
    modules: dict[Path, Module],
    roots: Sequence[Path],
    variables: Sequence[Assignment],
    jobs: int,
) -> Collected:
    """The resources of `roots` (directories, keys of `modules`) with `variables` (see `root_inputs`)."""
    if jobs < 2 or len(roots) < _PARALLEL_ROOTS or not sys.platform.startswith("linux"):
        return _evaluate(loader, modules, roots, variables)
    global _state
    _state = (loader, modules, variables)
    size = -(-len(roots) // (jobs * _PARTS_PER_WORKER))
    parts = [roots[start : start + size] for start in range(0, len(roots), size)]
    try:
        with ProcessPoolExecutor(jobs, multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_evaluate_part, parts))
    except (OSError, BrokenProcessPool):  # no workers here (a sandbox): evaluate here
        return _evaluate(loader, modules, roots, variables)
    finally:
        _state = None
    out = Collected()
    for collected, errors, opaque, read_files, probes, parsed in results:
        out.extend(collected)
        for error in errors:
            loader.report(error)
        loader.opaque += opaque
        loader.read_files += read_files
        loader.files.probes.update(probes)
        loader.parser.add(parsed)
    return out


def _evaluate(
    loader: Loader, modules: dict[Path, Module], roots: Sequence[Path], variables: Sequence[Assignment]
) -> Collected:
    out = Collected()
    for directory in roots:
        module = modules[directory]
        if module.files or module.pending:
            inputs = root_inputs(module, loader, variables)
            read_resources(ModuleInstance(loader, module, "", inputs), out)
    return out


def _evaluate_part(roots: Sequence[Path]) -> tuple[Any, ...]:
    """In a worker: evaluate `roots`, and return what they added to the loader's state."""
    assert _state is not None
    loader, modules, variables = _state
    loader.errors, loader.opaque, loader.read_files = {}, [], []
    loader.files.probes = {}
    loader.parser.cache, loader.parser.new = None, {}  # the parent's database connection is not ours
    collected = _evaluate(loader, modules, roots, variables)
    errors = list(loader.errors.values())
    return collected, errors, loader.opaque, loader.read_files, loader.files.probes, loader.parser.new
