"""waitress: `--channel-timeout` (default 120 s), enforced at cleanups every `--cleanup-interval` s."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.servers.base import Mode
from tests.helpers import rules_of, scan_tree, server_of, service_tf


@pytest.mark.parametrize(
    ("command", "seconds", "says"),
    [
        (["waitress-serve", "app:app"], 120, "no --channel-timeout given: waitress's default is 120 s"),
        (["waitress-serve", "--listen=0.0.0.0:8000", "--threads", "8", "app:app"], 120, "default is 120 s"),
        (["python", "-m", "waitress", "--port=8000", "app:app"], 120, "default is 120 s"),
        (["waitress-serve", "--channel-timeout=30", "app:app"], 30, "`--channel-timeout=30` in the command"),
        (
            ["waitress-serve", "--channel-timeout", "45", "app:app"],
            45,
            "`--channel-timeout 45` in the command",
        ),
        # getopt takes unique prefixes of long options
        (["waitress-serve", "--channel-t=50", "app:app"], 50, "`--channel-t=50`"),
        # the last occurrence wins (Adjustments.parse_args fills a dict in order)
        (["waitress-serve", "--channel-timeout=10", "--channel-timeout=90", "app:app"], 90, "=90`"),
        # flags take no value, so the application follows them directly
        (
            ["waitress-serve", "--asyncore-use-poll", "--no-ipv6", "--channel-timeout=75", "app:app"],
            75,
            "=75`",
        ),
        (["waitress-serve", "--call", "app:create_app"], 120, "default is 120 s"),
        (["waitress-serve", "--channel-timeout=75", "--", "app:app"], 75, "=75`"),
    ],
)
def test_channel_timeout(tmp_path: Path, command: list[str], seconds: float, says: str) -> None:
    server = server_of(tmp_path, command=command)
    assert server.name == "waitress"
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == seconds
    assert says in server.keep_alive.evidence.says
    assert server.request_timeout is None


def test_default_says_when_waitress_closes(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["waitress-serve", "--port=8000", "app:app"])
    assert server.keep_alive.evidence.says == (
        "no --channel-timeout given: waitress's default is 120 s; it closes an idle connection at its next "
        "cleanup (every 30 s), so 120 to 150 s after its last response"
    )
    assert (
        server.remedy
        == "add `--channel-timeout={seconds}` before the application in the waitress-serve command"
    )


def test_cleanup_interval_widens_the_window(tmp_path: Path) -> None:
    command = ["waitress-serve", "--cleanup-interval", "5", "--channel-timeout", "70", "app:app"]
    server = server_of(tmp_path, command=command)
    assert server.keep_alive.seconds == 70
    assert server.keep_alive.evidence.says.endswith("(every 5 s), so 70 to 75 s after its last response")
    assert (
        server.remedy
        == "change `--channel-timeout 70` to `--channel-timeout={seconds}` in the waitress-serve command"
    )


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        # getopt stops at the application: what follows makes waitress-serve exit ("one application only")
        (["waitress-serve", "app:app", "--channel-timeout=75"], "exactly one application"),
        (["waitress-serve", "--channel-timeout=75"], "exactly one application"),
        (["waitress-serve", "-p", "8000", "app:app"], "long options only"),
        (["waitress-serve", "--channel=75", "app:app"], "not an option"),  # ambiguous prefix
        (["waitress-serve", "--keep-alive=75", "app:app"], "not an option"),
        (["waitress-serve", "app:app", "--channel-timeout"], "exactly one application"),
        (["waitress-serve", "--ipv4=yes", "app:app"], "--ipv4 takes no value"),
    ],
)
def test_command_lines_waitress_refuses_are_unknown(tmp_path: Path, command: list[str], problem: str) -> None:
    server = server_of(tmp_path, command=command)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says.startswith("waitress-serve would refuse this command line: ")
    assert problem in server.keep_alive.evidence.says


@pytest.mark.parametrize("value", ["7.5", "-1", "later"])
def test_unreadable_values_are_unknown(tmp_path: Path, value: str) -> None:
    server = server_of(tmp_path, command=["waitress-serve", f"--channel-timeout={value}", "app:app"])
    assert server.keep_alive.mode is Mode.UNKNOWN


def test_terraform_scan(tmp_path: Path) -> None:
    # 120 s outlasts the default 60 s idle timeout, but not a load balancer idling for 180 s
    default = ["waitress-serve", "--port=8000", "app:app"]
    assert rules_of(scan_tree(tmp_path / "ok", {"main.tf": service_tf(command=default)})) == []
    unsafe = scan_tree(tmp_path / "long", {"main.tf": service_tf(command=default, idle_timeout=180)})
    assert rules_of(unsafe) == ["KA001"]
    assert unsafe.findings[0].fix.startswith("Add `--channel-timeout=185` before the application")
    short = ["waitress-serve", "--channel-timeout=30", "app:app"]
    assert rules_of(scan_tree(tmp_path / "short", {"main.tf": service_tf(command=short)})) == ["KA001"]
    safe = service_tf(command=["waitress-serve", "--channel-timeout=200", "app:app"], idle_timeout=180)
    assert rules_of(scan_tree(tmp_path / "safe", {"main.tf": safe})) == []


def test_unknown_words_are_not_taken_for_a_refused_command_line(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["sh", "-c", "waitress-serve $WAITRESS_OPTS app:app"])
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says.startswith(
        "the waitress-serve command line `<?> app:app` is not fully known"
    )
