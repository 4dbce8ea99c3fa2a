from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from policies.model import Copy, ImageBuild, Location, Setting
from policies.servers.base import Invocation, Mode
from policies.servers.nginx import analyse
from tests.helpers import built_server, rules_of, scan_tree, server_of, service_tf


@pytest.mark.parametrize(
    ("image", "command", "seconds"),
    [
        ("nginx:1.27-alpine", ["nginx", "-g", "daemon off;"], 65),  # the official image's nginx.conf
        ("public.ecr.aws/nginx/nginx:stable", ["nginx", "-g", "daemon off;"], 65),
        ("nginxinc/nginx-unprivileged:1.27", ["nginx", "-g", "daemon off;"], 65),
        # a custom configuration decides, and it is not visible: unknown rather than assumed
        ("nginx:1.27", ["nginx", "-c", "/etc/nginx/custom.conf", "-g", "daemon off;"], None),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/edge:7", ["nginx", "-g", "daemon off;"], None),
    ],
)
def test_nginx_keep_alive(tmp_path: Path, image: str, command: list[str], seconds: int | None) -> None:
    server = server_of(tmp_path, command=command, image=image)
    assert server.name == "nginx"
    assert server.keep_alive.seconds == seconds
    assert (server.keep_alive.mode is Mode.UNKNOWN) is (seconds is None)
    assert "keepalive_timeout" in server.keep_alive.evidence.says


def test_official_image_without_command_runs_nginx(tmp_path: Path) -> None:
    server = server_of(tmp_path, image="nginx:1.27-alpine", idle_timeout=120)
    assert server.name == "nginx" and server.keep_alive.seconds == 65
    assert server_of(tmp_path, image="example/edge:1").keep_alive.mode is Mode.UNKNOWN


# Findings show local files relative to the working directory.
pytestmark = pytest.mark.usefixtures("in_tmp")


_APP = "server {\n    listen 8000;\n    location / {\n        proxy_pass http://127.0.0.1:3000;\n    }\n}\n"


def test_official_nginx_conf_applies_to_copied_conf_d_files(tmp_path: Path) -> None:
    # the stock nginx.conf sets 65 s in http and includes conf.d/*.conf there
    server = built_server(
        tmp_path, "FROM nginx:1.27\nCOPY app.conf /etc/nginx/conf.d/app.conf\n", {"app.conf": _APP}
    )
    assert server.keep_alive.seconds == 65
    assert server.keep_alive.evidence.says == (
        "the official nginx image's nginx.conf sets `keepalive_timeout 65;` in the http block"
    )
    assert server.keep_alive.evidence.location == Location("web/Dockerfile", 1)


@pytest.mark.parametrize(
    ("directive", "mode", "seconds"),
    [
        ("keepalive_timeout 30s;", Mode.IDLE_TIMEOUT, 30),
        ("keepalive_timeout 75 20;", Mode.IDLE_TIMEOUT, 75),  # the second value is the Keep-Alive header's
        ("keepalive_timeout 1m15s;", Mode.IDLE_TIMEOUT, 75),
        ("keepalive_timeout 90000ms;", Mode.IDLE_TIMEOUT, 90),
        ('keepalive_timeout "120";', Mode.IDLE_TIMEOUT, 120),
        ("keepalive_timeout 0;", Mode.NO_KEEP_ALIVE, None),  # keep-alive off: Connection: close
        ("keepalive_timeout 1.5s;", Mode.UNKNOWN, None),  # ngx_parse_time takes no fractions
    ],
)
def test_server_block_in_conf_d_overrides_http(
    tmp_path: Path, directive: str, mode: Mode, seconds: float | None
) -> None:
    app = f"server {{\n    listen 8000;  # the app\n    {directive}\n}}\n"
    server = built_server(
        tmp_path, "FROM nginx:1.27-alpine\nCOPY app.conf /etc/nginx/conf.d/\n", {"app.conf": app}
    )
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds
    if mode is Mode.IDLE_TIMEOUT:
        assert server.keep_alive.evidence.location == Location("web/app.conf", 3)
        assert server.remedy_location == Location("web/app.conf", 3)
        assert "in the server block listening on 8000" in server.keep_alive.evidence.says


def test_a_copied_nginx_conf_replaces_the_official_one(tmp_path: Path) -> None:
    conf = (
        "# keepalive_timeout 5;\nworker_processes auto;\nevents { worker_connections 1024; }\n"
        "http {\n    include mime.types;\n    keepalive_timeout 20;\n    server { listen 8000; }\n}\n"
    )
    server = built_server(
        tmp_path, "FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/nginx.conf\n", {"nginx.conf": conf}
    )
    assert server.keep_alive.seconds == 20
    assert server.keep_alive.evidence.says == "`keepalive_timeout 20;` in the http block"
    assert (
        server.remedy == "change `keepalive_timeout 20;` to `keepalive_timeout {seconds}s;` in the http block"
    )


def test_nginx_conf_without_keepalive_timeout_uses_the_built_in_default(tmp_path: Path) -> None:
    conf = "events {}\nhttp {\n    server {\n        listen 8000;\n    }\n}\n"
    server = built_server(tmp_path, "FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/\n", {"nginx.conf": conf})
    assert server.keep_alive.seconds == 75
    assert "nginx's built-in default is 75 s" in server.keep_alive.evidence.says


def test_includes_are_followed_where_the_dockerfile_copies_them(tmp_path: Path) -> None:
    conf = "events {}\nhttp {\n    include /etc/nginx/sites/*.conf;\n}\n"
    site = "server {\n    listen 8000;\n    keepalive_timeout 40;\n}\n"
    dockerfile = "FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/nginx.conf\nCOPY sites/ /etc/nginx/sites/\n"
    server = built_server(tmp_path, dockerfile, {"nginx.conf": conf, "sites/app.conf": site})
    assert server.keep_alive.seconds == 40
    assert server.keep_alive.evidence.location == Location("web/sites/app.conf", 3)


def test_an_include_the_dockerfile_does_not_copy_makes_it_unknown(tmp_path: Path) -> None:
    conf = "events {}\nhttp {\n    include tuning.conf;\n    server { listen 8000; }\n}\n"
    server = built_server(
        tmp_path, "FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/nginx.conf\n", {"nginx.conf": conf}
    )
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "`include tuning.conf;` at web/nginx.conf:3 reads files the Dockerfile does not copy, which may set "
        "keepalive_timeout"
    )


def test_server_blocks_that_differ_make_it_unknown(tmp_path: Path) -> None:
    conf = (
        "http {\n    keepalive_timeout 65;\n    server { listen 9000; keepalive_timeout 10; }\n"
        "    server { listen 8080; }\n}\n"
    )
    server = built_server(
        tmp_path, "FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/nginx.conf\n", {"nginx.conf": conf}
    )  # the load balancer targets 8000, where neither listens
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "no server block of nginx's configuration listens on 8000, the port the load balancer sends traffic "
        "to (they listen on 8080, 9000), so the keep-alive of what serves that port is not known"
    )
    unknown_port = analyse(_invocation(tmp_path, conf, None))  # the port not known: all are compared
    assert unknown_port.keep_alive.mode is Mode.UNKNOWN
    assert "which one receives the traffic is not known" in unknown_port.keep_alive.evidence.says


def test_the_server_block_on_the_target_port_counts(tmp_path: Path) -> None:
    conf = (
        "http {\n    keepalive_timeout 65;\n    server { listen 8000; keepalive_timeout 10; }\n"
        "    server { listen 8080; }\n}\n"
    )
    server = built_server(
        tmp_path, "FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/nginx.conf\n", {"nginx.conf": conf}
    )  # service_tf: container_port 8000
    assert server.keep_alive.seconds == 10
    assert server.keep_alive.evidence.says == (
        "`keepalive_timeout 10;` in the server block listening on 8000 (the load balancer sends the traffic "
        "to port 8000; the server blocks on other ports do not count)"
    )
    assert server.remedy_location == Location("web/nginx.conf", 3)


def _invocation(tmp_path: Path, conf: str, port: int | None, base: str = "nginx:1.27") -> Invocation:
    (tmp_path / "nginx.conf").write_text(conf)
    build = ImageBuild(
        images=("web",),
        dockerfile=Location("Dockerfile", 1),
        base=Setting(base, Location("Dockerfile", 1)),
        entry_point=None,
        command=None,
        copies=(Copy(tmp_path / "nginx.conf", "/etc/nginx/nginx.conf", Location("Dockerfile", 2)),),
    )
    image = Setting("web:1", Location("main.tf", 2))
    return Invocation(("nginx",), {}, Location("main.tf", 3), image, build=build, port=port)


_SERVERS = (
    "http {\n    keepalive_timeout 65;\n"
    "    server { listen 127.0.0.1; keepalive_timeout 11; }\n"  # no port: 80
    "    server { listen [::]:8443 ssl; keepalive_timeout 12; }\n"
    "    server { listen *:9000 default_server; listen 9001; keepalive_timeout 13; }\n"
    "    server { listen unix:/run/nginx.sock; keepalive_timeout 14; }\n"
    "}\n"
)


@pytest.mark.parametrize(
    ("port", "mode", "seconds"),
    [
        (80, Mode.IDLE_TIMEOUT, 11),
        (8443, Mode.IDLE_TIMEOUT, 12),
        (9000, Mode.IDLE_TIMEOUT, 13),
        (9001, Mode.IDLE_TIMEOUT, 13),
        (3000, Mode.UNKNOWN, None),  # no server listens on it: they are compared
        (None, Mode.UNKNOWN, None),
    ],
)
def test_the_port_picks_the_server_block(
    tmp_path: Path, port: int | None, mode: Mode, seconds: float | None
) -> None:
    server = analyse(_invocation(tmp_path, _SERVERS, port))
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_a_server_without_listen_is_on_80_or_8000(tmp_path: Path) -> None:
    # ngx_http_core_server: *:80 when nginx starts as root, *:8000 otherwise; the user is not visible
    conf = (
        "http {\n    server { keepalive_timeout 20; }\n    server { listen 8000; keepalive_timeout 30; }\n}\n"
    )
    assert analyse(_invocation(tmp_path, conf, 80)).keep_alive.seconds == 20
    on_8000 = analyse(_invocation(tmp_path, conf, 8000))
    assert on_8000.keep_alive.mode is Mode.UNKNOWN
    assert on_8000.keep_alive.evidence.says.startswith("nginx's server blocks on port 8000 differ")


def test_the_locations_of_the_server_on_the_port_count(tmp_path: Path) -> None:
    conf = (
        "http {\n    server { listen 8000; location /slow { keepalive_timeout 5; } }\n"
        "    server { listen 9000; keepalive_timeout 90; }\n}\n"
    )
    assert analyse(_invocation(tmp_path, conf, 9000)).keep_alive.seconds == 90
    assert analyse(_invocation(tmp_path, conf, 8000)).keep_alive.mode is Mode.UNKNOWN  # 75 s or 5 s


def test_the_unprivileged_image_s_stock_server_listens_on_8080(tmp_path: Path) -> None:
    conf = (
        "http {\n    keepalive_timeout 30;\n    include /etc/nginx/conf.d/*.conf;\n"
        "    server { listen 9000; keepalive_timeout 90; }\n}\n"
    )
    unprivileged = "nginxinc/nginx-unprivileged:1.27"
    assert analyse(_invocation(tmp_path, conf, 8080, unprivileged)).keep_alive.seconds == 30
    assert analyse(_invocation(tmp_path, conf, 80, "nginx:1.27")).keep_alive.seconds == 30
    assert analyse(_invocation(tmp_path, conf, 80, unprivileged)).keep_alive.mode is Mode.UNKNOWN


def test_a_location_with_its_own_timeout_counts(tmp_path: Path) -> None:
    app = "server {\n    listen 8000;\n    location /slow {\n        keepalive_timeout 5;\n    }\n}\n"
    server = built_server(
        tmp_path, "FROM nginx:1.27\nCOPY app.conf /etc/nginx/conf.d/app.conf\n", {"app.conf": app}
    )
    assert server.keep_alive.mode is Mode.UNKNOWN  # 65 s after most requests, 5 s after one to /slow


def test_the_c_option_names_the_configuration(tmp_path: Path) -> None:
    conf = "http {\n    keepalive_timeout 90;\n    server { listen 8000; }\n}\n"
    dockerfile = 'FROM nginx:1.27\nCOPY edge.conf /srv/edge.conf\nCMD ["nginx", "-c", "/srv/edge.conf", "-g", "daemon off;"]\n'
    assert built_server(tmp_path, dockerfile, {"edge.conf": conf}).keep_alive.seconds == 90
    missing = 'FROM nginx:1.27\nCMD ["nginx", "-c", "/srv/edge.conf"]\n'
    server = built_server(tmp_path / "missing", missing, {})
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "`/srv/edge.conf` is not copied by the Dockerfile" in server.keep_alive.evidence.says


def test_a_configuration_that_does_not_parse_is_unknown(tmp_path: Path) -> None:
    conf = "http {\n    keepalive_timeout 90;\n"
    server = built_server(
        tmp_path, "FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/nginx.conf\n", {"nginx.conf": conf}
    )
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "cannot be followed" in server.keep_alive.evidence.says


def test_a_non_official_base_without_the_file_is_unknown(tmp_path: Path) -> None:
    dockerfile = 'FROM alpine:3.20\nRUN apk add nginx\nCMD ["nginx", "-g", "daemon off;"]\n'
    assert built_server(tmp_path, dockerfile, {}).keep_alive.mode is Mode.UNKNOWN


def test_an_include_glob_reads_the_files_of_every_copy_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    for name, port in (("b.conf", 8001), ("a.conf", 8002), ("notes.txt", 8003)):
        (tmp_path / "conf" / name).write_text(
            f"server {{ listen {port}; keepalive_timeout {port - 7990}; }}\n"
        )
    (tmp_path / "single.conf").write_text("server { listen 8004; keepalive_timeout 14; }\n")
    (tmp_path / "nginx.conf").write_text("http {\n    include conf.d/*.conf;\n}\n")
    build = ImageBuild(
        images=("web",),
        dockerfile=Location("Dockerfile", 1),
        base=Setting("alpine:3.20", Location("Dockerfile", 1)),
        entry_point=None,
        command=None,
        copies=(
            Copy(tmp_path / "nginx.conf", "/etc/nginx/nginx.conf", Location("Dockerfile", 2)),
            Copy(tmp_path / "conf", "/etc/nginx/conf.d/", Location("Dockerfile", 3)),
            Copy(tmp_path / "single.conf", "/etc/nginx/conf.d/", Location("Dockerfile", 4)),
        ),
    )
    image = Setting("web:1", Location("main.tf", 2))
    server = analyse(Invocation(("nginx",), {}, Location("main.tf", 3), image, build=build))
    assert server.keep_alive.mode is Mode.UNKNOWN
    listed = re.findall(r"after (\d+) s", server.keep_alive.evidence.says)
    assert listed == ["12", "11", "14"]  # a.conf, b.conf, single.conf; not notes.txt


def test_terraform_scan_flags_a_short_nginx_keepalive(tmp_path: Path) -> None:
    app = "server {\n    listen 8000;\n    keepalive_timeout 15s;\n}\n"
    files = {
        "main.tf": service_tf(image="web:1"),
        "web/Dockerfile": "FROM nginx:1.27\nCOPY app.conf /etc/nginx/conf.d/app.conf\n",
        "web/app.conf": app,
    }
    dockerfiles = (("web:1", tmp_path / "short" / "web/Dockerfile"),)
    assert "KA001" in rules_of(scan_tree(tmp_path / "short", files, dockerfiles=dockerfiles))
    files["web/app.conf"] = app.replace("15s", "75s")
    dockerfiles = (("web:1", tmp_path / "long" / "web/Dockerfile"),)
    assert "KA001" not in rules_of(scan_tree(tmp_path / "long", files, dockerfiles=dockerfiles))


@pytest.mark.parametrize(
    ("conf", "port", "says"),
    [
        (
            "http {\n    server { listen 9000; keepalive_timeout 90; }\n}\n",
            8000,
            "no server block of nginx's configuration listens on 8000, the port the load balancer sends "
            "traffic to (they listen on 9000), so the keep-alive of what serves that port is not known",
        ),
        (
            "http {\n    keepalive_timeout 90;\n}\n",
            8000,
            "no server block of nginx's configuration listens on 8000, the port the load balancer sends "
            "traffic to (its http block has no server block, so nginx listens on no port), so the "
            "keep-alive of what serves that port is not known",
        ),
    ],
)
def test_no_server_block_on_the_port_is_unknown(tmp_path: Path, conf: str, port: int, says: str) -> None:
    server = analyse(_invocation(tmp_path, conf, port))
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == says
    assert analyse(_invocation(tmp_path, conf, None)).keep_alive.seconds == 90  # port not known


def test_the_stock_server_is_taken_to_be_moved_to_the_port(tmp_path: Path) -> None:
    # FROM nginx with only content copied: the stock default.conf listens on 80, and `RUN sed` on it is
    # the usual way to move it, which keepalive-guard cannot see
    dockerfile = "FROM nginx:1.27\nCOPY site/ /usr/share/nginx/html/\n"
    server = built_server(tmp_path, dockerfile, {"site/index.html": "<p>hi</p>"})  # container port 8000
    assert server.keep_alive.seconds == 65
    assert server.keep_alive.evidence.says == (
        "the official nginx image's nginx.conf sets `keepalive_timeout 65;` in the http block (no server "
        "block visible listens on 8000: the official image's conf.d/default.conf listens on 80, taken to be "
        "changed to 8000 where keepalive-guard cannot see)"
    )


def test_a_listen_not_known_may_be_the_port(tmp_path: Path) -> None:
    conf = "http {\n    server { listen 9000; keepalive_timeout 90; }\n    server { listen $PORT; keepalive_timeout 5; }\n}\n"
    assert analyse(_invocation(tmp_path, conf, 8000)).keep_alive.seconds == 5
    assert analyse(_invocation(tmp_path, conf, 9000)).keep_alive.mode is Mode.UNKNOWN  # 90 s or 5 s


_TEMPLATE = "server {\n    listen ${PORT};\n    keepalive_timeout 5;\n}\n"


def test_a_template_is_rendered_into_conf_d(tmp_path: Path) -> None:
    dockerfile = "FROM nginx:1.27-alpine\nCOPY default.conf.template /etc/nginx/templates/\n"
    server = built_server(
        tmp_path, dockerfile, {"default.conf.template": _TEMPLATE}, environment={"PORT": "8000"}
    )
    assert server.keep_alive.seconds == 5
    assert server.keep_alive.evidence.says == (
        "`keepalive_timeout 5;` in the server block listening on 8000; the official image's entrypoint "
        "renders web/default.conf.template to /etc/nginx/conf.d/default.conf with the container's environment"
    )
    assert server.keep_alive.evidence.location == Location("web/default.conf.template", 3)
    assert server.remedy_location == Location("web/default.conf.template", 3)


def test_terraform_scan_flags_a_rendered_template(tmp_path: Path) -> None:
    files = {
        "main.tf": service_tf(image="web:1", environment={"PORT": "8000"}),
        "web/Dockerfile": "FROM nginx:1.27-alpine\nCOPY default.conf.template /etc/nginx/templates/\n",
        "web/default.conf.template": _TEMPLATE,
    }
    dockerfiles = (("web:1", tmp_path / "web/Dockerfile"),)
    assert "KA001" in rules_of(scan_tree(tmp_path, files, dockerfiles=dockerfiles))


@pytest.mark.parametrize(
    ("environment", "mode", "seconds"),
    [
        ({"PORT": "8000", "KA": "90s"}, Mode.IDLE_TIMEOUT, 90),
        ({"PORT": "8000"}, Mode.UNKNOWN, None),  # ${KA} stays as written: not a time
        ({"PORT": "9000", "KA": "90s"}, Mode.UNKNOWN, None),  # nothing listens on 8000
        ({"PORT": "8000", "KA": "90s", "NGINX_ENVSUBST_FILTER": "^PORT$"}, Mode.UNKNOWN, None),
        ({"PORT": "8000", "KA": "90s", "NGINX_ENVSUBST_FILTER": "^(PORT|KA)$"}, Mode.IDLE_TIMEOUT, 90),
    ],
)
def test_templates_take_only_the_defined_variables(
    tmp_path: Path, environment: dict[str, str], mode: Mode, seconds: float | None
) -> None:
    template = (
        "server {\n    listen ${PORT};\n    keepalive_timeout $KA;\n    proxy_set_header Host $host;\n}\n"
    )
    dockerfile = "FROM nginx:1.27\nCOPY templates/ /etc/nginx/templates/\n"
    server = built_server(
        tmp_path, dockerfile, {"templates/app.conf.template": template}, environment=environment
    )
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_a_template_variable_not_visible_is_unknown_where_it_matters(tmp_path: Path) -> None:
    (tmp_path / "app.conf.template").write_text(
        "server {\n    listen 8000;\n    keepalive_timeout ${KA};\n    proxy_set_header Host $host;\n}\n"
    )
    build = ImageBuild(
        images=("web",),
        dockerfile=Location("Dockerfile", 1),
        base=Setting("nginx:1.27", Location("Dockerfile", 1)),
        entry_point=None,
        command=None,
        copies=(Copy(tmp_path / "app.conf.template", "/etc/nginx/templates/", Location("Dockerfile", 2)),),
    )
    image = Setting("web:1", Location("main.tf", 2))
    ka = Setting[str].unknown(Location("main.tf", 9), "var.keep_alive has no value")
    invocation = Invocation(("nginx",), {"KA": ka}, Location("main.tf", 3), image, build=build, port=8000)
    server = analyse(invocation)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "`keepalive_timeout <?>;` in the server block listening on 8000 (<?>: var.keep_alive has no value)"
    )
    # an environment file may set any variable, $host too; it matters only in keepalive_timeout
    hidden = replace(
        invocation, env={"KA": Setting("90", Location("main.tf", 9))}, hidden_environment=("env.txt",)
    )
    assert analyse(hidden).keep_alive.seconds == 90


def test_a_written_value_with_braces_is_a_valid_remedy(tmp_path: Path) -> None:
    server = built_server(
        tmp_path,
        "FROM nginx:1.27\nCOPY templates/ /etc/nginx/templates/\n",
        {"templates/app.conf.template": _TEMPLATE.replace("5;", "${KA};")},
        environment={"PORT": "8000", "KA": "${x}"},  # a value as written: not a time
    )
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert (
        server.remedy.format(seconds=65)
        == "change `keepalive_timeout ${x};` to `keepalive_timeout 65s;` in the server block listening on 8000"
    )


def test_template_settings_and_subdirectories(tmp_path: Path) -> None:
    # NGINX_ENVSUBST_TEMPLATE_DIR/SUFFIX/OUTPUT_DIR, and a subdirectory kept below the output directory
    conf = "events {}\nhttp {\n    include /etc/nginx/sites/*/*.conf;\n}\n"
    conf = "events {}\nhttp {\n    include /etc/nginx/sites/edge/*.conf;\n}\n"
    dockerfile = (
        "FROM nginx:1.27\nENV NGINX_ENVSUBST_TEMPLATE_DIR=/srv/tpl NGINX_ENVSUBST_TEMPLATE_SUFFIX=.in "
        "NGINX_ENVSUBST_OUTPUT_DIR=/etc/nginx/sites\nCOPY nginx.conf /etc/nginx/nginx.conf\n"
        "COPY tpl/ /srv/tpl/\n"
    )
    site = "server {\n    listen ${PORT};\n    keepalive_timeout 75s;\n}\n"
    files = {"nginx.conf": conf, "tpl/edge/app.conf.in": site, "tpl/edge/ignored.template": "oops {"}
    server = built_server(tmp_path, dockerfile, files, environment={"PORT": "8000"})
    assert server.keep_alive.seconds == 75
    assert server.keep_alive.evidence.location == Location("web/tpl/edge/app.conf.in", 3)


def test_templates_are_not_rendered_before_1_19_or_without_the_entrypoint(tmp_path: Path) -> None:
    for index, dockerfile in enumerate(
        (
            "FROM nginx:1.18\nCOPY default.conf.template /etc/nginx/templates/\n",
            'FROM nginx:1.27\nCOPY default.conf.template /etc/nginx/templates/\nENTRYPOINT ["nginx", "-g", "daemon off;"]\n',
        )
    ):
        server = built_server(
            tmp_path / str(index),
            dockerfile,
            {"default.conf.template": _TEMPLATE},
            environment={"PORT": "8000"},
        )
        # the stock default.conf stays, with the http block's 65 s
        assert server.keep_alive.seconds == 65


def test_the_skipped_stock_server_is_named_only_when_it_may_be_on_the_port(tmp_path: Path) -> None:
    (tmp_path / "app.conf").write_text("server {\n    listen 80;\n    keepalive_timeout 10;\n}\n")
    build = ImageBuild(
        images=("web",),
        dockerfile=Location("Dockerfile", 1),
        base=Setting("nginx:1.27", Location("Dockerfile", 1)),
        entry_point=None,
        command=None,
        copies=(Copy(tmp_path / "app.conf", "/etc/nginx/conf.d/", Location("Dockerfile", 2)),),
    )
    image = Setting("web:1", Location("main.tf", 2))
    invocation = Invocation(("nginx",), {}, Location("main.tf", 3), image, build=build, port=80)
    server = analyse(invocation)
    assert server.keep_alive.seconds == 10
    assert server.keep_alive.evidence.says == (
        "`keepalive_timeout 10;` in the server block listening on 80 (the image's stock conf.d/default.conf "
        "is taken not to receive the traffic)"
    )
    assert analyse(replace(invocation, port=8000)).keep_alive.mode is Mode.UNKNOWN  # nothing on 8000
