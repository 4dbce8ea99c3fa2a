"""keepalive-guard for CDK apps (aws-cdk-lib v2; `pip install 'keepalive-guard[cdk]'`).

`KeepAliveGuard` is the aspect that fails `cdk synth` on what `keepalive-guard scan` reports,
`KeepAlivePolicyPlugin` the same engine as a plugin of CDK's policy validation, and
`SafeApplicationLoadBalancedFargateService` the ecs_patterns service with the safe configuration as
its default.
"""

from cdk_constructs.guard import KeepAliveGuard
from cdk_constructs.plugin import KeepAlivePolicyPlugin
from cdk_constructs.safe import SafeApplicationLoadBalancedFargateService

__all__ = ["KeepAliveGuard", "KeepAlivePolicyPlugin", "SafeApplicationLoadBalancedFargateService"]
