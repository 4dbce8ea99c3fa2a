"""`KeepAlivePolicyPlugin`: the engine as a plugin of CDK's policy validation.

Registered with `Validations.of(app).add_plugins(KeepAlivePolicyPlugin())` (or, on older aws-cdk-lib,
`App(policy_validation_beta1=[KeepAlivePolicyPlugin()])`), it runs after synthesis on the templates
CDK wrote: the cloud assembly is read as `keepalive-guard scan cdk.out` reads it (construct paths,
image assets' Dockerfiles, nested stacks), raw overrides included. Findings go into CDK's validation
report; KA001 and DR001 (and KA002 with `strict=True`) fail the synthesis. CDK applies its own
acknowledgements to the report (`Validations.of(scope).acknowledge({"id": "keepalive-guard::KA001",
"reason": ...})`), and the engine applies the `keepalive-guard` Metadata ones
(`KeepAliveGuard.acknowledge`).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import jsii

from cdk_constructs.guard import METADATA, resource_to_change
from policies import __version__
from policies.loaders.cloudformation import load_assemblies
from policies.model import InputError
from policies.rules import RULES, Finding, Options, Severity
from policies.scan import check


@jsii.implements(cdk.IPolicyValidationPlugin, cdk.IPolicyValidationPluginBeta1)
class KeepAlivePolicyPlugin:
    """Reports keep-alive races and deregistration cuts in CDK's policy validation report."""

    def __init__(self, *, min_margin: float = 0.0, strict: bool = False) -> None:
        self.options = Options(min_margin=min_margin, strict=strict)

    @property
    def name(self) -> str:
        return METADATA

    @property
    def version(self) -> str:
        return __version__

    @property
    def rule_ids(self) -> list[str]:
        return [rule.id for rule in RULES]

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        result = check(load_assemblies(_assemblies(context.template_paths)), self.options)
        violations = [_violation(finding) for finding in result.findings]
        violations += [_input_error(error) for error in result.errors]
        return cdk.PolicyValidationPluginReport(
            success=all(violation.severity != "error" for violation in violations),
            violations=violations,
            metadata={
                "targets checked": str(len(result.targets)),
                "acknowledged": str(len(result.suppressed)),
            },
            plugin_version=__version__,
        )


def _violation(finding: Finding) -> cdk.PolicyViolation:
    changed = resource_to_change(finding)
    resource = cdk.PolicyViolatingResource(
        locations=[str(location) for location in finding.locations],
        resource_logical_id=changed.address if changed else None,
        template_path=str(Path(changed.location.path).resolve()) if changed else None,
        construct_path=changed.label or None if changed else None,
    )
    return cdk.PolicyViolation(
        rule_name=finding.rule,
        description=finding.message,
        fix=finding.fix,
        severity="error" if finding.severity is Severity.ERROR else "warning",  # KA002 too when strict
        rule_metadata={"name": finding.name},
        violating_resources=[resource],
    )


def _input_error(error: InputError) -> cdk.PolicyViolation:
    """A template the engine could not fully read: a warning, so that nothing is skipped silently."""
    resource = cdk.PolicyViolatingResource(
        locations=[str(error)], template_path=str(Path(error.path).resolve())
    )
    return cdk.PolicyViolation(
        rule_name="input-error", description=str(error), severity="warning", violating_resources=[resource]
    )


def _assemblies(template_paths: list[str]) -> list[Path]:
    """The cloud assemblies holding the templates: each template's directory, without a Stage's
    assembly whose parent assembly is read anyway (it reads its Stages)."""
    directories = {Path(path).resolve().parent for path in template_paths}
    return sorted(
        directory for directory in directories if not any(other in directory.parents for other in directories)
    )
