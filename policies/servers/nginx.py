"""nginx as the container that receives the load balancer's traffic (often a sidecar proxy).

`keepalive_timeout` lives in nginx.conf and cannot be set with `-g` (that only takes main-context
directives). The built-in default is 75 s; the stock nginx.conf of the official image sets 65 s. A
custom image or `-c` means a configuration keepalive-guard cannot see (tuning guides often lower the
timeout), so the keep-alive is unknown there until declared with the docker label.
"""

from __future__ import annotations

import re

from policies.model import UNKNOWN_PART, show
from policies.servers.argv import option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Server

NAME = "nginx"
_DOCS = "https://nginx.org/en/docs/http/ngx_http_core_module.html#keepalive_timeout"
# src/http/ngx_http_core_module.c: ngx_conf_merge_msec_value(conf->keepalive_timeout, ..., 75000)
BUILT_IN_DEFAULT = 75
# conf/nginx.conf in nginx's sources and the official image's /etc/nginx/nginx.conf: `keepalive_timeout 65;`
IMAGE_DEFAULT = 65
_IMAGE_CONF = "https://github.com/nginx/nginx/blob/master/conf/nginx.conf"
_OFFICIAL = re.compile(
    r"^(docker\.io/|public\.ecr\.aws/nginx/|public\.ecr\.aws/docker/library/)?(library/)?(nginx|nginxinc/nginx-unprivileged)(:|@|$)"
)

FACTS = (
    Fact(
        "nginx, official image's nginx.conf",
        "`keepalive_timeout` in nginx.conf",
        f"{IMAGE_DEFAULT} s",
        _IMAGE_CONF,
    ),
    Fact(
        "nginx, nginx.conf without keepalive_timeout",
        "`keepalive_timeout` in nginx.conf",
        f"{BUILT_IN_DEFAULT} s",
        _DOCS,
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "nginx"


def image_command(image: str) -> tuple[str, ...] | None:
    """The command an image runs by itself: the official nginx images end in `CMD ["nginx", "-g",
    "daemon off;"]` (nginxinc/docker-nginx Dockerfiles)."""
    return ("nginx", "-g", "daemon off;") if UNKNOWN_PART not in image and _OFFICIAL.match(image) else None


def analyse(invocation: Invocation) -> Server:
    remedy = "set `keepalive_timeout {seconds}s;` in the http block of nginx.conf"
    config = option(invocation.args, ("-c",))
    image = invocation.image.value or ""
    if config is None and UNKNOWN_PART not in image and _OFFICIAL.match(image):
        says = f"the official nginx image (`{show(image)}`) ships nginx.conf with `keepalive_timeout {IMAGE_DEFAULT};`"
        return Server(
            NAME,
            "",
            KeepAlive.after(IMAGE_DEFAULT, Evidence(says, invocation.image.location, _IMAGE_CONF)),
            None,
            remedy,
        )
    where = (
        f"`{show(config.value or '')}` (-c)"
        if config is not None
        else f"the nginx.conf of the image `{show(image)}`"
    )
    says = (
        f"nginx's keepalive_timeout is set in {where}, which is not visible in the scanned files "
        f"(nginx's built-in default is {BUILT_IN_DEFAULT} s; the official image's nginx.conf sets {IMAGE_DEFAULT} s)"
    )
    declare = (
        f'{remedy}, and declare it with the docker label `keepalive-guard.keep-alive-seconds = "{{seconds}}"`'
    )
    return Server(NAME, "", KeepAlive.unknown(Evidence(says, invocation.location, _DOCS)), None, declare)
