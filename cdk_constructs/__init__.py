"""keepalive-guard for CDK apps (aws-cdk-lib v2; `pip install 'keepalive-guard[cdk]'`).

`KeepAliveGuard` is the aspect that fails `cdk synth` on what `keepalive-guard scan` reports, and
`KeepAlivePolicyPlugin` the same engine as a plugin of CDK's policy validation.
"""

from cdk_constructs.guard import KeepAliveGuard
from cdk_constructs.plugin import KeepAlivePolicyPlugin

__all__ = ["KeepAliveGuard", "KeepAlivePolicyPlugin"]
