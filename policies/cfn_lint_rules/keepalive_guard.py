"""keepalive-guard's rules as cfn-lint rules (see `policies.loaders.cloudformation.lint`)."""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from policies.loaders.cloudformation.lint import RULE_IDS, findings, path_of
from policies.rules import RULES

# The first reference of each rule's documentation (`keepalive-guard rules ID` prints it all).
_REFERENCE = {
    "KA001": "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout",
    "DR001": "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay",
    "KA002": "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout",
}


def _rule(rule_id: str) -> type[CloudFormationLintRule]:
    rule = next(rule for rule in RULES if rule.id == rule_id)

    class Rule(CloudFormationLintRule):  # type: ignore[misc]
        id = RULE_IDS[rule_id]
        shortdesc = f"keepalive-guard {rule.id} {rule.name}"
        description = f"keepalive-guard {rule.id}: reports when {rule.summary}"
        source_url = _REFERENCE[rule_id]
        tags: ClassVar[list[str]] = ["keepalive-guard", "elasticloadbalancing", "ecs"]

        def match(self, cfn: Any) -> list[RuleMatch]:
            return [
                RuleMatch(
                    path_of(cfn.filename, cfn.template, finding), f"{finding.message} Fix: {finding.fix}"
                )
                for finding in findings(cfn.filename, cfn.template)
                if finding.rule == rule_id
            ]

    Rule.__name__ = Rule.__qualname__ = f"KeepaliveGuard{rule.id}"
    return Rule


KeepaliveGuardKA001 = _rule("KA001")
KeepaliveGuardDR001 = _rule("DR001")
KeepaliveGuardKA002 = _rule("KA002")
