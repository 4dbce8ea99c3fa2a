"""Input discovery: which loader reads which of the paths given on the command line.

A directory is searched recursively (skipping `.terraform/`, `node_modules/` and `.git/`); every
directory holding `.tf` files is a Terraform module. A `.tf` file stands for its module directory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from policies.loaders.dockerfile import load_dockerfile
from policies.loaders.terraform import load_terraform
from policies.model import InputError, Inventory, shown_path

SKIPPED_DIRECTORIES = frozenset({".terraform", "node_modules", ".git", ".hg", ".svn"})


@dataclass(frozen=True)
class LoadOptions:
    # Terraform variables for root modules, in command-line order: a Path is a --var-file, a
    # (NAME, VALUE) pair a --var; the later wins, as with `terraform plan`.
    variables: tuple[Path | tuple[str, str], ...] = ()
    # (IMAGE, Dockerfile) pairs: containers whose image matches IMAGE run what the Dockerfile builds.
    dockerfiles: tuple[tuple[str, Path], ...] = ()


def _terraform_directories(top: Path) -> list[Path]:
    found: list[Path] = []
    for directory, subdirectories, files in os.walk(top, followlinks=False):
        subdirectories[:] = sorted(name for name in subdirectories if name not in SKIPPED_DIRECTORIES)
        if any(name.endswith((".tf", ".tf.json")) for name in files):
            found.append(Path(directory))
    return found


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[InputError]]:
    """Terraform module directories under `paths`, and the paths that cannot be scanned."""
    directories: list[Path] = []
    errors: list[InputError] = []
    for path in paths:
        shown = shown_path(path)
        if not path.exists():
            errors.append(InputError(shown, "no such file or directory"))
        elif path.is_dir():
            found = _terraform_directories(path)
            if not found:
                errors.append(InputError(shown, "no Terraform (.tf) files found"))
            directories.extend(found)
        elif path.suffix == ".tf":
            directories.append(path.parent)
        else:
            errors.append(InputError(shown, "not a Terraform .tf file or a directory"))
    return list(dict.fromkeys(directory.resolve() for directory in directories)), errors


def load(paths: Sequence[Path], options: LoadOptions = LoadOptions()) -> Inventory:
    directories, errors = discover(paths)
    inventory = load_terraform(directories, options.variables) if directories else Inventory()
    for var_file in options.variables:
        if isinstance(var_file, Path) and not var_file.is_file():
            errors.append(InputError(shown_path(var_file), "--var-file: no such file"))
    builds = []
    for image, dockerfile in options.dockerfiles:
        found = load_dockerfile(dockerfile, (image,))
        if isinstance(found, InputError):
            errors.append(replace(found, message=f"--dockerfile {image}: {found.message}"))
        else:
            builds.append(found)
    read = tuple(build.dockerfile.path for build in builds)
    return Inventory(builds=tuple(builds), errors=tuple(errors)) + inventory + Inventory(inputs=read)
