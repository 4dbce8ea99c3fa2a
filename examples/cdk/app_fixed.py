"""app.py made safe: the same service with `SafeApplicationLoadBalancedFargateService` instead of
`ecs_patterns.ApplicationLoadBalancedFargateService` (a drop-in: same properties).

It reads uvicorn from the image's Dockerfile and sets UVICORN_TIMEOUT_KEEP_ALIVE=65 on the container
(65 s outlives the ALB's 60 s, which it sets explicitly), and keeps the 300 s deregistration delay that
covers uvicorn's requests. The guard, still applied, agrees:

    cd examples/cdk && npx cdk synth --app "python3 app_fixed.py"      # exit status 0
"""

import os

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as patterns

from cdk_constructs import KeepAliveGuard, SafeApplicationLoadBalancedFargateService

HERE = os.path.dirname(os.path.abspath(__file__))

app = cdk.App(outdir=os.environ.get("CDK_OUTDIR") or os.path.join(HERE, "cdk.out"))
cdk.Aspects.of(app).add(KeepAliveGuard())
stack = cdk.Stack(app, "Checkout")
SafeApplicationLoadBalancedFargateService(
    stack,
    "Api",
    vpc=ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0),
    task_image_options=patterns.ApplicationLoadBalancedTaskImageOptions(
        image=ecs.ContainerImage.from_asset(os.path.join(HERE, "service")),
        container_port=8000,
    ),
)
app.synth()
