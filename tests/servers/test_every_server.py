"""Every server family through a real Terraform scan: its unsafe default gives KA001, a safe setting
gives nothing (servers whose default is safe have no unsafe row).

Each case is a complete service: the container's command (or the image's own), environment, and the
files a Dockerfile copies into the image, as a platform team would write them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DEFAULT_IMAGE, rules_of, scan_tree, service_tf

IMAGE = DEFAULT_IMAGE.rsplit(":", 1)[0]


@dataclass(frozen=True)
class Case:
    family: str  # the server's name in findings (Server.name)
    service: dict[str, Any]  # service_tf arguments
    files: dict[str, str] = field(
        default_factory=dict
    )  # files beside main.tf; "app/Dockerfile" builds the image


def dockerfile(base: str, cmd: str, *lines: str) -> dict[str, str]:
    return {
        "app/Dockerfile": "\n".join([f"FROM {base}", "WORKDIR /app", "COPY . .", *lines, f"CMD {cmd}", ""])
    }


ENVOY = """static_resources:
  listeners:
  - address:
      socket_address: {address: 0.0.0.0, port_value: 8000}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          common_http_protocol_options:
            idle_timeout: 30s
"""

UNSAFE = {
    "gunicorn gthread": Case("gunicorn", {"command": ["gunicorn", "--threads", "4", "app:app"]}),
    "gunicorn.conf.py": Case(
        "gunicorn",
        {},
        {
            **dockerfile("python:3.12", '["gunicorn", "app:app"]'),
            "app/gunicorn.conf.py": 'worker_class = "gevent"\n',
        },
    ),
    "uvicorn": Case("uvicorn", {"command": ["uvicorn", "app:app", "--host", "0.0.0.0"]}),
    "uwsgi --http-socket": Case("uWSGI", {"command": ["uwsgi", "--http-socket", ":8000", "--module", "app"]}),
    "uwsgi ini": Case(
        "uWSGI",
        {},
        {
            **dockerfile("python:3.12", '["uwsgi", "--ini", "uwsgi.ini"]'),
            "app/uwsgi.ini": "[uwsgi]\nhttp11-socket = :8000\n",
        },
    ),
    "hypercorn": Case("hypercorn", {"command": ["hypercorn", "app:app", "--bind", "0.0.0.0:8000"]}),
    "daphne": Case("daphne", {"command": ["daphne", "-b", "0.0.0.0", "-p", "8000", "app.asgi:application"]}),
    "waitress": Case("waitress", {"command": ["waitress-serve", "--channel-timeout=30", "app:app"]}),
    "granian": Case("granian", {"command": ["granian", "--interface", "asgi", "app:app"]}),
    "node": Case("node", {"command": ["node", "dist/main.js"], "image": "node:22-alpine"}),
    "next start": Case("Next.js", {"command": ["npx", "next", "start"], "image": "node:20"}),
    "npm start": Case(
        "node",
        {},
        {
            **dockerfile("node:20-slim", '["npm", "start"]'),
            "app/package.json": '{"scripts": {"start": "node server.js"}}',
        },
    ),
    "pm2-runtime": Case("node", {"command": ["pm2-runtime", "start", "dist/main.js"], "image": "node:22"}),
    "puma": Case("puma", {"command": ["bundle", "exec", "puma", "-p", "8000"]}),
    "rails 8 with thruster": Case(
        "thruster",
        {"environment": {"HTTP_PORT": "8000"}},
        {
            "app/Dockerfile": 'FROM ruby:3.3-slim\nWORKDIR /rails\nCOPY . .\nENTRYPOINT ["/rails/bin/docker-entrypoint"]\n'
            'CMD ["./bin/thrust", "./bin/rails", "server"]\n',
        },
    ),
    "passenger": Case("passenger", {"command": ["passenger", "start", "--port", "8000"]}),
    "spring boot": Case(
        "Spring Boot",
        {
            "command": [
                "java",
                "-jar",
                "app.jar",
                "--spring.profiles.active=prod",
                "--server.tomcat.threads.max=200",
            ],
            "image": "eclipse-temurin:21",
        },
    ),
    "tomcat image": Case("Tomcat", {"image": "tomcat:10.1-jdk21"}),
    "kestrel": Case(
        "Kestrel",
        {
            "command": ["dotnet", "Api.dll"],
            "image": "mcr.microsoft.com/dotnet/aspnet:8.0",
            "idle_timeout": 300,
        },
    ),
    "nginx.conf": Case(
        "nginx",
        {},
        {
            "app/Dockerfile": "FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/nginx.conf\n",
            "app/nginx.conf": "events {}\nhttp {\n  keepalive_timeout 30;\n  server { listen 8000; }\n}\n",
        },
    ),
    "httpd image": Case("apache", {"image": "httpd:2.4"}),
    "traefik": Case(
        "traefik",
        {
            "command": [
                "traefik",
                "--entrypoints.web.address=:8000",
                "--entrypoints.web.transport.respondingtimeouts.idletimeout=30s",
            ],
            "image": "traefik:v3.1",
        },
    ),
    "envoy": Case(
        "envoy",
        {},
        {
            "app/Dockerfile": "FROM envoyproxy/envoy:v1.31-latest\nCOPY envoy.yaml /etc/envoy/envoy.yaml\n",
            "app/envoy.yaml": ENVOY,
        },
    ),
    "haproxy": Case(
        "haproxy",
        {},
        {
            "app/Dockerfile": "FROM haproxy:3.0\nCOPY haproxy.cfg /usr/local/etc/haproxy/haproxy.cfg\n",
            "app/haproxy.cfg": "defaults\n  mode http\n  timeout client 30s\n  timeout http-keep-alive 5s\nfrontend web\n  bind :8000\n",
        },
    ),
    "caddy": Case(
        "caddy",
        {},
        {
            "app/Dockerfile": "FROM caddy:2.8\nCOPY Caddyfile /etc/caddy/Caddyfile\n",
            "app/Caddyfile": "{\n  servers {\n    timeouts {\n      idle 30s\n    }\n  }\n}\n:8000 {\n  respond ok\n}\n",
        },
    ),
}

SAFE = {
    "gunicorn gthread": Case(
        "gunicorn", {"command": ["gunicorn", "--threads", "4", "--keep-alive", "65", "app:app"]}
    ),
    "gunicorn sync": Case("gunicorn", {"command": ["gunicorn", "-w", "4", "app:app"]}),
    "gunicorn.conf.py": Case(
        "gunicorn",
        {},
        {
            **dockerfile("python:3.12", '["gunicorn", "app:app"]'),
            "app/gunicorn.conf.py": 'worker_class = "gevent"\nkeepalive = 65\n',
        },
    ),
    "uvicorn": Case(
        "uvicorn", {"command": ["uvicorn", "app:app"], "environment": {"UVICORN_TIMEOUT_KEEP_ALIVE": "65"}}
    ),
    "uwsgi --http-socket": Case(
        "uWSGI", {"command": ["uwsgi", "--http-socket", ":8000", "--add-header", "Connection: close"]}
    ),
    "uwsgi ini": Case(
        "uWSGI",
        {},
        {
            **dockerfile("python:3.12", '["uwsgi", "--ini", "uwsgi.ini"]'),
            "app/uwsgi.ini": "[uwsgi]\nhttp11-socket = :8000\nsocket-timeout = 65\n",
        },
    ),
    "hypercorn": Case("hypercorn", {"command": ["hypercorn", "--keep-alive", "65", "app:app"]}),
    "daphne": Case("daphne", {"command": ["daphne", "app.asgi:application"], "idle_timeout": 59}),
    "waitress": Case("waitress", {"command": ["waitress-serve", "app:app"]}),
    "granian": Case(
        "granian", {"command": ["granian", "--interface", "asgi", "--no-http1-keep-alive", "app:app"]}
    ),
    "django runserver": Case(
        "Django development server", {"command": ["python", "manage.py", "runserver", "0.0.0.0:8000"]}
    ),
    "flask run": Case("Flask development server", {"command": ["flask", "run", "--host", "0.0.0.0"]}),
    "node": Case("node", {"command": ["node", "dist/main.js"], "image": "node:27-alpine"}),
    "next start": Case(
        "Next.js", {"command": ["next", "start", "--keepAliveTimeout", "65000"], "image": "node:20"}
    ),
    "npm start": Case(
        "Next.js",
        {},
        {
            **dockerfile("node:20-slim", '["npm", "start"]'),
            "app/package.json": '{"scripts": {"start": "next start --keepAliveTimeout 65000"}}',
        },
    ),
    "puma": Case(
        "puma",
        {},
        {
            **dockerfile("ruby:3.3", '["bundle", "exec", "puma"]'),
            "app/config/puma.rb": "persistent_timeout 65\n",
        },
    ),
    "unicorn": Case("unicorn", {"command": ["bundle", "exec", "unicorn", "-c", "config/unicorn.rb"]}),
    "rails 8 with thruster": Case(
        "thruster",
        {"environment": {"HTTP_IDLE_TIMEOUT": "65", "HTTP_PORT": "8000"}},
        {
            "app/Dockerfile": 'FROM ruby:3.3-slim\nWORKDIR /rails\nCOPY . .\nENTRYPOINT ["/rails/bin/docker-entrypoint"]\n'
            'CMD ["./bin/thrust", "./bin/rails", "server"]\n',
        },
    ),
    "passenger": Case("passenger", {"command": ["passenger", "start"], "idle_timeout": 59}),
    "spring boot": Case(
        "Spring Boot",
        {"command": ["java", "-jar", "app.jar"], "environment": {"SERVER_TOMCAT_KEEPALIVETIMEOUT": "65s"}},
    ),
    "kestrel": Case(
        "Kestrel", {"command": ["dotnet", "Api.dll"], "image": "mcr.microsoft.com/dotnet/aspnet:8.0"}
    ),
    "go": Case(
        "Go",
        {"labels": {"keepalive-guard.keep-alive-seconds": "75"}},
        {
            "app/Dockerfile": 'FROM golang:1.23 AS build\nRUN go build -o /api\nFROM gcr.io/distroless/static\nCOPY --from=build /api /api\nCMD ["/api"]\n'
        },
    ),
    "nginx image": Case("nginx", {"image": "nginx:1.27-alpine"}),
    "httpd": Case(
        "apache", {"command": ["httpd-foreground", "-c", "KeepAliveTimeout 65"], "image": "httpd:2.4"}
    ),
    "traefik": Case(
        "traefik", {"command": ["traefik", "--entrypoints.web.address=:8000"], "image": "traefik:v3.1"}
    ),
    "envoy image": Case("envoy", {"image": "envoyproxy/envoy:v1.31-latest"}),
    "caddy image": Case("caddy", {"image": "caddy:2.8"}),
    "haproxy": Case(
        "haproxy",
        {},
        {
            "app/Dockerfile": "FROM haproxy:3.0\nCOPY haproxy.cfg /usr/local/etc/haproxy/haproxy.cfg\n",
            "app/haproxy.cfg": "defaults\n  mode http\n  timeout client 30s\n  timeout http-keep-alive 65s\nfrontend web\n  bind :8000\n",
        },
    ),
}


def scan_case(root: Path, case: Case) -> tuple[list[str], str]:
    service = {"image": f"{IMAGE}:1", **case.service}
    files = {"main.tf": service_tf(**service), **case.files}
    dockerfiles = ((service["image"], root / "app/Dockerfile"),) if "app/Dockerfile" in case.files else ()
    result = scan_tree(root, files, dockerfiles=dockerfiles)
    [target] = result.targets
    assert target.server is not None
    assert not result.errors, result.errors
    return rules_of(result), target.server.name


@pytest.mark.parametrize("case", UNSAFE.values(), ids=UNSAFE.keys())
def test_the_unsafe_default_is_an_error(tmp_path: Path, case: Case) -> None:
    rules, name = scan_case(tmp_path, case)
    assert name == case.family
    assert "KA001" in rules


@pytest.mark.parametrize("case", SAFE.values(), ids=SAFE.keys())
def test_a_safe_setting_passes(tmp_path: Path, case: Case) -> None:
    rules, name = scan_case(tmp_path, case)
    assert name == case.family
    assert rules == []


def test_every_family_is_covered() -> None:
    from policies.servers import SERVERS

    covered = {MODULE.get(case.family, case.family) for case in (*UNSAFE.values(), *SAFE.values())}
    assert {family.NAME for family in SERVERS} == covered


# Server names in findings that differ from their family's NAME.
MODULE = {
    "Spring Boot": "spring",
    "Tomcat": "spring",
    "Kestrel": "kestrel",
    "Django development server": "devserver",
    "Flask development server": "devserver",
    "Go": "golang",
    "Next.js": "node",
}
