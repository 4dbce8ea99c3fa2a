"""The CI surface of `scan`: formats and their files, gates, configuration files and their precedence,
colour."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from policies.cli import FORMAT_NAMES
from policies.reporters import FORMATS
from tests.helpers import service_tf, write_tree
from tests.reporters import ROOT, mixed, run

UVICORN = service_tf(command=["uvicorn", "app:app"])  # KA001: 5 s against 60 s
UVICORN_65 = service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "65"])  # passes, margin 4 s


def findings(root: Path, *args: str) -> tuple[list[str], int]:
    result = run("scan", ".", "--format", "json", *args, cwd=root)
    assert "Traceback" not in result.stderr
    if result.returncode == 2 and not result.stdout:
        return [result.stderr], 2
    return [finding["rule"] for finding in json.loads(result.stdout)["findings"]], result.returncode


def test_the_command_line_offers_every_reporter() -> None:
    assert tuple(FORMATS) == FORMAT_NAMES


def test_text_on_the_console_and_sarif_and_junit_to_files(tmp_path: Path) -> None:
    root = mixed(tmp_path)
    result = run(
        "scan", ".", "--format", "text", "--format", "sarif", "--output", "out.sarif",
        "--format", "junit", "-o", "out.xml", cwd=root,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.startswith("broken/main.tf:36: error KA001")
    assert json.loads((root / "out.sarif").read_text())["version"] == "2.1.0"
    assert (root / "out.xml").read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')


def test_an_output_before_the_only_format_is_its_file(tmp_path: Path) -> None:
    root = mixed(tmp_path)
    result = run("scan", ".", "--output", "out.json", "--format", "json", cwd=root)
    assert result.stdout == "" and json.loads((root / "out.json").read_text())["schema_version"] == 1
    result = run("scan", ".", "--output", "out.txt", cwd=root)  # no --format: text
    assert (root / "out.txt").read_text().startswith("broken/main.tf:36: error KA001")
    assert "\033[" not in (root / "out.txt").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--format", "text", "--format", "json"],
            "--format text and json would both write to standard output",
        ),
        (["--format", "json", "-o", "a", "-o", "b"], "--format json has two --output files"),
        (["-o", "a", "-o", "b", "--format", "json"], "each --output FILE follows the --format it is for"),
        (["--format", "json", "-o", "a", "--format", "sarif", "-o", "a"], "write to the same --output file"),
        (["--format", "xml"], "invalid choice: 'xml'"),
        (["--fail-on", "sometimes"], "invalid choice: 'sometimes'"),
        (["--select", "KA009"], "unknown rule 'KA009' (known: KA001, KA002, DR001)"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = run("scan", ".", *args, cwd=mixed(tmp_path))
    assert result.returncode == 2, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("files", "args", "code"),
    [
        ({"main.tf": UVICORN}, [], 1),
        ({"main.tf": UVICORN}, ["--fail-on", "error"], 1),
        ({"main.tf": UVICORN}, ["--fail-on", "never"], 0),
        ({"main.tf": service_tf()}, [], 0),  # KA002 is a warning
        ({"main.tf": service_tf()}, ["--fail-on", "warning"], 1),
        ({"main.tf": service_tf()}, ["--strict"], 1),
        ({"main.tf": service_tf()}, ["--strict", "--fail-on", "never"], 0),
        ({"main.tf": UVICORN, "bad/x.tf": "locals {"}, ["--fail-on", "never"], 2),  # inputs still count
        ({"main.tf": UVICORN}, ["--ignore", "KA001"], 0),
        ({"main.tf": UVICORN}, ["--select", "KA002,DR001"], 0),
        ({"main.tf": UVICORN}, ["--select", "DR001", "--select", "KA001"], 1),
    ],
)
def test_gates(tmp_path: Path, files: dict[str, str], args: list[str], code: int) -> None:
    write_tree(tmp_path, files)
    assert findings(tmp_path, *args)[1] == code


def test_select_and_ignore_decide_which_rules_run(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": service_tf(command=["uvicorn", "app:app"], deregistration_delay=5)})
    assert findings(tmp_path) == (["DR001", "KA001"], 1)
    assert findings(tmp_path, "--select", "dr001")[0] == ["DR001"]
    assert findings(tmp_path, "--ignore", "DR001")[0] == ["KA001"]
    assert findings(tmp_path, "--select", "KA001,DR001", "--ignore", "KA001")[0] == ["DR001"]


def test_configuration_found_by_walking_up_and_overridden_by_the_command_line(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".keepalive-guard.toml": 'min_margin = 10\nstrict = true\nfail_on = "warning"\nignore = ["DR001"]\n',
            "infra/pyproject.toml": '[project]\nname = "not-this-one"\n',  # no section: keep walking up
            "infra/web/main.tf": service_tf(
                command=["uvicorn", "app:app", "--timeout-keep-alive", "65"], deregistration_delay=5
            ),
            "infra/other/main.tf": service_tf(),
        },
    )
    web = tmp_path / "infra" / "web"
    # min_margin 10: 65 s is not more than 60 + 10; DR001 ignored
    assert findings(web) == (["KA001"], 1)
    assert findings(web, "--min-margin", "0") == ([], 0)  # the command line wins
    assert findings(web, "--ignore", "KA002") == (["DR001", "KA001"], 1)  # replaces the file's ignore
    # a file named on the command line is the only one read: this one sets nothing
    assert findings(web, "--config", str(tmp_path / "infra" / "pyproject.toml")) == (["DR001"], 1)
    # strict from the file; --no-strict turns it off; fail_on from the file; --fail-on wins
    other = tmp_path / "infra" / "other"
    assert findings(other) == (["KA002"], 1)
    result = run("scan", ".", "--format", "json", "--no-strict", cwd=other)
    assert json.loads(result.stdout)["findings"][0]["severity"] == "warning" and result.returncode == 1
    assert run("scan", ".", "--no-strict", "--fail-on", "error", cwd=other).returncode == 0


def test_configuration_of_the_working_directory_for_inputs_outside_it(tmp_path: Path) -> None:
    write_tree(tmp_path, {"elsewhere/main.tf": UVICORN, "repo/.keepalive-guard.toml": 'ignore = ["KA001"]\n'})
    # a plan written outside the repository: nothing above it, so the working directory's configuration
    assert run("scan", str(tmp_path / "elsewhere"), cwd=tmp_path / "repo").returncode == 0
    write_tree(tmp_path, {"elsewhere/.keepalive-guard.toml": "ignore = []\n"})  # its own comes first
    assert run("scan", str(tmp_path / "elsewhere"), cwd=tmp_path / "repo").returncode == 1


def test_pyproject_section(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\n\n[tool.keepalive-guard]\nselect = ["KA002"]\n',
            "main.tf": UVICORN,
        },
    )
    assert findings(tmp_path) == ([], 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min_margin = -1", "min_margin must be a number of seconds, 0 or more, not -1"),
        ('min_margin = "5"', "min_margin must be a number of seconds, 0 or more, not '5'"),
        ("strict = 1", "strict must be true or false, not 1"),
        ('fail_on = "always"', "fail_on must be one of error, warning, never, not 'always'"),
        ('select = ["KA001", "KA009"]', "select: unknown rule 'KA009' (known: KA001, KA002, DR001)"),
        ('ignore = "KA001"', "ignore must be a list of strings, not 'KA001'"),
        ("var_files = [1]", "var_files must be a list of strings, not [1]"),
        ('excludes = [""]', "excludes must be a list of strings, not ['']"),
        ("baseline = 3", "baseline must be a file name, not 3"),
        ("dockerfiles = 3", "dockerfiles must be a table of IMAGE = PATH strings"),
        ("margin = 3", "unknown key 'margin' (known: baseline, dockerfiles, excludes, fail_on"),
    ],
)
def test_bad_configuration_names_the_key_and_the_file(tmp_path: Path, text: str, message: str) -> None:
    write_tree(tmp_path, {"main.tf": UVICORN, "sub/.keepalive-guard.toml": text + "\n"})
    result = run("scan", "sub/..", "--config", "sub/.keepalive-guard.toml", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"keepalive-guard: sub/.keepalive-guard.toml: {message}"), result.stderr
    write_tree(tmp_path, {"pyproject.toml": f"[tool.keepalive-guard]\n{text}\n"})
    result = run("scan", ".", cwd=tmp_path)
    assert result.stderr.startswith(f"keepalive-guard: pyproject.toml [tool.keepalive-guard]: {message}")


def test_var_files_from_the_configuration_apply_before_the_command_line(tmp_path: Path) -> None:
    tf = service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "65"], idle_timeout="${var.idle}")
    write_tree(
        tmp_path,
        {
            "infra/main.tf": 'variable "idle" {\n  default = 30\n}\n' + tf.replace("$${", "${"),
            "envs/prod.tfvars": "idle = 120\n",
            ".keepalive-guard.toml": 'var_files = ["envs/prod.tfvars"]\n',
        },
    )
    assert findings(tmp_path / "infra") == (["KA001"], 1)  # 65 s against 120 s, from the configured file
    assert findings(tmp_path / "infra", "--var", "idle=60") == ([], 0)  # the command line is applied after


def test_excludes(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "live/main.tf": UVICORN_65,
            "legacy/main.tf": UVICORN,
            "envs/old/main.tf": UVICORN,
            "envs/new/main.tf": UVICORN_65,
        },
    )
    assert findings(tmp_path) == (["KA001", "KA001"], 1)
    write_tree(tmp_path, {".keepalive-guard.toml": 'excludes = ["legacy", "envs/old"]\n'})
    assert findings(tmp_path) == ([], 0)
    assert findings(tmp_path / "envs") == ([], 0)  # relative to the configuration file, from anywhere
    write_tree(tmp_path, {".keepalive-guard.toml": 'excludes = ["legacy"]\n'})
    assert findings(tmp_path, "--exclude", "envs/ol*") == ([], 0)  # added to the file's excludes
    assert findings(tmp_path / "legacy") == (["KA001"], 1)  # a path named on the command line is scanned


def test_reports_are_written_where_asked(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": UVICORN_65, "file": ""})
    result = run("scan", ".", "--format", "sarif", "-o", "reports/ci/out.sarif", cwd=tmp_path)
    assert result.returncode == 0 and (tmp_path / "reports/ci/out.sarif").is_file()  # directories made
    result = run("scan", ".", "--format", "sarif", "-o", "file/out.sarif", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("keepalive-guard: cannot write file/out.sarif: ")


def _on_a_terminal(root: Path, env: dict[str, str]) -> str:
    leader, follower = pty.openpty()
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm", **env}
    with subprocess.Popen(
        [sys.executable, "-m", "policies", "scan", "."],
        cwd=root,
        stdout=follower,
        stderr=subprocess.PIPE,
        env=environment,
    ) as process:
        os.close(follower)
        output = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            output += chunk
        process.wait(timeout=120)
    os.close(leader)
    return output.decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": UVICORN})
    environment = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    assert "\033[31merror\033[0m" in _on_a_terminal(tmp_path, {})
    assert "\033[" not in _on_a_terminal(tmp_path, {"NO_COLOR": "1"})
    assert "\033[31m" in _on_a_terminal(tmp_path, {"NO_COLOR": ""})  # https://no-color.org: set and not empty
    piped = subprocess.run(
        [sys.executable, "-m", "policies", "scan", "."],
        cwd=tmp_path, capture_output=True, text=True, env={**environment, "PYTHONPATH": str(ROOT)}, timeout=120,
    )  # fmt: skip
    assert "\033[" not in piped.stdout and "error KA001" in piped.stdout


def test_a_console_that_cannot_show_every_character_still_gets_the_report(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": UVICORN})
    result = run("scan", ".", cwd=tmp_path, env={"PYTHONIOENCODING": "cp1252"})
    assert result.returncode == 1, result.stderr
    assert "aws_lb.web ? aws_lb_target_group.app" in result.stdout  # → replaced, the rest intact


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({}, ["--config", "nope.toml"], "keepalive-guard: nope.toml: no such configuration file\n"),
        ({"pyproject.toml": 'tool = "x"\n'}, [], ""),  # no [tool.keepalive-guard]: not a configuration
    ],
)
def test_configuration_files_that_are_not_what_they_seem(
    tmp_path: Path, files: dict[str, str], args: list[str], message: str
) -> None:
    write_tree(tmp_path, {"main.tf": UVICORN_65, **files})
    result = run("scan", ".", *args, cwd=tmp_path)
    assert result.stderr == message
    assert result.returncode == (2 if message else 0)
