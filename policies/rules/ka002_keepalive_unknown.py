"""## What it does
Reports every load balancer → target chain whose keep-alive (or deregistration) check cannot be
completed: the chain cannot be followed to a container (the target group comes from a module that is
not downloaded, the load balancer is looked up with a data source, the targets are EC2 instances), the
container's command is not visible or not a server keepalive-guard recognises, or a value the check
needs (the idle timeout, the deregistration delay) cannot be resolved.

## Why is this bad?
A check that silently passes what it cannot see gives false confidence. An unknown is reported so it
can be made known, or consciously accepted.

## Example
```hcl
resource "aws_ecs_task_definition" "app" {
  container_definitions = jsonencode([{ name = "app", image = "example/app:1" }])  # no command
}
```

## Use instead
Make the value visible: scan the stack that defines a looked-up resource together with this one, give
variables values (`terraform.tfvars`, `--var`, `--var-file`), run `terraform init` so registry modules
are available, or declare the server's keep-alive on the container:
```hcl
dockerLabels = { "keepalive-guard.keep-alive-seconds" = "75" }
```
It is a warning; `--strict` makes it an error.

## References
- https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout
"""

from __future__ import annotations

from policies.model import Location
from policies.rules.base import Finding, Options, Severity, Target, locations, remedy, wanted_keep_alive
from policies.rules.dr001_deregistration_delay_shorter_than_requests import delay_of, longest_request
from policies.servers.base import Mode

_VALUE_FIX = "give the value a literal, or a variable with a value (terraform.tfvars, --var, --var-file)"


class KeepaliveUnknown:
    id = "KA002"
    name = "keepalive-unknown"
    severity = Severity.WARNING
    summary = "the target's keep-alive (or a value the checks need) cannot be determined"

    def check(self, target: Target, options: Options) -> list[Finding]:
        chain, server = target.chain, target.server
        problems: list[tuple[str, Location | None, str]] = []
        if chain.gap is not None:
            problems.append((chain.gap.text, chain.gap.location, chain.gap.fix))
        elif server is not None and server.keep_alive.mode is Mode.UNKNOWN:
            evidence = server.keep_alive.evidence
            title = "the server" if server.name == "unknown" else server.title
            where = f'{title} in container "{chain.container.name}"' if chain.container else title
            fix = remedy(server, wanted_keep_alive(chain, options))
            problems.append(
                (f"the keep-alive of {where} cannot be determined: {evidence}", evidence.location, fix)
            )
        elif (
            server is not None
            and server.keep_alive.mode is Mode.IDLE_TIMEOUT
            and chain.load_balancer is not None
        ):
            idle = chain.load_balancer.idle_timeout
            if idle.value is None:
                problems.append(
                    (
                        f"the idle timeout of {chain.load_balancer.id} is unknown: {idle.note}",
                        idle.location,
                        idle.fix or _VALUE_FIX,
                    )
                )
        if chain.container is not None or chain.registration is not None:
            delay, name, owner = delay_of(target)
            if delay is not None and delay.value is None:
                problems.append(
                    (
                        f"the {name} of {owner} is unknown: {delay.note}",
                        delay.location,
                        delay.fix or _VALUE_FIX,
                    )
                )
            elif delay is not None and longest_request(target)[0] is None and chain.gap is None:
                problems.append(
                    (
                        f"how long a request to {chain.path()} may take is unknown, so the {name} of {owner} cannot be checked",
                        delay.location,
                        "declare the server's request timeout with the docker label keepalive-guard.request-timeout-seconds",
                    )
                )
        if not problems:
            return []
        severity = Severity.ERROR if options.strict else self.severity
        subject = chain.path() or (
            str(chain.gap.location) if chain.gap and chain.gap.location else "a load balancer chain"
        )
        message = f"Cannot check {subject}: " + "; ".join(text for text, _, _ in problems) + "."
        fixes = list(dict.fromkeys(fix for _, _, fix in problems if fix))
        fix = "; ".join(fixes) or _VALUE_FIX
        places = locations(*(where for _, where, _ in problems))
        return [Finding(self.id, self.name, severity, message, fix[0].upper() + fix[1:], places, chain)]
