"""Cloud assemblies (`cdk.out`): the stacks `cdk synth` wrote, with what the templates alone do not say.

`manifest.json` lists the stacks (`aws:cloudformation:stack`, `templateFile`), their asset manifests
(`cdk:asset-manifest`) and the assemblies of Stages (`cdk:cloud-assembly`, a directory of their own).
From it come: the construct path of every logical id (the `aws:cdk:logicalId` metadata, inline or in
the stack's `additionalMetadataFile`), shown beside logical ids in findings; the local file of each
nested stack's template (a file asset whose object key its TemplateURL names); and the build of each
Docker image asset (its directory and Dockerfile), so a container running `ContainerImage.fromAsset`
is understood from its Dockerfile. Format: https://github.com/aws/aws-cdk-cli/tree/main/packages/@aws-cdk/cloud-assembly-schema
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.loaders.dockerfile import load_dockerfile
from policies.loaders.reading import Reader
from policies.loaders.sniff import MANIFEST
from policies.model import ImageBuild, InputError, shown_path

MAX_ASSEMBLIES = 64  # Stages nest assemblies; a bound against a manifest that names itself
_TOKEN = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


@dataclass(frozen=True)
class Stack:
    """One stack of an assembly: its template and its construct path ("/Prod/Api")."""

    template: Path
    scope: str


@dataclass
class Assembly:
    """What one cloud assembly directory says about its stacks beyond their templates."""

    directory: Path
    stacks: list[Stack] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # file asset hash → local file
    # stack template (resolved) → logical id → construct paths (a nested stack's ids are its top stack's)
    paths: dict[Path, dict[str, list[str]]] = field(default_factory=dict)

    def nested_template(self, url: Any) -> Path | None:
        """The local template of the file asset a nested stack's TemplateURL names (by its hash, whatever
        the bucket and prefix)."""
        for token in _TOKEN.findall(json.dumps(url, default=str)):
            if token in self.files:
                return self.files[token]
        return None

    def path_of(self, stack: Path | None, logical_id: str, scope: str) -> str | None:
        """The construct path of `logical_id` in the stack whose construct path is `scope`: of those
        recorded under it, the shortest (a stack nested in it records its own ids deeper)."""
        candidates = self.paths.get(stack, {}).get(logical_id, []) if stack else []
        inside = [path for path in candidates if path.startswith(scope + "/")] if scope else candidates
        return min(inside, key=len) if inside else None


def read_assembly(
    directory: Path, reader: Reader, seen: set[Path] | None = None
) -> tuple[list[Assembly], list[ImageBuild], list[InputError], list[str]]:
    """The assemblies of `directory` and of the Stages in it, the Docker builds of their image assets,
    what could not be read, and the files read (through `reader`)."""
    seen = set() if seen is None else seen
    manifest_path = directory / MANIFEST
    shown = shown_path(manifest_path)
    if directory.resolve() in seen or len(seen) >= MAX_ASSEMBLIES:
        return [], [], [InputError(shown, "the assembly is nested too deeply or in itself: not read")], []
    seen.add(directory.resolve())
    manifest, error = _json(manifest_path, shown, reader)
    if error is not None:
        return [], [], [error], []
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        return [], [], [InputError(shown, "not a cloud assembly manifest: no artifacts")], [shown]
    assembly = Assembly(directory)
    assemblies, builds, errors, read = [assembly], [], [], [shown]
    for name, artifact in artifacts.items():
        if not isinstance(artifact, dict):
            continue
        properties = artifact.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        kind = artifact.get("type")
        if kind == "aws:cloudformation:stack" and isinstance(properties.get("templateFile"), str):
            template = directory / properties["templateFile"]
            scope = "/" + str(artifact.get("displayName") or name).strip("/")
            assembly.stacks.append(Stack(template, scope))
            paths = assembly.paths.setdefault(template.resolve(), {})
            _logical_ids(artifact.get("metadata"), paths)
            extra = artifact.get("additionalMetadataFile")
            if isinstance(extra, str):
                metadata, problem = _json(directory / extra, shown_path(directory / extra), reader)
                if problem is None:
                    _logical_ids(metadata, paths)
                    read.append(shown_path(directory / extra))
                else:
                    errors.append(problem)
        elif kind == "cdk:asset-manifest" and isinstance(properties.get("file"), str):
            assets_path = directory / properties["file"]
            assets, problem = _json(assets_path, shown_path(assets_path), reader)
            if problem is not None:
                errors.append(problem)
                continue
            read.append(shown_path(assets_path))
            _file_assets(directory, assets, assembly.files)
            found, failed = _image_assets(directory, assets, reader)
            builds += found
            errors += failed
        elif kind == "cdk:cloud-assembly" and isinstance(properties.get("directoryName"), str):
            inner = read_assembly(directory / properties["directoryName"], reader, seen)
            assemblies += inner[0]
            builds += inner[1]
            errors += inner[2]
            read += inner[3]
    read += [build.dockerfile.path for build in builds]
    return assemblies, builds, errors, read


def _json(path: Path, shown: str, reader: Reader) -> tuple[Any, InputError | None]:
    if not path.exists():
        return None, InputError(shown, "no such file (named by the cloud assembly manifest)")
    text, error = reader.read(path, shown)
    if text is None:
        return None, error
    try:
        return json.loads(text), None
    except json.JSONDecodeError as invalid:
        return None, InputError(shown, f"not valid JSON: {invalid.msg}", invalid.lineno)
    except RecursionError:
        return None, InputError(shown, "not valid JSON: nested too deeply")


def _logical_ids(metadata: Any, paths: dict[str, list[str]]) -> None:
    """`{"/Stack/Construct/Resource": [{"type": "aws:cdk:logicalId", "data": "ConstructAB12CD34"}]}`."""
    for path, entries in metadata.items() if isinstance(metadata, dict) else ():
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and entry.get("type") == "aws:cdk:logicalId":
                logical_id = entry.get("data")
                if isinstance(logical_id, str) and isinstance(path, str):
                    paths.setdefault(logical_id, []).append(path)


def _file_assets(directory: Path, assets: Any, files: dict[str, Path]) -> None:
    entries = assets.get("files") if isinstance(assets, dict) else None
    for key, asset in entries.items() if isinstance(entries, dict) else ():
        source = asset.get("source") if isinstance(asset, dict) else None
        path = source.get("path") if isinstance(source, dict) else None
        if not isinstance(path, str) or not path.endswith(".json"):
            continue  # only templates matter here (Lambda code and the like do not)
        local = directory / path
        files[str(key)] = local
        destinations = asset.get("destinations")
        for destination in destinations.values() if isinstance(destinations, dict) else ():
            if isinstance(destination, dict) and isinstance(destination.get("objectKey"), str):
                for token in _TOKEN.findall(destination["objectKey"]):  # "prefix/<hash>.json"
                    files[token] = local


def _image_assets(directory: Path, assets: Any, reader: Reader) -> tuple[list[ImageBuild], list[InputError]]:
    """The Dockerfile builds of the image assets: a container whose image is tagged with an asset's
    tag runs its build (`*:TAG`, whatever the account, region and repository)."""
    builds, errors = [], []
    images = assets.get("dockerImages") if isinstance(assets, dict) else None
    for asset in images.values() if isinstance(images, dict) else ():
        source = asset.get("source") if isinstance(asset, dict) else None
        if not isinstance(source, dict) or not isinstance(source.get("directory"), str):
            continue  # built by a command of the app's own (`executable`): nothing to read
        if source.get("dockerBuildTarget"):
            continue  # a stage other than the last is built: its instructions are not modelled
        context = directory / source["directory"]
        dockerfile = context / str(source.get("dockerFile") or "Dockerfile")
        destinations = asset.get("destinations")
        tags = {
            str(destination["imageTag"])
            for destination in (destinations.values() if isinstance(destinations, dict) else ())
            if isinstance(destination, dict) and isinstance(destination.get("imageTag"), str)
        }
        if not tags:
            continue
        found = load_dockerfile(dockerfile, tuple(sorted(f"*:{tag}" for tag in tags)), context, reader)
        if isinstance(found, InputError):
            errors.append(found)
        else:
            builds.append(found)
    return builds, errors
