"""Envoy: the HTTP connection manager's idle_timeout, 1 h unless the configuration sets it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies.model import Copy, ImageBuild, Location, Setting
from policies.servers.base import Invocation, Mode, Server
from policies.servers.envoy import analyse, image_command, image_entrypoint
from tests.helpers import rules_of, scan_tree, server_of, service_tf

# Findings show local files relative to the working directory.
pytestmark = pytest.mark.usefixtures("in_tmp")


def _built(tmp_path: Path, config: str, name: str = "envoy.yaml", **service: Any) -> Server:
    dockerfile = f"FROM envoyproxy/envoy:v1.31-latest\nCOPY {name} /etc/envoy/{name}\n"
    if name != "envoy.yaml":
        dockerfile += f'CMD ["envoy", "-c", "/etc/envoy/{name}"]\n'
    files = {"web/Dockerfile": dockerfile, f"web/{name}": config}
    return server_of(tmp_path, files=files, dockerfile="web/Dockerfile", image="web:1", **service)


def _config(protocol_options: str = "", port: int = 8000, name: str = "ingress") -> str:
    return f"""static_resources:
  listeners:
  - name: {name}
    address:
      socket_address: {{ address: 0.0.0.0, port_value: {port} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http{protocol_options}
          route_config:
            virtual_hosts:
            - name: app
              domains: ["*"]
              routes:
              - match: {{ prefix: "/" }}
                route: {{ cluster: app }}
          http_filters:
          - name: envoy.filters.http.router
  clusters:
  - name: app
    connect_timeout: 1s
    type: STRICT_DNS
"""


def test_the_official_image_runs_its_own_configuration(tmp_path: Path) -> None:
    server = server_of(tmp_path, image="envoyproxy/envoy:v1.31-latest")
    assert server.name == "envoy"
    assert server.keep_alive.seconds == 3600
    assert server.keep_alive.evidence.says == (
        "the official Envoy image's /etc/envoy/envoy.yaml sets no idle_timeout: Envoy's default is 1 h"
    )


def test_image_command() -> None:
    assert image_command("envoyproxy/envoy:v1.31-latest") == ("envoy", "-c", "/etc/envoy/envoy.yaml")
    assert image_command("envoyproxy/envoy-distroless:v1.31") == ("envoy", "-c", "/etc/envoy/envoy.yaml")
    assert image_command("envoyproxy/envoy:tools-v1.31-latest") is None
    assert image_command("istio/proxyv2:1.22") is None


def test_image_entrypoint_runs_envoy_with_options() -> None:
    assert image_entrypoint("envoyproxy/envoy:v1.31-latest", ("--option",)) == ("envoy",)
    assert image_entrypoint("envoyproxy/envoy-distroless:v1.31", ("--option",)) == ("envoy",)
    assert image_entrypoint("istio/proxyv2:1.22", ("--option",)) is None


def test_a_command_of_options_runs_envoy_in_the_official_image(tmp_path: Path) -> None:
    command = ["-c", "/etc/envoy/envoy.yaml", "--log-level", "warn"]
    server = server_of(tmp_path, image="envoyproxy/envoy:v1.31-latest", command=command)
    assert server.name == "envoy"
    assert server.keep_alive.seconds == 3600
    custom = server_of(tmp_path / "custom", image="envoyproxy/envoy:v1.31-latest", command=["-c", "/x.yaml"])
    assert custom.name == "envoy"
    assert custom.keep_alive.mode is Mode.UNKNOWN  # /x.yaml is not visible


@pytest.mark.parametrize(
    ("options", "mode", "seconds"),
    [
        ("", Mode.IDLE_TIMEOUT, 3600),
        ("\n          common_http_protocol_options:\n            idle_timeout: 30s", Mode.IDLE_TIMEOUT, 30),
        (
            '\n          common_http_protocol_options:\n            idle_timeout: "90s"  # longer',
            Mode.IDLE_TIMEOUT,
            90,
        ),
        ("\n          common_http_protocol_options: {idle_timeout: 0.5s}", Mode.IDLE_TIMEOUT, 0.5),
        ("\n          common_http_protocol_options:\n            idle_timeout: 0s", Mode.NO_TIMEOUT, None),
        ("\n          common_http_protocol_options:\n            idle_timeout: 1m", Mode.UNKNOWN, None),
    ],
)
def test_idle_timeout_of_the_connection_manager(
    tmp_path: Path, options: str, mode: Mode, seconds: float | None
) -> None:
    server = _built(tmp_path, _config(options))
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_the_setting_is_located_and_fixed_there(tmp_path: Path) -> None:
    server = _built(
        tmp_path, _config("\n          common_http_protocol_options:\n            idle_timeout: 30s")
    )
    assert (
        server.keep_alive.evidence.says
        == "`idle_timeout: 30s` in listener ingress (port 8000) of web/envoy.yaml"
    )
    assert server.keep_alive.evidence.location == Location("web/envoy.yaml", 13)
    assert server.remedy_location == Location("web/envoy.yaml", 13)


def test_json_configuration(tmp_path: Path) -> None:
    hcm = {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {"common_http_protocol_options": {"idle_timeout": "45s"}},
    }
    config = {"static_resources": {"listeners": [{"name": "in", "filter_chains": [{"filters": [hcm]}]}]}}
    assert _built(tmp_path, json.dumps(config), "envoy.json").keep_alive.seconds == 45


def _two_listeners(first_port: int, second_port: int) -> str:
    first = _config("\n          common_http_protocol_options: {idle_timeout: 30s}", port=first_port)
    listeners = first.split("  clusters:")[0]
    second = _config(port=second_port, name="other").split("  listeners:\n")[1].split("  clusters:")[0]
    return listeners + second


def test_listeners_that_differ_make_it_unknown(tmp_path: Path) -> None:
    server = analyse(_invocation(tmp_path, _two_listeners(9001, 9000), None))  # the port is not known
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says.startswith(
        "Envoy's listeners differ, and which one receives the traffic is not known: "
        "closes idle keep-alive connections after 30 s (`idle_timeout: 30s` in listener ingress (port 9001)"
    )


def test_no_listener_on_the_port_is_unknown(tmp_path: Path) -> None:
    config = _config("\n          common_http_protocol_options: {idle_timeout: 90s}", port=9000)
    server = _built(tmp_path, config)  # the load balancer targets 8000
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "no listener of Envoy's configuration web/envoy.yaml with an HTTP connection manager or a TCP proxy "
        "listens on 8000, the port the load balancer sends traffic to (ingress on 9000), so the keep-alive "
        "of what serves that port is not known"
    )
    assert analyse(_invocation(tmp_path, config, None)).keep_alive.seconds == 90  # the port not known


def test_the_listener_on_the_target_port_counts(tmp_path: Path) -> None:
    server = _built(tmp_path, _two_listeners(8000, 9000))  # service_tf: container_port 8000
    assert server.keep_alive.seconds == 30
    assert server.keep_alive.evidence.says == (
        "`idle_timeout: 30s` in listener ingress (port 8000) of web/envoy.yaml (the listener on port 8000, "
        "where the load balancer sends the traffic)"
    )
    other = _built(tmp_path / "other", _two_listeners(9000, 8000))
    assert other.keep_alive.seconds == 3600
    assert "listener other (port 8000)" in other.keep_alive.evidence.says


def _invocation(tmp_path: Path, config: str, port: int | None) -> Invocation:
    (tmp_path / "envoy.yaml").write_text(config)
    build = ImageBuild(
        images=("edge",),
        dockerfile=Location("Dockerfile", 1),
        base=Setting("envoyproxy/envoy:v1.31-latest", Location("Dockerfile", 1)),
        entry_point=None,
        command=None,
        copies=(Copy(tmp_path / "envoy.yaml", "/etc/envoy/envoy.yaml", Location("Dockerfile", 2)),),
    )
    argv = ("envoy", "-c", "/etc/envoy/envoy.yaml")
    image = Setting("edge:1", Location("main.tf", 2))
    return Invocation(argv, {}, Location("main.tf", 3), image, build=build, port=port)


@pytest.mark.parametrize(
    ("port", "mode", "seconds"),
    [
        (9001, Mode.IDLE_TIMEOUT, 30),
        (9000, Mode.IDLE_TIMEOUT, 3600),
        (9002, Mode.UNKNOWN, None),  # no listener on it: they are compared
        (None, Mode.UNKNOWN, None),
    ],
)
def test_the_port_picks_the_listener(
    tmp_path: Path, port: int | None, mode: Mode, seconds: float | None
) -> None:
    server = analyse(_invocation(tmp_path, _two_listeners(9001, 9000), port))
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_additional_addresses_count_as_the_listeners_ports(tmp_path: Path) -> None:
    config = _two_listeners(9001, 9000).replace(
        "    filter_chains:",
        "    additional_addresses:\n    - address:\n        socket_address: {address: 0.0.0.0, port_value: 8443}\n"
        "    filter_chains:",
        1,
    )
    assert analyse(_invocation(tmp_path, config, 8443)).keep_alive.seconds == 30


def test_a_tcp_proxy_on_another_port_does_not_count(tmp_path: Path) -> None:
    tcp = (
        "  - name: tcp\n    address:\n      socket_address: {address: 0.0.0.0, port_value: 5432}\n"
        "    filter_chains:\n    - filters:\n      - name: envoy.filters.network.tcp_proxy\n"
    )
    config = _config().replace("  clusters:", tcp + "  clusters:")
    assert analyse(_invocation(tmp_path, config, 8000)).keep_alive.seconds == 3600
    assert analyse(_invocation(tmp_path, config, 5432)).keep_alive.mode is Mode.UNKNOWN


def test_anchors_and_merge_keys_are_followed(tmp_path: Path) -> None:
    config = "x-timeouts: &timeouts\n  idle_timeout: 20s\n" + _config(
        "\n          common_http_protocol_options:\n            <<: *timeouts"
    )
    server = _built(tmp_path, config)
    assert server.keep_alive.seconds == 20
    assert server.keep_alive.evidence.location == Location("web/envoy.yaml", 2)  # where the value is written


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ("dynamic_resources:\n  lds_config: {ads: {}}\n", "its listeners come from xDS"),
        ("a: 1\n---\nb: 2\n", "holds several documents"),
        ("static_resources: [\n", "is not one YAML or JSON document"),
        (
            "static_resources:\n  listeners:\n  - name: tcp\n    filter_chains:\n    - filters:\n"
            "      - name: envoy.filters.network.tcp_proxy\n",
            "Envoy proxies TCP on tcp",
        ),
    ],
)
def test_configurations_it_cannot_conclude_on(tmp_path: Path, config: str, says: str) -> None:
    server = _built(tmp_path, config)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert says in server.keep_alive.evidence.says


def test_a_configuration_that_is_not_visible_is_unknown(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["envoy", "-c", "/etc/envoy/custom.yaml", "--log-level", "info"])
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "Envoy's configuration `/etc/envoy/custom.yaml` is not visible in the scanned files, and any "
        "configuration may set idle_timeout (Envoy's default is 1 h)"
    )


def test_terraform_scan_flags_a_short_idle_timeout_and_not_the_default(tmp_path: Path) -> None:
    short = _config("\n          common_http_protocol_options:\n            idle_timeout: 30s")
    files = {
        "main.tf": service_tf(image="web:1"),
        "web/Dockerfile": "FROM envoyproxy/envoy:v1.31-latest\nCOPY envoy.yaml /etc/envoy/envoy.yaml\n",
        "web/envoy.yaml": short,
    }
    dockerfiles = (("web:1", tmp_path / "short/web/Dockerfile"),)
    assert "KA001" in rules_of(scan_tree(tmp_path / "short", files, dockerfiles=dockerfiles))
    files["web/envoy.yaml"] = _config()
    dockerfiles = (("web:1", tmp_path / "default/web/Dockerfile"),)
    assert "KA001" not in rules_of(scan_tree(tmp_path / "default", files, dockerfiles=dockerfiles))
