"""Traefik: idleTimeout per entry point (180 s by default) from one source: file, flags or environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.model import Location, Setting
from policies.servers.base import Invocation, Mode
from policies.servers.traefik import analyse, image_command, image_entrypoint
from tests.helpers import built_server, rules_of, scan_tree, server_of, service_tf

IDLE = "--entrypoints.web.transport.respondingtimeouts.idletimeout"
ENV = "TRAEFIK_ENTRYPOINTS_WEB_TRANSPORT_RESPONDINGTIMEOUTS_IDLETIMEOUT"


# Findings show local files relative to the working directory.
pytestmark = pytest.mark.usefixtures("in_tmp")


def test_official_image_defaults_to_180_seconds(tmp_path: Path) -> None:
    # without entry points, Traefik listens on :80 (entry point http)
    server = analyse(_invocation((), 80))
    assert server.keep_alive.seconds == 180
    assert server.keep_alive.evidence.says == (
        "no idleTimeout for entry point http in Traefik's defaults: Traefik's default is 180 s"
    )
    assert analyse(_invocation((), None)).keep_alive.seconds == 180


def test_the_default_entry_point_does_not_serve_another_port(tmp_path: Path) -> None:
    server = server_of(tmp_path, image="traefik:v3.1")  # the image's CMD: traefik; container port 8000
    assert server.name == "traefik"
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "no Traefik entry point listens on 8000, the port the load balancer sends traffic to (http on :80 "
        "(Traefik's default entry point, as none is configured), in Traefik's defaults), so the keep-alive "
        "of what serves that port is not known"
    )


def test_image_command_only_for_the_official_image() -> None:
    assert image_command("traefik:v3.1") == ("traefik",)
    assert image_command("docker.io/library/traefik:2.11") == ("traefik",)
    assert image_command("traefik/whoami:v1.10") is None


def test_image_entrypoint_runs_traefik_with_options() -> None:
    assert image_entrypoint("traefik:v3.1", ("--option",)) == ("traefik",)
    assert image_entrypoint("traefik/whoami:v1.10", ("--option",)) is None


def test_a_command_of_options_runs_traefik_in_the_official_image(tmp_path: Path) -> None:
    # the common ECS task definition: options only, the image's entrypoint script prepends traefik
    command = ["--entrypoints.web.address=:8000", "--providers.ecs=true", f"{IDLE}=30s"]
    server = server_of(tmp_path, image="traefik:v3.1", command=command)
    assert server.name == "traefik"
    assert server.keep_alive.seconds == 30
    assert server.keep_alive.evidence.says == f"`{IDLE}=30s` in the command"
    assert "KA001" in rules_of(
        scan_tree(tmp_path / "scan", {"main.tf": service_tf(image="traefik:v3.1", command=command)})
    )
    other = server_of(tmp_path / "other", image="example/edge:1", command=command)
    assert other.name == "unknown"  # a custom image's entrypoint is not known


@pytest.mark.parametrize(
    ("args", "seconds", "says"),
    [
        ([f"{IDLE}=30s"], 30, f"`{IDLE}=30s` in the command"),
        ([IDLE, "45"], 45, f"`{IDLE} 45` in the command"),  # bare digits are seconds
        (["--entryPoints.web.transport.respondingTimeouts.idleTimeout=1m30s"], 90, "idleTimeout=1m30s"),
        ([f"-{IDLE[2:]}=20s"], 20, "=20s"),  # paerser takes one dash too
        ([f"{IDLE}=10s", f"{IDLE}=70s"], 70, "=70s"),  # the last wins
    ],
)
def test_idle_timeout_flags(tmp_path: Path, args: list[str], seconds: float, says: str) -> None:
    command = ["traefik", "--entrypoints.web.address=:8000", *args]
    server = server_of(tmp_path, image="traefik:v3.1", command=command)
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == seconds
    assert says in server.keep_alive.evidence.says


def test_a_flag_remedy_changes_the_flag(tmp_path: Path) -> None:
    server = server_of(tmp_path, image="traefik:v3.1", command=["traefik", f"{IDLE}=30s"])
    assert server.remedy == f"change `{IDLE}=30s` to `{IDLE}={{seconds}}s` in the traefik command"


@pytest.mark.parametrize(
    ("image", "mode", "seconds", "says"),
    [
        # Go's http.Server idles for ReadTimeout when IdleTimeout is 0: 60 s by default since 2.11.2
        ("traefik:v3.1", Mode.IDLE_TIMEOUT, 60, "60 s by default since 2.11.2"),
        ("traefik:v2.11", Mode.IDLE_TIMEOUT, 60, "60 s by default since 2.11.2"),
        ("traefik:v2.11.1", Mode.NO_TIMEOUT, None, "no timeout before Traefik 2.11.2"),
        ("traefik:v2.10", Mode.NO_TIMEOUT, None, "no timeout before Traefik 2.11.2"),
    ],
)
def test_zero_falls_back_to_the_read_timeout(
    tmp_path: Path, image: str, mode: Mode, seconds: float | None, says: str
) -> None:
    server = server_of(tmp_path, image=image, command=["traefik", f"{IDLE}=0"])
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds
    assert says in server.keep_alive.evidence.says


@pytest.mark.parametrize("image", ["traefik", "traefik:latest", "example/edge:1"])
def test_zero_without_a_visible_version_is_unknown(tmp_path: Path, image: str) -> None:
    # Traefik before 2.11.2 never closes such connections, later ones after readTimeout's 60 s
    server = server_of(tmp_path, image=image, command=["traefik", f"{IDLE}=0"])
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says.startswith(
        f"`{IDLE}=0` in the command, and readTimeout is not set: Go's http.Server then idles for "
        "readTimeout, 60 s by default since Traefik 2.11.2 and none before (idle connections never closed), "
        f"and the Traefik version of `{image}` is not visible; pin a versioned tag of the traefik image (or "
        "set readTimeout) to make it certain"
    )


def test_zero_with_a_read_timeout(tmp_path: Path) -> None:
    read = "--entrypoints.web.transport.respondingtimeouts.readtimeout"
    given = server_of(tmp_path / "a", image="traefik:v3.1", command=["traefik", f"{IDLE}=0", f"{read}=90s"])
    assert given.keep_alive.seconds == 90
    none = server_of(tmp_path / "b", image="traefik:v3.1", command=["traefik", f"{IDLE}=0", f"{read}=0"])
    assert none.keep_alive.mode is Mode.NO_TIMEOUT


def test_environment_variables_when_the_command_has_no_flags(tmp_path: Path) -> None:
    server = server_of(
        tmp_path, image="traefik:v3.1", environment={"TRAEFIK_ENTRYPOINTS_WEB_ADDRESS": ":8000", ENV: "45s"}
    )
    assert server.keep_alive.seconds == 45
    assert server.keep_alive.evidence.says == f"`{ENV}=45s` in the environment"
    assert server.remedy == f"set {ENV}={{seconds}}s"


def test_flags_make_traefik_ignore_the_environment(tmp_path: Path) -> None:
    server = server_of(
        tmp_path,
        image="traefik:v3.1",
        command=["traefik", "--entrypoints.web.address=:8000"],
        environment={ENV: "5s"},
    )
    assert server.keep_alive.seconds == 180
    assert "TRAEFIK_* variables are ignored when the command has flags" in server.keep_alive.evidence.says


def test_entry_points_that_differ_make_it_unknown(tmp_path: Path) -> None:
    args = ("--entrypoints.web.address=:9000", "--entrypoints.admin.address=:8080", f"{IDLE}=30s")
    server = analyse(_invocation(args, None))  # the port is not known: they are compared
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert (
        "entry point admin: closes idle keep-alive connections after 180 s" in server.keep_alive.evidence.says
    )


def test_no_entry_point_on_the_port_is_unknown(tmp_path: Path) -> None:
    command = [
        "traefik",
        "--entrypoints.web.address=:9000",  # the load balancer targets 8000: no entry point has it
        "--entrypoints.admin.address=:8080",
        f"{IDLE}=90s",
        "--entrypoints.admin.transport.respondingtimeouts.idletimeout=90s",
    ]
    server = server_of(tmp_path, image="traefik:v3.1", command=command)
    assert server.keep_alive.mode is Mode.UNKNOWN  # both say 90 s, and neither is on 8000
    assert server.keep_alive.evidence.says == (
        "no Traefik entry point listens on 8000, the port the load balancer sends traffic to (web on :9000, "
        "admin on :8080, in the command), so the keep-alive of what serves that port is not known"
    )


def test_an_entry_point_whose_address_is_not_known_may_be_on_the_port() -> None:
    args = ("--entrypoints.web.address=:9000", "--entrypoints.app.address=:\uffff", f"{IDLE}=90s")
    assert analyse(_invocation(args, 9000)).keep_alive.mode is Mode.UNKNOWN  # web 90 s, app 180 s
    assert analyse(_invocation(args, 8000)).keep_alive.seconds == 180  # only app may be on it


def test_the_entry_point_on_the_target_port_counts(tmp_path: Path) -> None:
    command = [
        "traefik",
        "--entrypoints.web.address=:8000",  # service_tf: container_port 8000
        "--entrypoints.admin.address=:8080",
        f"{IDLE}=30s",
    ]
    server = server_of(tmp_path, image="traefik:v3.1", command=command)
    assert server.keep_alive.seconds == 30
    assert server.keep_alive.evidence.says == (
        f"`{IDLE}=30s` in the command (entry point web listens on port 8000, where the load balancer "
        "sends the traffic)"
    )
    command = [
        "traefik",
        "--entrypoints.web.address=:8080",
        "--entrypoints.admin.address=0.0.0.0:8000/tcp",
        f"{IDLE}=30s",
    ]
    admin = server_of(tmp_path / "admin", image="traefik:v3.1", command=command)
    assert admin.keep_alive.seconds == 180
    assert admin.remedy == (
        "add `--entrypoints.admin.transport.respondingtimeouts.idletimeout={seconds}s` to the traefik command"
    )


def _invocation(args: tuple[str, ...], port: int | None) -> Invocation:
    image = Setting("traefik:v3.1", Location("main.tf", 2))
    return Invocation(("traefik", *args), {}, Location("main.tf", 3), image, port=port)


@pytest.mark.parametrize(
    ("port", "mode", "seconds"),
    [
        (80, Mode.IDLE_TIMEOUT, 30),
        (443, Mode.IDLE_TIMEOUT, 180),
        (8443, Mode.UNKNOWN, None),  # no entry point on it: they are compared
        (None, Mode.UNKNOWN, None),
    ],
)
def test_the_port_picks_the_entry_point(port: int | None, mode: Mode, seconds: float | None) -> None:
    args = (
        "--entrypoints.web.address=:80",
        "--entrypoints.websecure.address=[::]:443",
        f"{IDLE}=30s",
    )
    server = analyse(_invocation(args, port))
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_udp_entry_points_do_not_count(tmp_path: Path) -> None:
    command = [
        "traefik",
        "--entrypoints.web.address=:8000",
        "--entrypoints.dns.address=:53/udp",
        f"{IDLE}=90s",
    ]
    assert server_of(tmp_path, image="traefik:v3.1", command=command).keep_alive.seconds == 90


def test_a_custom_image_without_its_dockerfile(tmp_path: Path) -> None:
    bare = server_of(tmp_path / "bare", command=["traefik"])
    assert bare.keep_alive.mode is Mode.UNKNOWN  # its traefik.yml is not visible
    flags = server_of(tmp_path / "flags", command=["traefik", f"{IDLE}=70s"])
    assert flags.keep_alive.seconds == 70
    assert "assuming the image holds no traefik.yml or traefik.toml" in flags.keep_alive.evidence.says


_YAML = """entryPoints:
  web:
    address: ":8000"
    transport:
      respondingTimeouts:
        idleTimeout: 45s   # shorter than the ALB
providers:
  ecs: {}
"""


def test_the_static_configuration_file_is_read(tmp_path: Path) -> None:
    server = built_server(
        tmp_path, "FROM traefik:v3.1\nCOPY traefik.yml /etc/traefik/traefik.yml\n", {"traefik.yml": _YAML}
    )
    assert server.keep_alive.seconds == 45
    assert server.keep_alive.evidence.says == "`idleTimeout: 45s` in web/traefik.yml"
    assert server.remedy_location == Location("web/traefik.yml", 6)


def test_a_file_makes_traefik_ignore_flags(tmp_path: Path) -> None:
    dockerfile = (
        f'FROM traefik:v3.1\nCOPY traefik.yml /etc/traefik/traefik.yml\nCMD ["traefik", "{IDLE}=300s"]\n'
    )
    server = built_server(tmp_path, dockerfile, {"traefik.yml": _YAML})
    assert server.keep_alive.seconds == 45
    assert "the flags and TRAEFIK_* variables are ignored" in server.keep_alive.evidence.says


def test_toml_and_configfile(tmp_path: Path) -> None:
    toml = '[entryPoints.web]\naddress = ":8000"\n[entryPoints.web.transport.respondingTimeouts]\nidleTimeout = "20s"\n'
    dockerfile = 'FROM traefik:v3.1\nCOPY static.toml /config/static.toml\nCMD ["traefik", "--configFile=/config/static.toml"]\n'
    assert built_server(tmp_path, dockerfile, {"static.toml": toml}).keep_alive.seconds == 20
    missing = 'FROM traefik:v3.1\nCMD ["traefik", "--configfile=/config/static.toml"]\n'
    server = built_server(tmp_path / "missing", missing, {})
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "(--configfile) is not in the scanned files" in server.keep_alive.evidence.says


def test_anchors_and_aliases_are_followed(tmp_path: Path) -> None:
    yaml = "timeouts: &t\n  idleTimeout: 10s\nentryPoints:\n  web:\n    transport:\n      respondingTimeouts: *t\n"
    server = built_server(
        tmp_path, "FROM traefik:v3.1\nCOPY traefik.yml /etc/traefik/\n", {"traefik.yml": yaml}
    )
    assert server.keep_alive.seconds == 10
    assert server.keep_alive.evidence.location == Location("web/traefik.yml", 2)


def test_yaml_it_cannot_read_is_unknown(tmp_path: Path) -> None:
    yaml = "entryPoints:\n  web:\n    address: ':8000'\n---\nentryPoints: {}\n"
    server = built_server(
        tmp_path, "FROM traefik:v3.1\nCOPY traefik.yml /etc/traefik/\n", {"traefik.yml": yaml}
    )
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "web/traefik.yml is not one YAML document that keepalive-guard can read (it is empty, invalid, holds "
        "several documents, or grows beyond any configuration through aliases)"
    )


def test_traefik_1_uses_its_own_settings(tmp_path: Path) -> None:
    assert (
        server_of(tmp_path / "a", image="traefik:1.7", command=["traefik", "--api"]).keep_alive.seconds == 180
    )
    given = server_of(
        tmp_path / "b", image="traefik:1.7", command=["traefik", "--respondingtimeouts.idletimeout=5s"]
    )
    assert given.keep_alive.mode is Mode.UNKNOWN


def test_terraform_scan_flags_a_short_idle_timeout_and_not_the_default(tmp_path: Path) -> None:
    short = service_tf(
        image="traefik:v3.1", command=["traefik", "--entrypoints.web.address=:8000", f"{IDLE}=30s"]
    )
    assert "KA001" in rules_of(scan_tree(tmp_path / "short", {"main.tf": short}))
    default = service_tf(image="traefik:v3.1", command=["traefik", "--entrypoints.web.address=:8000"])
    assert "KA001" not in rules_of(scan_tree(tmp_path / "default", {"main.tf": default}))
