"""Generate a synthetic but realistic Terraform monorepo: N service root modules.

Each service directory has variables, a tfvars file, locals and a call to a shared local module that
builds the ALB, listener, target group, ECS service and a `jsonencode` task definition; beside it sit
the unrelated resources a real repository holds (S3, IAM, security groups). Servers vary across
gunicorn, uvicorn, Node, uWSGI and nginx, so roughly a third of the services have findings.

    python bench/generate.py 200 /tmp/corpus
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

MODULE = """
variable "name" { type = string }
variable "image" { type = string }
variable "command" { type = list(string) }
variable "environment" {
  type    = map(string)
  default = {}
}
variable "port" {
  type    = number
  default = 8000
}
variable "idle_timeout" {
  type    = number
  default = 60
}
variable "deregistration_delay" {
  type    = number
  default = 300
}
variable "subnet_ids" { type = list(string) }

locals {
  environment = [for key, value in var.environment : { name = key, value = value }]
}

resource "aws_lb" "this" {
  name               = var.name
  load_balancer_type = "application"
  subnets            = var.subnet_ids
  idle_timeout       = var.idle_timeout
}

resource "aws_lb_target_group" "this" {
  name                 = var.name
  port                 = var.port
  protocol             = "HTTP"
  target_type          = "ip"
  deregistration_delay = var.deregistration_delay
  health_check {
    path    = "/health"
    matcher = "200"
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  container_definitions = jsonencode([
    {
      name         = "app"
      image        = var.image
      command      = var.command
      essential    = true
      environment  = local.environment
      portMappings = [{ containerPort = var.port, protocol = "tcp" }]
      logConfiguration = {
        logDriver = "awslogs"
        options   = { awslogs-group = "/ecs/${var.name}", awslogs-region = "eu-west-1", awslogs-stream-prefix = "app" }
      }
    },
  ])
}

resource "aws_ecs_service" "this" {
  name            = var.name
  task_definition = aws_ecs_task_definition.this.arn
  desired_count   = 2
  launch_type     = "FARGATE"
  network_configuration {
    subnets = var.subnet_ids
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = "app"
    container_port   = var.port
  }
}
"""

UNRELATED = """
resource "aws_s3_bucket" "assets" {
  bucket = "${local.name}-assets"
  tags   = local.tags
}

resource "aws_s3_bucket_versioning" "assets" {
  bucket = aws_s3_bucket.assets.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_iam_role" "task" {
  name = "${local.name}-task"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Action = "sts:AssumeRole", Effect = "Allow", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy" "task" {
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Action = ["s3:GetObject", "s3:PutObject"], Effect = "Allow", Resource = "${aws_s3_bucket.assets.arn}/*" }]
  })
}

resource "aws_security_group" "service" {
  name   = local.name
  vpc_id = var.vpc_id
  ingress {
    from_port   = 8000
    to_port     = 8000
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_cloudwatch_log_group" "service" {
  name              = "/ecs/${local.name}"
  retention_in_days = 30
}
"""

SERVERS = [
    (["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "app.wsgi"], {}),  # sync: fine
    (["gunicorn", "--threads", "4", "app.wsgi"], {}),  # gthread 2 s: KA001
    (["gunicorn", "--threads", "4", "--keep-alive", "75", "app.wsgi"], {}),
    (["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"], {}),  # 5 s: KA001
    (["uvicorn", "app.main:app", "--host", "0.0.0.0", "--timeout-keep-alive", "65"], {}),
    (["sh", "-c", "python manage.py migrate && exec gunicorn -k gevent --keep-alive 70 app.wsgi"], {}),
    (["node", "dist/server.js"], {"NODE_ENV": "production"}),
    (["uwsgi", "--http-socket", ":8000", "--harakiri", "30", "--module", "app.wsgi"], {}),
]


def generate(count: int, root: Path, seed: int = 7) -> Path:
    rng = random.Random(seed)
    module = root / "modules" / "ecs-service"
    module.mkdir(parents=True, exist_ok=True)
    (module / "main.tf").write_text(MODULE)
    for index in range(count):
        name = f"svc-{index:04d}"
        directory = root / "services" / name
        directory.mkdir(parents=True, exist_ok=True)
        command, environment = SERVERS[rng.randrange(len(SERVERS))]
        image = (
            "node:22-alpine"
            if command[0] == "node"
            else f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{name}:1.{index}"
        )
        (directory / "variables.tf").write_text(
            'variable "vpc_id" { type = string }\n'
            'variable "subnet_ids" { type = list(string) }\n'
            'variable "idle_timeout" {\n  type    = number\n  default = 60\n}\n'
        )
        (directory / "terraform.tfvars").write_text(
            'vpc_id     = "vpc-0a1b2c3d"\nsubnet_ids = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]\n'
            + (f"idle_timeout = {rng.choice([30, 60, 120])}\n" if index % 5 == 0 else "")
        )
        (directory / "main.tf").write_text(
            f"""locals {{
  name = "{name}"
  tags = {{ service = local.name, team = "team-{index % 12}" }}
}}

module "service" {{
  source               = "../../modules/ecs-service"
  name                 = local.name
  image                = "{image}"
  command              = {json.dumps(command).replace("${", "$${")}
  environment          = {json.dumps(environment)}
  idle_timeout         = var.idle_timeout
  deregistration_delay = {rng.choice([30, 60, 300])}
  subnet_ids           = var.subnet_ids
}}
"""
        )
        (directory / "storage.tf").write_text(UNRELATED)
    return root


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent / "corpus"
    print(generate(count, target))
