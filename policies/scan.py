"""The pipeline: inputs → loaders → topology → server catalog → rules → findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from policies.loaders import LoadOptions, load
from policies.model import InputError, Inventory, Suppression
from policies.rules import RULES, Finding, Options, Severity, Target
from policies.servers import identify
from policies.topology import Skipped, link
from policies.variants import merge


@dataclass(frozen=True)
class Result:
    findings: tuple[Finding, ...]
    errors: tuple[InputError, ...]
    targets: tuple[Target, ...]
    skipped: tuple[Skipped, ...]
    inputs: tuple[str, ...]
    suppressed: tuple[
        tuple[Finding, Suppression], ...
    ] = ()  # acknowledged findings, with the acknowledgement
    baselined: tuple[Finding, ...] = ()  # findings recorded in the baseline given (`policies.baseline`)

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)

    def failing(self, fail_on: str) -> tuple[Finding, ...]:
        """The findings that fail the check: `fail_on` is "error", "warning" (errors and warnings) or
        "never"."""
        if fail_on == "never":
            return ()
        return tuple(f for f in self.findings if fail_on == "warning" or f.severity is Severity.ERROR)


def _same_fix(finding: Finding) -> tuple[object, ...]:
    """DR001 is about one setting of one target group: targets that call for the same change share a
    finding. Every other finding stands on its own."""
    if finding.rule != "DR001":
        return (id(finding),)
    chain = finding.chain
    pair = [str(item.id) if item is not None else "" for item in (chain.load_balancer, chain.target_group)]
    return (chain.unit, finding.rule, finding.fix, *pair)


def _suppression(
    finding: Finding, suppressions: dict[tuple[str, str], list[Suppression]]
) -> Suppression | None:
    """The acknowledgement of the finding's rule on a resource of its chain, if any."""
    chain = finding.chain
    for part in (chain.load_balancer, chain.target_group, chain.service, chain.task_definition):
        if part is not None:
            for suppression in suppressions.get((part.id.unit, part.id.address), []):
                if suppression.rule == finding.rule:
                    return suppression
    return None


def _with_inferences(finding: Finding) -> Finding:
    """The finding, saying which links of its chain were matched without a reference to follow."""
    inferences = finding.chain.inferences()
    if not inferences:
        return finding
    said = "; ".join(inferences)
    said = f"{finding.message} Links the inputs record no reference for were matched: {said}."
    return replace(finding, message=said)


def _in_cdk_app(finding: Finding) -> Finding:
    """A finding in a cloud assembly, saying where to make the change: cdk.out is written by `cdk synth`."""
    chain = finding.chain
    parts = [
        part
        for part in (
            chain.load_balancer,
            *chain.listeners,
            chain.target_group,
            chain.service,
            chain.task_definition,
        )
        if part is not None and part.id.label
    ]
    if not parts:
        return finding
    constructs = []
    for location in finding.locations:
        # the resource whose block holds the line, in a template written to disk (not the CDK guard's)
        line = location.line
        within = [
            part
            for part in parts
            if line is not None
            and part.id.location.path == location.path
            and (part.id.location.line or 0) <= line
        ]
        if within:
            constructs.append(max(within, key=lambda part: part.id.location.line or 0).id.label)
        elif "/asset." in f"/{location.path}":
            constructs.append("the Dockerfile its image asset was copied from")
    if not constructs:
        return finding
    where = ", ".join(dict.fromkeys(constructs))
    note = (
        f"cdk.out is written by `cdk synth`: make the change in the CDK app ({where}) and synthesize again."
    )
    return replace(finding, fix=f"{finding.fix.rstrip('.')}. {note}")


def _order(finding: Finding) -> tuple[object, ...]:
    location = finding.location
    return (
        location.path if location else "",
        location.line or 0 if location else 0,
        finding.rule,
        finding.message,
    )


def scan(
    paths: Sequence[Path], options: Options = Options(), load_options: LoadOptions = LoadOptions()
) -> Result:
    return check(load(paths, load_options), options)


def check(inventory: Inventory, options: Options = Options()) -> Result:
    """Topology, server catalog and rules over what the loaders found (the cfn-lint plugin and the
    CDK guard come in here with inventories of their own)."""
    topology = link(inventory)
    targets = []
    for chain in topology.chains:
        port = chain.attachment.container_port.value if chain.attachment else None
        server = identify(chain.container, port) if chain.container is not None else None
        targets.append(Target(chain, server))
    findings = [
        _in_cdk_app(_with_inferences(finding))
        for target in targets
        for rule in RULES
        if options.runs(rule.id)
        for finding in rule.check(target, options)
    ]
    findings, targets, skipped = merge(findings, targets, topology.skipped, inventory.variants)
    by_resource: dict[tuple[str, str], list[Suppression]] = {}
    for suppression in inventory.suppressions:
        by_resource.setdefault((suppression.resource.unit, suppression.resource.address), []).append(
            suppression
        )
    found = [(finding, _suppression(finding, by_resource)) for finding in findings]
    acknowledged = [(finding, why) for finding, why in found if why is not None]
    findings = [finding for finding, why in found if why is None]
    # Two targets of one target group can call for the very same fix (one deregistration delay): once.
    findings = list({_same_fix(finding): finding for finding in reversed(findings)}.values())
    acknowledged = list(
        {
            (finding.rule, finding.message, finding.locations): (finding, why)
            for finding, why in acknowledged
        }.values()
    )
    return Result(
        tuple(sorted(findings, key=_order)),
        tuple(sorted(set(inventory.errors), key=lambda error: (error.path, error.line or 0, error.message))),
        tuple(targets),
        tuple(skipped),
        tuple(dict.fromkeys(inventory.inputs)),  # a file read by two loaders is one input
        tuple(sorted(acknowledged, key=lambda pair: _order(pair[0]))),
    )
