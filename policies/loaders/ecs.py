"""ECS container definitions, as Terraform holds them, into model `Container`s.

Shared by the Terraform loaders: the definitions arrive as JSON-like data whose unknown parts are
`Unknown` values and whose objects may remember their lines (`Obj.where`). Keys are matched without
regard to case (terraform-aws-modules writes `entrypoint`). Reference:
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
"""

from __future__ import annotations

import re
from typing import Any

from policies.loaders.terraform.values import HOLE, Obj, Unknown, number_text, where_of
from policies.model import UNKNOWN_PART, Container, Location, Setting

_HOLES = re.compile(f"{HOLE}\\d+{HOLE}")


def _text(value: Any) -> str | Unknown:
    """A definition value as a string; partly unknown strings keep their known parts."""
    if isinstance(value, Unknown):
        if value.partial is not None:
            return _HOLES.sub(UNKNOWN_PART, str(value.partial))
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    if isinstance(value, str):
        return value
    return Unknown(f"expected a string, found {type(value).__name__}")


def _field(container: dict[str, Any], name: str) -> tuple[str | None, Any]:
    for key, value in container.items():
        if key.lower() == name.lower():
            return key, value
    return None, None


def _where(mapping: Any, key: str | None, fallback: Location) -> Location:
    if key is not None and isinstance(mapping, Obj) and key in mapping.where:
        return mapping.where[key]
    return fallback


def _string_setting(value: Any, location: Location, what: str) -> Setting[str]:
    """A string value, located where it was written (a module argument, a tfvars line) when known."""
    location = where_of(value) or location
    text = _text(value)
    if isinstance(text, Unknown):
        return Setting.unknown(location, f"{what}: {text.reason}")
    return Setting(text, location)


def _argv(container: dict[str, Any], name: str, here: Location) -> Setting[tuple[str, ...]] | None:
    key, value = _field(container, name)
    if key is None or value is None:
        return None
    location = where_of(value) or _where(container, key, here)
    if isinstance(value, Unknown):
        return Setting.unknown(location, f"{name}: {value.reason}")
    if not isinstance(value, list):
        return Setting.unknown(location, f"{name} must be a list of strings, found {type(value).__name__}")
    parts = [_text(item) for item in value]
    unknown = [part for part in parts if isinstance(part, Unknown)]
    if unknown and len(unknown) == len(parts):
        return Setting.unknown(location, f"{name}: {unknown[0].reason}")
    texts = tuple(UNKNOWN_PART if isinstance(part, Unknown) else part for part in parts)
    reasons = "; ".join(dict.fromkeys(part.reason for part in unknown))
    return Setting(texts, location, note=reasons, parts=tuple(where_of(item) for item in value))


def _pairs(container: dict[str, Any], here: Location) -> tuple[tuple[str, Setting[str]], ...]:
    """`environment` entries, plus `secrets` (whose values are never visible in the code)."""
    pairs: list[tuple[str, Setting[str]]] = []
    for field, value_key in (("environment", "value"), ("secrets", "valueFrom")):
        key, entries = _field(container, field)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            _, name = _field(entry, "name")
            if not isinstance(name, str):
                continue
            value_field, value = _field(entry, value_key)
            location = _where(entry, value_field or "name", _where(container, key, here))
            if field == "secrets":
                pairs.append((name, Setting.unknown(location, f"{name} comes from a secret ({value})")))
            else:
                pairs.append((name, _string_setting(value, location, name)))
    return tuple(pairs)


def _labels(container: dict[str, Any], here: Location) -> tuple[tuple[str, Setting[str]], ...]:
    key, labels = _field(container, "dockerLabels")
    if not isinstance(labels, dict):
        return ()
    fallback = _where(container, key, here)
    return tuple(
        (name, _string_setting(value, _where(labels, name, fallback), name)) for name, value in labels.items()
    )


def _hidden_environment(container: dict[str, Any]) -> tuple[str, ...]:
    """Where variables may be set that `environment` and `secrets` do not list: environment files, or
    a list, an entry or a name that cannot be evaluated or is not of the shape ECS takes (a list of
    {name, value} objects): the variables it was meant to set are unknown, never taken as unset."""
    hidden = []
    for field, value_key in (("environment", "value"), ("secrets", "valueFrom")):
        _, entries = _field(container, field)
        if entries is not None and not isinstance(entries, list):
            hidden.append(f"{field}, which {_odd(entries, f'a list of {{name, {value_key}}} objects')}")
        for position, entry in enumerate(entries if isinstance(entries, list) else []):
            name = _field(entry, "name")[1] if isinstance(entry, dict) else None
            if entry is not None and not isinstance(entry, dict):  # (null sets nothing)
                shape = f"a {{name, {value_key}}} object"
                hidden.append(f"{field}, whose entry #{position} {_odd(entry, shape)}")
            elif name is not None and not isinstance(name, str):
                hidden.append(f"{field}, whose entry #{position} has a name that {_odd(name, 'a string')}")
    _, files = _field(container, "environmentFiles")
    if isinstance(files, Unknown):
        hidden.append(f"environmentFiles, which cannot be evaluated ({files.reason})")
    for entry in files if isinstance(files, list) else []:
        value = _field(entry, "value")[1] if isinstance(entry, dict) else None
        hidden.append(f"the environment file {value if isinstance(value, str) else '(unknown)'}")
    return tuple(hidden)


def _odd(value: Any, expected: str) -> str:
    """Why `value` is not what ECS takes: "cannot be evaluated (why)", or "is a map, not <expected>"."""
    if isinstance(value, Unknown):
        return f"cannot be evaluated ({value.reason})"
    kind = (
        "a map"
        if isinstance(value, dict)
        else "a list"
        if isinstance(value, list)
        else "a string"
        if isinstance(value, str)
        else "a boolean"
        if isinstance(value, bool)
        else "a number"
    )
    return f"is {kind}, not {expected}"


def _working_directory(container: dict[str, Any], here: Location) -> Setting[str] | None:
    key, value = _field(container, "workingDirectory")
    if key is None or value is None:
        return None
    return _string_setting(value, _where(container, key, here), "workingDirectory")


def read_containers(definitions: Any, fallback: Location) -> tuple[tuple[Container, ...] | None, str]:
    """Containers of a task definition, or (None, why) when the definitions are not readable."""
    if isinstance(definitions, Unknown):
        return None, definitions.reason
    if isinstance(definitions, dict):
        definitions = [definitions]  # a single definition object is a common slip; ECS would reject it
    if not isinstance(definitions, list):
        return None, "container_definitions is not a JSON list"
    containers = []
    for index, container in enumerate(definitions):
        if not isinstance(container, dict):
            continue
        name_key, name = _field(container, "name")
        here = _where(container, name_key, fallback)
        if not isinstance(name, str):
            name = f"#{index}" if name is None else f"#{index} (name unknown)"
        image_key, image = _field(container, "image")
        image_setting = (
            _string_setting(image, _where(container, image_key, here), "image")
            if image_key is not None
            else Setting.unknown(here, "no image")
        )
        containers.append(
            Container(
                name=name,
                location=here,
                image=image_setting,
                entry_point=_argv(container, "entryPoint", here),
                command=_argv(container, "command", here),
                environment=_pairs(container, here),
                docker_labels=_labels(container, here),
                hidden_environment=_hidden_environment(container),
                image_refs=image.refs if isinstance(image, Unknown) else frozenset(),
                working_directory=_working_directory(container, here),
            )
        )
    return tuple(containers), ""
