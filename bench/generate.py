"""Generate a synthetic but realistic Terraform monorepo: N service root modules.

Like a real platform repository, most of it has nothing to do with load balancers:

    modules/ecs-service/   a shared module (variables.tf, main.tf, outputs.tf): ALB, listeners, target
                           group, ECS service and a `jsonencode` task definition
    modules/s3-bucket/     a shared module of buckets with versioning, encryption and lifecycle rules
    network/               a root module: VPC, subnets (for_each), gateways, route tables, endpoints
    services/svc-NNNN/     one root module per service:
        versions.tf          terraform, backend and provider blocks
        variables.tf, terraform.tfvars
        main.tf              locals and the call of modules/ecs-service, or (one service in four) the
                             load balancer, target group, task definition and service written inline in
                             alb.tf and ecs.tf, referring to roles, log groups and parameters
                             declared in the files below
        storage.tf           buckets (module call and resources), DynamoDB tables
        iam.tf               task and execution roles with policy documents
        monitoring.tf        log group, metric alarms, SNS topic
        security.tf          security group and rules
        ssm.tf               parameters the containers read
        outputs.tf           outputs

Every file names its service, so no two files are the same text. Servers vary across gunicorn, uvicorn,
Node, uWSGI, so that some services have findings.

    python bench/generate.py 200 /tmp/corpus
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ECS_SERVICE_VARIABLES = """
variable "name" {
  type        = string
  description = "Service name, used for every resource"
}
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
variable "security_group_ids" {
  type    = list(string)
  default = []
}
variable "certificate_arn" {
  type    = string
  default = null
}
"""

ECS_SERVICE_MAIN = """
locals {
  environment = [for key, value in var.environment : { name = key, value = value }]
}

resource "aws_lb" "this" {
  name               = var.name
  load_balancer_type = "application"
  subnets            = var.subnet_ids
  security_groups    = var.security_group_ids
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
  certificate_arn   = var.certificate_arn
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
    subnets         = var.subnet_ids
    security_groups = var.security_group_ids
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = "app"
    container_port   = var.port
  }
}
"""

ECS_SERVICE_OUTPUTS = """
output "lb_dns_name" { value = aws_lb.this.dns_name }
output "lb_zone_id" { value = aws_lb.this.zone_id }
output "target_group_arn" { value = aws_lb_target_group.this.arn }
output "service_name" { value = aws_ecs_service.this.name }
"""

S3_BUCKET = """
resource "aws_s3_bucket" "this" {
  bucket = var.name
  tags   = var.tags
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = var.versioned ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
"""

S3_BUCKET_VARIABLES = """
variable "name" { type = string }
variable "versioned" {
  type    = bool
  default = true
}
variable "tags" {
  type    = map(string)
  default = {}
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


def _hcl(value: object) -> str:
    return json.dumps(value).replace("${", "$${")


def _network(root: Path, rng: random.Random) -> None:
    directory = root / "network"
    directory.mkdir(parents=True, exist_ok=True)
    zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    subnets = {
        f"{tier}-{zone[-1]}": f"10.0.{index * 16}.0/20"
        for index, (tier, zone) in enumerate(
            (tier, zone) for tier in ("public", "private", "data") for zone in zones
        )
    }
    (directory / "variables.tf").write_text(
        'variable "cidr" {\n  type    = string\n  default = "10.0.0.0/16"\n}\n'
        f'variable "subnets" {{\n  type    = map(string)\n  default = {_hcl(subnets)}\n}}\n'
    )
    endpoints = "\n".join(
        f'resource "aws_vpc_endpoint" "{service}" {{\n  vpc_id       = aws_vpc.main.id\n'
        f'  service_name = "com.amazonaws.eu-west-1.{service}"\n}}\n'
        for service in rng.sample(["s3", "dynamodb", "ecr.api", "ecr.dkr", "logs", "ssm", "sts", "kms"], 6)
    )
    (directory / "main.tf").write_text(
        """resource "aws_vpc" "main" {
  cidr_block           = var.cidr
  enable_dns_hostnames = true
}

resource "aws_subnet" "this" {
  for_each          = var.subnets
  vpc_id            = aws_vpc.main.id
  cidr_block        = each.value
  availability_zone = "eu-west-1${substr(each.key, -1, 1)}"
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_eip" "nat" {
  for_each = toset(["a", "b", "c"])
  domain   = "vpc"
}

resource "aws_nat_gateway" "this" {
  for_each      = aws_eip.nat
  allocation_id = each.value.id
  subnet_id     = aws_subnet.this["public-${each.key}"].id
}

resource "aws_route_table" "private" {
  for_each = aws_nat_gateway.this
  vpc_id   = aws_vpc.main.id
  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = each.value.id
  }
}
"""
        + endpoints
    )
    (directory / "outputs.tf").write_text(
        'output "vpc_id" { value = aws_vpc.main.id }\n'
        'output "private_subnet_ids" {\n'
        '  value = [for key, subnet in aws_subnet.this : subnet.id if startswith(key, "private")]\n}\n'
    )


def _inline(
    name: str, command: list[str], environment: dict[str, str], image: str, delay: int
) -> dict[str, str]:
    """alb.tf and ecs.tf of a service that writes its load balancer and ECS service inline."""
    alb = f"""resource "aws_lb" "public" {{
  name               = "{name}"
  load_balancer_type = "application"
  subnets            = var.subnet_ids
  security_groups    = [aws_security_group.lb.id]
  idle_timeout       = var.idle_timeout
  access_logs {{
    bucket  = aws_s3_bucket.logs.id
    enabled = true
  }}
}}

resource "aws_lb_target_group" "app" {{
  name                 = "{name}-app"
  port                 = 8000
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = {delay}
  health_check {{
    path = "/health"
  }}
}}

resource "aws_lb_listener" "https" {{
  load_balancer_arn = aws_lb.public.arn
  port              = 443
  protocol          = "HTTPS"
  certificate_arn   = var.certificate_arn
  default_action {{
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }}
}}
"""
    ecs = f"""resource "aws_ecs_task_definition" "app" {{
  family             = "{name}"
  network_mode       = "awsvpc"
  cpu                = 1024
  memory             = 2048
  execution_role_arn = aws_iam_role.execution.arn
  task_role_arn      = aws_iam_role.task.arn
  container_definitions = jsonencode([{{
    name         = "app"
    image        = "{image}"
    command      = {_hcl(command)}
    environment  = [for key, value in merge(local.environment, {_hcl(environment)}) : {{ name = key, value = value }}]
    secrets      = [{{ name = "DATABASE_URL", valueFrom = aws_ssm_parameter.database_url.arn }}]
    portMappings = [{{ containerPort = 8000 }}]
    logConfiguration = {{
      logDriver = "awslogs"
      options   = {{ awslogs-group = aws_cloudwatch_log_group.app.name, awslogs-region = "eu-west-1" }}
    }}
  }}])
}}

resource "aws_ecs_service" "app" {{
  name            = "{name}"
  cluster         = var.cluster_arn
  task_definition = aws_ecs_task_definition.app.arn
  desired_count   = 3
  launch_type     = "FARGATE"
  network_configuration {{
    subnets         = var.subnet_ids
    security_groups = [aws_security_group.service.id]
  }}
  load_balancer {{
    target_group_arn = aws_lb_target_group.app.arn
    container_name   = "app"
    container_port   = 8000
  }}
}}
"""
    return {"alb.tf": alb, "ecs.tf": ecs}


def _service(index: int, rng: random.Random) -> dict[str, str]:
    name = f"svc-{index:04d}"
    team = f"team-{index % 12}"
    command, environment = SERVERS[rng.randrange(len(SERVERS))]
    image = (
        "node:22-alpine"
        if command[0] == "node"
        else f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{name}:1.{index}"
    )
    delay = rng.choice([30, 60, 300])
    inline = index % 4 == 3
    files: dict[str, str] = {}
    files["versions.tf"] = f"""terraform {{
  required_version = ">= 1.5"
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "~> 5.{rng.randrange(30, 80)}"
    }}
  }}
  backend "s3" {{
    bucket = "acme-terraform-state"
    key    = "services/{name}/terraform.tfstate"
    region = "eu-west-1"
  }}
}}

provider "aws" {{
  region = "eu-west-1"
  default_tags {{
    tags = {{ Service = "{name}", Team = "{team}", CostCentre = "cc-{rng.randrange(100, 999)}" }}
  }}
}}
"""
    files["variables.tf"] = (
        'variable "vpc_id" { type = string }\n'
        'variable "subnet_ids" { type = list(string) }\n'
        'variable "cluster_arn" { type = string }\n'
        'variable "certificate_arn" { type = string }\n'
        f'variable "idle_timeout" {{\n  type        = number\n  default     = 60\n'
        f'  description = "Idle timeout of the {name} load balancer"\n}}\n'
    )
    files["terraform.tfvars"] = (
        f'vpc_id          = "vpc-{rng.getrandbits(32):08x}"\n'
        f'subnet_ids      = ["subnet-{rng.getrandbits(32):08x}", "subnet-{rng.getrandbits(32):08x}"]\n'
        f'cluster_arn     = "arn:aws:ecs:eu-west-1:123456789012:cluster/{team}"\n'
        f'certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/{rng.getrandbits(64):016x}"\n'
        + (f"idle_timeout    = {rng.choice([30, 60, 120])}\n" if index % 5 == 0 else "")
    )
    locals_block = f"""locals {{
  name = "{name}"
  tags = {{ service = local.name, team = "{team}" }}
  environment = {{
    SERVICE_NAME = local.name
    LOG_LEVEL    = "{rng.choice(["info", "warning", "debug"])}"
  }}
}}
"""
    if inline:
        files["main.tf"] = locals_block
        files.update(_inline(name, command, environment, image, delay))
    else:
        files["main.tf"] = (
            locals_block
            + f"""
module "service" {{
  source               = "../../modules/ecs-service"
  name                 = local.name
  image                = "{image}"
  command              = {_hcl(command)}
  environment          = merge(local.environment, {_hcl(environment)})
  idle_timeout         = var.idle_timeout
  deregistration_delay = {delay}
  subnet_ids           = var.subnet_ids
  security_group_ids   = [aws_security_group.service.id]
  certificate_arn      = var.certificate_arn
}}
"""
        )
    tables = "\n".join(
        f'resource "aws_dynamodb_table" "{table}" {{\n  name         = "{name}-{table}"\n'
        f'  billing_mode = "PAY_PER_REQUEST"\n  hash_key     = "id"\n'
        f'  attribute {{\n    name = "id"\n    type = "S"\n  }}\n'
        f"  point_in_time_recovery {{\n    enabled = {rng.choice(['true', 'false'])}\n  }}\n}}\n"
        for table in rng.sample(["sessions", "orders", "events", "carts", "jobs"], rng.randrange(1, 4))
    )
    files["storage.tf"] = f"""module "assets" {{
  source = "../../modules/s3-bucket"
  name   = "acme-{name}-assets"
  tags   = local.tags
}}

resource "aws_s3_bucket" "logs" {{
  bucket = "acme-{name}-logs"
}}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {{
  bucket = aws_s3_bucket.logs.id
  rule {{
    id     = "expire"
    status = "Enabled"
    expiration {{
      days = {rng.choice([30, 90, 365])}
    }}
  }}
}}

{tables}"""
    actions = rng.sample(
        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "sqs:SendMessage"], 3
    )
    files["iam.tf"] = f"""data "aws_iam_policy_document" "assume" {{
  statement {{
    actions = ["sts:AssumeRole"]
    principals {{
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }}
  }}
}}

resource "aws_iam_role" "task" {{
  name               = "{name}-task"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}}

resource "aws_iam_role" "execution" {{
  name               = "{name}-execution"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}}

resource "aws_iam_role_policy_attachment" "execution" {{
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}}

resource "aws_iam_role_policy" "task" {{
  role = aws_iam_role.task.id
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{ Effect = "Allow", Action = {_hcl(actions)}, Resource = "arn:aws:s3:::acme-{name}-assets/*" }},
      {{ Effect = "Allow", Action = ["ssm:GetParameters"], Resource = "arn:aws:ssm:eu-west-1:123456789012:parameter/{name}/*" }},
    ]
  }})
}}
"""
    alarms = "\n".join(
        f'resource "aws_cloudwatch_metric_alarm" "{metric.lower()}" {{\n'
        f'  alarm_name          = "{name}-{metric.lower()}"\n  namespace           = "AWS/ECS"\n'
        f'  metric_name         = "{metric}"\n  statistic           = "Average"\n'
        f'  comparison_operator = "GreaterThanThreshold"\n  threshold           = {rng.randrange(50, 95)}\n'
        f"  period              = 60\n  evaluation_periods  = {rng.randrange(2, 6)}\n"
        f"  alarm_actions       = [aws_sns_topic.alerts.arn]\n"
        f'  dimensions = {{ ServiceName = "{name}", ClusterName = "{team}" }}\n}}\n'
        for metric in rng.sample(
            ["CPUUtilization", "MemoryUtilization", "RunningTaskCount"], rng.randrange(1, 4)
        )
    )
    files["monitoring.tf"] = f"""resource "aws_cloudwatch_log_group" "app" {{
  name              = "/ecs/{name}"
  retention_in_days = {rng.choice([7, 14, 30, 90])}
}}

resource "aws_sns_topic" "alerts" {{
  name = "{name}-alerts"
}}

{alarms}"""
    files["security.tf"] = f"""resource "aws_security_group" "service" {{
  name   = "{name}-service"
  vpc_id = var.vpc_id
}}

resource "aws_security_group" "lb" {{
  name   = "{name}-lb"
  vpc_id = var.vpc_id
}}

resource "aws_vpc_security_group_ingress_rule" "https" {{
  security_group_id = aws_security_group.lb.id
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
}}

resource "aws_vpc_security_group_ingress_rule" "app" {{
  security_group_id            = aws_security_group.service.id
  referenced_security_group_id = aws_security_group.lb.id
  from_port                    = 8000
  to_port                      = 8000
  ip_protocol                  = "tcp"
}}

resource "aws_vpc_security_group_egress_rule" "all" {{
  security_group_id = aws_security_group.service.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}}
"""
    files["ssm.tf"] = f"""resource "aws_ssm_parameter" "database_url" {{
  name  = "/{name}/database-url"
  type  = "SecureString"
  value = "postgres://{name}@db-{index % 7}.internal:5432/{name.replace("-", "_")}"
}}
"""
    target = "aws_lb.public" if inline else "module.service"
    files["outputs.tf"] = (
        f'output "url" {{ value = "https://${{{target}.{"dns_name" if inline else "lb_dns_name"}}}" }}\n'
        'output "log_group" { value = aws_cloudwatch_log_group.app.name }\n'
    )
    return files


def generate(count: int, root: Path, seed: int = 7) -> Path:
    rng = random.Random(seed)
    for module, files in {
        "ecs-service": {
            "variables.tf": ECS_SERVICE_VARIABLES,
            "main.tf": ECS_SERVICE_MAIN,
            "outputs.tf": ECS_SERVICE_OUTPUTS,
        },
        "s3-bucket": {
            "variables.tf": S3_BUCKET_VARIABLES,
            "main.tf": S3_BUCKET,
            "outputs.tf": 'output "arn" { value = aws_s3_bucket.this.arn }\n',
        },
    }.items():
        directory = root / "modules" / module
        directory.mkdir(parents=True, exist_ok=True)
        for file_name, text in files.items():
            (directory / file_name).write_text(text)
    _network(root, rng)
    for index in range(count):
        directory = root / "services" / f"svc-{index:04d}"
        directory.mkdir(parents=True, exist_ok=True)
        for file_name, text in _service(index, rng).items():
            (directory / file_name).write_text(text)
    return root


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent / "corpus"
    print(generate(count, target))
