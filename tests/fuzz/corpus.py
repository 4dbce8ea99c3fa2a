"""What is fuzzed: the fixture files, how each is scanned, and which (file, seed) cases a run takes.

A `Target` is a directory that is copied whole into a case's directory (so the modules, templates,
nested stacks and Dockerfiles next to the mutated file are there) and the arguments `keepalive-guard
scan` is given in it, the way a user scans that kind of input: a Terraform module or a cloud assembly
as a directory, a plan or a template by name (`{file}`: the mutated file), the variables and
`--repo-root` its tests use. Its `files` are the fixtures mutated, one per case.

A case is `Case(file, seed)`, written `path@seed` (e.g. `tests/fixtures/terraform/sidecar/main.tf@17`):
the repository file and the seed of its mutations say everything about it.

`tests/fuzz/corpus/cdk.out` is a cloud assembly that `cdk synth` wrote for tests/fixtures/cdk/app.py
(aws-cdk-lib 2.275.0: three stacks, a Stage's assembly with a nested stack, an image asset with its
Dockerfile), kept as written except for `tree.json`, which nothing reads. The CDK tests synthesize the
app afresh; the fuzzer needs the same bytes on every run, and no Node.js.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Target:
    copy: str  # the directory copied into the case directory, relative to the repository
    scan: tuple[str, ...]  # `keepalive-guard scan` arguments in the copy; "{file}" is the mutated file
    files: tuple[str, ...]  # globs, relative to `copy`, of the files mutated

    def arguments(self, file: str) -> list[str]:
        """The scan arguments for a case that mutates `file` (relative to the copy)."""
        return [argument.replace("{file}", file) for argument in self.scan]


_TERRAFORM = ("**/*.tf", "**/*.tfvars", "**/*.json", "**/*.tpl")  # modules.json, templatefile() files

TARGETS: tuple[Target, ...] = (
    *(
        Target(f"tests/fixtures/terraform/{name}", (".",), _TERRAFORM)
        for name in (
            "aliases",
            "classic_elb",
            "codedeploy",
            "container_files",
            "count_for_each",
            "downloaded",
            "dynamic_blocks",
            "ec2_targets",
            "listener_rules",
            "missing_module",
            "modules",
            "shared_alb",
            "shared_platform",
            "sidecar",
            "skipped",
            "wrong_container",
        )
    ),
    Target("tests/fixtures/terraform/variables", (".", "--var-file", "production.tfvars"), _TERRAFORM),
    *(
        Target(f"tests/fixtures/plan/{name}", ("{file}",), ("*.json",))
        for name in (
            "alb_v9",
            "chain",
            "conditional",
            "for_each",
            "formats",
            "local_through_variable",
            "modules",
            "state",
        )
    ),
    # plans next to the configuration they were made from, and one located in it with --repo-root
    Target("tests/fixtures/plan/locals/for_expression", (".",), ("*.tf", "*.json")),
    Target("tests/fixtures/plan/locals/object", (".",), ("*.tf", "*.json")),
    Target("tests/fixtures/plan/repo_root", ("plan.json", "--repo-root", "."), ("**/*.tf", "**/*.json")),
    Target("tests/fixtures/cloudformation", ("{file}",), ("*.yaml", "*.json")),
    Target("tests/fixtures/cloudformation/nested", ("parent.yaml",), ("*.yaml",)),
    Target("examples/cloudformation", ("{file}",), ("*.yaml",)),
    # the examples' configuration maps the checkout image to its Dockerfile; its package.json says what
    # `npm start` runs
    Target("examples", ("terraform",), ("terraform/**/*.tf", "checkout/Dockerfile", "checkout/package.json")),
    Target(
        "tests/fuzz/corpus",
        ("cdk.out",),
        tuple(
            f"cdk.out/**/{name}"
            for name in ("manifest.json", "*.template.json", "*.assets.json", "*.metadata.json", "Dockerfile")
        ),
    ),
)


@cache
def files() -> dict[str, Target]:
    """Every fuzzed file (repository-relative, POSIX) and its target, in sorted order."""
    found: dict[str, Target] = {}
    for target in TARGETS:
        for pattern in target.files:
            for path in (REPO / target.copy).glob(pattern):
                if path.is_file():
                    found.setdefault(path.relative_to(REPO).as_posix(), target)
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class Case:
    file: str  # repository-relative path of the fixture mutated
    seed: int

    def __str__(self) -> str:
        return f"{self.file}@{self.seed}"

    @classmethod
    def parse(cls, text: str) -> Case:
        """A case from its `path@seed` form; ValueError when it names no fuzzed file."""
        file, at, seed = text.strip().rpartition("@")
        if not at or not seed.lstrip("-").isdigit():
            raise ValueError(
                f"{text!r}: expected FILE@SEED, e.g. tests/fixtures/terraform/sidecar/main.tf@17"
            )
        if file not in files():
            raise ValueError(f"{file!r} is not one of the fuzzed files (tests/fuzz/corpus.py TARGETS)")
        return cls(file, int(seed))

    @property
    def target(self) -> Target:
        return files()[self.file]

    @property
    def suffix(self) -> str:
        return Path(self.file).suffix


def select(count: int, first_seed: int = 0) -> list[Case]:
    """`count` cases, the files taken in turn and the seeds counting up from `first_seed`: every file
    gets the same share, and the same arguments select the same cases."""
    names = list(files())
    return [Case(names[index % len(names)], first_seed + index) for index in range(count)]
