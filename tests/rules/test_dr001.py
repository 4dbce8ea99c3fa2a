from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import line_of, only, rules_of, scan_tree, service_tf


def test_exact_message_for_a_short_delay(in_tmp: Path) -> None:
    tf = service_tf(command=["gunicorn", "--timeout", "45", "app:app"], deregistration_delay=10)
    delay, command = line_of(tf, "deregistration_delay ="), line_of(tf, "command =")
    finding = only(scan_tree(Path("."), {"main.tf": tf}), "DR001")
    assert finding.message == (
        "aws_lb_target_group.app gives in-flight requests 10 s to finish when a target is deregistered "
        f'(deregistration_delay 10 s at main.tf:{delay}), but a request to container "app" may take 45 s: '
        "gunicorn (sync worker)'s request timeout (`--timeout 45` in the command; it kills a sync worker busy "
        f"with one request for longer at main.tf:{command}). Deploys and scale-ins will cut longer requests off with "
        "5xx errors."
    )
    assert finding.fix == f"Set deregistration_delay = 45 on aws_lb_target_group.app at main.tf:{delay}"
    assert [str(location) for location in finding.locations] == [f"main.tf:{delay}", f"main.tf:{command}"]


@pytest.mark.parametrize(
    ("command", "delay", "fires"),
    [
        (["gunicorn", "app:app"], None, False),  # default delay 300 covers gunicorn's 30 s
        (["gunicorn", "app:app"], 30, False),  # equal is enough
        (["gunicorn", "app:app"], "29", True),  # a numeric string, as newer providers store it
        (["uwsgi", "--http-socket", ":8000", "--harakiri", "45"], 30, True),
        # a 300 s request timeout is cut to the 60 s idle timeout: the load balancer answers 504 by then
        (["uwsgi", "--http-socket", ":8000", "--harakiri", "300"], 60, False),
        (["uwsgi", "--http-socket", ":8000", "--harakiri", "300"], 59, True),
        (
            ["uvicorn", "app:app", "--timeout-keep-alive", "75"],
            59,
            True,
        ),  # no request bound: the 60 s idle timeout
        (["uvicorn", "app:app", "--timeout-keep-alive", "75"], 60, False),
        (["uvicorn", "app:app"], 0, True),
    ],
)
def test_fires_when_the_delay_is_shorter_than_the_longest_request(
    tmp_path: Path, command: list[str], delay: object, fires: bool
) -> None:
    result = scan_tree(tmp_path, {"main.tf": service_tf(command=command, deregistration_delay=delay)})  # type: ignore[arg-type]
    assert ("DR001" in rules_of(result)) is fires


def test_request_timeout_label_bounds_requests(tmp_path: Path) -> None:
    labels = {"keepalive-guard.keep-alive-seconds": "75", "keepalive-guard.request-timeout-seconds": "20"}
    files = {"main.tf": service_tf(command=["./server"], labels=labels, deregistration_delay=15)}
    finding = only(scan_tree(tmp_path, files), "DR001")
    assert "may take 20 s" in finding.message and "keepalive-guard.request-timeout-seconds" in finding.message


def test_unknown_delay_is_reported_as_unknown_not_passed(tmp_path: Path) -> None:
    files = {
        "main.tf": service_tf(command=["gunicorn", "app:app"]).replace(
            'target_type = "ip"', 'target_type = "ip"\n  deregistration_delay = var.delay'
        )
        + 'variable "delay" {}\n'
    }
    result = scan_tree(tmp_path, files)
    finding = only(result, "KA002")
    assert (
        "the deregistration_delay of aws_lb_target_group.app is unknown: deregistration_delay = var.delay has no default"
        in finding.message
    )


def test_request_timeout_beyond_the_idle_timeout_is_explained(tmp_path: Path) -> None:
    files = {
        "main.tf": service_tf(
            command=["uwsgi", "--http-socket", ":80", "--harakiri", "300"], deregistration_delay=30
        )
    }
    finding = only(scan_tree(tmp_path, files), "DR001")
    assert "may take 60 s" in finding.message
    assert "cut to the load balancer's 60 s idle timeout, after which it answers 504" in finding.message
    assert finding.fix.startswith("Set deregistration_delay = 60 on aws_lb_target_group.app")
