"""A tiny CDK app that `cdk synth` refuses: an ALB in front of a Fargate service whose image is built
from ./service, with keepalive-guard's aspect applied to the app.

The Dockerfile runs uvicorn, which closes idle keep-alive connections after 5 s; the ALB keeps them for
its default 60 s, so it will send requests into connections uvicorn is closing (intermittent 502s).
The guard puts KA001 on the task definition, and the CDK CLI exits 1:

    pip install 'keepalive-guard[cdk]' && npm ci --prefix examples/cdk
    cd examples/cdk && npx cdk synth                 # Found errors; exit status 1

The same app, safe: app_fixed.py (`npx cdk synth --app "python3 app_fixed.py"`). Without the CDK CLI,
`python3 app.py` writes cdk.out/ (annotations and all) and `keepalive-guard scan cdk.out` reports the
same finding at the Dockerfile's CMD.
"""

import os

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as patterns

from cdk_constructs import KeepAliveGuard

HERE = os.path.dirname(os.path.abspath(__file__))

app = cdk.App(outdir=os.environ.get("CDK_OUTDIR") or os.path.join(HERE, "cdk.out"))
cdk.Aspects.of(app).add(KeepAliveGuard())
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
