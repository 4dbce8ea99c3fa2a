"""Shared test helpers: write real Terraform, scan it through the real pipeline."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policies.loaders import LoadOptions
from policies.model import Copy, ImageBuild, Location, Setting
from policies.rules import Finding, Options
from policies.scan import Result, scan
from policies.servers.base import Invocation, Server

FIXTURES = Path(__file__).parent / "fixtures"
DEFAULT_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1"
# For JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: jsii's banner about Node.js versions it no longer
# supports, silenced for whichever is installed.
NODE_MAJORS = ",".join(str(major) for major in range(14, 40))


def hcl(value: Any) -> str:
    """A Python value as an HCL expression (JSON arrays and objects are valid HCL; a literal `${` or
    `%{` is escaped as Terraform requires)."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def service_tf(
    *,
    command: list[str] | None = None,
    entry_point: list[str] | None = None,
    environment: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    image: str = DEFAULT_IMAGE,
    idle_timeout: int | str | None = None,
    deregistration_delay: int | str | None = None,
    container_name: str = "app",
    extra_containers: str = "",
) -> str:
    """A complete ALB → listener → target group → ECS service → task definition chain."""
    container: list[str] = ['name = "app"', f"image = {hcl(image)}"]
    if command is not None:
        container.append(f"command = {hcl(command)}")
    if entry_point is not None:
        container.append(f"entryPoint = {hcl(entry_point)}")
    if environment:
        entries = ", ".join(f"{{ name = {hcl(k)}, value = {hcl(v)} }}" for k, v in environment.items())
        container.append(f"environment = [{entries}]")
    if labels:
        container.append(f"dockerLabels = {hcl(labels)}")
    idle = f"  idle_timeout = {hcl(idle_timeout)}\n" if idle_timeout is not None else ""
    delay = (
        f"  deregistration_delay = {hcl(deregistration_delay)}\n" if deregistration_delay is not None else ""
    )
    body = "\n      ".join(container)
    return f"""resource "aws_lb" "web" {{
  name = "web"
{idle}}}

resource "aws_lb_listener" "http" {{
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  default_action {{
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }}
}}

resource "aws_lb_target_group" "app" {{
  name        = "app"
  port        = 8000
  target_type = "ip"
{delay}}}

resource "aws_ecs_service" "app" {{
  name            = "app"
  task_definition = aws_ecs_task_definition.app.arn
  load_balancer {{
    target_group_arn = aws_lb_target_group.app.arn
    container_name   = {hcl(container_name)}
    container_port   = 8000
  }}
}}

resource "aws_ecs_task_definition" "app" {{
  family = "app"
  container_definitions = jsonencode([
    {{
      {body}
    }},{extra_containers}
  ])
}}
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of `needle` in `text`."""
    return text[: text.index(needle)].count("\n") + 1


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def scan_tree(
    root: Path,
    files: Mapping[str, str | bytes] | None = None,
    *,
    options: Options = Options(),
    var_files: tuple[Path, ...] = (),
    variables: tuple[tuple[str, str], ...] = (),
    dockerfiles: tuple[tuple[str, Path], ...] = (),
) -> Result:
    if files:
        write_tree(root, files)
    return scan([root], options, LoadOptions((*var_files, *variables), dockerfiles))


def rules_of(result: Result) -> list[str]:
    return [finding.rule for finding in result.findings]


def only(result: Result, rule: str) -> Finding:
    found = [finding for finding in result.findings if finding.rule == rule]
    assert len(found) == 1, [f"{f.rule}: {f.message}" for f in result.findings]
    return found[0]


def server_of(
    root: Path, *, files: Mapping[str, str | bytes] | None = None, dockerfile: str = "", **service: Any
) -> Server:
    """What the catalog concludes about the container of a service written with `service_tf`; `files`
    are written beside it, and `dockerfile` (one of them) builds the container's image."""
    tree: dict[str, str | bytes] = {"main.tf": service_tf(**service), **(files or {})}
    image = service.get("image", DEFAULT_IMAGE)
    dockerfiles = ((image, root / dockerfile),) if dockerfile else ()
    result = scan_tree(root, tree, dockerfiles=dockerfiles)
    servers = [target.server for target in result.targets if target.server is not None]
    assert len(servers) == 1, result
    return servers[0]


def built_invocation(
    root: Path,
    argv: tuple[str, ...],
    files: Mapping[str, str | bytes],
    environment: Mapping[str, str] | None = None,
    *,
    base: str = "python:3.12",
    workdir: str = "/app",
    port: int | None = None,
) -> Invocation:
    """A command run in an image whose Dockerfile (FROM `base`) copies `files`, written under `root`,
    to `workdir`: for a server family's own tests, without the Terraform around it."""
    write_tree(root, files)
    build = ImageBuild(
        images=("app",),
        dockerfile=Location("Dockerfile", 1),
        base=Setting(base, Location("Dockerfile", 1)),
        entry_point=None,
        command=None,
        workdir=workdir,
        copies=(Copy(root, workdir.rstrip("/") + "/", Location("Dockerfile", 5)),),
    )
    env = {name: Setting(value, Location("main.tf", 9)) for name, value in (environment or {}).items()}
    image = Setting("app:1", Location("main.tf", 2))
    return Invocation(argv, env, Location("main.tf", 3), image, build=build, port=port)


def built_server(root: Path, dockerfile: str, files: Mapping[str, str], **service: Any) -> Server:
    """The server of a service whose image `web/Dockerfile` builds, with `files` beside it in web/."""
    tree = {"web/Dockerfile": dockerfile, **{f"web/{name}": text for name, text in files.items()}}
    return server_of(root, files=tree, dockerfile="web/Dockerfile", image="web:1", **service)
