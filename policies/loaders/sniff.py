"""What a file found in a scanned directory is, from its first bytes: the checks discovery runs on every
candidate before a loader, and the parser it needs, is imported (`policies.loaders.discover`)."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")
TERRAFORM_JSON = (".tf.json", ".tfvars.json")  # Terraform configuration and variables, never a plan
MANIFEST = "manifest.json"  # a cloud assembly's (cdk.out)

# A directory may hold any JSON; only files whose beginning names a format_version are parsed whole.
_PLAN_SNIFF_BYTES = 4096
# A template names its format version, or has resources of AWS types.
_TEMPLATE_SNIFF_BYTES = 65536
_CLAIMS = re.compile(
    r"""AWSTemplateFormatVersion|["']?Resources["']?\s*:[\s\S]*["']?Type["']?\s*:\s*["']?AWS::[A-Za-z0-9]+::"""
)


def _head(path: Path, size: int) -> bytes | None:
    try:
        with path.open("rb") as file:
            return file.read(size)
    except OSError:
        return None


def looks_like_plan(path: Path) -> bool:
    """Whether a `.json` file found in a directory is worth parsing as a plan: its first few KB name a
    `format_version`. Terraform configuration and variable files (`.tf.json`, `.tfvars.json`) are not."""
    if path.name.endswith(TERRAFORM_JSON):
        return False
    head = _head(path, _PLAN_SNIFF_BYTES)
    return head is not None and b'"format_version"' in head


def looks_like_template(path: Path) -> bool:
    """Whether a .yaml/.yml/.json/.template file's beginning claims a CloudFormation template."""
    head = _head(path, _TEMPLATE_SNIFF_BYTES)
    return head is not None and bool(_CLAIMS.search(head.decode("utf-8", "replace")))


def looks_like_assembly(directory: Path) -> bool:
    """A directory holding a cloud assembly manifest."""
    head = _head(directory / MANIFEST, 65536)
    if head is None:
        return False
    text = head.decode("utf-8", "replace")
    return '"version"' in text and '"artifacts"' in text
