"""The Terraform HCL loader: module directories in, model `Inventory` out.

Every directory holding `.tf` files is a module; the ones no other scanned module calls are roots and
are evaluated as Terraform would from there (tfvars, --var-file, --var), following their module calls.

With a cache, the result is stored with every file read and path probed to compute it (`files.Files`):
a scan with the same arguments whose files are all unchanged reads it back instead of loading again.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from policies.cache import Cache, code_stamp, digest, restricted_loads
from policies.loaders.reading import ANYWHERE, Reader
from policies.loaders.terraform.files import unchanged
from policies.model import Inventory

if TYPE_CHECKING:
    from policies.loaders.terraform.module import Assignment


def load_terraform(
    directories: Sequence[Path],
    variables: Sequence[Assignment] = (),
    planned: Sequence[Path] = (),
    skip: Callable[[Path], bool] = lambda path: False,
    *,
    cache: Cache | None = None,
    jobs: int = 1,
    filtered: bool = True,
    identity: str = "",
    reader: Reader = ANYWHERE,
) -> Inventory:
    """The inventory of the Terraform modules in `directories`; `variables` are --var-file paths and
    --var (NAME, VALUE) pairs in command-line order, for every root module. Root modules in `planned`
    are read from a plan instead: they still count as callers, so the modules they call stay non-roots.
    Files for which `skip` is true are not read; `identity` names what `skip` depends on (the
    excludes), for the cached result. Parsing uses `cache`, `jobs` worker processes and, when
    `filtered`, the pre-filter (`policies.loaders.terraform.parsing`); `jobs` processes evaluate the
    root modules when there are many (`policies.loaders.terraform.roots`). Files are read through `reader`."""
    arguments = (code_stamp(), os.getcwd(), directories, variables, planned, filtered, identity, reader)
    key = digest(repr(arguments))
    if cache is not None and (cached := _cached(cache, key, reader)) is not None:
        cache.close()
        return cached
    # python-hcl2, Lark and the evaluator are imported only when there is something to load
    from policies.loaders.terraform.roots import load_modules

    probes, inventory = load_modules(directories, variables, planned, skip, cache, jobs, filtered, reader)
    if cache is not None:
        cache.put({key: pickle.dumps((probes, inventory), pickle.HIGHEST_PROTOCOL)}, "results")
        cache.close()
    return inventory


def _cached(cache: Cache, key: str, reader: Reader) -> Inventory | None:
    """The result stored under `key`, if it decodes and none of the files it was read from changed."""
    data = cache.get(key, "results")
    if data is None:
        return None
    try:
        probes, inventory = restricted_loads(data)
        valid = isinstance(inventory, Inventory) and unchanged(probes, reader)
    except Exception:  # a damaged entry, or one this code did not write: load again
        return None
    return inventory if valid else None
