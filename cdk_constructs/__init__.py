"""keepalive-guard for CDK apps (aws-cdk-lib v2; `pip install 'keepalive-guard[cdk]'`).

`KeepAliveGuard` is the aspect that fails `cdk synth` on what `keepalive-guard scan` reports, from the
same engine (`policies`).
"""

from cdk_constructs.guard import KeepAliveGuard

__all__ = ["KeepAliveGuard"]
