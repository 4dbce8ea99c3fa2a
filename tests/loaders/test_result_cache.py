"""A Terraform result read back from the cache is the result loading again would give.

The cached result is used only when every file the loader read and every path it probed is unchanged
(`policies.loaders.terraform.files`); each kind of change below must make the scan load again, and
give what a scan without any cache gives.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import policies.loaders.terraform as terraform
from policies import cache as cache_module
from policies.loaders import LoadOptions, load
from policies.loaders.terraform import files, roots
from policies.loaders.terraform.values import Obj, Text, Unknown, located, spanned, where_of
from policies.model import Inventory, Location
from tests.helpers import service_tf, write_tree

REMOTE_MODULES = {
    "Modules": [
        {"Key": "remote", "Source": "registry.terraform.io/acme/lb/aws", "Dir": ".terraform/modules/remote"}
    ]
}


def _tree(repo: Path) -> Path:
    """A root module that reads a variable, tfvars, a file() and a module outside the scanned
    directory (in the same repository), and calls a registry module that `terraform init` has not
    fetched."""
    main = service_tf(command=["gunicorn", "app"], environment={"NOTE": "X"}, idle_timeout=999)
    main = main.replace("idle_timeout = 999", "idle_timeout = var.idle").replace(
        'value = "X"', 'value = file("note.txt")'
    )
    write_tree(
        repo,
        {
            "root/main.tf": main,
            "root/variables.tf": 'variable "idle" {\n  default = 30\n}\n',
            "root/calls.tf": (
                'module "shared" {\n  source = "../shared"\n}\n\n'
                'module "remote" {\n  source  = "acme/lb/aws"\n  version = "1.0.0"\n}\n'
            ),
            "root/note.txt": "one\n",
            "shared/main.tf": 'resource "aws_lb" "inner" {\n  name         = "inner"\n  idle_timeout = 45\n}\n',
            ".git/HEAD": "ref: refs/heads/main\n",
        },
    )
    past = time.time_ns() - 60_000_000_000  # written long before the scan: their times are trusted
    for path in repo.rglob("*"):
        os.utime(path, ns=(past, past))
    return repo / "root"


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The directories loaded from now on, rather than read back from the cache."""
    loaded: list[Path] = []
    real = roots.Loader

    def counting(*args: object, **kwargs: object) -> object:
        loaded.append(Path.cwd())
        return real(*args, **kwargs)

    monkeypatch.setattr(roots, "Loader", counting)
    return loaded


def test_an_unchanged_tree_is_read_back_and_is_what_loading_gives(tmp_path: Path, loads: list[Path]) -> None:
    root = _tree(tmp_path / "repo")
    options = LoadOptions(cache=tmp_path / "cache")
    first = load([root], options)
    assert len(loads) == 1 and first.load_balancers and first.opaque  # the registry module
    assert load([root], options) == first and len(loads) == 1
    assert load([root]) == first  # and without any cache


def _same_size_same_time(root: Path) -> None:
    path = root / "note.txt"
    status = path.stat()
    path.write_text("two\n")
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))


CHANGES: dict[str, Callable[[Path], None]] = {
    "a .tf file of the root edited": lambda root: (root / "variables.tf").write_text(
        'variable "idle" {\n  default = 31\n}\n'
    ),
    "a .tf file of the module outside the scan edited, same size": lambda root: (
        root.parent / "shared" / "main.tf"
    ).write_text('resource "aws_lb" "inner" {\n  name         = "inner"\n  idle_timeout = 46\n}\n'),
    "a .tf file added to that module": lambda root: (root.parent / "shared" / "more.tf").write_text(
        'resource "aws_lb" "more" {\n  name = "more"\n}\n'
    ),
    "a .tf file removed": lambda root: (root / "calls.tf").unlink(),
    "terraform.tfvars added": lambda root: (root / "terraform.tfvars").write_text("idle = 120\n"),
    "an .auto.tfvars.json added": lambda root: (root / "x.auto.tfvars.json").write_text('{"idle": 90}'),
    "the file() read edited": lambda root: (root / "note.txt").write_text("three\n"),
    "the file() read removed": lambda root: (root / "note.txt").unlink(),
    "the module directory moved away": lambda root: (root.parent / "shared").rename(root.parent / "gone"),
    "terraform init fetched the registry module": lambda root: write_tree(
        root,
        {
            ".terraform/modules/modules.json": json.dumps(REMOTE_MODULES),
            ".terraform/modules/remote/main.tf": 'resource "aws_lb" "remote" {\n  name = "remote"\n}\n',
        },
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_change_of_what_was_read_loads_again(tmp_path: Path, loads: list[Path], change: str) -> None:
    root = _tree(tmp_path / "repo")
    options = LoadOptions(cache=tmp_path / "cache")
    before = load([root], options)
    CHANGES[change](root)
    after = load([root], options)
    assert len(loads) == 2
    assert after == load([root]) and after != before


def test_a_file_written_just_before_the_scan_is_compared_by_content(
    tmp_path: Path, loads: list[Path]
) -> None:
    """Its modification time may not change on a second write within the clock's granularity."""
    root = _tree(tmp_path / "repo")
    (root / "note.txt").write_text("one\n")  # now, not a minute ago
    options = LoadOptions(cache=tmp_path / "cache")
    before = load([root], options)
    _same_size_same_time(root)
    after = load([root], options)
    assert len(loads) == 2 and after == load([root]) and after != before


def test_an_unchanged_directory_is_not_listed_again_a_changed_one_is(
    tmp_path: Path, loads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory's modification time changes when an entry is added, removed or renamed in it."""
    root = _tree(tmp_path / "repo")
    options = LoadOptions(cache=tmp_path / "cache")
    load([root], options)
    listed: list[str] = []
    real = files._listing
    monkeypatch.setattr(files, "_listing", lambda name: listed.append(name) or real(name))
    first = load([root], options)
    assert listed == [] and len(loads) == 1
    (root / "extra.txt").write_text("")  # an entry no pattern matches: listed again, the same result
    assert load([root], options) == first and len(loads) == 1
    assert str(root / "*.tf") in listed and not any(
        name.startswith(str(root.parent / "shared")) for name in listed
    )


@pytest.mark.parametrize(
    "other",
    [
        LoadOptions(variables=(("idle", "75"),)),
        LoadOptions(prefilter=False),
        LoadOptions(excludes=()),  # the same: read back
    ],
    ids=["a --var", "--no-prefilter", "the same options"],
)
def test_other_options_have_their_own_result(tmp_path: Path, loads: list[Path], other: LoadOptions) -> None:
    root = _tree(tmp_path / "repo")
    cache = tmp_path / "cache"
    load([root], LoadOptions(cache=cache))
    again = load([root], LoadOptions(cache=cache, variables=other.variables, prefilter=other.prefilter))
    assert len(loads) == (1 if other == LoadOptions() else 2)
    assert again == load([root], other)


def test_another_working_directory_has_its_own_result(
    tmp_path: Path, loads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paths are shown relative to it."""
    root = _tree(tmp_path / "repo")
    options = LoadOptions(cache=tmp_path / "cache")
    monkeypatch.chdir(tmp_path)
    load([root], options)
    monkeypatch.chdir(root)
    again = load([root], options)
    assert len(loads) == 2 and again == load([root])


def test_another_version_of_the_code_has_its_own_result(
    tmp_path: Path, loads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "repo")
    options = LoadOptions(cache=tmp_path / "cache")
    load([root], options)
    monkeypatch.setattr(terraform, "code_stamp", lambda: "edited")
    load([root], options)
    assert len(loads) == 2


def test_the_code_stamp_changes_when_a_module_of_the_package_changes(tmp_path: Path) -> None:
    package = tmp_path / "policies"
    shutil.copytree(Path(cache_module.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    stamp = cache_module.code_stamp.__wrapped__
    before = stamp(package)
    assert stamp(package) == before
    with (package / "loaders" / "terraform" / "module.py").open("a") as module:
        module.write("# edited\n")
    assert stamp(package) != before


def _results(cache: Path) -> list[bytes]:
    (database,) = cache.glob("parse-*.sqlite")
    with sqlite3.connect(database) as connection:
        return [bytes(row[0]) for row in connection.execute("SELECT data FROM results")]


def _replace_results(cache: Path, data: bytes) -> None:
    (database,) = cache.glob("parse-*.sqlite")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE results SET data = ?", (data,))


class _Touch:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return Path.touch, (self.path,)


@pytest.mark.parametrize("damage", ["not a pickle", "a pickle of something else", "a pickle that calls code"])
def test_a_damaged_or_foreign_result_is_loaded_again_and_never_run(
    tmp_path: Path, loads: list[Path], damage: str
) -> None:
    root = _tree(tmp_path / "repo")
    cache = tmp_path / "cache"
    first = load([root], LoadOptions(cache=cache))
    marker = tmp_path / "ran"
    data = {
        "not a pickle": b"\x80\x05garbage",
        "a pickle of something else": pickle.dumps(({}, {"not": "an inventory"})),
        "a pickle that calls code": pickle.dumps(({}, _Touch(marker))),
    }[damage]
    _replace_results(cache, data)
    assert load([root], LoadOptions(cache=cache)) == first
    assert len(loads) == 2 and not marker.exists()


def test_only_the_most_recent_results_are_kept(tmp_path: Path) -> None:
    cache = cache_module.Cache(tmp_path)
    for number in range(cache_module._RESULTS + 5):
        cache.put({f"k{number}": b"v"}, "results")
    cache.put({"k3": b"again"}, "results")
    assert len(_results(tmp_path)) == cache_module._RESULTS
    assert cache.get("k3", "results") == b"again" and cache.get("k4", "results") is None
    assert cache.get(f"k{cache_module._RESULTS + 4}", "results") == b"v"
    cache.close()


def test_a_result_holds_only_model_classes(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo")
    load([root], LoadOptions(cache=tmp_path / "cache"))
    (data,) = _results(tmp_path / "cache")
    probes, inventory = cache_module.restricted_loads(data)
    assert isinstance(inventory, Inventory) and isinstance(probes, dict)
    assert {operation for operation, _ in probes} <= {
        "read",
        "glob",
        "files",
        "is_file",
        "exists",
        "directory",
    }


def test_values_keep_their_locations_through_a_result() -> None:
    here, there = Location("a.tf", 3), Location("b.tf", 9)
    values = [
        located("gunicorn", here),
        located(30, here),
        located(2.5, here),
        located(["a", "b"], here),
        Text("{}", here, ((0, 2, there),)),
        spanned("x=1", ((2, 3, there),)),
        Obj([("k", located("v", there))], {"k": there}),
        Unknown("known after apply", frozenset({"aws_lb.web"})),
    ]
    copies = cache_module.restricted_loads(pickle.dumps(values, pickle.HIGHEST_PROTOCOL))
    for value, copy in zip(values, copies, strict=True):
        assert copy == value and type(copy) is type(value)
        assert where_of(copy) == where_of(value)
        assert getattr(copy, "spans", None) == getattr(value, "spans", None)
        assert getattr(copy, "where", None) == getattr(value, "where", None)
    assert where_of(copies[6]["k"]) == there


_IMPORTED = """
import sys, policies.cli
sys.argv = ["keepalive-guard", "scan", sys.argv[1], "--format", "json"]
try:
    policies.cli.main()
except SystemExit:
    pass
heavy = ("hcl2", "lark", "yaml", "cfnlint", "policies.loaders.plan", "policies.loaders.cloudformation")
print(sorted(name for name in heavy if name in sys.modules), file=sys.stderr)
"""


def test_a_warm_scan_imports_no_parser_and_no_loader_it_has_no_input_for(tmp_path: Path) -> None:
    """Read back from the cache, a Terraform scan needs neither python-hcl2 and Lark (taking longer to
    import than the rest of its start) nor the plan and CloudFormation loaders; the first scan does."""
    root = _tree(tmp_path / "repo")

    def imported() -> str:
        environment = {**os.environ, "KEEPALIVE_GUARD_CACHE_DIR": str(tmp_path / "cache")}
        completed = subprocess.run(
            [sys.executable, "-c", _IMPORTED, str(root)],
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
        )
        assert '"findings"' in completed.stdout, completed.stderr
        return completed.stderr.strip()

    assert imported() == "['hcl2', 'lark']"
    assert imported() == "[]"
