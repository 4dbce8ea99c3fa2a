"""`KeepAliveGuard`: the aspect that makes `cdk synth` fail on a keep-alive race or a deregistration cut.

Applied to the app (`Aspects.of(app).add(KeepAliveGuard())`), it checks every stack once the tree is
final (as a validation of the stack, after every aspect has run): it writes down the CloudFormation its
L1 resources will synthesize to (whatever construct level created them: L1, L2,
ecs_patterns), with every token resolved the way synthesis resolves it, and runs the policy engine's
CloudFormation path on that (`policies.scan.check`): no second implementation of the rules. A container
built with `ContainerImage.fromAsset` is understood from the Dockerfile of its staged asset.

KA001 and DR001 become error annotations on the resource to change (so `cdk synth` and `cdk deploy`
fail), KA002 a warning (an error with `strict=True`), with the message and fix the CLI gives.
`KeepAliveGuard.acknowledge(construct, "KA001", reason)` records an acknowledgement in the resource's
CloudFormation `Metadata`, where the CLI and the cfn-lint rules honour it too.

CDK's aspects stop at a Stage: the guard is added to each Stage too. What the guard cannot see, and
the CLI and the policy-validation plugin (which read the synthesized templates) do: raw overrides
(`add_property_override`, `add_override`), which CDK keeps private until synthesis; the values of
Parameters and conditions (the template it checks holds only Resources); chains across stacks (each
stack is checked on its own); an image asset's `file=` (its directory's `Dockerfile` is read).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ecr_assets as ecr_assets
from constructs import IConstruct, IValidation

from policies.loaders.cloudformation import read_template
from policies.loaders.cloudformation.template import Template
from policies.loaders.dockerfile import load_dockerfile
from policies.model import ImageBuild, Inventory, ResourceId
from policies.rules import Finding, Options, Severity
from policies.scan import Result, check

# The Metadata key of acknowledgements, and the policy-validation plugin's name: CDK's own rule ids
# for this tool read "keepalive-guard::KA001".
METADATA = "keepalive-guard"
ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"  # Validations.ACKNOWLEDGED_RULES_METADATA_KEY


@jsii.implements(cdk.IAspect)
class KeepAliveGuard:
    """Checks every load balancer → target group → ECS service → container chain of each stack."""

    def __init__(self, *, min_margin: float = 0.0, strict: bool = False) -> None:
        self.options = Options(min_margin=min_margin, strict=strict)
        self._stacks: set[cdk.Stack] = set()

    @staticmethod
    def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
        """Acknowledge `rule` (KA001, KA002, DR001) on the resource of `construct` (an L1 resource, or
        an L2 whose default child is one), with the reason; the guard and the CLI then skip it."""
        resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
        if not isinstance(resource, cdk.CfnResource):
            raise ValueError(f"{construct.node.path} has no CloudFormation resource to acknowledge {rule} on")
        if not reason.strip():
            raise ValueError(f"acknowledging {rule} on {construct.node.path} needs a reason")
        entry = {"id": rule.upper(), "reason": reason}
        resource.cfn_options.metadata = _ignoring(resource.cfn_options.metadata, [entry])

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, cdk.Stack) and node not in self._stacks:  # a NestedStack too, on its own
            # Checked when the tree is final: the construct tree's validation runs after every aspect
            # and before synthesis. Resolving earlier would also freeze CDK's cached lazy values (a task
            # definition's containers) before later aspects change them, changing the template.
            self._stacks.add(node)
            node.node.add_validation(_Deferred(partial(self.check, node)))

    def check(self, stack: cdk.Stack) -> None:
        result, constructs = inspect(stack, self.options)
        for finding in result.findings:
            changed = resource_to_change(finding)
            target = constructs.get(changed.address if changed else "", stack)
            if finding.severity is Severity.ERROR:  # KA002 too, with strict=True
                cdk.Annotations.of(target).add_error(message(finding))
            else:
                cdk.Annotations.of(target).add_warning_v2(f"keepalive-guard:{finding.rule}", message(finding))


@jsii.implements(IValidation)
class _Deferred:
    """A check run as a validation of the construct tree; its findings are annotations, not
    validation errors, so that KA002 can be a warning."""

    def __init__(self, run: Callable[[], None]) -> None:
        self._run = run

    def validate(self) -> list[str]:
        self._run()
        return []


def inspect(stack: cdk.Stack, options: Options) -> tuple[Result, dict[str, cdk.CfnResource]]:
    """The engine's result for the CloudFormation `stack` will synthesize to, with the L1 construct of
    each logical id (a nested stack's resources are not included: it is a stack of its own)."""
    resources: dict[str, Any] = {}
    constructs: dict[str, cdk.CfnResource] = {}
    builds: list[ImageBuild] = []
    for child in stack.node.find_all():
        if cdk.Stack.of(child) is not stack:
            continue
        build = image_build(child) if isinstance(child, ecr_assets.DockerImageAsset) else None
        if build is not None:
            builds.append(build)
        if isinstance(child, cdk.CfnResource):
            logical_id = stack.resolve(child.logical_id)
            constructs[logical_id] = child
            resources[logical_id] = _resource(stack, child)
    template = Template(stack.template_file, {"Resources": resources})
    return check(read_template(template) + Inventory(builds=tuple(builds)), options), constructs


def _resource(stack: cdk.Stack, resource: cdk.CfnResource) -> dict[str, Any]:
    """A resource as its template will hold it: type, properties (tokens resolved), metadata, with the
    construct path the CLI shows beside the logical id."""
    properties = resource._render_properties(stack.resolve(resource._cfn_properties))
    metadata = _ignoring(stack.resolve(resource.cfn_options.metadata), _acknowledged(resource))
    metadata["aws:cdk:path"] = resource.node.path
    return {"Type": resource.cfn_resource_type, "Properties": properties or {}, "Metadata": metadata}


def message(finding: Finding) -> str:
    """A finding as CDK shows it: the rule, the CLI's message and its fix."""
    return f"[{finding.rule}] {finding.message} Fix: {finding.fix}"


def _ignoring(metadata: Any, entries: list[dict[str, str]]) -> dict[str, Any]:
    """A copy of a resource's Metadata with acknowledgement `entries` added to its `keepalive-guard`
    section."""
    copy = dict(metadata or {})
    if entries:
        section = dict(copy.get(METADATA) or {})
        copy[METADATA] = {**section, "ignore": [*section.get("ignore", []), *entries]}
    return copy


def _acknowledged(resource: cdk.CfnResource) -> list[dict[str, str]]:
    """CDK's own acknowledgements of this tool's rules on the resource or a scope above it:
    `Validations.of(scope).acknowledge({"id": "keepalive-guard::KA001", "reason": ...})`, which
    records them as `aws:cdk:acknowledged-rules` metadata (aws-cdk-lib's Validations, where installed)."""
    found = []
    for scope in resource.node.scopes:
        for entry in scope.node.metadata:
            if entry.type != ACKNOWLEDGED_RULES or not isinstance(entry.data, dict):
                continue
            for rule_id, reason in entry.data.items():
                namespace, _, rule = str(rule_id).partition("::")
                if namespace == METADATA and rule:
                    found.append({"id": rule.upper(), "reason": str(reason)})
    return found


def image_build(asset: ecr_assets.DockerImageAsset) -> ImageBuild | None:
    """The Dockerfile build of an image asset, from its staged directory (`asset.<hash>` in the output
    directory, staged when the asset is constructed), for containers whose image is tagged with the
    asset's hash."""
    stage = cdk.Stage.of(asset)  # a Stage's assets are staged in the app's output directory
    directory = Path(stage.asset_outdir if stage is not None else ".") / f"asset.{asset.asset_hash}"
    found = load_dockerfile(directory / "Dockerfile", (f"*:{asset.image_tag}",), directory)
    return found if isinstance(found, ImageBuild) else None


def resource_to_change(finding: Finding) -> ResourceId | None:
    """The resource the finding is about: the task definition that runs the server (KA001, KA002), the
    target group whose delay is short (DR001), else the nearest one there is."""
    chain = finding.chain
    parts = [chain.task_definition, chain.service, chain.target_group, chain.load_balancer]
    if finding.rule == "DR001":
        parts = [chain.target_group, chain.load_balancer]
    return next((part.id for part in parts if part is not None), None)
