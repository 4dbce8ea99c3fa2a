"""Input discovery: which loader reads which of the paths given on the command line.

A directory is searched recursively (skipping `.terraform/`, `node_modules/` and `.git/`); every
directory holding `.tf` files is a Terraform module, and every `.json` file whose content is a Terraform
plan (`terraform show -json tfplan`) is read as one (other JSON is skipped). A `.tf` file stands for its
module directory; a `.json` file, or any file whose content looks like a plan, must be a plan.

A plan in a directory that also holds a root module's `.tf` files is taken to be that root's plan (CI
runs `terraform show -json tfplan > plan.json` where it planned) when it was made from them (the same
resources, module calls and literal arguments; `Configuration.differs`): the root is read from the
plan only, not from its `.tf` files too, which would report every finding twice. That holds whether the plan was
found or named; verbose output lists the root as skipped, naming the plan. Modules the root calls are
read through the plan as well. A plan written elsewhere is not matched to any configuration: scan
either the plan or the configuration. `--repo-root DIR` (`LoadOptions.repo_root`) names the directory
a plan was made in: its `.tf` files are then read for locations only, so findings point at the
`resource` blocks and attributes instead of the plan's lines (`policies.loaders.plan_config`).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from policies.cache import Cache
from policies.config import Exclude
from policies.loaders import inline
from policies.loaders.dockerfile import load_dockerfile
from policies.loaders.reading import Reader
from policies.loaders.sniff import (
    MANIFEST,
    TEMPLATE_SUFFIXES,
    TERRAFORM_JSON,
    looks_like_assembly,
    looks_like_plan,
    looks_like_template,
)
from policies.model import InputError, Inventory, Location, Opaque, ResourceId, shown_path

SKIPPED_DIRECTORIES = frozenset({".terraform", "node_modules", ".git", ".hg", ".svn"})


@dataclass(frozen=True)
class LoadOptions:
    # Terraform variables for root modules, in command-line order: a Path is a --var-file, a
    # (NAME, VALUE) pair a --var; the later wins, as with `terraform plan`.
    variables: tuple[Path | tuple[str, str], ...] = ()
    # (IMAGE, Dockerfile) pairs: containers whose image matches IMAGE run what the Dockerfile builds.
    dockerfiles: tuple[tuple[str, Path], ...] = ()
    # The directory the plans were made in (the root module, after `terraform init`): plan resources are
    # located in its .tf files.
    repo_root: Path | None = None
    # CloudFormation parameter values given (NAME → (value, where it was given)); the rest take their Default.
    parameters: Mapping[str, tuple[str, Location]] = field(default_factory=dict)
    # Path patterns not to discover in the directories scanned (configuration `excludes`, --exclude).
    excludes: tuple[Exclude, ...] = ()
    # The parse and result cache directory (policies.cache, --no-cache); None: no cache.
    cache: Path | None = None
    # Worker processes that parse Terraform files and evaluate root modules (--jobs); 1: none.
    jobs: int = 1
    # Parse only the .tf files that may declare something a chain is read from, the others when
    # evaluation asks for them (policies.loaders.terraform.parsing; --no-prefilter).
    prefilter: bool = True
    # The largest input file read, in bytes (--max-file-size); 0: the default (`reading.DEFAULT_MAX_MB`).
    max_file_bytes: int = 0


def available_cpus() -> int:
    """The CPUs this process may run on (affinity and, from Python 3.13, its CPU limit)."""
    count = getattr(os, "process_cpu_count", None)
    if count is not None:
        return int(count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def repo_root_error(path: Path) -> str | None:
    """Why `path` cannot be the --repo-root; None when it can."""
    if not path.exists():
        return "no such directory"
    if not path.is_dir():
        return "not a directory"
    if not any(child.is_file() for child in path.glob("*.tf")):
        return "no Terraform (.tf) files in it: give the directory `terraform plan` ran in (the root module)"
    return None


def excluded(path: Path, excludes: Sequence[Exclude]) -> bool:
    """Whether a configured or `--exclude` pattern matches `path` (see `policies.config.Exclude`)."""
    for exclude in excludes:
        try:
            relative = path.resolve().relative_to(exclude.base.resolve()).as_posix()
        except ValueError:
            continue
        pattern = exclude.pattern.removeprefix("./").rstrip("/")
        if "/" in pattern:
            if fnmatch.fnmatchcase(relative, pattern):
                return True
        elif fnmatch.fnmatchcase(path.name, pattern):
            return True
    return False


def _walk(top: Path, excludes: Sequence[Exclude] = ()) -> Discovered:
    """Terraform module directories under `top`, the `.json` files that may be plans, the files that
    may be CloudFormation templates, and the cloud assemblies (read through their manifest, not file
    by file); nothing that `excludes` matches."""
    found = Discovered([], [], [], [])
    for directory, subdirectories, files in os.walk(top, followlinks=False):
        if MANIFEST in files and looks_like_assembly(Path(directory)):
            found.assemblies.append(Path(directory))
            subdirectories[:] = []
            continue
        subdirectories[:] = sorted(name for name in subdirectories if name not in SKIPPED_DIRECTORIES)
        if excludes:
            subdirectories[:] = [
                name for name in subdirectories if not excluded(Path(directory, name), excludes)
            ]
            files = [name for name in files if not excluded(Path(directory, name), excludes)]
        if any(name.endswith((".tf", ".tf.json")) for name in files):
            found.directories.append(Path(directory))
        for name in sorted(name for name in files if name.endswith(TEMPLATE_SUFFIXES)):
            path = Path(directory, name)
            if name.endswith(".json") and looks_like_plan(path):
                found.plans.append(path)
            elif not name.endswith(TERRAFORM_JSON) and looks_like_template(path):
                found.templates.append(path)
    return found


@dataclass(frozen=True)
class Discovered:
    directories: list[Path]  # Terraform module directories
    plans: list[Path]  # files to read as plan JSON
    named: list[Path]  # plans and templates named on the command line: not being one is an error
    errors: list[InputError]
    templates: list[Path] = field(default_factory=list)  # CloudFormation templates
    assemblies: list[Path] = field(default_factory=list)  # cloud assembly (cdk.out) directories


def discover(paths: Sequence[Path], excludes: Sequence[Exclude] = ()) -> Discovered:
    """Terraform module directories, plan files, templates and cloud assemblies under `paths`, and the
    paths that cannot be scanned. `excludes` apply below the directories given, not to paths named."""
    out = Discovered([], [], [], [])
    for path in paths:
        shown = shown_path(path)
        if not path.exists():
            out.errors.append(InputError(shown, "no such file or directory"))
        elif path.is_dir():
            found = _walk(path, excludes)
            if not (found.directories or found.plans or found.templates or found.assemblies):
                message = "no Terraform (.tf) files, plan JSON, CloudFormation templates or cdk.out found"
                out.errors.append(InputError(shown, message))
            out.directories.extend(found.directories)
            out.plans.extend(found.plans)
            out.templates.extend(found.templates)
            out.assemblies.extend(found.assemblies)
        elif path.suffix == ".tf":
            out.directories.append(path.parent)
        elif looks_like_plan(path):
            out.plans.append(path)
            out.named.append(path)
        elif path.suffix in TEMPLATE_SUFFIXES and not path.name.endswith(TERRAFORM_JSON):
            (out.templates if path.suffix != ".json" or looks_like_template(path) else out.plans).append(path)
            out.named.append(path)
        else:
            message = "not a Terraform .tf file, plan JSON, CloudFormation template or directory"
            out.errors.append(InputError(shown, message))
    return Discovered(
        list(dict.fromkeys(directory.resolve() for directory in out.directories)),
        list({plan.resolve(): plan for plan in out.plans}.values()),
        out.named,
        out.errors,
        list({template.resolve(): template for template in out.templates}.values()),
        list({assembly.resolve(): assembly for assembly in out.assemblies}.values()),
    )


def _planned_roots(directories: list[Path], roots: dict[Path, list[Path]]) -> tuple[list[Path], list[Opaque]]:
    """Module directories that a plan was made from, which stands for them (see the module docstring)."""
    planned, skipped = [], []
    for directory in directories:
        plans = roots.get(directory)
        if not plans:
            continue
        planned.append(directory)
        shown, names = shown_path(directory), ", ".join(shown_path(plan) for plan in plans)
        reason = (
            f"the Terraform configuration in {shown} is read from the plan {names} found next to it, not "
            "from its .tf files as well (that would report every finding twice)"
        )
        skipped.append(Opaque(ResourceId(shown, shown, Location(shown_path(plans[0]))), reason, False))
    return planned, skipped


def load(paths: Sequence[Path], options: LoadOptions = LoadOptions()) -> Inventory:
    discovered = discover(paths, options.excludes)
    errors, directories = discovered.errors, discovered.directories
    repo_root = options.repo_root
    if repo_root is not None and (why := repo_root_error(repo_root)) is not None:
        errors.append(InputError(shown_path(repo_root), f"--repo-root: {why}"))
        repo_root = None
    given = [path for path in options.variables if isinstance(path, Path)]
    given += [dockerfile for _, dockerfile in options.dockerfiles] + ([repo_root] if repo_root else [])
    reader = Reader.around([path for path in paths if path.exists()], given, options.max_file_bytes)
    # Each loader, and the parser it needs, is imported only when there is something for it to read.
    inventory, roots = Inventory(), dict[Path, list[Path]]()
    if discovered.plans:
        from policies.loaders.plan import load_plans

        inventory, roots = load_plans(discovered.plans, discovered.named, repo_root, reader)
    # a template of an assembly that is scanned is read through the assembly only
    assemblies = [assembly.resolve() for assembly in discovered.assemblies]
    templates = [
        path for path in discovered.templates if not any(path.resolve().is_relative_to(a) for a in assemblies)
    ]
    if templates or discovered.assemblies:
        from policies.loaders.cloudformation import load_assemblies, load_templates

        if templates:
            inventory += load_templates(templates, discovered.named, options.parameters, reader)
        if discovered.assemblies:
            inventory += load_assemblies(discovered.assemblies, options.parameters, reader)
    planned, replaced = _planned_roots(directories, roots)
    if directories:
        from policies.loaders.terraform import load_terraform

        skip = partial(excluded, excludes=options.excludes)
        cache = Cache(options.cache) if options.cache is not None else None
        terraform = load_terraform(
            directories,
            options.variables,
            planned,
            skip,
            cache=cache,
            jobs=options.jobs,
            filtered=options.prefilter,
            identity=repr(options.excludes),
            reader=reader,
        )
        inventory = terraform + inventory
    inventory += Inventory(opaque=tuple(replaced))
    for var_file in options.variables:
        if isinstance(var_file, Path) and not var_file.is_file():
            errors.append(InputError(shown_path(var_file), "--var-file: no such file"))
    builds = []
    for image, dockerfile in options.dockerfiles:
        found = load_dockerfile(dockerfile, (image,), reader=reader)
        if isinstance(found, InputError):
            errors.append(replace(found, message=f"--dockerfile {image}: {found.message}"))
        else:
            builds.append(found)
    read = tuple(build.dockerfile.path for build in builds)
    inventory = Inventory(builds=tuple(builds), errors=tuple(errors)) + inventory + Inventory(inputs=read)
    return inventory + inline.suppressions(inventory)
