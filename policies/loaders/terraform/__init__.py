"""The Terraform HCL loader: module directories in, model `Inventory` out.

Every directory holding `.tf` files is a module; the ones no other scanned module calls are roots and
are evaluated as Terraform would from there (tfvars, --var-file, --var), following their module calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from policies.cache import Cache
from policies.loaders.terraform.module import Assignment, Loader, ModuleInstance, root_inputs
from policies.loaders.terraform.parsing import Parser, prefilter
from policies.loaders.terraform.resources import DATA_READERS, READERS, Collected, read_resources
from policies.model import Inventory


def load_terraform(
    directories: Sequence[Path],
    variables: Sequence[Assignment] = (),
    planned: Sequence[Path] = (),
    skip: Callable[[Path], bool] = lambda path: False,
    *,
    cache: Cache | None = None,
    jobs: int = 1,
    filtered: bool = True,
) -> Inventory:
    """The inventory of the Terraform modules in `directories`; `variables` are --var-file paths and
    --var (NAME, VALUE) pairs in command-line order, for every root module. Root modules in `planned`
    are read from a plan instead: they still count as callers, so the modules they call stay non-roots.
    Files for which `skip` is true are not read. Parsing uses `cache`, `jobs` worker processes and,
    when `filtered`, the pre-filter (`policies.loaders.terraform.parsing`)."""
    relevant = prefilter({*READERS, *DATA_READERS}) if filtered else None
    loader = Loader(skip, Parser(cache, jobs), relevant)
    loader.read(directories)
    modules = {directory.resolve(): loader.module(directory) for directory in directories}
    called = {source for module in modules.values() for source in module.local_sources()}
    roots = [directory for directory in modules if directory not in called] or list(modules)
    skipped = {directory.resolve() for directory in planned}
    roots = [directory for directory in roots if directory not in skipped]
    out = Collected()
    for directory in roots:
        module = modules[directory]
        if module.files or module.pending:
            inputs = root_inputs(module, loader, variables)
            read_resources(ModuleInstance(loader, module, "", inputs), out)
    declared = {name for directory in roots for name in modules[directory].variables}
    for assignment in variables:
        if isinstance(assignment, tuple) and assignment[0] not in declared:
            message = f'no root module declares variable "{assignment[0]}"'
            loader.error(f"--var {assignment[0]}", message)
    loader.parser.save()
    return dataclasses.replace(
        out.inventory(),
        opaque=tuple(loader.opaque),
        errors=tuple(loader.errors.values()),
        inputs=tuple(dict.fromkeys(loader.read_files)),
    )
