"""The pre-filter, the parse cache and parallel parsing change how fast a scan is, never what it finds.

Each is compared with a scan that has none of them, on a generated monorepo (bench/generate.py: shared
modules, inline services that refer to roles and parameters in files the pre-filter leaves pending,
unrelated S3/IAM/VPC files) and on every Terraform fixture of the suite.
"""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import hcl2.parser
import lark
import pytest
from lark.parse_tree_builder import PropagatePositions

from policies.cache import Cache, default_directory
from policies.loaders import LoadOptions, load
from policies.loaders.terraform import config, hcl, parsing, roots
from tests.helpers import FIXTURES, service_tf, write_tree

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def monorepo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generator().generate(16, tmp_path_factory.mktemp("monorepo"))  # type: ignore[no-any-return]


def cli(*args: str, cache: Path, cwd: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "policies", "scan", *args, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "KEEPALIVE_GUARD_CACHE_DIR": str(cache)},
        timeout=300,
    )
    assert completed.returncode in (0, 1), completed.stderr
    assert completed.stderr == ""
    return json.loads(completed.stdout)  # type: ignore[no-any-return]


def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts parsed from now on (in this process)."""
    seen: list[str] = []
    real = parsing.entry

    def counting(text: str) -> bytes:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(parsing, "entry", counting)
    return seen


# --- the same results ---------------------------------------------------------------------------


def test_the_generated_monorepo_gives_the_same_report_with_and_without_prefilter_cache_and_workers(
    monorepo: Path, tmp_path: Path
) -> None:
    reference = cli(
        ".", "--no-prefilter", "--no-cache", "--jobs", "1", cache=tmp_path / "unused", cwd=monorepo
    )
    assert reference["summary"]["targets"] == 16 and reference["summary"]["errors"] > 0
    assert reference["summary"]["input_errors"] == 0
    cache = tmp_path / "cache"
    cold = cli(".", cache=cache, cwd=monorepo)
    assert any(cache.glob("parse-*.sqlite"))
    warm = cli(".", cache=cache, cwd=monorepo)
    serial = cli(".", "--jobs", "1", "--no-cache", cache=tmp_path / "unused", cwd=monorepo)
    assert cold == reference and warm == reference and serial == reference
    assert not (tmp_path / "unused").exists()


def test_the_generated_monorepo_loads_the_same_in_worker_processes(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reference = load([monorepo], LoadOptions(prefilter=False))
    pools = _counted_pools(monkeypatch)
    in_workers = load([monorepo], LoadOptions(jobs=2, cache=tmp_path))
    assert pools == ([2, 2] if sys.platform.startswith("linux") else [2])  # parsing, evaluating the roots
    assert in_workers == reference
    seen = parses(monkeypatch)
    assert load([monorepo], LoadOptions(jobs=2, cache=tmp_path)) == reference  # all from the cache
    assert seen == []


def _counted_pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The worker pools started from now on (their sizes), for any amount of work."""
    pools: list[int] = []

    class Pool(parsing.ProcessPoolExecutor):
        def __init__(self, workers: int, *context: Any) -> None:
            pools.append(workers)
            super().__init__(workers, *context)

    for module in (parsing, roots):
        monkeypatch.setattr(module, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(parsing, "_PARALLEL_BYTES", 0)
    monkeypatch.setattr(roots, "_PARALLEL_ROOTS", 1)
    return pools


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="roots are evaluated in workers on Linux")
@pytest.mark.parametrize("fixture", sorted(path.name for path in (FIXTURES / "terraform").iterdir()))
def test_every_terraform_fixture_loads_the_same_with_its_roots_evaluated_in_workers(
    fixture: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors, opaque modules and files read included, in the same order."""
    directory = FIXTURES / "terraform" / fixture
    serial = load([directory])
    pools = _counted_pools(monkeypatch)
    assert load([directory], LoadOptions(jobs=2)) == serial
    assert pools[-1:] == [2]


def _roots_with_errors(repo: Path) -> Path:
    """Roots whose evaluation reports errors: a missing file(), a tfvars value of the wrong type, a
    missing module source, a module outside the scan with a syntax error (called by two roots), and a
    pending file with a syntax error that a lookup parses."""
    chain = service_tf(command=["gunicorn", "app"], environment={"NOTE": "X"})
    shared = 'module "shared" {\n  source = "../../shared"\n}\n'
    write_tree(
        repo,
        {
            "roots/r0/main.tf": chain.replace('value = "X"', 'value = file("missing.txt")'),
            "roots/r1/main.tf": chain + 'variable "idle" {\n  type = number\n}\n',
            "roots/r1/terraform.tfvars": 'idle = "abc"\n',
            "roots/r2/main.tf": chain + 'module "m" {\n  source = "./nope"\n}\n',
            "roots/r3/main.tf": chain + shared,
            "roots/r4/main.tf": chain + shared,
            "roots/r5/main.tf": chain.replace('value = "X"', "value = aws_ssm_parameter.note.value"),
            "roots/r5/ssm.tf": 'resource "aws_ssm_parameter" "note" {\n  value = "x"\n',
            "shared/main.tf": "locals {\n  broken = \n}\n",
        },
    )
    return repo / "roots"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="roots are evaluated in workers on Linux")
def test_errors_of_roots_evaluated_in_workers_are_those_of_one_process_in_its_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    directory = _roots_with_errors(tmp_path / "repo")
    serial = load([directory])
    assert [(error.path, error.line) for error in serial.errors] == [
        ("repo/roots/r0/main.tf", 37),  # file("missing.txt")
        ("repo/roots/r1/terraform.tfvars", 1),  # idle = "abc"
        ("repo/roots/r2/main.tf", 42),  # source = "./nope"
        ("repo/shared/main.tf", 2),  # loaded by r3 and r4
        ("repo/roots/r5/ssm.tf", 3),  # pending, parsed for the lookup of aws_ssm_parameter.note
    ]
    pools = _counted_pools(monkeypatch)
    assert load([directory], LoadOptions(jobs=2)) == serial
    assert pools == [2, 2]


@pytest.mark.parametrize("fixture", sorted(path.name for path in (FIXTURES / "terraform").iterdir()))
def test_every_terraform_fixture_loads_the_same_with_and_without_the_prefilter(fixture: str) -> None:
    directory = FIXTURES / "terraform" / fixture
    assert load([directory], LoadOptions(prefilter=True)) == load([directory], LoadOptions(prefilter=False))


# --- the pre-filter -------------------------------------------------------------------------------

UNRELATED = """
resource "aws_s3_bucket" "assets" {
  bucket = "acme-assets"
}

resource "aws_iam_role" "task" {
  name               = "task"
  assume_role_policy = "{}"
}
"""


def test_files_that_cannot_declare_a_chain_are_not_parsed_unless_a_lookup_needs_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"main.tf": service_tf(command=["gunicorn", "app"]), "storage.tf": UNRELATED})
    seen = parses(monkeypatch)
    inventory = load([tmp_path])
    assert [text for text in seen if "aws_s3_bucket" in text] == []
    assert "storage.tf" in {Path(path).name for path in inventory.inputs}  # read: it counts as an input


def test_a_pending_file_is_parsed_when_the_chain_refers_to_what_it_declares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep_alive = "${aws_ssm_parameter.keep_alive.value}"
    chain = service_tf(command=["gunicorn", "--threads", "4", "--keep-alive", keep_alive, "app"])
    chain = chain.replace("$${", "${")  # a reference, not a literal
    parameters = (
        'resource "aws_ssm_parameter" "keep_alive" {\n  name  = "k"\n  type  = "String"\n  value = "75"\n}\n'
    )
    queue = 'resource "aws_sqs_queue" "jobs" {}\n'
    write_tree(tmp_path, {"main.tf": chain, "parameters.tf": parameters, "queue.tf": queue})
    seen = parses(monkeypatch)
    filtered = load([tmp_path])
    assert seen == [chain, parameters]  # not queue.tf: it does not mention aws_ssm_parameter
    assert filtered == load([tmp_path], LoadOptions(prefilter=False))
    (tmp_path / "parameters.tf").unlink()
    assert load([tmp_path]) != filtered  # what the pending file declares is part of the result


def test_a_syntax_error_in_a_file_that_cannot_matter_is_reported_only_without_the_prefilter(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path,
        {"main.tf": service_tf(command=["gunicorn", "app"]), "broken.tf": 'resource "aws_s3_bucket" "x" {\n'},
    )
    assert load([tmp_path]).errors == ()
    (error,) = load([tmp_path], LoadOptions(prefilter=False)).errors
    assert error.path.endswith("broken.tf") and "syntax error" in error.message


def test_a_syntax_error_in_a_file_that_may_matter_is_reported(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {"main.tf": service_tf(command=["gunicorn", "app"]), "broken.tf": 'resource "aws_lb" "x" {\n'},
    )
    (error,) = load([tmp_path]).errors
    assert error.path.endswith("broken.tf")


def test_override_files_turn_the_prefilter_off_for_their_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(
        tmp_path,
        {
            "main.tf": service_tf(command=["gunicorn", "app"]),
            "storage.tf": UNRELATED,
            "storage_override.tf": 'resource "aws_s3_bucket" "assets" {\n  bucket = "other"\n}\n',
        },
    )
    seen = parses(monkeypatch)
    assert load([tmp_path]) == load([tmp_path], LoadOptions(prefilter=False))
    assert UNRELATED in seen


def test_the_prefilter_words_cover_every_resource_type_the_loader_reads() -> None:
    from policies.loaders.terraform.resources import DATA_READERS, READERS

    relevant = parsing.prefilter({*READERS, *DATA_READERS})
    for resource_type in {*READERS, *DATA_READERS}:
        assert relevant(f'resource "{resource_type}" "x" {{}}\n')
        assert relevant(f"resource {resource_type} x {{}}\n")  # labels need not be quoted
    for declaration in ("variable", "locals", "output", "module"):
        assert relevant(f'{declaration} "x" {{}}\n')
    assert not relevant(UNRELATED)
    assert not relevant('resource "aws_lbx" "y" {}\n')  # a word, not a prefix


# --- the parse cache ------------------------------------------------------------------------------


def test_a_rerun_after_a_one_file_change_parses_that_file_only(
    monorepo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "repo"
    subprocess.run(["cp", "-r", str(monorepo), str(copy)], check=True)
    options = LoadOptions(cache=tmp_path / "cache")
    first = load([copy], options)
    seen = parses(monkeypatch)
    assert load([copy], options) == first and seen == []
    edited = copy / "services" / "svc-0003" / "main.tf"
    edited.write_text(edited.read_text().replace("LOG_LEVEL", 'LOG_FORMAT = "json"\n    LOG_LEVEL'))
    after = load([copy], options)
    assert seen == [edited.read_text()]
    assert after == load([copy], LoadOptions(prefilter=False))


def test_a_damaged_cache_entry_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path / "repo", {"main.tf": service_tf(command=["gunicorn", "app"])})
    options = LoadOptions(cache=tmp_path / "cache")
    first = load([tmp_path / "repo"], options)
    (database,) = (tmp_path / "cache").glob("parse-*.sqlite")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE entries SET data = ?", (b"\x00not marshal",))
        connection.execute("DELETE FROM results")  # else the whole result is read back, parsing nothing
    seen = parses(monkeypatch)
    assert load([tmp_path / "repo"], options) == first and len(seen) == 1


def test_a_cache_that_cannot_be_written_is_not_used(tmp_path: Path) -> None:
    write_tree(tmp_path / "repo", {"main.tf": service_tf(command=["gunicorn", "app"])})
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    inventory = load([tmp_path / "repo"], LoadOptions(cache=blocked / "cache"))
    assert inventory == load([tmp_path / "repo"]) and inventory.errors == ()


def test_a_new_version_removes_only_other_versions_databases(tmp_path: Path) -> None:
    (tmp_path / "parse-0.0.1-hcl2-8.0.0-lark-1.1.0-1.sqlite").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("the user's")
    cache = Cache(tmp_path)
    cache.put({"k": b"v"})
    cache.close()
    kept = sorted(path.name for path in tmp_path.iterdir() if not path.name.endswith(("-wal", "-shm")))
    assert kept == sorted([cache.path.name, "notes.txt"])
    assert Cache(tmp_path).get("k") == b"v"


def test_the_cache_directory_follows_the_platform_conventions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KEEPALIVE_GUARD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "linux")
    assert default_directory() == tmp_path / "keepalive-guard"
    monkeypatch.setenv("KEEPALIVE_GUARD_CACHE_DIR", str(tmp_path / "mine"))
    assert default_directory() == tmp_path / "mine"


# --- the cache entry ------------------------------------------------------------------------------


def _built() -> lark.Lark:
    """python-hcl2's parser as it is the first time it runs on a machine, built from the grammar rather
    than loaded from the `.lark_cache.bin` it then writes: its trees' rule names are Tokens, not str."""
    options = hcl2.parser.parser().options
    return lark.Lark.open(
        "hcl2.lark",
        parser="lalr",
        rel_to=hcl2.parser.__file__,
        propagate_positions=True,
        postlex=options.postlex,
    )


@pytest.fixture(scope="module")
def built_parser() -> lark.Lark:
    return _built()


@pytest.fixture(scope="module")
def built_lines_parser() -> lark.Lark:
    built = _built()
    assert hcl.lines_only(built) > 0
    return built


@pytest.fixture(params=["cached", "built"])
def hcl2_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> lark.Lark:
    """Each entry test runs with both of python-hcl2's parsers, each reduced to lines as the loader's."""
    if request.param == "cached":
        return hcl.parser()
    built: lark.Lark = request.getfixturevalue("built_lines_parser")
    monkeypatch.setattr(hcl, "parser", lambda: built)
    return built


def test_the_built_parser_is_the_one_that_gives_tokens_for_rule_names(built_parser: lark.Lark) -> None:
    assert type(built_parser.parse("a = 1\n").data) is lark.Token
    assert type(hcl2.parser.parser().parse("a = 1\n").data) is str  # loaded from python-hcl2's cache


def _lines(tree: lark.Tree[lark.Token]) -> list[tuple[str, int | None]]:
    return [(str(node.data), config.line_of(node)) for node in tree.iter_subtrees_topdown()]


def _every_tf(monorepo: Path) -> list[Path]:
    return sorted((FIXTURES / "terraform").rglob("*.tf")) + sorted(monorepo.rglob("*.tf"))


def test_the_loader_parses_trees_and_lines_as_python_hcl2_does(
    hcl2_parser: lark.Lark, monorepo: Path
) -> None:
    """Every rule's wrapper is the line-only one, and every tree equals python-hcl2's, with the same line
    on every node: fixtures, the generated monorepo, and the templates the evaluator parses."""
    assert not any(type(callback) is PropagatePositions for callback in hcl2_parser._callbacks.values())
    assert hcl2.parser.parser() is not hcl2_parser  # python-hcl2's own is left as it is
    texts = [path.read_text(encoding="utf-8") for path in _every_tf(monorepo)]
    texts += ['t = "a ${b} %{ if c }d%{ endif }"\n', "t = <<EOT\n  x\n  ${y}\nEOT\n"]
    assert len(texts) > 100
    for text in texts:
        ours, theirs = hcl.parse(text), hcl2.parses_to_tree(text)
        assert ours == theirs
        assert _lines(ours) == _lines(theirs)


_TOY = """
start: pair+
pair: item item
?item: "(" value ")" | value
value: WORD
%import common.WORD
%ignore /[ \\n]/
"""


def test_lines_follow_lark_through_filtered_tokens_and_inlined_rules() -> None:
    """python-hcl2's grammar names every token, so its trees never start at a filtered one; the rule is
    Lark's all the same: an inlined `(value)` starts at its parenthesis, not at the value."""
    text = "(\nfirst\n) second\n(\n\nthird\n)\nfourth"
    theirs = lark.Lark(_TOY, parser="lalr", propagate_positions=True).parse(text)
    ours = lark.Lark(_TOY, parser="lalr", propagate_positions=True)
    assert hcl.lines_only(ours) == 7  # a callback per alternative of each rule
    assert (
        _lines(ours.parse(text))
        == _lines(theirs)
        == [("start", 1), ("pair", 1), ("value", 2), ("value", 3), ("pair", 4), ("value", 6), ("value", 8)]
    )


def test_a_lark_without_the_wrapper_it_replaces_keeps_its_own() -> None:
    """A Lark release that names its internals differently parses as python-hcl2 does, only slower."""
    unknown = lark.Lark(_TOY, parser="lalr")
    assert hcl.lines_only(unknown) == 0 and unknown.parse("a b").data == "start"


@pytest.mark.usefixtures("hcl2_parser")
@pytest.mark.parametrize("path", sorted((FIXTURES / "terraform").rglob("*.tf")), ids=lambda path: path.name)
def test_an_entry_decodes_to_the_tree_python_hcl2_parses(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tree = hcl2.parses_to_tree(text)
    parsed = config.config_file(config.entry(text), "x.tf")
    assert parsed is not None and parsed.error is None
    expected = [node for node in config.subtrees(config.subtrees(tree)[0]) if node.data == "block"]
    assert len(parsed.blocks) == len(expected)
    for block, node in zip(parsed.blocks, expected, strict=True):
        body = config.subtrees(node)[-1]
        attributes = [child for child in config.subtrees(body) if child.data == "attribute"]
        for attribute in attributes:
            name = config._label(config.subtrees(attribute)[0])
            decoded = block.attributes[name]
            assert decoded.node == config.subtrees(attribute)[-1]
            assert decoded.location.line == attribute.meta.line
            assert [config.line_of(token) for token in decoded.node.scan_values(lambda _: True)] == [
                config.line_of(token) for token in config.subtrees(attribute)[-1].scan_values(lambda _: True)
            ]


@pytest.mark.usefixtures("hcl2_parser")
def test_an_entry_holds_only_plain_values() -> None:
    def plain(value: Any) -> bool:
        if isinstance(value, (tuple, list)):
            return all(plain(item) for item in value)
        if isinstance(value, bytes):
            return plain(marshal.loads(value))
        return value is None or type(value) in (str, int)

    data = marshal.loads(config.entry(service_tf(command=["gunicorn", "app"])))
    assert data[0] == 1 and plain(data)


def test_only_depth_is_reported_as_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any other ValueError from marshal is a defect to show, not a text's fault to cache."""
    monkeypatch.setattr(config, "_encode", lambda node: object())
    with pytest.raises(ValueError, match="unmarshallable"):
        config.entry("a = 1\n")


def test_an_entry_of_text_that_does_not_parse_is_its_error() -> None:
    parsed = config.config_file(config.entry('resource "aws_lb" "x" {\n'), "bad.tf")
    assert parsed is not None and parsed.blocks == [] and parsed.error is not None
    assert parsed.error.path == "bad.tf" and "syntax error" in parsed.error.message


@pytest.mark.parametrize("levels", [300, 3000])
def test_deep_nesting_is_kept_or_reported_never_a_crash(levels: int) -> None:
    parsed = config.config_file(config.entry("v = " + "[" * levels + "1" + "]" * levels + "\n"), "deep.tf")
    assert parsed is not None
    if levels == 300:  # evaluation reports it as unknown (test_terraform_evaluate)
        assert parsed.error is None and parsed.attributes["v"].node.data == "expr_term"
    else:
        assert parsed.error is not None and parsed.error.path == "deep.tf"
