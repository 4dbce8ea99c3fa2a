"""The Terraform plan JSON loader: `terraform show -json tfplan` output in, model `Inventory` out.

A plan is recognised by its content, whatever the file is called: an object with `format_version` and
`planned_values` or `resource_changes`; `terraform show -json` of a state (`values.root_module`, what is
deployed: for drift audits) is read the same way, every value known. The resources are those of
`planned_values` (or, without it, `resource_changes[].change.after`; or a state's `values`), in the root
module and nested `child_modules`; resources the plan only deletes are left out. They are read by the
same readers as HCL (`policies.loaders.terraform.resources`), through `PlanResource`.

What the plan knows is taken as known; what it lists in `after_unknown` is known only after apply. A
known ARN links by literal; an unknown one links through the `configuration` expression's
`references`, followed across module boundaries (`var.x` to the calling module's argument,
`module.x.out` to the called module's output, `module.x.out["k"]` to its instance of key `k`). An
index the references do not record (`tg[each.value.tg]`, `tg[count.index + 1]`) leaves the instance
unknown; only `tg[each.key]` (references exactly the resource and `each.key`) is the instance of the
same key. References the plan cannot follow (`local.x`, `module.y[each.key]`: locals and module
instances indexed by expression are not in it) leave the link unknown. Where the configuration gives
nothing to follow at all (the expressions of `dynamic` blocks are left out of it), the link is matched
by what the plan does know, only when that designates exactly one resource (`_Plan.fallback`);
otherwise it stays unknown (KA002) with what would make it known. Format versions 0.1 (Terraform 0.12-0.14) to
1.2 are read alike. A plan next to the `.tf` files of its root module stands for them (see
`policies.loaders`). Locations are the plan's lines, or, with `--repo-root`, the `.tf` lines of the
blocks and attributes the plan was made from (`policies.loaders.plan_config`), the notes of values then
naming the plan. A field of the wrong type is one input error naming the plan and the field's JSON path
(`planned_values.root_module.resources[2].values is a string, expected an object`), and the rest of the
plan is read without it (`_Check`). Format reference:
https://developer.hashicorp.com/terraform/internals/json-format
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from policies.loaders import repo_root_error
from policies.loaders.plan_config import (
    Configuration,
    encoded_shape,
    member,
    references,
    relocate,
)
from policies.loaders.reading import ANYWHERE, Reader
from policies.loaders.terraform.config import Block
from policies.loaders.terraform.resources import DATA_READERS, READERS, Collected
from policies.loaders.terraform.values import Encoded, EvalError, NeedKnown, Unknown
from policies.model import InputError, Inventory, Link, Location, Opaque, ResourceId, Setting, shown_path

T = TypeVar("T")

# References followed through module variables and outputs before giving up (a cycle guard).
MAX_DEPTH = 32

_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_INDEX = r"(\[[^\]]*\])?"
_VAR = re.compile(rf"^var\.({_NAME})")
_LOCAL = re.compile(rf"^local\.({_NAME})")
_MODULE_OUTPUT = re.compile(rf"^module\.({_NAME}){_INDEX}\.({_NAME}){_INDEX}")
_DATA = re.compile(rf"^data\.({_NAME})\.({_NAME}){_INDEX}")
_RESOURCE = re.compile(rf"^({_NAME})\.({_NAME}){_INDEX}")
_MODULE_STEP = re.compile(rf"module\.({_NAME}){_INDEX}")
_ADDRESS = re.compile(r'"address"\s*:\s*("(?:[^"\\]|\\.)*")')
# Reference prefixes that are not resources.
_NOT_RESOURCES = frozenset({"var", "local", "module", "data", "each", "count", "path", "self", "terraform"})

# What an attribute known only after apply can designate, for the fallback of `_Plan.fallback`.
_TARGET_GROUPS = frozenset({"aws_lb_target_group", "aws_alb_target_group"})
_LISTENER_TYPES = frozenset(
    {"aws_lb_listener", "aws_alb_listener", "aws_lb_listener_rule", "aws_alb_listener_rule"}
)
_FALLBACK_TARGETS: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    **{(listener, "target_group_arn"): (_TARGET_GROUPS, "target group") for listener in _LISTENER_TYPES},
    **{(listener, "arn"): (_TARGET_GROUPS, "target group") for listener in _LISTENER_TYPES},
    ("aws_ecs_service", "target_group_arn"): (_TARGET_GROUPS, "target group"),
    ("aws_ecs_service", "task_definition"): (frozenset({"aws_ecs_task_definition"}), "task definition"),
}
FOLLOW_LOCALS = (
    "scan the plan next to the .tf files it was made from, after `terraform init` (or name that "
    "directory with --repo-root DIR), so that locals are followed through the modules' sources"
)
SCAN_CONFIGURATION = (
    "scan the Terraform configuration the plan was made from (after `terraform init`), where dynamic "
    "blocks and locals are evaluated, or set the attribute from a resource reference or a known ARN"
)


def _claims_plan(text: str) -> bool:
    keys = ('"planned_values"', '"resource_changes"', '"values"')
    return '"format_version"' in text and any(key in text for key in keys)


def _kind(document: Any) -> str | None:
    """None for a plan; otherwise what the document is instead."""
    if not isinstance(document, dict):
        return "not a Terraform plan (terraform show -json): the JSON is not an object"
    if "format_version" in document and ("planned_values" in document or "resource_changes" in document):
        return None
    if "format_version" in document and "root_module" in _dict(document.get("values")):
        return None  # `terraform show -json` of a state: what is deployed, for drift audits
    empty = (
        set(document) <= {"format_version", "terraform_version", "values"} and document.get("values") is None
    )
    if "format_version" in document and empty:
        return None  # `terraform show -json` of an empty state (no `values`, or null): nothing deployed
    return "not a Terraform plan or state (terraform show -json): no format_version and planned_values"


def read_plan(
    path: Path, explicit: bool, reader: Reader = ANYWHERE
) -> tuple[str, dict[str, Any]] | InputError | None:
    """The plan's text and document, read through `reader`; an InputError when it cannot be read or
    (named on the command line) is not a plan; None for JSON found in a directory that is not a plan."""
    shown = shown_path(path)
    text, error = reader.read(path, shown)
    if text is None:
        return error or InputError(shown, "cannot read")
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as invalid:
        if not explicit and not _claims_plan(text):
            return None
        reason = invalid.msg if isinstance(invalid, json.JSONDecodeError) else "nested too deeply"
        line = invalid.lineno if isinstance(invalid, json.JSONDecodeError) else None
        truncated = " (a truncated plan?)" if _claims_plan(text) else ""
        return InputError(shown, f"not valid JSON: {reason}{truncated}", line)
    kind = _kind(document)
    if kind is not None:
        return InputError(shown, kind) if explicit else None
    return text, document


# --- addresses -------------------------------------------------------------------------------------


def _key_text(key: Any) -> str:
    return f"[{json.dumps(key)}]"


def _parse_key(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text[1:-1])
    except json.JSONDecodeError:
        return None


def _module_steps(module: str) -> list[tuple[str, str]]:
    """`module.a["x"].module.b` → [("a", '["x"]'), ("b", "")]."""
    return [(match.group(1), match.group(2) or "") for match in _MODULE_STEP.finditer(module)]


def _qualify(module: str, local: str) -> str:
    return f"{module}.{local}" if module else local


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- fields of the wrong type ----------------------------------------------------------------------
#
# Every field of the plan the loader reads is checked for its JSON type once, before anything reads it
# (`_Check`), except the nested blocks of planned values, whose place depends on the resource type
# (`PlanResource.blocks`). A field of the wrong type is one InputError naming the plan and the field's
# JSON path, and is dropped so that the rest of the loader reads only the types Terraform writes: an
# entry of a list or of a map (a resource, a resource change, a module, a module call, an output) with
# a field of the wrong type is skipped whole (replaced by null in a list, which the readers skip, so
# that the other entries keep their places and their paths); an expression of the wrong type records
# nothing; a reference or action that is not a string is left out; a flag of after_unknown is taken
# as known; a field of the document is removed. Fields Terraform omits when empty (`omitempty` in
# internal/command/jsonplan and jsonconfig) may be absent or null.

OBJECT, LIST, STRING, NUMBER, BOOLEAN = "an object", "a list", "a string", "a number", "a boolean"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


# The types `json.loads` decodes to, as messages name them.
_TYPES = {
    dict: OBJECT,
    list: LIST,
    str: STRING,
    int: NUMBER,
    float: NUMBER,
    bool: BOOLEAN,
    type(None): "null",
}


def _type(value: Any) -> str:
    return _TYPES.get(type(value), OBJECT)


def _step(where: str, key: str) -> str:
    """The JSON path of member `key` of the object at `where`: `a.b`, or `a["b c"]`."""
    if _IDENTIFIER.fullmatch(key):
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key)}]"


def _blocks(value: Any) -> bool:
    """A non-empty list of objects: the expressions of nested blocks."""
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


@dataclass
class _Check:
    """The type check of one plan's document (see above); errors go to the plan."""

    plan: _Plan

    def field(
        self, holder: dict[str, Any], key: str, where: str, kinds: tuple[str, ...], required: bool = False
    ) -> bool:
        """Whether `holder[key]` is of one of `kinds`, or, when not `required`, absent or null; when not,
        it is reported and removed."""
        value = holder.get(key)
        if _type(value) in kinds or (value is None and not required):
            return True
        self.plan.wrong(_step(where, key), value, kinds, missing=key not in holder)
        holder.pop(key, None)
        return False

    def entries(
        self, holder: dict[str, Any], key: str, where: str, entry: Callable[[dict[str, Any], str], bool]
    ) -> None:
        """`holder[key]`, a list of objects, absent or null when empty: an entry that is not an object, or
        that `entry` finds a wrong field in, is replaced by null."""
        if not self.field(holder, key, where, (LIST,)):
            return
        items = holder.get(key) or []
        for index, item in enumerate(items):
            at = f"{_step(where, key)}[{index}]"
            if not isinstance(item, dict):
                self.plan.wrong(at, item, (OBJECT,))
                items[index] = None
            elif not entry(item, at):
                items[index] = None

    def members(
        self, holder: dict[str, Any], key: str, where: str, member: Callable[[dict[str, Any], str], bool]
    ) -> None:
        """`holder[key]`, an object of objects, absent or null when empty: a member that is not an
        object, or that `member` finds a wrong field in, is removed."""
        if not self.field(holder, key, where, (OBJECT,)):
            return
        items = holder.get(key) or {}
        for name, item in list(items.items()):
            at = _step(_step(where, key), name)
            if not isinstance(item, dict):
                self.plan.wrong(at, item, (OBJECT,))
                del items[name]
            elif not member(item, at):
                del items[name]

    def strings(self, holder: dict[str, Any], key: str, where: str) -> bool:
        """`holder[key]`, a list of strings, absent or null when empty; an item that is not a string is
        reported and removed."""
        if not self.field(holder, key, where, (LIST,)):
            return False
        items = holder.get(key) or []
        if not all(isinstance(item, str) for item in items):
            for index, item in enumerate(items):
                if not isinstance(item, str):
                    self.plan.wrong(f"{_step(where, key)}[{index}]", item, (STRING,))
            holder[key] = [item for item in items if isinstance(item, str)]
        return True

    # --- the plan (or state) ---------------------------------------------------------------------

    def document(self, document: dict[str, Any]) -> None:
        self.field(document, "format_version", "", (STRING,), required=True)
        for key in ("planned_values", "values"):  # a plan's planned values, a state's values
            if self.field(document, key, "", (OBJECT,)) and isinstance(document.get(key), dict):
                values = document[key]
                if self.field(values, "root_module", key, (OBJECT,), required=True):
                    self.module(values["root_module"], f"{key}.root_module", root=True)
        self.entries(document, "resource_changes", "", self.change)
        if self.field(document, "configuration", "", (OBJECT,)) and isinstance(
            document.get("configuration"), dict
        ):
            configuration = document["configuration"]
            if self.field(configuration, "root_module", "configuration", (OBJECT,), required=True):
                self.configured_module(configuration["root_module"], "configuration.root_module")

    def module(self, module: dict[str, Any], where: str, root: bool = False) -> bool:
        """A module of planned values (or a state's values), with its resources and child modules."""
        address = self.field(module, "address", where, (STRING,), required=not root)
        self.entries(module, "resources", where, self.resource)
        self.entries(module, "child_modules", where, self.module)
        return address

    def resource(self, resource: dict[str, Any], where: str) -> bool:
        return all(
            [
                self.field(resource, "address", where, (STRING,), required=True),
                self.field(resource, "mode", where, (STRING,)),
                self.field(resource, "type", where, (STRING,), required=True),
                self.field(resource, "name", where, (STRING,), required=True),
                self.field(resource, "index", where, (NUMBER, STRING)),
                self.field(resource, "values", where, (OBJECT,)),
            ]
        )

    def change(self, entry: dict[str, Any], where: str) -> bool:
        fields = [
            self.field(entry, "address", where, (STRING,), required=True),
            self.field(entry, "module_address", where, (STRING,)),
            self.field(entry, "mode", where, (STRING,)),
            self.field(entry, "type", where, (STRING,), required=True),
            self.field(entry, "name", where, (STRING,), required=True),
            self.field(entry, "index", where, (NUMBER, STRING)),
            self.field(entry, "change", where, (OBJECT,), required=True),
        ]
        change = entry.get("change")
        if isinstance(change, dict):
            at = f"{where}.change"
            fields += [
                self.strings(change, "actions", at),
                self.field(change, "after", at, (OBJECT,)),  # null: deleted, or forgotten
                self.field(change, "after_unknown", at, (OBJECT, BOOLEAN)),  # true: all of it
            ]
            if isinstance(change.get("after_unknown"), dict):
                self.unknown(change["after_unknown"], f"{at}.after_unknown")
        return all(fields)

    def unknown(self, value: dict[str, Any] | list[Any], where: str) -> None:
        """after_unknown: true where a value is known only after apply, false (or left out) where it is
        known, in objects and lists nested as the values are; anything else is reported and taken as
        known (false)."""
        items: Iterable[tuple[Any, Any]] = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if item is True or item is False or item is None:
                continue
            at = _step(where, key) if isinstance(key, str) else f"{where}[{key}]"
            if isinstance(item, (dict, list)):
                self.unknown(item, at)
            else:
                self.plan.wrong(at, item, (BOOLEAN, OBJECT, LIST))
                value[key] = False  # in place: the object keeps its keys while it is walked

    # --- the configuration -----------------------------------------------------------------------

    def configured_module(self, module: dict[str, Any], where: str) -> bool:
        self.entries(module, "resources", where, self.configured_resource)
        self.members(module, "module_calls", where, self.call)
        self.members(module, "outputs", where, self.output)
        return True

    def configured_resource(self, resource: dict[str, Any], where: str) -> bool:
        fields = [
            self.field(resource, "mode", where, (STRING,)),
            self.field(resource, "type", where, (STRING,), required=True),
            self.field(resource, "name", where, (STRING,), required=True),
            self.field(resource, "expressions", where, (OBJECT,)),
        ]
        if isinstance(resource.get("expressions"), dict):
            self.expressions(resource["expressions"], f"{where}.expressions")
        return all(fields)

    def call(self, call: dict[str, Any], where: str) -> bool:
        fields = [
            self.field(call, "source", where, (STRING,)),
            self.field(call, "expressions", where, (OBJECT,)),
            self.field(call, "module", where, (OBJECT,), required=True),
        ]
        if isinstance(call.get("expressions"), dict):
            self.expressions(call["expressions"], f"{where}.expressions")
        if isinstance(call.get("module"), dict):
            self.configured_module(call["module"], f"{where}.module")
        return all(fields)

    def output(self, output: dict[str, Any], where: str) -> bool:
        ok = self.field(output, "expression", where, (OBJECT,), required=True)
        if isinstance(output.get("expression"), dict):
            self.expressions(output["expression"], f"{where}.expression")
        return ok

    def expressions(self, expressions: dict[str, Any], where: str) -> None:
        """An expression (`references`, a list of strings; `constant_value`, any value), or the
        expressions of a block: an object whose members are those of its arguments and of its nested
        blocks (an object, or a list or map of objects, as the block nests). A member of the wrong type
        is taken as an expression that records nothing (`{}`): the argument is still set."""
        for name, item in list(expressions.items()):
            if name == "constant_value":
                continue
            if name == "references" and not isinstance(item, dict) and not _blocks(item):
                self.strings(expressions, name, where)
            elif isinstance(item, dict):
                self.expressions(item, _step(where, name))
            elif isinstance(item, list):
                self.entries(expressions, name, where, self.block)
            else:
                self.plan.wrong(_step(where, name), item, (OBJECT, LIST))
                expressions[name] = {}

    def block(self, expressions: dict[str, Any], where: str) -> bool:
        self.expressions(expressions, where)
        return True


@dataclass(frozen=True)
class _Scope:
    """One module instance: its address, its configuration, and how its caller called it."""

    module: str  # "" for the root, else e.g. module.api["a"]
    config: dict[str, Any]
    parent: _Scope | None = None
    call: str = ""

    @property
    def key(self) -> Any:
        steps = _module_steps(self.module)
        return _parse_key(steps[-1][1]) if steps else None


@dataclass
class _Resolved:
    """Where references lead: resource addresses, and why what they designate is not known, if so."""

    found: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    # references met on the way that lead nowhere the plan shows: a local (with where it is written,
    # when the .tf files were read) or a whole module
    unfollowed: dict[str, Location | None] = field(default_factory=dict)

    def __ior__(self, other: _Resolved) -> _Resolved:
        self.found |= other.found
        self.unknown += [reason for reason in other.unknown if reason not in self.unknown]
        self.unfollowed.update(other.unfollowed)
        return self


@dataclass
class _Plan:
    """One plan file: its text (for lines), its configuration, and the indexes linking needs."""

    path: str
    text: str
    document: dict[str, Any]
    errors: list[InputError] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)  # JSON paths of the fields reported of the wrong type
    lines: dict[str, int] = field(default_factory=dict)  # resource address → line
    by_literal: dict[str, str] = field(default_factory=dict)  # known ARN or id → resource address
    addresses: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)
    records: list[_Record] = field(default_factory=list)
    by_kind: dict[tuple[str, str], list[_Record]] = field(default_factory=dict)  # (module, type) → records
    by_type: dict[str, list[_Record]] = field(default_factory=dict)
    by_address: dict[str, _Record] = field(default_factory=dict)
    instances: dict[str, set[str]] = field(default_factory=dict)  # resource address → its instances
    source: Configuration | None = None  # the .tf files the plan was made from (--repo-root)
    followed_locals: dict[tuple[str, str], _Resolved] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The first "address" of a resource is in planned_values, which comes before resource_changes.
        line, counted = 1, 0
        for match in _ADDRESS.finditer(self.text):
            line += self.text.count("\n", counted, match.start())
            counted = match.start()
            address = json.loads(match.group(1))
            if isinstance(address, str) and address not in self.lines:
                self.lines[address] = line

    def location(self, address: str) -> Location:
        return Location(self.path, self.lines.get(address))

    def wrong(self, where: str, value: Any, kinds: tuple[str, ...], missing: bool = False) -> None:
        """Report the field at JSON path `where`, `missing` or with `value` not of one of `kinds`; once."""
        if where in self.reported:
            return
        self.reported.add(where)
        expected = " or ".join([", ".join(kinds[:-1]), kinds[-1]] if len(kinds) > 1 else kinds)
        found = "missing" if missing else _type(value)
        self.errors.append(InputError(self.path, f"{where} is {found}, expected {expected}"))

    def block(self, record: _Record) -> Block | None:
        """The `.tf` block a planned resource is written in, when --repo-root gives the configuration."""
        if self.source is None:
            return None
        calls = [call for call, _ in _module_steps(record.module)]
        return self.source.block(calls, record.mode, record.type, record.name)

    def root(self) -> _Scope:
        configuration = _dict(self.document.get("configuration"))
        return _Scope("", _dict(configuration.get("root_module")))

    def scope(self, module: str) -> _Scope:
        scope = self.root()
        for call, key in _module_steps(module):
            calls = _dict(scope.config.get("module_calls"))
            config = _dict(_dict(calls.get(call)).get("module"))
            scope = _Scope(_qualify(scope.module, f"module.{call}{key}"), config, scope, call)
        return scope

    # --- references ---------------------------------------------------------------------------------

    def resolve(self, references: Sequence[str], scope: _Scope, key: Any, depth: int = 0) -> _Resolved:
        """Resource addresses that the expression `references` of a resource in `scope` (instance `key`)
        lead to, following module variables and outputs; with why the instance it designates is unknown,
        when it indexes a resource of several instances by something the plan does not record."""
        resolved = _Resolved()
        if depth > MAX_DEPTH:
            return resolved
        keys = [reference for reference in references if reference.split(".")[0] in ("each", "count")]
        indexed: dict[str, set[str]] = {}  # resource address → the instance suffixes referred to
        outputs: dict[tuple[str, str, str], set[str]] = {}  # module output → the indexes taken of it
        # Terraform lists every prefix of a traversal: `local.a` beside `local.a.b` says nothing more
        deepest = [
            reference
            for reference in references
            if not any(other.startswith((reference + ".", reference + "[")) for other in references)
        ]
        for reference in deepest:
            if match := _VAR.match(reference):
                resolved |= self._variable(match.group(1), scope, depth)
            elif match := _LOCAL.match(reference):
                resolved |= self._local(match.group(1), reference[match.end() :], scope, depth)
            elif _MODULE_STEP.fullmatch(reference):
                resolved.unfollowed[reference] = None  # a whole module object: module.svc[each.key]
            elif match := _MODULE_OUTPUT.match(reference):
                output = (match.group(1), match.group(2) or "", match.group(3))
                outputs.setdefault(output, set()).add(match.group(4) or "")
            elif match := _DATA.match(reference):
                base = _qualify(scope.module, f"data.{match.group(1)}.{match.group(2)}")
                indexed.setdefault(base, set()).add(match.group(3) or "")
            elif (match := _RESOURCE.match(reference)) and match.group(1) not in _NOT_RESOURCES:
                base = _qualify(scope.module, f"{match.group(1)}.{match.group(2)}")
                indexed.setdefault(base, set()).add(match.group(3) or "")
        for (call, call_key, name), indexes in outputs.items():
            for index in {index for index in indexes if index} or indexes:
                resolved |= self._output(call, call_key or None, name, index, scope, depth)
        for base, suffixes in indexed.items():
            specific = {suffix for suffix in suffixes if suffix} or suffixes
            for suffix in specific:
                if suffix or not keys or not self.instances.get(base):
                    resolved.found.add(base + suffix)
                    continue
                # base[<expression of each/count>]: which instance, the references alone do not tell
                instance = f"{base}{_key_text(key)}"
                if keys == ["each.key"] and isinstance(key, str) and instance in self.addresses:
                    resolved.found.add(instance)  # aws_lb_target_group.app[each.key]
                else:
                    resolved.unknown.append(
                        f"which instance of {base} it designates is unknown: the index is "
                        f"{' and '.join(keys)} in an expression the plan does not record"
                    )
        return resolved

    def _variable(self, name: str, scope: _Scope, depth: int) -> _Resolved:
        if scope.parent is None:
            return _Resolved()
        call = _dict(_dict(scope.parent.config.get("module_calls")).get(scope.call))
        expression = _dict(_dict(call.get("expressions")).get(name))
        references = [str(item) for item in _list(expression.get("references"))]
        return self.resolve(references, scope.parent, scope.key, depth + 1)

    def _local(self, name: str, traversal: str, scope: _Scope, depth: int) -> _Resolved:
        """Where local `name` (and the `traversal` after it: `.a`, `["b"]`) leads, through its
        expression in the `.tf` files the plan was made from; into the member of an object or tuple
        written out there (`tgs = { a = aws_lb_target_group.a.arn }`) as far as the traversal goes."""
        reference = f"local.{name}{traversal}"
        attribute = None
        if self.source is not None:
            attribute = self.source.local([call for call, _ in _module_steps(scope.module)], name)
        if attribute is None:
            return _Resolved(unfollowed={reference: None})
        memo = (scope.module, reference)
        if memo in self.followed_locals:
            return self.followed_locals[memo]  # a cycle of locals leads nowhere more
        self.followed_locals[memo] = _Resolved()
        node = member(attribute.node, _steps(traversal))
        resolved = self.resolve(references(node), scope, None, depth + 1)
        if not resolved.found and not resolved.unknown:
            # nowhere: said of this local, unless what stops it is something the plan does not show
            unread: dict[str, Location | None] = {
                item: where for item, where in resolved.unfollowed.items() if where is None
            }
            nowhere: dict[str, Location | None] = {reference: attribute.location}
            resolved = _Resolved(unfollowed=unread or nowhere)
        self.followed_locals[memo] = resolved
        return resolved

    def _output(
        self, call: str, key: str | None, output: str, index: str, scope: _Scope, depth: int
    ) -> _Resolved:
        """What output `output` of the module call `call` (instance `key`) leads to; with the caller's
        `index` into it (`module.alb.target_groups["app"]`), the instance of that key of what it lists."""
        base = _qualify(scope.module, f"module.{call}")
        instances = sorted(
            module
            for module in self.modules
            if (module == base + key if key else re.fullmatch(re.escape(base) + r"(\[[^\]]*\])?", module))
        ) or [base + (key or "")]
        resolved = _Resolved()
        for module in instances:
            child = self.scope(module)
            expression = _dict(_dict(_dict(child.config.get("outputs")).get(output)).get("expression"))
            references = [str(item) for item in _list(expression.get("references"))]
            resolved |= self.resolve(references, child, None, depth + 1)
        if not index or not resolved.found:
            return resolved
        narrowed = {address + index for address in resolved.found if address + index in self.addresses}
        if narrowed and len(narrowed) == len(resolved.found):
            return _Resolved(narrowed, resolved.unknown)
        if len(resolved.found) == 1 and not any(self.instances.get(address) for address in resolved.found):
            return resolved  # an object of attributes, or a map of one resource
        shown = ", ".join(sorted(resolved.found))
        reason = f"which of {shown} the key {index} of output {output} of {base} designates is unknown"
        return _Resolved(set(), [*resolved.unknown, reason])

    # --- what the configuration does not record -------------------------------------------------

    def fallback(self, holder: PlanResource, name: str, why: str) -> Link:
        """The link of an attribute known only after apply whose configuration records no reference
        (`why`: a `dynamic` block, whose expressions the plan leaves out).
        It is matched by what the plan does know, only when that designates exactly one resource: the
        one resource of the kind in the module instance or passed to it by the module call's
        arguments (whose references the plan records: `load_balancer = { tg = module.alb.target_groups
        ["app"].arn }`); for a listener's forward, the one target group of the module whose key the
        call's constant argument for the listener names; for an ECS service's load_balancer block, the
        one target group with its container_port among those (or, when there are none, in the plan).
        Otherwise the link stays empty, with a note saying why and what would make it known."""
        note = f"{name} is known only after apply and {why}"
        target = _FALLBACK_TARGETS.get((holder.resource_type, name))
        if target is None:
            return Link(location=holder.at(name), note=note, fix=SCAN_CONFIGURATION)
        types, kind = target
        module = holder.scope.module
        where = module or "the root module"
        local = [record for type_ in sorted(types) for record in self.by_kind.get((module, type_), ())]
        passed, arguments = self._passed(holder, types)
        pool = local + [record for record in passed if record not in local]
        among = f"{where} has {len(local)} {kind}s"
        if passed:
            among = f"{len(pool)} {kind}s are in {where} or passed to it ({', '.join(arguments)})"
        if len(pool) == 1:
            reason = f"the only {kind} in {where}"
            if passed:
                reason = f"the only {kind} the call of {module} passes it ({', '.join(arguments)})"
            return self._matched(holder, name, pool[0], note, reason)
        if types is _TARGET_GROUPS and holder.resource_type in _LISTENER_TYPES:
            named = self._named_by_call(holder, local)
            if len(named) == 1:
                record, argument = named[0]
                return self._matched(holder, name, record, note, f"the {kind} {argument} names")
        port = holder.values.get("container_port")
        shortlist = pool
        if not pool:
            shortlist = [record for type_ in sorted(types) for record in self.by_type.get(type_, ())]
            among = f"the plan has {len(shortlist)} {kind}s" if shortlist else f"the plan has no {kind}"
        if (
            shortlist
            and types is _TARGET_GROUPS
            and holder.resource_type == "aws_ecs_service"
            and isinstance(port, int)
        ):
            # The target group that serves the container's port
            by_port = [
                record
                for record in shortlist
                if record.values.get("port") == port and record.values.get("target_type") != "lambda"
            ]
            within = "among those" if pool else "in the plan"
            if len(by_port) == 1:
                reason = f"the only {kind} {within} with port {port}"
                if pool:
                    reason = f"the only {kind} with port {port} among those in {where} or passed to it"
                return self._matched(holder, name, by_port[0], note, reason)
            if by_port:
                shortlist = by_port
                among += f", {len(by_port)} with port {port}"
        if shortlist:
            shown = ", ".join(record.address for record in shortlist[:5])
            among += f" ({shown}{', ...' if len(shortlist) > 5 else ''})"
        return Link(
            location=holder.at(name),
            note=f"{note}, and nothing in the plan tells which: {among}",
            fix=SCAN_CONFIGURATION,
        )

    def _passed(self, holder: PlanResource, types: frozenset[str]) -> tuple[list[_Record], list[str]]:
        """Resources of `types` that the arguments of the call of the holder's module refer to, and
        those arguments."""
        scope = holder.scope
        if scope.parent is None:
            return [], []
        call = _dict(_dict(scope.parent.config.get("module_calls")).get(scope.call))
        records: list[_Record] = []
        arguments: list[str] = []
        for argument, expression in sorted(_dict(call.get("expressions")).items()):
            references = [str(item) for item in _list(_dict(expression).get("references"))]
            found = self.resolve(references, scope.parent, scope.key).found if references else set()
            chosen = [
                record
                for address in sorted(found)
                if (record := self.by_address.get(address)) is not None
                and record.mode == "managed"
                and record.type in types
            ]
            if chosen:
                arguments.append(argument)
                records += [record for record in chosen if record not in records]
        return records, arguments

    def _matched(self, holder: PlanResource, name: str, record: _Record, note: str, reason: str) -> Link:
        """The link to `record`, the one resource that `reason` says the attribute designates."""
        inferred = f"{name} of {holder.address} is taken to be {record.address}, {reason}"
        return Link(
            frozenset({record.address}), location=holder.at(name), note=f"{note}: {reason}", inferred=inferred
        )

    def _named_by_call(self, holder: PlanResource, local: list[_Record]) -> list[tuple[_Record, str]]:
        """Target groups of the listener's module whose for_each key is a string in the calling module's
        constant argument entry for the listener's own key (terraform-aws-modules/alb:
        `listeners = { http = { forward = { target_group_key = "app" } } }`), with that argument."""
        scope = holder.scope
        if scope.parent is None or not isinstance(holder.key, str):
            return []
        keyed = {record.key: record for record in local if isinstance(record.key, str)}
        call = _dict(_dict(scope.parent.config.get("module_calls")).get(scope.call))
        found: dict[str, tuple[_Record, str]] = {}
        for argument, expression in sorted(_dict(call.get("expressions")).items()):
            is_constant, constant = _constant(expression)
            if is_constant and isinstance(constant, dict) and holder.key in constant:
                for text in _strings(constant[holder.key]):
                    if text in keyed:
                        entry = f"{argument}[{json.dumps(holder.key)}] of the call of {scope.module}"
                        found.setdefault(keyed[text].address, (keyed[text], entry))
        return list(found.values())


_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+|"(?:[^"\\]|\\.)*")\]')


def _steps(traversal: str) -> list[str | int]:
    """`.a["b"][0]` → ["a", "b", 0]; stops at anything else."""
    steps: list[str | int] = []
    position = 0
    while match := _STEP.match(traversal, position):
        name, index = match.groups()
        steps.append(name if name is not None else json.loads(index))
        position = match.end()
    return steps


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --- resources -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanResource:
    """One resource instance of a plan, or one nested block of it. Implements `Resource` for plan JSON.

    `values` are the planned values; `unknown` the matching part of `after_unknown` (True when the
    whole object is unknown); `expressions` the matching part of the configuration, None when the
    configuration does not describe it; `block` the `.tf` block it is written in (with --repo-root),
    None when not known: then the plan's line stands for every attribute."""

    plan: _Plan
    scope: _Scope
    address: str
    key: Any
    values: dict[str, Any]
    unknown: Any
    expressions: dict[str, Any] | None
    resource_location: Location
    where: Location
    resource_type: str = ""
    block: Block | None = None
    path: str = ""  # the JSON path of `values` in the plan

    @property
    def id(self) -> ResourceId:
        return ResourceId(self.plan.path, self.address, self.resource_location)

    @property
    def location(self) -> Location:
        return self.where

    def at(self, name: str) -> Location:
        """Where attribute `name` is written: its line in the `.tf` block, else the block's (or plan's)."""
        attribute = self.block.attributes.get(name) if self.block is not None else None
        return attribute.location if attribute is not None else self.where

    def _planned(self, note: str) -> str:
        """`note`, naming the plan the value comes from when the location is a `.tf` file's."""
        if self.block is None:
            return note
        return f"{note}, as planned in {self.plan.path}" if note else f"as planned in {self.plan.path}"

    def _is_unknown(self, name: str) -> bool:
        """Known only after apply. An unknown attribute the configuration does not set is one the
        provider computes (a forward action's target_group_arn): not set, as far as the readers go."""
        if self.expressions is not None and name not in self.expressions:
            return False
        if self.unknown is True or (isinstance(self.unknown, dict) and self.unknown.get(name) is True):
            return True
        # planned_values leaves unknown values out: a configured reference with no planned value is one
        return name not in self.values and bool(self._configured_references(name))

    def _configured_references(self, name: str) -> list[str]:
        expression = _dict((self.expressions or {}).get(name))
        return [str(item) for item in _list(expression.get("references"))]

    def _resolved(self, name: str) -> _Resolved:
        references = self._configured_references(name)
        return self.plan.resolve(references, self.scope, self.key) if references else _Resolved()

    def _references(self, name: str) -> set[str]:
        """The resources attribute `name` designates; none when which ones is not known."""
        resolved = self._resolved(name)
        return set() if resolved.unknown else resolved.found

    def _unknown(self, name: str) -> Unknown:
        return Unknown(
            f"{name} is known only after apply", frozenset(self._references(name)), fix=SCAN_CONFIGURATION
        )

    def written(self, name: str) -> Location | None:
        if self.expressions is not None:  # set in the configuration, not only computed by the provider
            return self.at(name) if name in self.expressions else None
        if self._is_unknown(name) or self.values.get(name) is not None:
            return self.at(name)
        return None

    def value(self, name: str) -> Any:
        if self._is_unknown(name):
            return self._unknown(name)
        value = self.values.get(name)
        attribute = self.block.attributes.get(name) if self.block is not None else None
        shape = encoded_shape(attribute) if attribute is not None and isinstance(value, str) else None
        if shape is not None:
            # Written as jsonencode(...): the planned JSON, each part at its line in the .tf file.
            try:
                return Encoded(relocate(json.loads(str(value)), shape))
            except (ValueError, RecursionError):
                return value
        return value

    def setting(
        self, name: str, convert: Callable[[Any], T | None], default: T | None, default_note: str
    ) -> Setting[T]:
        where = self.at(name)
        in_plan = f" in {self.plan.path}" if self.block is not None else ""
        if self._is_unknown(name):
            return Setting.unknown(where, f"{name} is known only after apply{in_plan}", SCAN_CONFIGURATION)
        value = self.values.get(name)
        if value is None:
            if default is None:
                return Setting.unknown(where, f"{name} is not set")
            return Setting.default(default, where, default_note)
        try:
            converted = convert(value)
        except (EvalError, NeedKnown) as error:
            return Setting.unknown(where, self._planned(f"{name}: {error}"))
        if converted is None:
            return Setting.unknown(where, self._planned(f"{name}: unexpected value {value!r}"))
        if self.expressions is not None and name not in self.expressions:
            # Not in the configuration: the provider filled in its default, or what it computed.
            if converted == default:
                return Setting.default(converted, where, self._planned(default_note))
            return Setting(converted, where, note=f"{name} is not set: the value planned{in_plan}")
        return Setting(converted, where, note=self._planned(""))

    def links(self, name: str) -> list[Link]:
        if self.written(name) is None:
            return []  # not configured: the provider's "" or null for an unset argument links nothing
        unknown = self._is_unknown(name)
        value = self.values.get(name)
        if value in (None, "") and not unknown:
            return []
        resolved = self._resolved(name)
        refs = frozenset() if resolved.unknown else frozenset(resolved.found)  # a literal still links
        where = self.at(name)
        why = "; ".join(resolved.unknown)  # which resource the references designate is not known
        if why and unknown:
            # No link rather than a wrong one.
            return [
                Link(
                    location=where, note=f"{name} is known only after apply and {why}", fix=SCAN_CONFIGURATION
                )
            ]
        if unknown:
            if not refs:
                # Not guessed from what else the plan holds when references say where it comes from.
                references = self._configured_references(name)
                if resolved.unfollowed:
                    fix = SCAN_CONFIGURATION
                    if any(
                        where is None and item.startswith("local.")
                        for item, where in resolved.unfollowed.items()
                    ):
                        fix = FOLLOW_LOCALS
                    return [Link(location=where, note=self._through(name, resolved.unfollowed), fix=fix)]
                if references:
                    note = (
                        f"{name} is known only after apply and its references ({', '.join(references)}) "
                        "lead to no resource in the plan"
                    )
                    return [Link(location=where, note=note, fix=SCAN_CONFIGURATION)]
                return [self.plan.fallback(self, name, self._unrecorded())]
            return [Link(refs, location=where, note=f"{name} is known only after apply")]
        if not isinstance(value, list):
            return [self._link(value, refs, where)]
        # A list with elements known only after apply: after_unknown holds a list of flags.
        flags = _list(self.unknown.get(name)) if isinstance(self.unknown, dict) else []
        links = []
        for index in range(max(len(value), len(flags))):
            item = value[index] if index < len(value) else None
            if index < len(flags) and flags[index] is True:
                note = f"{name}[{index}] is known only after apply"
                fix = SCAN_CONFIGURATION if why else ""
                links.append(Link(refs, location=where, note=f"{note} and {why}" if why else note, fix=fix))
            elif item is not None:
                links.append(self._link(item, refs, where))
        return links

    def _through(self, name: str, unfollowed: dict[str, Location | None]) -> str:
        """Why attribute `name`, known only after apply, links nothing: it comes through `unfollowed`."""
        read = [f"{reference} ({where})" for reference, where in unfollowed.items() if where is not None]
        missing = [reference for reference, where in unfollowed.items() if where is None]
        parts = [f"{', '.join(read)}, which leads to no resource in the plan"] if read else []
        if missing:
            parts.append(f"{', '.join(missing)}, which the plan does not describe")
        return f"{name} is known only after apply and comes through {'; and '.join(parts)}"

    def _unrecorded(self) -> str:
        """Why the configuration gives no reference to follow for an attribute."""
        if self.expressions is None:
            return "is set in a `dynamic` block, whose expressions `terraform show -json` leaves out"
        return "the plan's configuration gives no reference to follow"

    def _link(self, value: Any, refs: frozenset[str], where: Location) -> Link:
        if not isinstance(value, str):
            return Link(location=where, note=f"not a reference: {value!r}")
        address = self.plan.by_literal.get(value)
        if address is not None:
            return Link(frozenset({address}), literal=value, location=where)
        return Link(refs, literal=value, location=where)

    def link(self, name: str) -> Link | None:
        links = self.links(name)
        return links[0] if links else None

    def blocks(self, block_type: str) -> list[PlanResource]:
        """The nested blocks of a type (a list of objects, or one object for a block that nests singly);
        a planned block that is not an object is reported and left out."""
        value = self.values.get(block_type)
        where = _step(self.path, block_type)
        planned = _as_blocks(value)
        if planned is None:
            self.plan.wrong(where, value, (LIST, OBJECT))
            planned = []
        for index, item in enumerate(planned):
            if not isinstance(item, dict):
                self.plan.wrong(f"{where}[{index}]", item, (OBJECT,))
        # each planned block with its index among the planned ones, by which after_unknown lists them too
        written = [(index, item) for index, item in enumerate(planned) if isinstance(item, dict)]
        unknown = self.unknown.get(block_type) if isinstance(self.unknown, dict) else self.unknown
        unknowns = _as_blocks(unknown) or []
        configured = (
            [_dict(item) for item in _as_blocks(self.expressions.get(block_type)) or ()]
            if self.expressions is not None
            else None
        )
        if unknown is True and not written:
            # The whole list of blocks is known only after apply: one per configured block.
            written = [(index, {}) for index in range(len(configured or [{}]))]
        matched = _align([values for _, values in written], configured, self._designated)
        found = []
        for (index, values), choice in zip(written, matched, strict=True):
            item_unknown = True if unknown is True else unknowns[index] if index < len(unknowns) else None
            block = self._nested(block_type, choice, len(configured or ()))
            found.append(
                PlanResource(
                    self.plan,
                    self.scope,
                    self.address,
                    self.key,
                    values,
                    item_unknown,
                    configured[choice] if configured is not None and choice is not None else None,
                    self.resource_location,
                    block.location if block is not None else self.where,
                    self.resource_type,
                    block,
                    f"{where}[{index}]" if isinstance(value, list) else where,
                )
            )
        return found

    def _designated(self, values: dict[str, Any], expressions: dict[str, Any]) -> bool | None:
        """Whether planned block `values` is configured block `expressions` by what they designate: None
        when its values hold no known ARN or id of a planned resource; else whether the configured
        references lead to that resource."""
        known = {
            name: self.plan.by_literal[value]
            for name, value in values.items()
            if isinstance(value, str) and value in self.plan.by_literal
        }
        if not known:
            return None
        for name, address in known.items():
            references = [str(item) for item in _list(_dict(expressions.get(name)).get("references"))]
            resolved = self.plan.resolve(references, self.scope, self.key) if references else _Resolved()
            if address in resolved.found:
                return True
        return False

    def _nested(self, block_type: str, choice: int | None, configured: int) -> Block | None:
        """The `.tf` block a planned nested block is written as: the configured block `choice` of the
        `configured` ones (the plan's configuration lists the written blocks in order), or, for a block
        the configuration does not list, the content of the one `dynamic` block of that type."""
        if self.block is None:
            return None
        written = self.block.nested(block_type)
        if choice is not None:
            return written[choice] if len(written) == configured else None
        dynamic = [item for item in self.block.nested("dynamic") if item.labels[:1] == (block_type,)]
        if len(dynamic) != 1:
            return None
        content = dynamic[0].nested("content")
        return content[0] if len(content) == 1 else None

    def error(self, location: Location, message: str) -> None:
        self.plan.errors.append(InputError(location.path, message, location.line))


def _as_blocks(value: Any) -> list[Any] | None:
    """Nested blocks as a list: a list as it is, an object (a block that nests singly) as the one
    block, null (none) as empty; None for anything else."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return value if isinstance(value, list) else None


def _constant(expression: Any) -> tuple[bool, Any]:
    expression = _dict(expression)
    return ("constant_value" in expression, expression.get("constant_value"))


def _align(
    written: list[dict[str, Any]],
    configured: list[dict[str, Any]] | None,
    designated: Callable[[dict[str, Any], dict[str, Any]], bool | None],
) -> list[int | None]:
    """The index of the configured block each planned block comes from. Blocks that are sets (an ECS
    service's `load_balancer`, a forward's `target_group`) are planned in an order of their own. A block
    holding the known ARN of a planned resource is matched first to the configured block whose
    references lead to that resource (`designated`); then each other block to the first unused
    configured block whose constant attributes it agrees with."""
    if configured is None:
        return [None] * len(written)
    unused = list(range(len(configured)))
    matched: list[int | None] = [None] * len(written)

    def agrees(index: int, values: dict[str, Any]) -> bool:
        for name, expression in configured[index].items():
            is_constant, constant = _constant(expression)
            if is_constant and name in values and values[name] != constant:
                return False
        return True

    pending = []
    for position, values in enumerate(written):
        if designated(values, {}) is None:  # no known ARN to match by
            pending.append(position)
            continue
        choice = next(
            (index for index in unused if designated(values, configured[index]) and agrees(index, values)),
            None,
        )
        if choice is None:
            pending.append(position)
            continue
        unused.remove(choice)
        matched[position] = choice
    for position in pending:
        values = written[position]
        choice = next((index for index in unused if agrees(index, values)), None)
        if choice is not None:
            unused.remove(choice)
        matched[position] = choice
    return matched


@dataclass(frozen=True)
class _Record:
    address: str
    module: str
    mode: str
    type: str
    name: str
    key: Any
    values: dict[str, Any]
    path: str  # the JSON path of `values` in the plan


def _planned(module: dict[str, Any], where: str) -> Iterator[_Record]:
    for index, resource in enumerate(_list(module.get("resources"))):
        resource = _dict(resource)
        address = resource.get("address")
        if isinstance(address, str):
            yield _Record(
                address,
                str(module.get("address") or ""),
                str(resource.get("mode") or "managed"),
                str(resource.get("type") or ""),
                str(resource.get("name") or ""),
                resource.get("index"),
                _dict(resource.get("values")),
                f"{where}.resources[{index}].values",
            )
    for index, child in enumerate(_list(module.get("child_modules"))):
        yield from _planned(_dict(child), f"{where}.child_modules[{index}]")


def _records(document: dict[str, Any], changes: dict[str, tuple[int, dict[str, Any]]]) -> list[_Record]:
    for key in ("planned_values", "values"):  # a plan, or a state
        module = _dict(document.get(key)).get("root_module")
        if isinstance(module, dict):
            return list(_planned(module, f"{key}.root_module"))
    return [
        _Record(
            address,
            str(change.get("module_address") or ""),
            str(change.get("mode") or "managed"),
            str(change.get("type") or ""),
            str(change.get("name") or ""),
            change.get("index"),
            _dict(_dict(change.get("change")).get("after")),
            f"resource_changes[{index}].change.after",
        )
        for address, (index, change) in changes.items()
        if isinstance(_dict(change.get("change")).get("after"), dict)  # null: deleted or forgotten
    ]


def _configured(scope: _Scope, record: _Record) -> dict[str, Any] | None:
    for resource in _list(scope.config.get("resources")):
        resource = _dict(resource)
        mode = resource.get("mode", "managed")
        if (mode, resource.get("type"), resource.get("name")) == (record.mode, record.type, record.name):
            return _dict(resource.get("expressions"))
    return None


def _read_plan(plan: _Plan, out: Collected) -> None:
    document = plan.document
    changes = {
        change["address"]: (index, change)
        for index, change in enumerate(map(_dict, _list(document.get("resource_changes"))))
        if isinstance(change.get("address"), str)
    }

    def change_of(address: str) -> dict[str, Any]:
        return _dict(changes[address][1].get("change")) if address in changes else {}

    def deleted(address: str) -> bool:
        return _list(change_of(address).get("actions")) == ["delete"]

    records = [record for record in _records(document, changes) if not deleted(record.address)]
    plan.records = records
    for record in records:
        plan.by_address[record.address] = record
        if record.mode == "managed":  # a data source looks a resource up; it is not one more candidate
            plan.by_kind.setdefault((record.module, record.type), []).append(record)
            plan.by_type.setdefault(record.type, []).append(record)
        cut = record.address.rfind('["' if isinstance(record.key, str) else "[")
        if record.key is not None and record.address.endswith("]") and cut > 0:
            plan.instances.setdefault(record.address[:cut], set()).add(record.address)
    plan.addresses.update(record.address for record in records)
    plan.modules.update(record.module for record in records if record.module)
    for record in records:
        for attribute in ("arn", "id"):
            literal = record.values.get(attribute)
            if isinstance(literal, str) and literal:
                plan.by_literal.setdefault(literal, record.address)
    for record in records:
        readers = DATA_READERS if record.mode == "data" else READERS
        reader = readers.get(record.type)
        if reader is None:
            continue
        scope = plan.scope(record.module)
        after_unknown = change_of(record.address).get("after_unknown")
        block = plan.block(record)
        location = block.location if block is not None else plan.location(record.address)
        resource = PlanResource(
            plan,
            scope,
            record.address,
            record.key,
            record.values,
            after_unknown if isinstance(after_unknown, dict) else None,
            _configured(scope, record),
            location,
            location,
            record.type,
            block,
            record.path,
        )
        reader(resource, out)


def plan_directory(path: Path) -> Path:
    """The directory a plan file is in (its own symlink not followed: a plan linked into a root
    module's directory is that root's), as Terraform module directories are named."""
    return path.absolute().parent.resolve()


def load_plans(
    paths: Sequence[Path],
    explicit: Sequence[Path] = (),
    repo_root: Path | None = None,
    reader: Reader = ANYWHERE,
) -> tuple[Inventory, dict[Path, list[Path]]]:
    """The inventory of the plan files `paths`, and the root module directories whose plans they are.

    Those in `explicit` were named on the command line, so one that is not a plan is an error (the
    others are skipped silently). Resources are located in the `.tf` files of the directory the plan
    was made in, and locals are followed through them (`policies.loaders.plan_config`): `repo_root`
    when given; else the plan's own directory when its `.tf` files are the root module the plan was
    made from (CI writes plan.json where it ran `terraform plan`): the plan then stands for that root.
    A plan next to other `.tf` files is read alone, and verbose output says why. Plans are read through
    `reader`."""
    named = {path.resolve() for path in explicit}
    inventory = Inventory()
    roots: dict[Path, list[Path]] = {}
    for path in paths:
        read = read_plan(path, path.resolve() in named, reader)
        if read is None:
            continue
        if isinstance(read, InputError):
            inventory += Inventory(errors=(read,))
            continue
        text, document = read
        plan = _Plan(shown_path(path), text, document)
        _Check(plan).document(document)
        configuration = _dict(document.get("configuration"))
        if repo_root is not None:
            plan.source = Configuration(repo_root, configuration)
        directory = plan_directory(path)
        if repo_root_error(directory) is None:
            beside = Configuration(directory, configuration)
            why = beside.differs(document)
            if why is None:
                roots.setdefault(directory, []).append(path)
                plan.source = plan.source or beside
            else:
                shown = shown_path(directory)
                reason = (
                    f"{plan.path} is not a plan of the Terraform configuration in {shown} ({why}): "
                    "both are scanned, each on its own"
                )
                at = ResourceId(plan.path, plan.path, Location(plan.path))
                inventory += Inventory(opaque=(Opaque(at, reason, False),))
        out = Collected()
        _read_plan(plan, out)
        files = plan.source.files if plan.source is not None else ()
        inventory += out.inventory() + Inventory(errors=tuple(plan.errors), inputs=(plan.path, *files))
    return inventory, roots
