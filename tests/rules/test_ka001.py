from __future__ import annotations

from pathlib import Path

import pytest

from policies.rules import Options, Severity
from tests.helpers import line_of, only, rules_of, scan_tree, service_tf


def test_exact_message_for_gthread_behind_default_alb(in_tmp: Path) -> None:
    tf = service_tf(command=["gunicorn", "--threads", "4", "app:app"])
    command = line_of(tf, "command =")
    result = scan_tree(Path("."), {"main.tf": tf})
    finding = only(result, "KA001")
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        f'gunicorn (gthread worker, because of `--threads 4`) in container "app" of aws_ecs_service.app closes '
        "idle keep-alive connections after 2 s (no --keep-alive given: gunicorn's default is 2 s (assuming no "
        f"gunicorn.conf.py in the image's working directory, which gunicorn would read) at main.tf:{command}; "
        "https://docs.gunicorn.org/en/stable/settings.html#keepalive), which is not longer than the 60 s idle "
        "timeout of the load balancer aws_lb.web (idle_timeout 60 s at main.tf:1, not set: the AWS default, "
        "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/lb). The "
        "load balancer reuses idle connections, so it will send requests into connections the server is "
        "closing: intermittent 502s that no application log shows."
    )
    assert finding.fix == f"Add `--keep-alive 65` to the gunicorn command at main.tf:{command}"
    assert [str(location) for location in finding.locations] == [f"main.tf:{command}", "main.tf:1"]
    assert str(finding.chain.load_balancer.id) == "aws_lb.web"  # type: ignore[union-attr]
    assert finding.chain.container is not None and finding.chain.container.name == "app"


@pytest.mark.parametrize(
    ("command", "idle_timeout", "fires"),
    [
        (["uvicorn", "app:app"], None, True),  # 5 s < 60 s
        (["uvicorn", "app:app", "--timeout-keep-alive", "65"], None, False),
        (
            ["uvicorn", "app:app", "--timeout-keep-alive", "60"],
            None,
            True,
        ),  # equal: the server may still close first
        (["uvicorn", "app:app", "--timeout-keep-alive", "60"], 59, False),
        (
            ["uvicorn", "app:app", "--timeout-keep-alive", "20"],
            "15",
            False,
        ),  # idle_timeout written as a string
        (["gunicorn", "app:app"], None, False),  # sync worker: Connection: close, nothing to race
        (
            ["gunicorn", "-k", "tornado", "app:app"],
            4000,
            True,
        ),  # Tornado's 3600 s is below a 4000 s idle timeout
    ],
)
def test_fires_only_when_the_server_closes_first(
    tmp_path: Path, command: list[str], idle_timeout: object, fires: bool
) -> None:
    result = scan_tree(tmp_path, {"main.tf": service_tf(command=command, idle_timeout=idle_timeout)})  # type: ignore[arg-type]
    assert ("KA001" in rules_of(result)) is fires


def test_min_margin(tmp_path: Path) -> None:
    files = {"main.tf": service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "65"])}
    assert rules_of(scan_tree(tmp_path, files)) == []
    finding = only(scan_tree(tmp_path, files, options=Options(min_margin=10)), "KA001")
    assert "60 s idle timeout + the 10 s margin" in finding.message
    assert finding.fix.startswith("Change `--timeout-keep-alive 65` to `--timeout-keep-alive 75`")


def test_lowering_the_idle_timeout_is_offered_when_it_is_reasonable(tmp_path: Path) -> None:
    files = {
        "main.tf": service_tf(command=["uvicorn", "app:app", "--timeout-keep-alive", "45"], idle_timeout=90)
    }
    finding = only(scan_tree(tmp_path, files), "KA001")
    assert finding.fix.endswith(f"or lower idle_timeout to 44 at {tmp_path / 'main.tf'}:3")


def test_declared_keep_alive_is_named_as_declared(tmp_path: Path) -> None:
    files = {"main.tf": service_tf(command=["./server"], labels={"keepalive-guard.keep-alive-seconds": "30"})}
    finding = only(scan_tree(tmp_path, files), "KA001")
    assert 'declared with the docker label keepalive-guard.keep-alive-seconds = "30"' in finding.message


def test_classic_elb(tmp_path: Path) -> None:
    tf = """
resource "aws_elb" "web" {
  name                        = "web"
  connection_draining         = true
  connection_draining_timeout = 120
}
resource "aws_ecs_service" "web" {
  task_definition = aws_ecs_task_definition.web.arn
  load_balancer {
    elb_name       = aws_elb.web.name
    container_name = "web"
    container_port = 80
  }
}
resource "aws_ecs_task_definition" "web" {
  family                = "web"
  container_definitions = jsonencode([{ name = "web", image = "node:20", command = ["node", "server.js"] }])
}
"""
    finding = only(scan_tree(tmp_path, {"main.tf": tf}), "KA001")
    assert "Classic ELB aws_elb.web" in finding.message
    assert "Node 20" in finding.message
