"""The Terraform HCL loader: module directories in, model `Inventory` out.

Every directory holding `.tf` files is a module; the ones no other scanned module calls are roots and
are evaluated as Terraform would from there (tfvars, --var-file, --var), following their module calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from policies.loaders.terraform.module import Loader, ModuleInstance, root_inputs
from policies.loaders.terraform.resources import Collected, read_resources
from policies.model import Inventory


def load_terraform(
    directories: Sequence[Path], var_files: Sequence[Path] = (), variables: Sequence[tuple[str, str]] = ()
) -> Inventory:
    loader = Loader()
    modules = {directory.resolve(): loader.module(directory) for directory in directories}
    called = {source for module in modules.values() for source in module.local_sources()}
    roots = [directory for directory in modules if directory not in called] or list(modules)
    out = Collected()
    for directory in roots:
        module = modules[directory]
        if module.files:
            inputs = root_inputs(module, loader, list(var_files), list(variables))
            read_resources(ModuleInstance(loader, module, "", inputs), out)
    return dataclasses.replace(
        out.inventory(),
        opaque=tuple(loader.opaque),
        errors=tuple(loader.errors.values()),
        inputs=tuple(dict.fromkeys(loader.read_files)),
    )
