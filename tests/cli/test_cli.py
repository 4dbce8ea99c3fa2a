"""The command line as users and CI scripts call it: a real subprocess, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from policies import __version__
from tests.helpers import FIXTURES, service_tf, write_tree

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policies", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_console_script_is_declared() -> None:
    (script,) = [entry for entry in entry_points(group="console_scripts") if entry.name == "keepalive-guard"]
    assert script.value == "policies.cli:main"


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"keepalive-guard {__version__}"


def test_version_does_not_import_the_parser() -> None:
    code = "import sys, policies.cli; sys.argv=['k','--version']\ntry: policies.cli.main()\nexcept SystemExit: pass\nprint('hcl2' in sys.modules, 'lark' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stdout.strip().endswith("False False")


@pytest.mark.parametrize(
    ("files", "args", "code"),
    [
        ({"main.tf": service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "75"])}, [], 0),
        ({"main.tf": service_tf(command=["uvicorn", "app:app"])}, [], 1),
        ({"main.tf": service_tf()}, [], 0),  # KA002 is a warning
        ({"main.tf": service_tf()}, ["--strict"], 1),
        ({"main.tf": "locals {"}, [], 2),  # an input could not be analysed
        (
            {"main.tf": service_tf(command=["uvicorn", "app:app"]), "bad/x.tf": "locals {"},
            [],
            1,
        ),  # errors win
        (
            {"main.tf": service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "65"])},
            ["--min-margin", "10"],
            1,
        ),
    ],
)
def test_exit_codes(tmp_path: Path, files: dict[str, str], args: list[str], code: int) -> None:
    write_tree(tmp_path, files)
    result = run("scan", str(tmp_path), *args)
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["scan"],
        ["scan", ".", "--format", "xml"],
        ["scan", ".", "--min-margin", "-1"],
        ["scan", ".", "--var", "novalue"],
        ["bogus"],
        [],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_json_contract(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": service_tf(command=["uvicorn", "app:app"]), "bad.tf": "locals {\n"})
    result = run("scan", str(tmp_path), "--format", "json", cwd=tmp_path)
    document = json.loads(result.stdout)
    assert document["schema_version"] == 1
    (finding,) = document["findings"]
    assert finding["rule"] == "KA001" and finding["severity"] == "error"
    assert finding["locations"][0] == {"path": "main.tf", "line": finding["locations"][0]["line"]}
    assert {
        key: finding[key]
        for key in ("load_balancer", "target_group", "service", "task_definition", "container")
    } == {
        "load_balancer": "aws_lb.web",
        "target_group": "aws_lb_target_group.app",
        "service": "aws_ecs_service.app",
        "task_definition": "aws_ecs_task_definition.app",
        "container": "app",
    }
    assert document["errors"] == [
        {
            "path": "bad.tf",
            "line": 2,
            "message": "HCL syntax error: unexpected end of file (an unclosed block, string or bracket?)",
        }
    ]
    (target,) = document["targets"]
    assert (
        target["server"] == "uvicorn"
        and target["keep_alive"]["seconds"] == 5
        and target["idle_timeout"] == 60
    )
    assert document["summary"] == {
        "errors": 1,
        "warnings": 0,
        "targets": 1,
        "inputs": 2,
        "input_errors": 1,
        "suppressed": 0,
        "baselined": 0,
        "failing": 1,
    }
    assert document["suppressed"] == [] and document["baselined"] == [] and document["baseline"] is None


def test_text_report_is_actionable(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": service_tf(command=["uvicorn", "app:app"])})
    result = run("scan", ".", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("main.tf:") and lines[0].endswith(
        "error KA001 keepalive-not-longer-than-idle-timeout"
    )
    assert lines[1] == '  aws_lb.web → aws_lb_target_group.app → aws_ecs_service.app → container "app"'
    assert any(
        line.startswith("  fix: Add `--timeout-keep-alive 65` to the uvicorn command at main.tf:")
        for line in lines
    )
    assert lines[-1] == "1 error, 0 warnings in 1 load balancer target (1 file read)"
    assert "\033[" not in result.stdout  # no colour when not a terminal


def test_verbose_lists_checked_and_skipped() -> None:
    result = run("scan", str(FIXTURES / "terraform" / "skipped"), "-v")
    assert "skipped aws_lb.network" in result.stdout and "skipped aws_lb_target_group.lambda" in result.stdout


def test_output_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": service_tf(command=["uvicorn", "app:app"])})
    result = run("scan", str(tmp_path), "--format", "json", "--output", str(tmp_path / "report.json"))
    assert result.returncode == 1 and result.stdout == ""
    assert json.loads((tmp_path / "report.json").read_text())["summary"]["errors"] == 1


def test_var_and_var_file(tmp_path: Path) -> None:
    tf = service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "45"]).replace(
        'name = "web"', 'name = "web"\n  idle_timeout = var.idle'
    )
    write_tree(
        tmp_path, {"main.tf": tf + 'variable "idle" {\n  type = number\n}\n', "low.tfvars": "idle = 30\n"}
    )
    assert run("scan", str(tmp_path), "--var", "idle=30").returncode == 0
    assert run("scan", str(tmp_path), "--var", "idle=50").returncode == 1
    assert run("scan", str(tmp_path), "--var-file", str(tmp_path / "low.tfvars")).returncode == 0
    missing = run("scan", str(tmp_path), "--var-file", str(tmp_path / "nope.tfvars"), "--var", "idle=30")
    assert missing.returncode == 2 and "--var-file: no such file" in missing.stdout


def test_rules_list_and_documentation() -> None:
    listing = run("rules").stdout.splitlines()
    assert [line.split()[0] for line in listing] == ["KA001", "KA002", "DR001"]
    page = run("rules", "ka001")
    assert page.returncode == 0 and "## Why is this bad?" in page.stdout and "## Use instead" in page.stdout
    assert run("rules", "XX999").returncode == 2


def test_var_and_var_file_apply_in_command_line_order(tmp_path: Path) -> None:
    tf = service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "45"]).replace(
        'name = "web"', 'name = "web"\n  idle_timeout = var.idle'
    )
    write_tree(
        tmp_path, {"main.tf": tf + 'variable "idle" {\n  type = number\n}\n', "low.tfvars": "idle = 30\n"}
    )
    low = str(tmp_path / "low.tfvars")
    assert (
        run("scan", str(tmp_path), "--var", "idle=50", "--var-file", low).returncode == 0
    )  # the file comes last
    assert (
        run("scan", str(tmp_path), "--var-file", low, "--var", "idle=50").returncode == 1
    )  # the var comes last


def test_several_roots_are_named_in_chain_lines(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "prod/main.tf": service_tf(command=["uvicorn", "app:app"]),
            "staging/main.tf": service_tf(command=["uvicorn", "app:app"]),
        },
    )
    lines = run("scan", ".", cwd=tmp_path).stdout.splitlines()
    assert '  [prod] aws_lb.web → aws_lb_target_group.app → aws_ecs_service.app → container "app"' in lines
    assert '  [staging] aws_lb.web → aws_lb_target_group.app → aws_ecs_service.app → container "app"' in lines


def test_dockerfile_mapping(tmp_path: Path) -> None:
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web"
    write_tree(
        tmp_path,
        {
            "infra/main.tf": service_tf(image=f"{image}:1.4.2"),
            "web/Dockerfile": (
                "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"
                'CMD ["gunicorn", "-k", "gthread", "--threads", "4", "app:app"]\n'
            ),
            "web/app.py": "",
        },
    )
    result = run("scan", "infra", "--dockerfile", f"{image}=web/Dockerfile", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    [finding] = document["findings"]
    assert finding["rule"] == "KA001"
    assert "gunicorn (gthread worker" in finding["message"]
    assert document["summary"]["inputs"] == 2  # main.tf and the Dockerfile
    # the keep-alive is fixed in the Dockerfile's CMD
    assert finding["fix"].endswith("at web/Dockerfile:4")
    # a directory stands for its Dockerfile; a missing one is an input error, the scan goes on
    assert run("scan", "infra", "--dockerfile", f"{image}=web", cwd=tmp_path).returncode == 1
    missing = run("scan", "infra", "--dockerfile", f"{image}=nope", cwd=tmp_path)
    assert missing.returncode == 2 and "nope: --dockerfile" in missing.stdout  # and KA002
    assert "no such Dockerfile" in missing.stdout
    assert run("scan", "infra", "--dockerfile", "no-equals", cwd=tmp_path).returncode == 2


def test_servers_prints_the_readme_table() -> None:
    from policies.servers import servers_table

    result = run("servers")
    assert result.returncode == 0
    assert result.stdout == servers_table() + "\n"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert servers_table() in readme
    rows = json.loads(run("servers", "--format", "json").stdout)
    gunicorn = [row for row in rows if row["family"] == "gunicorn"]
    assert gunicorn[0]["recognised_by"].startswith("`gunicorn`")
    assert {"server", "setting", "unit", "default", "source"} <= set(gunicorn[0])


def test_dockerfiles_from_the_configuration_file(tmp_path: Path) -> None:
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web"
    dockerfile = 'FROM python:3.12-slim\nCMD ["uvicorn", "app:app", "--timeout-keep-alive", "75"]\n'
    write_tree(
        tmp_path,
        {
            "infra/main.tf": service_tf(image=f"{image}:7"),
            "web/Dockerfile": dockerfile,
            "pyproject.toml": f'[project]\nname = "x"\n\n[tool.keepalive-guard.dockerfiles]\n"{image}" = "web/Dockerfile"\n',
        },
    )
    # found by walking up from the scanned path; without it the command is not visible (KA002, exit 2)
    assert run("scan", "infra", cwd=tmp_path).returncode == 0
    assert run("scan", ".", cwd=tmp_path / "infra").returncode == 0
    write_tree(tmp_path, {"other.toml": '[dockerfiles]\n"nothing" = "x"\n'})
    assert run("scan", "infra", "--config", "other.toml", cwd=tmp_path).returncode == 2
    write_tree(tmp_path, {".keepalive-guard.toml": "dockerfile = 1\n"})
    bad = run("scan", "infra", cwd=tmp_path)
    assert bad.returncode == 2
    assert (
        bad.stderr
        == "keepalive-guard: .keepalive-guard.toml: unknown key 'dockerfile' (known: baseline, dockerfiles, "
        "excludes, fail_on, ignore, max_file_size, min_margin, select, strict, var_files)\n"
    )
    write_tree(tmp_path, {".keepalive-guard.toml": "dockerfiles = [1\n"})
    assert "not valid TOML" in run("scan", "infra", cwd=tmp_path).stderr


def test_an_image_known_only_after_apply_is_mapped_by_its_repository_resource(tmp_path: Path) -> None:
    # service_tf writes `$${` (a literal); the image here is a real interpolation
    tf = (
        service_tf(image="${aws_ecr_repository.web.repository_url}:${var.tag}")
        .replace("$${", "${")
        .replace(
            'resource "aws_lb" "web"',
            'variable "tag" {}\nresource "aws_ecr_repository" "web" {\n  name = "web"\n}\nresource "aws_lb" "web"',
        )
    )
    dockerfile = 'FROM python:3.12\nCMD ["uvicorn", "app:app", "--timeout-keep-alive", "75"]\n'
    write_tree(tmp_path, {"infra/main.tf": tf, "web/Dockerfile": dockerfile})
    unmapped = run("scan", "infra", cwd=tmp_path)
    assert "0 errors, 1 warning" in unmapped.stdout  # the command is not visible: KA002
    mapped = run("scan", "infra", "--dockerfile", "aws_ecr_repository.web=web/Dockerfile", cwd=tmp_path)
    assert mapped.returncode == 0 and "0 errors, 0 warnings" in mapped.stdout, mapped.stdout


@pytest.mark.parametrize("jobs", ["0", "two", "-1"])
def test_jobs_must_be_a_whole_number_of_processes(jobs: str) -> None:
    result = run("scan", str(FIXTURES / "terraform" / "aliases"), f"--jobs={jobs}")
    assert (
        result.returncode == 2 and "argument --jobs/-j: expected a whole number of processes" in result.stderr
    )
