"""Inline suppressions: a `keepalive-guard:ignore` comment on or directly above a resource.

```hcl
# keepalive-guard:ignore KA001 nginx in the task terminates the ALB's connections, not gunicorn
resource "aws_lb_target_group" "web" {
```

The comment is `#` or `//` in HCL and `#` in YAML, on the line that opens the resource (`resource "…"
"…" {`, or the logical id in a CloudFormation template) or among the comment lines directly above it
(no blank line between). It names one or more rule ids (`KA001,DR001`) and then the reason, which is
required: a comment without one, or naming an unknown rule, is reported as an input error and ignores
nothing. It applies to every finding of those rules whose chain includes the resource (SPEC.md), in every
instance of a module the resource is written in.

This reads the files the resources were located in, whatever loader located them (a Terraform module, a
plan's `.tf` files with --repo-root, a YAML template); JSON has no comments and uses `Metadata`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from policies.model import RULE_IDS, InputError, Inventory, Location, ResourceId, Suppression

MARKER = "keepalive-guard:ignore"
_COMMENTED = (".tf", ".hcl", ".yaml", ".yml", ".template")
_COMMENT = re.compile(r"(?:#|//)\s*keepalive-guard:ignore\b(?P<rest>.*)$", re.IGNORECASE)  # at the start
_RULES = re.compile(r"\s*[=:]?\s*(?P<rules>[A-Za-z]+\d+(?:\s*,\s*[A-Za-z]+\d+)*)(?P<reason>.*)$")


def suppressions(inventory: Inventory) -> Inventory:
    """The suppressions and the malformed suppression comments on the resources of `inventory`."""
    resources: Iterable[ResourceId] = (
        item.id
        for group in (
            inventory.load_balancers,
            inventory.target_groups,
            inventory.services,
            inventory.task_definitions,
        )
        for item in group
    )
    files: dict[str, list[str] | None] = {}
    found: list[Suppression] = []
    errors: dict[tuple[str, int], InputError] = {}
    for resource in dict.fromkeys(resources):
        path, line = resource.location.path, resource.location.line
        if line is None or not path.endswith(_COMMENTED):
            continue
        if path not in files:
            files[path] = _lines(Path(path))
        lines = files[path]
        if lines is None or line > len(lines):
            continue
        for number, comment in _comment_lines(lines, line, yaml=not path.endswith((".tf", ".hcl"))):
            parsed = _parse(comment, Location(path, number))
            if isinstance(parsed, InputError):
                errors[(path, number)] = parsed
            else:
                found.extend(Suppression(resource, rule, reason, where) for rule, reason, where in parsed)
    return Inventory(suppressions=tuple(found), errors=tuple(errors.values()))


def _lines(path: Path) -> list[str] | None:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None  # the loader that read the resource from it has said what is wrong with it


def _comment_lines(lines: list[str], line: int, yaml: bool) -> list[tuple[int, str]]:
    """The comments that may suppress findings on the resource opened at `line` (1-based): its own line's
    and those of the comment lines directly above it (in YAML, indented no deeper than it: deeper ones
    may be the text of a block scalar), with their line numbers."""
    found = []
    own = _comment(lines[line - 1], yaml)
    if own is not None:
        found.append((line, own))
    indent = _indent(lines[line - 1])
    above = line - 1
    while above >= 1:
        text = lines[above - 1]
        comment = _comment(text, yaml)
        if comment is None or text[: len(text) - len(comment)].strip() or (yaml and _indent(text) > indent):
            break
        found.append((above, comment))
        above -= 1
    return [(number, comment) for number, comment in found if MARKER in comment.lower()]


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" \t"))


def _comment(text: str, yaml: bool) -> str | None:
    """The comment on a line, from its `#` (or HCL `//`) on; None when there is none outside strings.
    HCL strings are double-quoted; YAML's are single- or double-quoted, and its `#` starts a comment
    only at the start of the line or after a space."""
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char == '"' or (yaml and char == "'"):
            quote = char
        elif (char == "#" and (not yaml or index == 0 or text[index - 1] in " \t")) or (
            not yaml and text.startswith("//", index)
        ):
            return text[index:]
        index += 1
    return None


def _parse(comment: str, where: Location) -> list[tuple[str, str, Location]] | InputError:
    marked = _COMMENT.match(comment)
    if marked is None:  # a comment that mentions the marker, not one that starts with it
        return []
    named = _RULES.match(marked["rest"])
    if named is None:
        return InputError(where.path, f"{MARKER}: expected `{MARKER} RULE reason…`", where.line)
    rules = [rule.strip().upper() for rule in named["rules"].split(",")]
    unknown = [rule for rule in rules if rule not in RULE_IDS]
    if unknown:
        message = f"{MARKER}: unknown rule {unknown[0]} (known: {', '.join(RULE_IDS)}); nothing is ignored"
        return InputError(where.path, message, where.line)
    reason = " ".join(named["reason"].strip(" \t:-—–").split())
    if not reason:
        message = (
            f"{MARKER} {','.join(rules)}: a reason is required after the rule id; the finding is not ignored"
        )
        return InputError(where.path, message, where.line)
    return [(rule, reason, where) for rule in rules]
