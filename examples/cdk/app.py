"""A tiny CDK app: an ALB in front of a Fargate service whose image is built from ./service.

The Dockerfile runs uvicorn, which closes idle keep-alive connections after 5 s; the ALB keeps them for
its default 60 s. keepalive-guard reads the synthesized cloud assembly, follows the image asset to the
Dockerfile, and reports KA001 at its CMD:

    pip install 'keepalive-guard[cdk]'
    cd examples/cdk && python app.py     # what `cdk synth` runs (cdk.json); writes cdk.out/
    keepalive-guard scan cdk.out

The fix: add `--timeout-keep-alive 65` (or more) to the CMD in service/Dockerfile.
"""

import os

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as patterns

HERE = os.path.dirname(os.path.abspath(__file__))

app = cdk.App(outdir=os.environ.get("CDK_OUTDIR") or os.path.join(HERE, "cdk.out"))
stack = cdk.Stack(app, "Checkout")
patterns.ApplicationLoadBalancedFargateService(
    stack,
    "Api",
    vpc=ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0),
    task_image_options=patterns.ApplicationLoadBalancedTaskImageOptions(
        image=ecs.ContainerImage.from_asset(os.path.join(HERE, "service")),
        container_port=8000,
    ),
)
app.synth()
