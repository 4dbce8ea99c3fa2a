"""Small real CDK apps the cdk_constructs tests synthesize."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as patterns

SERVICE = Path(__file__).parents[2] / "examples" / "cdk" / "service"


def pattern(
    stack: cdk.Stack, command: list[str] | None, image: ecs.ContainerImage | None = None
) -> patterns.ApplicationLoadBalancedFargateService:
    """An ecs_patterns ALB Fargate service (idle timeout 120 s) whose container listens on port 8000."""
    return patterns.ApplicationLoadBalancedFargateService(
        stack,
        "Api",
        vpc=ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0),
        idle_timeout=cdk.Duration.seconds(120),
        task_image_options=patterns.ApplicationLoadBalancedTaskImageOptions(
            image=image or ecs.ContainerImage.from_registry("python:3.12"),
            container_port=8000,
            command=command,
        ),
    )
