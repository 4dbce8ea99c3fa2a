"""Generate a synthetic but realistic `terraform show -json` plan: N services, each a module instance.

Each service is a call of a module that creates an ALB, an HTTP listener, a target group, an ECS
service and a task definition (its container definitions the JSON string the AWS provider stores),
next to the unrelated resources a real plan is mostly made of (S3 buckets, IAM roles with policy
documents, security groups with rules, CloudWatch log groups). ARNs are unknown at plan time
(`after_unknown`), so linking must go through the `configuration` references, as in a real first
apply. Servers vary across gunicorn, uvicorn, Node, uWSGI and nginx.

    python bench/generate_plan.py 1400 /tmp/plan.json     # about 50 MB
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

SERVERS = [
    ["gunicorn", "--threads", "4", "app.wsgi"],
    ["gunicorn", "--threads", "4", "--keep-alive", "65", "app.wsgi"],
    ["uvicorn", "app:app", "--host", "0.0.0.0", "--timeout-keep-alive", "75"],
    ["node", "dist/server.js"],
    ["uwsgi", "--http-socket", ":8000", "--add-header", "Connection: close", "--module", "app"],
]
_UNKNOWN_ARN = {"arn": True, "id": True, "arn_suffix": True, "dns_name": True, "zone_id": True}


def _references(*addresses: str) -> dict[str, Any]:
    refs: list[str] = []
    for address in addresses:
        refs += [f"{address}.arn", address]
    return {"references": refs}


def _policy(name: str) -> str:
    statements = [
        {
            "Effect": "Allow",
            "Action": [f"s3:{verb}Object" for verb in ("Get", "Put", "Delete", "List")],
            "Resource": [f"arn:aws:s3:::{name}-bucket-{index}/*" for index in range(8)],
        }
        for _ in range(6)
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def service(index: int, rng: random.Random) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(planned module, resource changes) of one service."""
    name = f"svc-{index:05d}"
    module = f'module.service["{name}"]'
    command = rng.choice(SERVERS)
    definitions = json.dumps(
        [
            {
                "name": "web",
                "image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{name}:1.{index}",
                "command": command,
                "essential": True,
                "portMappings": [{"containerPort": 8000, "hostPort": 8000, "protocol": "tcp"}],
                "environment": [{"name": "PORT", "value": "8000"}, {"name": "SERVICE", "value": name}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": f"/ecs/{name}", "awslogs-region": "eu-west-1"},
                },
            }
        ],
        sort_keys=True,
    )
    values: dict[str, dict[str, Any]] = {
        "aws_lb.this": {
            "name": name,
            "load_balancer_type": "application",
            "idle_timeout": 60,
            "internal": False,
        },
        "aws_lb_listener.http": {
            "port": 80,
            "protocol": "HTTP",
            "default_action": [{"type": "forward", "forward": [], "redirect": [], "fixed_response": []}],
        },
        "aws_lb_target_group.web": {
            "name": name,
            "port": 8000,
            "protocol": "HTTP",
            "target_type": "ip",
            "deregistration_delay": rng.choice(["300", "30", "5"]),
        },
        "aws_ecs_service.web": {
            "name": name,
            "desired_count": 2,
            "load_balancer": [{"container_name": "web", "container_port": 8000, "elb_name": ""}],
        },
        "aws_ecs_task_definition.web": {"family": name, "container_definitions": definitions, "cpu": "512"},
        "aws_cloudwatch_log_group.web": {"name": f"/ecs/{name}", "retention_in_days": 30},
    }
    for bucket in range(3):
        values[f"aws_s3_bucket.data[{bucket}]"] = {
            "bucket": f"{name}-data-{bucket}",
            "tags": {"service": name},
        }
    for role in ("task", "execution"):
        values[f"aws_iam_role.{role}"] = {"name": f"{name}-{role}", "assume_role_policy": _policy(name)}
        values[f"aws_iam_role_policy.{role}"] = {"name": f"{name}-{role}", "policy": _policy(name)}
    values["aws_security_group.web"] = {
        "name": name,
        "ingress": [
            {"from_port": port, "to_port": port, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/8"]}
            for port in range(8000, 8020)
        ],
    }
    resources, changes = [], []
    for local, attributes in values.items():
        kind, rest = local.split(".", 1)
        label, _, key = rest.partition("[")
        address = f"{module}.{local}"
        resource = {
            "address": address,
            "mode": "managed",
            "type": kind,
            "name": label,
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "schema_version": 0,
            "values": attributes,
            "sensitive_values": {},
        }
        if key:
            resource["index"] = int(key.rstrip("]"))
        resources.append(resource)
        changes.append(
            {
                "address": address,
                "module_address": module,
                "mode": "managed",
                "type": kind,
                "name": label,
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": attributes,
                    "after_unknown": _UNKNOWN_ARN,
                },
            }
        )
    planned = {"address": module, "resources": resources}
    return planned, changes


def configuration() -> dict[str, Any]:
    """The `configuration` of the shared module: where each link is written."""
    expressions = {
        "aws_lb_listener.http": {
            "load_balancer_arn": _references("aws_lb.this"),
            "default_action": [{"target_group_arn": _references("aws_lb_target_group.web")}],
        },
        "aws_ecs_service.web": {
            "task_definition": _references("aws_ecs_task_definition.web"),
            "load_balancer": [{"target_group_arn": _references("aws_lb_target_group.web")}],
        },
    }
    resources = [
        {
            "address": address,
            "mode": "managed",
            "type": address.split(".")[0],
            "name": address.split(".")[1],
            "provider_config_key": "aws",
            "expressions": body,
            "schema_version": 0,
        }
        for address, body in expressions.items()
    ]
    return {"resources": resources}


def generate(size: int, path: Path) -> None:
    rng = random.Random(size)
    children, changes = [], []
    for index in range(size):
        planned, changed = service(index, rng)
        children.append(planned)
        changes.extend(changed)
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "planned_values": {"root_module": {"child_modules": children}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws"}},
            "root_module": {
                "module_calls": {
                    "service": {
                        "source": "./modules/service",
                        "for_each_expression": {"references": ["local.services"]},
                        "module": configuration(),
                    }
                }
            },
        },
        "timestamp": "2026-11-21T12:00:00Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }
    path.write_text(json.dumps(plan), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3 or not sys.argv[1].isdigit():
        sys.exit("usage: python bench/generate_plan.py SERVICES OUTPUT.json")
    generate(int(sys.argv[1]), Path(sys.argv[2]))
