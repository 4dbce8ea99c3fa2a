"""Findings of the scenarios of a CloudFormation template merged into the template's own.

A template whose conditions can differ is read once per scenario (`loaders.cloudformation.scenarios`),
each a unit of its own. A finding made in every scenario is the template's, as it stands; one made in
some only says when it holds ("when IsProduction is true"), named by the fewest conditions that tell
those scenarios from the others. Targets are listed once, as the first scenario to
check them (the parameters' defaults first) has them; a resource is listed as skipped when every
scenario skips it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import combinations

from policies.model import Variant
from policies.rules import Finding, Target
from policies.topology import Skipped


def merge(
    findings: Sequence[Finding],
    targets: Sequence[Target],
    skipped: Sequence[Skipped],
    variants: Sequence[Variant],
) -> tuple[list[Finding], list[Target], list[Skipped]]:
    if not variants:
        return list(findings), list(targets), list(skipped)
    of = {variant.unit: variant for variant in variants}
    groups: dict[str, list[Variant]] = {}
    for variant in variants:
        groups.setdefault(variant.stack, []).append(variant)

    def stack(unit: str) -> str:
        return of[unit].stack if unit in of else unit

    merged: dict[tuple[object, ...], tuple[str, Finding, list[Variant]]] = {}
    for finding in findings:
        unit = stack(finding.chain.unit)
        key = (unit, finding.rule, finding.message, finding.fix, finding.locations)
        seen = merged.setdefault(key, (unit, finding, []))[2]
        if finding.chain.unit in of:
            seen.append(of[finding.chain.unit])
    out = []
    for unit, finding, seen in merged.values():
        if not seen:
            out.append(finding)
            continue
        units = {variant.unit for variant in seen}
        message = finding.message
        if len(units) < len(groups[unit]):
            message = f"{message} This holds when {describe(units, groups[unit])}."
        out.append(replace(finding, message=message, chain=replace(finding.chain, unit=unit)))
    kept_targets = {
        (stack(target.chain.unit), *target.chain.key[1:]): replace(
            target, chain=replace(target.chain, unit=stack(target.chain.unit))
        )
        for target in reversed(targets)
    }
    # skipped in one scenario (a Condition false there) is not skipped when another creates it
    skipped_in: dict[tuple[str, str, str], set[str]] = {}
    for item in skipped:
        skipped_in.setdefault((stack(item.id.unit), item.id.address, item.reason), set()).add(item.id.unit)
    kept_skipped = {
        entry: replace(item, id=replace(item.id, unit=entry[0]))
        for item in reversed(skipped)
        if (entry := (stack(item.id.unit), item.id.address, item.reason))
        and (item.id.unit not in of or len(skipped_in[entry]) == len(groups[entry[0]]))
    }
    return out, list(reversed(kept_targets.values())), list(reversed(kept_skipped.values()))


def describe(units: set[str], variants: Sequence[Variant]) -> str:
    """The fewest condition values (one or two) true of the scenarios `units` and of no other; else
    each of those scenarios' values, joined with "or"."""
    values = {variant.unit: dict(variant.conditions) for variant in variants}
    names = list(dict.fromkeys(name for variant in variants for name, _ in variant.conditions))
    for size in (1, 2):
        for chosen in combinations(names, size):
            wanted = {name: values[next(iter(units))].get(name) for name in chosen}
            if None in wanted.values():
                continue
            matching = {
                unit for unit, known in values.items() if all(known.get(n) == v for n, v in wanted.items())
            }
            if matching == units:
                return " and ".join(f"{name} is {str(value).lower()}" for name, value in wanted.items())
    alternatives = [
        " and ".join(f"{name} is {str(value).lower()}" for name, value in variant.conditions)
        for variant in variants
        if variant.unit in units
    ]
    return " or ".join(f"({text})" for text in alternatives)
