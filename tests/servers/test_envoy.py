"""Envoy: the HTTP connection manager's idle_timeout, 1 h unless the configuration sets it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies.model import Location
from policies.servers.base import Mode, Server
from policies.servers.envoy import Scalar, image_command, load_yaml
from tests.helpers import rules_of, scan_tree, server_of, service_tf


@pytest.fixture(autouse=True)
def _paths_relative_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Findings show local files relative to the working directory."""
    monkeypatch.chdir(tmp_path)


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


def test_listeners_that_differ_make_it_unknown(tmp_path: Path) -> None:
    first = _config("\n          common_http_protocol_options: {idle_timeout: 30s}")
    listeners = first.split("  clusters:")[0]
    second = _config(port=9000, name="other").split("  listeners:\n")[1].split("  clusters:")[0]
    server = _built(tmp_path, listeners + second)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "which one receives the traffic is not known" in server.keep_alive.evidence.says


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ("dynamic_resources:\n  lds_config: {ads: {}}\n", "its listeners come from xDS"),
        ("a: &anchor 1\nb: *anchor\n", "uses YAML that keepalive-guard does not read"),
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


def test_the_yaml_reader() -> None:
    text = (
        "# comment\nkey: value  # trailing\nlist:\n- a\n- name: b\n  port: 80\nflow: [1, 'two', {x: y}]\n"
        'block: |\n  text: not a key\nquoted: "a # b"\nempty:\n'
    )
    assert load_yaml(text) == {
        "key": Scalar("value", 2),
        "list": [Scalar("a", 4), {"name": Scalar("b", 5), "port": Scalar("80", 6)}],
        "flow": [Scalar("1", 7), Scalar("two", 7, True), {"x": Scalar("y", 7)}],
        "block": Scalar("", 8),
        "quoted": Scalar("a # b", 10, True),
        "empty": Scalar("", 11),
    }
    assert load_yaml("a: 1\n---\nb: 2\n") is None
    assert load_yaml("a: !tag 1\n") is None
    assert load_yaml("a:\n  b: 1\n c: 2\n") is None


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
