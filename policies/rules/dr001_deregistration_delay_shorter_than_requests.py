"""## What it does
Checks that a target group's deregistration delay (a Classic ELB's connection draining timeout) is at
least as long as the longest a request to its targets may take: the server's request timeout where
keepalive-guard knows it, otherwise the load balancer's idle timeout. A request timeout longer than the
idle timeout counts as the idle timeout: the load balancer answers 504 when a target sends nothing for
that long, so such a request is lost anyway (a response that streams data can run longer).

## Why is this bad?
When a deploy or a scale-in deregisters a target, the load balancer stops sending it new requests and
gives in-flight ones the deregistration delay to finish; then ECS stops the container. Requests still
running when the delay ends are cut, and the client gets a 5xx. A Classic ELB with connection draining
disabled (the Terraform default) cuts them at once.

## Example
```hcl
resource "aws_lb_target_group" "app" {
  deregistration_delay = 5
}
# container command: gunicorn app:app   (sync worker: a request may run up to --timeout, 30 s)
```

## Use instead
```hcl
resource "aws_lb_target_group" "app" {
  deregistration_delay = 30
}
```

## References
- https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay
- https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-connection-draining.html
- https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/config-conn-drain.html
"""

from __future__ import annotations

from policies.model import Location, Setting
from policies.rules.base import Finding, Options, Severity, Target, described, locations, seconds, whole


def delay_of(target: Target) -> tuple[Setting[int] | None, str, str]:
    """The deregistration delay that applies, its name, and the resource it belongs to."""
    chain = target.chain
    if chain.target_group is not None:
        return chain.target_group.deregistration_delay, "deregistration_delay", str(chain.target_group.id)
    balancer = chain.load_balancer
    if balancer is not None and balancer.connection_draining is not None:
        return balancer.connection_draining, "connection draining", str(balancer.id)
    return None, "", ""


def longest_request(target: Target) -> tuple[float | None, str, Location | None]:
    """How long a request may take, why keepalive-guard thinks so, and where that was decided.

    The server's request timeout where it has one; but a request whose target sends nothing for the
    load balancer's idle timeout gets a 504 from the load balancer anyway, so that bounds it too."""
    server, balancer = target.server, target.chain.load_balancer
    idle = balancer.idle_timeout if balancer is not None and balancer.idle_timeout.value is not None else None
    if server is not None and server.request_timeout is not None:
        bound = server.request_timeout
        reason = f"{server.title}'s request timeout ({bound.evidence})"
        if idle is None or idle.value is None or bound.seconds <= idle.value:
            return bound.seconds, reason, bound.evidence.location
        reason += (
            f", cut to the load balancer's {seconds(idle.value)} idle timeout, after which it answers 504 for a "
            f"target that has sent nothing ({described(idle, 'idle_timeout')})"
        )
        return idle.value, reason, idle.location
    if idle is not None and idle.value is not None:
        who = server.title if server is not None and server.name != "unknown" else "the target"
        reason = (
            f"{who} sets no request timeout keepalive-guard knows, so a request may run as long as the load "
            f"balancer lets a connection idle: {described(idle, 'idle_timeout')}"
        )
        return idle.value, reason, idle.location
    return None, "", None


class DeregistrationDelayShorterThanRequests:
    id = "DR001"
    name = "deregistration-delay-shorter-than-requests"
    severity = Severity.ERROR
    summary = "the deregistration delay (connection draining) is shorter than the longest request"

    def check(self, target: Target, options: Options) -> list[Finding]:
        chain = target.chain
        if chain.container is None and chain.registration is None:
            return []  # nothing is registered, so nothing is deregistered
        delay, delay_name, owner = delay_of(target)
        longest, reason, longest_location = longest_request(target)
        if delay is None or delay.value is None or longest is None or delay.value >= longest:
            return []
        receiver = (
            f'container "{chain.container.name}"'
            if chain.container
            else str(chain.registration.id if chain.registration else "")
        )
        message = (
            f"{owner} gives in-flight requests {seconds(delay.value)} to finish when a target is deregistered "
            f"({described(delay, delay_name)}), but a request to {receiver} may take {seconds(longest)}: {reason}. "
            "Deploys and scale-ins will cut longer requests off with 5xx errors."
        )
        wanted = whole(longest)
        if delay_name == "connection draining":
            name = delay.name or "connection_draining_timeout"
            # the switch beside the timeout: connection_draining, ConnectionDrainingPolicy.Enabled
            switch = (
                name.removesuffix(".Timeout") + ".Enabled"
                if name.endswith(".Timeout")
                else name.removesuffix("_timeout")
            )
            enable = f"{switch} = true and " if delay.value == 0 else ""
            fix = f"Set {enable}{name} = {wanted} on {owner} at {delay.location}"
        else:
            fix = f"Set {delay.name or 'deregistration_delay'} = {wanted} on {owner} at {delay.location}"
        return [
            Finding(
                self.id,
                self.name,
                self.severity,
                message,
                fix,
                locations(delay.location, longest_location),
                chain,
            )
        ]
