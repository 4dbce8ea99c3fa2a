"""## What it does
Checks that the server in the container behind an Application Load Balancer (or Classic ELB) keeps
idle keep-alive connections open longer than the load balancer's idle timeout.

## Why is this bad?
The load balancer keeps idle connections to its targets and reuses them until its `idle_timeout`
(default 60 s). When the server closes an idle connection first (gunicorn after 2 s, uvicorn after 5 s,
Node up to version 26 after 5 s), the load balancer can send the next request into a connection the
server is closing. The server answers with a TCP reset and the client gets a 502 that no application
log shows. AWS: "configure the idle timeout of your application to be larger than the idle timeout
configured for the load balancer."

## Example
```hcl
resource "aws_lb" "web" {
  idle_timeout = 60
}
# container command:
command = ["gunicorn", "--threads", "4", "app:app"]   # gthread worker, keep-alive 2 s
```

## Use instead
```hcl
command = ["gunicorn", "--threads", "4", "--keep-alive", "65", "app:app"]
```
or lower the load balancer's `idle_timeout` below the server's keep-alive. `--min-margin` demands the
keep-alive exceed the idle timeout by at least that many seconds.

## References
- https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout
- https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html#http-502-issues
"""

from __future__ import annotations

from policies.model import LoadBalancerKind
from policies.rules.base import (
    Finding,
    Options,
    Severity,
    Target,
    described,
    locations,
    remedy,
    seconds,
    wanted_keep_alive,
    whole,
)
from policies.servers.base import Mode


class KeepaliveNotLongerThanIdleTimeout:
    id = "KA001"
    name = "keepalive-not-longer-than-idle-timeout"
    severity = Severity.ERROR
    summary = "the target's keep-alive idle timeout is not longer than the load balancer's idle timeout"

    def check(self, target: Target, options: Options) -> list[Finding]:
        chain, server = target.chain, target.server
        balancer = chain.load_balancer
        if balancer is None or server is None or server.keep_alive.mode is not Mode.IDLE_TIMEOUT:
            return []
        if not balancer.pools_http_connections:
            return []  # a Classic ELB forwarding TCP/SSL pairs each client connection with one target connection
        idle = balancer.idle_timeout
        keep_alive = server.keep_alive.seconds
        if idle.value is None or keep_alive is None or keep_alive > idle.value + options.min_margin:
            return []
        container = chain.container
        assert container is not None and chain.service is not None
        kind = "Classic ELB" if balancer.kind.value is LoadBalancerKind.CLASSIC else "load balancer"
        margin = f" + the {seconds(options.min_margin)} margin" if options.min_margin else ""
        evidence = server.keep_alive.evidence
        source = f"; {evidence.source}" if evidence.source else ""
        message = (
            f'{server.title} in container "{container.name}" of {chain.service.id} {server.keep_alive.describe()} '
            f"({evidence}{source}), which is not longer than the "
            f"{seconds(idle.value)} idle timeout{margin} of the {kind} {balancer.id} "
            f"({described(idle, 'idle_timeout')}). The {kind} reuses idle connections, so it will send "
            "requests into connections the server is closing: intermittent 502s that no application log shows."
        )
        fixes = [text for text in (remedy(server, wanted_keep_alive(chain, options)),) if text]
        lowered = whole(keep_alive - options.min_margin) - 1
        if lowered >= 30 or (not server.remedy and lowered >= 1):
            fixes.append(f"lower {idle.name or 'idle_timeout'} to {lowered} at {idle.location}")
        fix = (
            ", or ".join(fixes)
            if fixes
            else "make the server keep idle connections open longer than the idle timeout"
        )
        return [
            Finding(
                self.id,
                self.name,
                self.severity,
                message,
                fix[0].upper() + fix[1:],
                locations(server.remedy_location or evidence.location, evidence.location, idle.location),
                chain,
            )
        ]
