"""CloudFormation templates: decoding with line numbers, and the intrinsic functions evaluated statically.

Templates are decoded by cfn-lint (`cfnlint.decode`, imported only when a template is read), which
marks every string, list and mapping with its position; numbers and booleans carry none and take the
line of their key. Values come out as the Terraform loaders' values (`policies.loaders.terraform.values`):
located strings and numbers, `Obj` mappings that remember each key's line, and `Unknown` for what only
a deployment knows, keeping the logical ids it depends on (`!GetAtt TargetGroup.TargetGroupArn` is
unknown, but it names the target group). Intrinsics:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policies.loaders.reading import ANYWHERE, MAX_NESTING, Reader, too_deep
from policies.loaders.terraform.values import Obj, Text, Unknown, hole, located, where_of
from policies.model import InputError, Location

if TYPE_CHECKING:
    from policies.loaders.cloudformation.assembly import Assembly
    from policies.loaders.cloudformation.nested import Nested

MAX_DEPTH = 64  # intrinsics nested deeper than this are unknown (a guard, not a limit real templates meet)
MAX_SIZE = 8 << 20  # the largest template to decode (CloudFormation accepts 1 MB; cdk.out may be larger)

# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
NO_VALUE = "AWS::NoValue"
_SUB = re.compile(r"\$\{(!?)([^}]*)\}")
# What a deployment decides: told as such, with what would make it known.
GIVE_PARAMETERS = "give the parameter a value (--parameter NAME=VALUE or a parameters file)"


class _Removed:
    """`Ref: AWS::NoValue`: the property (or list element) is removed."""


REMOVED = _Removed()


def read_parameters(path: Path) -> dict[str, tuple[str, Location]] | str:
    """Parameter values from a JSON file, in any of the shapes the AWS tools write: the CLI's
    `[{"ParameterKey": K, "ParameterValue": V}]`, a CodePipeline template configuration
    `{"Parameters": {K: V}}`, or a plain `{K: V}`. Why not, when it is none of them."""
    shown = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        return f"not valid JSON: {getattr(error, 'msg', error)}"
    if isinstance(data, dict) and isinstance(data.get("Parameters"), dict):
        data = data["Parameters"]
    pairs: list[tuple[Any, Any]] = []
    if isinstance(data, list):
        for entry in data:
            if not isinstance(entry, dict) or "ParameterKey" not in entry:
                return 'expected [{"ParameterKey": ..., "ParameterValue": ...}]'
            if entry.get("UsePreviousValue") is True:
                continue  # the deployed stack's value, which only CloudFormation knows: not given here
            pairs.append((entry["ParameterKey"], entry.get("ParameterValue")))
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        return "expected a JSON object or list of parameters"
    values: dict[str, tuple[str, Location]] = {}
    for key, value in pairs:
        scalars = isinstance(value, list) and all(isinstance(item, (str, int, float)) for item in value)
        if (
            not isinstance(key, str)
            or isinstance(value, dict)
            or value is None
            or (isinstance(value, list) and not scalars)
        ):
            return f"parameter {key!r}: expected a string value (or a list of them)"
        text = (
            ",".join(str(item) for item in value)
            if isinstance(value, list)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
        values[key] = (text, Location(shown))
    return values


def is_template(data: Any) -> bool:
    """A decoded document that is a template: a format version, or resources of AWS types."""
    if not isinstance(data, dict):
        return False
    if "AWSTemplateFormatVersion" in data:
        return True
    resources = data.get("Resources")
    return isinstance(resources, dict) and any(
        isinstance(item, dict) and str(item.get("Type", "")).startswith("AWS::")
        for item in resources.values()
    )


def decode(path: Path, shown: str, reader: Reader) -> tuple[dict[str, Any] | None, InputError | None]:
    """The decoded template, or why not: the first error cfn-lint reports (one line, with its line
    number), a JSON file's own JSON error, or why it cannot be read."""
    text, error = reader.read(path, shown)
    if text is None:
        return None, error
    if len(text) > MAX_SIZE:
        return None, InputError(shown, f"larger than {MAX_SIZE >> 20} MB, more than any template: not read")
    if (line := too_deep(text)) is not None:
        return None, InputError(shown, f"nested more than {MAX_NESTING} levels deep: not decoded", line)
    from cfnlint.decode import decode_str  # heavy: imported only when a template is read

    try:
        data, matches = decode_str(text)
    except RecursionError:
        return None, InputError(shown, "nested too deeply to decode")
    except Exception as error:  # cfn-lint's decoder raising is its bug: never a traceback here
        return None, InputError(
            shown, f"cannot be decoded: {str(error).splitlines()[0] if str(error) else error}"
        )
    if matches and (path.suffix == ".json" or text.lstrip().startswith("{")):
        try:
            json.loads(text)
        except json.JSONDecodeError as invalid:
            if path.suffix == ".json":  # YAML's complaint about invalid JSON is less clear than JSON's own
                return None, InputError(shown, f"not valid JSON: {invalid.msg}", invalid.lineno)
        except RecursionError:
            return None, InputError(shown, "nested too deeply to decode")
        else:
            # cfn-lint reads JSON as YAML first, and YAML refuses some valid JSON (a character beyond the
            # BMP escaped as a surrogate pair, "\ud83d\ude00", or a key over 1024 characters); when
            # its JSON decoder refuses it too (a key given twice, NaN or Infinity), YAML's error stands
            with contextlib.suppress(ValueError, RecursionError):
                data, matches = _json(text), []
    if matches:
        match = matches[0]
        message = " ".join(str(match.message).split()) or "not a valid template"
        line = getattr(match, "linenumber", None)
        return None, InputError(
            shown, f"not a valid template: {message}", line if isinstance(line, int) else None
        )
    if not isinstance(data, dict):
        return None, InputError(shown, "not a valid template: the document is not a mapping")
    return data, None


def _json(text: str) -> Any:
    """`text` decoded by cfn-lint's JSON decoder, which marks keys, mappings and lists with their lines
    (a mapping or list opened at the end of a line with the next one) but not strings, which take the
    line of their key or list. A ValueError for NaN and Infinity, which Python's json reads but are not
    JSON, and for half of a surrogate pair ("\ud83d" alone), which is no character (nor can be output)."""
    from cfnlint.decode.cfn_json import CfnJSONDecoder

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON value")

    data = json.loads(text, cls=CfnJSONDecoder, parse_constant=constant)
    json.dumps(data, ensure_ascii=False).encode()  # UnicodeEncodeError for half a surrogate pair
    return data


def line_of(node: Any) -> int | None:
    """The 1-based line a decoded node starts on; None for scalars without a mark."""
    mark = getattr(node, "start_mark", None)
    line = getattr(mark, "line", None)
    return line + 1 if isinstance(line, int) else None


@dataclass(frozen=True)
class OtherValue(Unknown):
    """A parameter's value in a scenario where it is none of the values its conditions compare it with:
    `Fn::Equals` of it and any of them is false."""


@dataclass
class Template:
    """One decoded template with what its intrinsics need: parameters (defaults, overridden by the
    values given), mappings and conditions; for a nested stack, the stack it is nested in."""

    path: str  # as findings show it
    data: dict[str, Any]
    overrides: Mapping[str, tuple[str, Location]] = field(default_factory=dict)  # given on the command line
    # The unit its resources belong to (by default its path): a nested stack's is its top stack's, a
    # scenario of conditions has its own.
    unit: str = ""
    prefix: str = ""  # before its logical ids in the unit: "Network/" in a stack nested as Network
    file: Path | None = None  # the file it was read from: nested templates are found relative to it
    # values decided already: the Parameters a parent passes, a scenario's choices
    given: Mapping[str, Any] = field(default_factory=dict)
    assembly: Assembly | None = None  # the cloud assembly (cdk.out) it comes from
    ancestors: tuple[Path, ...] = ()  # the templates it is nested in, outermost first
    scope: str = ""  # its stack's construct path in a CDK app ("/Prod/Api")
    reader: Reader = ANYWHERE  # how the templates it nests are read
    # name → value: the one given, else the Default (located where written), else an Unknown
    parameters: dict[str, Any] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.unit = self.unit or self.path
        declarations = self.data.get("Parameters")
        for key, declaration in declarations.items() if isinstance(declarations, dict) else ():
            name = str(key)
            if name in self.given:
                self.parameters[name] = self._typed(declaration, self.given[name])
                continue
            if name in self.overrides:
                text, where = self.overrides[name]
                self.parameters[name] = self._typed(declaration, located(text, where))
                continue
            default = declaration.get("Default") if isinstance(declaration, dict) else None
            kind = str(declaration.get("Type", "")) if isinstance(declaration, dict) else ""
            if kind.startswith("AWS::SSM::Parameter::Value<") and default is not None:
                # its Default names the SSM parameter; the value is read from it at deployment
                self.parameters[name] = Unknown(
                    f"parameter {name} is the value of the SSM parameter {default}, read at deployment",
                    fix=GIVE_PARAMETERS,
                )
                continue
            if default is None:
                self.parameters[name] = Unknown(
                    f"parameter {name} has no Default and no value was given", fix=GIVE_PARAMETERS
                )
                continue
            where = self.key_location(declaration, "Default", self.at(declaration))
            self.parameters[name] = self._typed(declaration, self.scalar(default, where))

    @property
    def conditions(self) -> dict[str, Any]:
        conditions = self.data.get("Conditions")
        return conditions if isinstance(conditions, dict) else {}

    @cached_property
    def loops(self) -> dict[str, str]:
        """The conditions that depend on themselves (CloudFormation rejects the template), each with
        why: "condition A depends on itself (through B)"."""
        uses = {str(name): list(_used_conditions(node)) for name, node in self.conditions.items()}
        graph = {name: [used for used in names if used in uses] for name, names in uses.items()}
        loops = {}
        for name, members in _loops(graph).items():
            others = [other for other in members[:4] if other != name][:3]
            more = len(members) - 1 - len(others)
            shown = ", ".join(others) + (f" and {more} more" if more else "")
            loops[name] = f"condition {name} depends on itself" + (f" (through {shown})" if others else "")
        return loops

    def loop_errors(self) -> tuple[InputError, ...]:
        """Each condition that depends on itself, as an error at its line."""
        errors = []
        for name, message in self.loops.items():
            where = self.key_location(self.conditions, name, Location(self.path))
            errors.append(InputError(where.path, message, where.line))
        return tuple(errors)

    @property
    def resources(self) -> dict[str, Any]:
        resources = self.data.get("Resources")
        return resources if isinstance(resources, dict) else {}

    def construct_path(self, logical_id: str) -> str | None:
        """The construct path of a resource of a CDK app ("/Web/Service/LB/Resource"): its
        `aws:cdk:path` metadata, else the assembly's record of it; None for a template written by hand."""
        node = self.resources.get(logical_id)
        metadata = node.get("Metadata") if isinstance(node, dict) else None
        path = metadata.get("aws:cdk:path") if isinstance(metadata, dict) else None
        if isinstance(path, str):
            return "/" + str(path).lstrip("/")
        if self.assembly is None:
            return None
        stack = self.ancestors[0] if self.ancestors else self.file
        return self.assembly.path_of(stack, logical_id, self.scope)

    def label(self, logical_id: str) -> str:
        """The construct path as findings show it beside the logical id ("Web/Service/LB")."""
        path = self.construct_path(logical_id)
        return path.strip("/").removesuffix("/Resource") if path else ""

    def at(self, node: Any, fallback: Location | None = None) -> Location:
        line = line_of(node)
        if line is None and fallback is not None:
            return fallback
        return Location(self.path, line)

    def key_location(self, mapping: Any, key: str, fallback: Location) -> Location:
        """Where `key` is written in a decoded mapping (its value when the key has no mark)."""
        if isinstance(mapping, dict):
            for written, value in mapping.items():
                if written == key:
                    return self.entry_location(written, value, fallback)
        return fallback

    def entry_location(self, key: Any, value: Any, fallback: Location) -> Location:
        """Where a mapping entry is written: its key's line, else its value's."""
        line = line_of(key) or line_of(value)
        return Location(self.path, line) if line else fallback

    def scalar(self, value: Any, where: Location) -> Any:
        if isinstance(value, str):
            return located(str(value), self.at(value, where))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return located(value, where)
        return value

    def _typed(self, declaration: Any, value: Any) -> Any:
        """A list parameter's value is a list (CommaDelimitedList, List<...>)."""
        kind = str(declaration.get("Type", "")) if isinstance(declaration, dict) else ""
        if isinstance(value, str) and (kind == "CommaDelimitedList" or kind.startswith("List<")):
            where = where_of(value)
            return located([located(part.strip(), where) for part in value.split(",")], where)
        return value


@dataclass
class Evaluator:
    """Evaluates property values of one template, intrinsics included."""

    template: Template
    children: dict[str, Nested] = field(default_factory=dict)  # nested stacks by logical id, as read
    # conditions evaluated (each once: they use one another, maybe many times), and being evaluated
    decided: dict[str, bool | Unknown] = field(default_factory=dict, init=False, compare=False)
    deciding: set[str] = field(default_factory=set, init=False, compare=False)

    def value(self, node: Any, where: Location, depth: int = 0) -> Any:
        """The value of a decoded node written at `where` (the line of its key when it has none)."""
        if depth > MAX_DEPTH:
            return Unknown("nested too deeply")
        if isinstance(node, dict):
            if len(node) == 1:
                ((key, argument),) = node.items()
                # ({"Condition": name} is an intrinsic only inside Conditions: `truth` reads those)
                if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
                    here = self.template.at(node, where)
                    return self.intrinsic(str(key), argument, here, depth + 1)
            result = Obj()
            for key, item in node.items():
                at = self.template.entry_location(key, item, where)
                value = self.value(item, at, depth + 1)
                if value is REMOVED:
                    continue
                result[str(key)] = value
                result.where[str(key)] = at
            return result
        if isinstance(node, list):
            here = self.template.at(node, where)
            values = [self.value(item, self.template.at(item, here), depth + 1) for item in node]
            return located([value for value in values if value is not REMOVED], here)
        return self.template.scalar(node, where)

    # --- intrinsic functions ---------------------------------------------------------------------

    def intrinsic(self, name: str, argument: Any, where: Location, depth: int) -> Any:
        handler = _INTRINSICS.get(name)
        if handler is None:
            return Unknown(f"{name} is evaluated only by CloudFormation")
        try:
            return handler(self, argument, where, depth)
        except _Invalid as error:
            return Unknown(f"{name}: {error}")

    def ref(self, name: Any, where: Location, depth: int) -> Any:
        if not isinstance(name, str):
            raise _Invalid("expects a name")
        if name == NO_VALUE:
            return REMOVED
        if name in self.template.parameters:
            return self.template.parameters[name]
        if name in PSEUDO_PARAMETERS:
            if name in self.template.given:  # a scenario of the conditions that compare it
                return self.template.given[name]
            return Unknown(f"{name} is known only when the stack is deployed")
        if name in self.template.resources:
            refs = frozenset({self.template.prefix + name})
            return Unknown(f"Ref {name} is known only when the stack is deployed", refs)
        return Unknown(f"Ref {name}: no such parameter or resource in {self.template.path}")

    def get_att(self, argument: Any, where: Location, depth: int) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not isinstance(argument, list) or len(argument) != 2 or not isinstance(argument[0], str):
            raise _Invalid("expects [resource, attribute]")
        resource, attribute = argument[0], argument[1]
        if isinstance(attribute, str) and attribute.startswith("Outputs."):
            output = self.output(resource, attribute.removeprefix("Outputs."), depth)
            if output is not None:
                return output
        refs = (
            frozenset({self.template.prefix + resource})
            if resource in self.template.resources
            else frozenset()
        )
        return Unknown(f"Fn::GetAtt {resource}.{argument[1]} is known only when the stack is deployed", refs)

    def output(self, resource: str, name: str, depth: int) -> Any:
        """An output of the nested stack `resource`, evaluated in it; None when its template is not read."""
        child = self.nested(resource).evaluator
        if child is None:
            return None
        outputs = child.template.data.get("Outputs")
        output = outputs.get(name) if isinstance(outputs, dict) else None
        if not isinstance(output, dict) or "Value" not in output:
            raise _Invalid(f"the stack nested as {resource} has no output {name}")
        node = output["Value"]
        return child.value(node, child.template.at(node, child.template.at(output)), depth + 1)

    def nested(self, logical_id: str) -> Nested:
        """The stack nested as `logical_id` (an AWS::CloudFormation::Stack), read once."""
        if logical_id not in self.children:
            from policies.loaders.cloudformation.nested import read_nested  # it builds Evaluators

            self.children[logical_id] = read_nested(self, logical_id)
        return self.children[logical_id]

    def sub(self, argument: Any, where: Location, depth: int) -> Any:
        variables: dict[str, Any] = {}
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], dict):
                raise _Invalid("expects a string, or [string, variables]")
            text, mapping = argument
            for key, node in mapping.items():
                variables[str(key)] = self.value(node, self.template.at(node, where), depth + 1)
        else:
            text = argument
        if not isinstance(text, str):
            raise _Invalid("expects a string")
        here = self.template.at(text, where)
        parts: list[Any] = []
        position = 0
        for match in _SUB.finditer(text):
            parts.append(text[position : match.start()])
            position = match.end()
            literal, name = match.groups()
            if literal:  # ${!Literal} is written as ${Literal}
                parts.append("${" + name + "}")
            elif name in variables:
                parts.append(variables[name])
            elif "." in name and name.split(".", 1)[0] in self.template.resources:
                parts.append(self.get_att(name.split(".", 1), here, depth))
            else:
                parts.append(self.ref(name, here, depth))
        parts.append(text[position:])
        return _joined(parts, here)

    def join(self, argument: Any, where: Location, depth: int) -> Any:
        if not isinstance(argument, list) or len(argument) != 2 or not isinstance(argument[0], str):
            raise _Invalid("expects [delimiter, list]")
        elements = self.value(argument[1], where, depth + 1)
        if isinstance(elements, Unknown):
            return elements
        if not isinstance(elements, list):
            raise _Invalid("expects a list to join")
        parts: list[Any] = []
        for index, element in enumerate(elements):
            if index:
                parts.append(argument[0])
            parts.append(element)
        return _joined(parts, self.template.at(argument, where))

    def split(self, argument: Any, where: Location, depth: int) -> Any:
        if not isinstance(argument, list) or len(argument) != 2 or not isinstance(argument[0], str):
            raise _Invalid("expects [delimiter, string]")
        text = self.value(argument[1], where, depth + 1)
        if isinstance(text, Unknown):
            return text
        if not isinstance(text, str):
            raise _Invalid("expects a string to split")
        if not argument[0]:  # (Python's split refuses it; how CloudFormation splits by it is not documented)
            raise _Invalid("the delimiter is empty")
        here = where_of(text) or where
        return located([located(part, here) for part in str(text).split(argument[0])], here)

    def select(self, argument: Any, where: Location, depth: int) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            raise _Invalid("expects [index, list]")
        index = self.value(argument[0], where, depth + 1)
        elements = self.value(argument[1], where, depth + 1)
        for value in (index, elements):
            if isinstance(value, Unknown):
                return value
        try:
            position = int(str(index))
        except ValueError:
            raise _Invalid(f"the index {index!r} is not a number") from None
        if not isinstance(elements, list) or not 0 <= position < len(elements):
            raise _Invalid(f"index {position} is not in the list")
        return elements[position]

    def find_in_map(self, argument: Any, where: Location, depth: int) -> Any:
        if not isinstance(argument, list) or len(argument) not in (3, 4):
            raise _Invalid("expects [map, top-level key, second-level key]")
        keys = [self.value(item, where, depth + 1) for item in argument[:3]]
        for key in keys:
            if isinstance(key, Unknown):
                return key
        mappings = self.template.data.get("Mappings")
        entry: Any = mappings
        at = where
        for key in [str(key) for key in keys]:
            parent = entry
            entry = parent.get(key) if isinstance(parent, dict) else None
            at = self.template.key_location(parent, key, at)
        if entry is None:
            if len(argument) == 4 and isinstance(argument[3], dict) and "DefaultValue" in argument[3]:
                return self.value(argument[3]["DefaultValue"], where, depth + 1)
            raise _Invalid(f"{'/'.join(str(key) for key in keys)} is not in Mappings")
        return self.value(entry, self.template.at(entry, at), depth + 1)

    def if_(self, argument: Any, where: Location, depth: int) -> Any:
        if not isinstance(argument, list) or len(argument) != 3 or not isinstance(argument[0], str):
            raise _Invalid("expects [condition, value if true, value if false]")
        decided = self.condition(argument[0], depth + 1)
        if isinstance(decided, Unknown):
            return decided
        branch = argument[1] if decided else argument[2]
        return self.value(branch, self.template.at(branch, where), depth + 1)

    def import_value(self, argument: Any, where: Location, depth: int) -> Any:
        name = self.value(argument, where, depth + 1)
        shown = name if isinstance(name, str) else "a value"
        return Unknown(
            f"Fn::ImportValue {shown}: an export of another stack",
            fix="scan the stack that exports it together with this one",
        )

    # --- conditions ------------------------------------------------------------------------------

    def condition(self, name: str, depth: int) -> bool | Unknown:
        """The value of the condition `name`; unknown when it depends on itself."""
        if name in self.decided:
            return self.decided[name]
        node = self.template.conditions.get(name)
        if node is None:
            return Unknown(f"condition {name} is not defined")
        if name in self.template.loops:
            return Unknown(self.template.loops[name])
        if name in self.deciding:  # a loop `loops` does not see: through a mapping, a nested stack's output
            return Unknown(f"condition {name} depends on itself")
        if depth > MAX_DEPTH:
            return Unknown("conditions nested too deeply")
        self.deciding.add(name)
        try:
            decided = self.truth(node, depth + 1)
        finally:
            self.deciding.discard(name)
        self.decided[name] = decided
        return decided

    def truth(self, node: Any, depth: int) -> bool | Unknown:
        if isinstance(node, dict) and len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument, depth + 1)
            if key == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
                left, right = (self.value(item, self.template.at(item), depth + 1) for item in argument)
                for one, other in ((left, right), (right, left)):
                    if isinstance(one, OtherValue) and not isinstance(other, Unknown):
                        return False
                for side in (left, right):
                    if isinstance(side, Unknown):
                        return side
                return bool(_canonical(left) == _canonical(right))
            if key == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
                inner = self.truth(argument[0], depth + 1)
                return inner if isinstance(inner, Unknown) else not inner
            if key in ("Fn::And", "Fn::Or") and isinstance(argument, list):
                values = [self.truth(item, depth + 1) for item in argument]
                decided = [value for value in values if not isinstance(value, Unknown)]
                if key == "Fn::And" and False in decided:
                    return False
                if key == "Fn::Or" and True in decided:
                    return True
                unknown = [value for value in values if isinstance(value, Unknown)]
                return unknown[0] if unknown else key == "Fn::And"
        return Unknown("a condition that is not Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition")


def _used_conditions(node: Any) -> Iterator[str]:
    """The conditions a condition's node names: `{"Condition": name}`, `{"Fn::If": [name, ...]}`."""
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if len(item) == 1:
                ((key, argument),) = item.items()
                if key == "Condition" and isinstance(argument, str):
                    yield argument
                if (
                    key == "Fn::If"
                    and isinstance(argument, list)
                    and argument
                    and isinstance(argument[0], str)
                ):
                    yield argument[0]
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _loops(graph: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each node of `graph` (node → the nodes it uses) that is on a loop, with the nodes of its loops in
    the graph's order: the strongly connected components of more than one node, or of one that uses
    itself (Tarjan's algorithm, iteratively: a chain of thousands of conditions is no deeper a recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: dict[str, list[str]] = {}
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, uses = work[-1]
            for used in uses:
                if used not in index:
                    index[used] = low[used] = len(index)
                    stack.append(used)
                    on_stack.add(used)
                    work.append((used, iter(graph[used])))
                    break
                if used in on_stack:
                    low[node] = min(low[node], index[used])
            else:  # every node `node` uses is visited: it closes a component, or its parent goes on
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    start = stack.index(node)
                    component = set(stack[start:])
                    del stack[start:]
                    on_stack -= component
                    if len(component) > 1 or node in graph[node]:
                        members = [name for name in graph if name in component]
                        loops.update(dict.fromkeys(members, members))
    return loops


class _Invalid(Exception):
    """An intrinsic written in a way CloudFormation would reject."""


def _canonical(value: Any) -> Any:
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _joined(parts: list[Any], where: Location) -> Any:
    """Strings joined; unknown when a part is, keeping the resources every unknown part names."""
    texts: list[str] = []
    holes: list[Unknown] = []
    for part in parts:
        if part is REMOVED:
            continue
        if isinstance(part, Unknown):
            texts.append(hole(len(holes)))  # the known rest stays readable (an image's tag, say)
            holes.append(part)
        elif isinstance(part, (dict, list)):
            raise _Invalid(f"cannot join {json.dumps(part, default=str)[:40]}")
        elif part is None:  # CloudFormation takes strings, and rejects a null among them
            raise _Invalid("null is not a string")
        else:
            texts.append("true" if part is True else "false" if part is False else str(part))
    if holes:
        refs = frozenset(ref for part in holes for ref in part.refs)
        partial = Text("".join(texts), where)
        return Unknown(holes[0].reason, refs, partial, tuple(holes), fix=holes[0].fix)
    return located("".join(texts), where)


_INTRINSICS = {
    "Ref": Evaluator.ref,
    "Fn::GetAtt": Evaluator.get_att,
    "Fn::Sub": Evaluator.sub,
    "Fn::Join": Evaluator.join,
    "Fn::Select": Evaluator.select,
    "Fn::Split": Evaluator.split,
    "Fn::FindInMap": Evaluator.find_in_map,
    "Fn::If": Evaluator.if_,
    "Fn::ImportValue": Evaluator.import_value,
}
