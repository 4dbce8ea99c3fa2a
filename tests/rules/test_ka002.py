from __future__ import annotations

from pathlib import Path

from policies.rules import Options, Severity
from tests.helpers import line_of, only, rules_of, scan_tree, service_tf


def test_container_without_command_is_unknown_warning(in_tmp: Path) -> None:
    tf = service_tf(image="example/app:1")
    name = line_of(tf, 'name = "app"')
    finding = only(scan_tree(Path("."), {"main.tf": tf}), "KA002")
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        'Cannot check aws_lb.web → aws_lb_target_group.app → aws_ecs_service.app → container "app": the '
        'keep-alive of the server in container "app" cannot be determined: the task definition sets neither '
        "command nor entryPoint, so the image's own ENTRYPOINT/CMD run (`example/app:1`), which are not "
        f"visible in the scanned files at main.tf:{name}."
    )
    assert finding.fix == (
        "Map the image to the Dockerfile that builds it with `--dockerfile IMAGE=PATH`, or make sure the server "
        "keeps idle connections longer than the idle timeout (65 s, say) and declare it with the docker label "
        '`keepalive-guard.keep-alive-seconds = "65"`'
    )


def test_strict_makes_it_an_error(tmp_path: Path) -> None:
    finding = only(scan_tree(tmp_path, {"main.tf": service_tf()}, options=Options(strict=True)), "KA002")
    assert finding.severity is Severity.ERROR


def test_unknown_idle_timeout(tmp_path: Path) -> None:
    files = {
        "main.tf": service_tf(command=["uvicorn", "app:app"]).replace(
            'name = "web"', 'name = "web"\n  idle_timeout = var.idle'
        )
        + 'variable "idle" {}\n'
    }
    finding = only(scan_tree(tmp_path, files), "KA002")
    assert (
        "the idle timeout of aws_lb.web is unknown: idle_timeout = var.idle has no default and no value was given"
        in finding.message
    )
    assert "terraform.tfvars, --var, --var-file" in finding.fix


def test_unknown_idle_timeout_does_not_matter_without_keep_alive(tmp_path: Path) -> None:
    # a sync worker closes after every response: the idle timeout cannot make it race
    files = {
        "main.tf": service_tf(command=["gunicorn", "app:app"]).replace(
            'name = "web"', 'name = "web"\n  idle_timeout = var.idle'
        )
        + 'variable "idle" {}\n'
    }
    assert rules_of(scan_tree(tmp_path, files)) == []


def test_nothing_reported_when_everything_is_known(tmp_path: Path) -> None:
    result = scan_tree(
        tmp_path, {"main.tf": service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "75"])}
    )
    assert rules_of(result) == []
    assert len(result.targets) == 1


def test_fix_values_are_filled_in(tmp_path: Path) -> None:
    finding = only(
        scan_tree(tmp_path, {"main.tf": service_tf(command=["npm", "start"], idle_timeout=90)}), "KA002"
    )
    assert "{" not in finding.fix
    assert "(95 s, say)" in finding.fix and '"95"' in finding.fix


def test_invalid_json_points_at_its_own_line(tmp_path: Path) -> None:
    tf = service_tf(command=["uvicorn", "app:app"]).replace(
        "container_definitions = jsonencode([",
        'container_definitions = file("defs.json")\n  unused = jsonencode([',
    )
    result = scan_tree(
        tmp_path,
        {"main.tf": tf, "defs.json": '[\n  {\n    "name": "app",\n    "command": ["uvicorn",]\n  }\n]\n'},
    )
    (error,) = result.errors
    assert error.path.endswith("defs.json") and error.line == 4
    finding = only(result, "KA002")
    assert (
        finding.location is not None
        and finding.location.path.endswith("defs.json")
        and finding.location.line == 4
    )
    assert finding.fix == "Correct the container definitions (see the input error)"
