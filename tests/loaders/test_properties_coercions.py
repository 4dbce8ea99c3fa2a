"""Properties of the loaders' value coercions over generated inputs:

- CloudFormation intrinsic functions (policies/loaders/cloudformation/template.py): any property value,
  of any shape and nesting, evaluates without an exception to a well-formed value or an Unknown, the
  same every time; on well-formed arguments each intrinsic gives what CloudFormation gives (Fn::Join,
  Fn::Split, Fn::Select, Fn::Sub, Fn::If, Fn::FindInMap, Ref, numbers written as strings);
- whole templates of generated resources, decoded by cfn-lint and scanned: no exception;
- ECS container definitions (policies/loaders/ecs.py): any shape of command, entryPoint, environment,
  dockerLabels, portMappings... gives containers or a reason, never an exception; each setting is the
  value coerced as ECS takes it, or unknown; and the same definitions give the same containers whether
  written as jsonencode() in HCL, as JSON in a heredoc or a file, or in a CloudFormation template.

The bugs these properties found are regression tests at the end.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, event, given, note, settings
from hypothesis import strategies as st

from policies.loaders import load
from policies.loaders.cloudformation.template import REMOVED, Evaluator, Template
from policies.loaders.ecs import read_containers
from policies.loaders.terraform.values import HOLE, Obj, Text, Unknown, located
from policies.model import UNKNOWN_PART, Container, Inventory, Location, Setting
from policies.scan import check
from tests.loaders.property_strategies import canonical, examples, guarded, malformed

HERE = Location("template.json", 4)
BUG = settings(examples(40), phases=[Phase.explicit, Phase.reuse, Phase.generate])


# --- a template for intrinsics to refer to ----------------------------------------------------------------

PARAMETERS: dict[str, Any] = {
    "Port": {"Type": "Number", "Default": 8080},
    "PortText": {"Type": "String", "Default": "8080"},
    "Name": {"Type": "String", "Default": "api"},
    "Words": {"Type": "CommaDelimitedList", "Default": "a,b,c"},
    "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>", "Default": "s-1,s-2"},
    "NoDefault": {"Type": "String"},
    "Ssm": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/web/timeout"},
    "Odd": {"Type": "String", "Default": ["not", "a", "string"]},
    "Null": {"Type": "String", "Default": None},
    "NotADeclaration": "x",
}
MAPPINGS: dict[str, Any] = {
    "Env": {"prod": {"Timeout": 120, "Name": "p", "List": ["a", "b"]}, "dev": {"Timeout": "60"}},
    "Deep": {"a": {"b": {"c": 1}}},
    "Bad": "not a mapping",
}
# Loop depends on itself, which CloudFormation rejects: see test_a_condition_that_depends_on_itself_is_unknown
CONDITIONS: dict[str, Any] = {
    "IsApi": {"Fn::Equals": [{"Ref": "Name"}, "api"]},
    "NotApi": {"Fn::Not": [{"Condition": "IsApi"}]},
    "Both": {"Fn::And": [{"Condition": "IsApi"}, {"Fn::Equals": ["a", "a"]}]},
    "Either": {"Fn::Or": [{"Condition": "NotApi"}, {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}]},
    "Unknowable": {"Fn::Equals": [{"Ref": "NoDefault"}, "x"]},
    "Numbers": {"Fn::Equals": [{"Ref": "Port"}, 8080]},
    "Broken": {"Fn::Equals": ["only one"]},
    "NotACondition": "text",
    "Empty": {},
    "Loop": {"Fn::Or": [{"Condition": "Loop"}, {"Condition": "IsApi"}, {"Condition": "Loop"}]},
}
RESOURCES: dict[str, Any] = {
    "TargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Port": 80}},
    "Remote": {
        "Type": "AWS::CloudFormation::Stack",
        "Properties": {"TemplateURL": "https://example.com/t.json"},
    },
    "Local": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "missing.json"}},
    "Bucket": {"Type": "AWS::S3::Bucket"},
}
NAMES = [
    *PARAMETERS,
    *RESOURCES,
    "AWS::Region",
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::StackName",
    "Nope",
    "",
]


def template_data() -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": PARAMETERS,
        "Mappings": MAPPINGS,
        "Conditions": CONDITIONS,
        "Resources": RESOURCES,
    }


def evaluate(node: Any, data: dict[str, Any] | None = None) -> Any:
    return Evaluator(Template("template.json", data or template_data())).value(node, HERE)


# --- generated property values ---------------------------------------------------------------------------

WORDS = ["", "a", "b", "api", "8080", "120", "60", "1.5", "-3", "true", "false", ",", ":", "a,b", "x y",
         "${Name}", "${!Name}", "${AWS::Region}", "${TargetGroup.Arn}", "${Nope}", "${", "}", "\u00e9"]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(WORDS),
)
names = st.sampled_from(NAMES)
delimiters = st.sampled_from(["", ",", ":", " ", "-", "a,"])
sub_texts = st.lists(st.sampled_from(WORDS), max_size=4).map("".join)
indexes = st.one_of(st.integers(-2, 4), st.sampled_from(["0", "1", " 1", "x", "1.0"]), st.booleans())
condition_names = st.sampled_from([*CONDITIONS, "Missing"])


def intrinsics(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Every intrinsic the evaluator knows, with well-formed and wrong arguments, and some it does not."""
    lists = st.lists(children, max_size=4)
    return st.one_of(
        st.builds(lambda name: {"Ref": name}, names | children),
        st.builds(
            lambda argument: {"Fn::GetAtt": argument},
            st.sampled_from(["TargetGroup.Arn", "Remote.Outputs.Arn", "Local.Outputs.X", "Nope.Arn", "NoDot"])
            | st.lists(names | st.sampled_from(["Arn", "Outputs.X"]), max_size=3)
            | children,
        ),
        st.builds(
            lambda argument: {"Fn::Sub": argument},
            sub_texts
            | st.builds(
                lambda text, variables: [text, variables],
                sub_texts,
                st.dictionaries(st.sampled_from(["Name", "X", "AWS::Region"]), children, max_size=2),
            )
            | children,
        ),
        st.builds(lambda delimiter, items: {"Fn::Join": [delimiter, items]}, delimiters, lists | children),
        st.builds(lambda argument: {"Fn::Join": argument}, children),
        st.builds(lambda index, items: {"Fn::Select": [index, items]}, indexes | children, lists | children),
        st.builds(
            lambda delimiter, text: {"Fn::Split": [delimiter, text]},
            delimiters,
            st.sampled_from(WORDS) | children,
        ),
        st.builds(
            lambda top, second, third, default: {"Fn::FindInMap": [top, second, third, *default]},
            st.sampled_from(["Env", "Deep", "Bad", "Nope"]) | children,
            st.sampled_from(["prod", "dev", "a", "x"]) | children,
            st.sampled_from(["Timeout", "Name", "List", "b", "x"]) | children,
            st.lists(st.builds(lambda value: {"DefaultValue": value}, children) | children, max_size=1),
        ),
        st.builds(
            lambda condition, a, b: {"Fn::If": [condition, a, b]},
            condition_names | children,
            children,
            children,
        ),
        st.builds(lambda argument: {"Fn::If": argument}, lists | children),
        st.builds(lambda argument: {"Fn::ImportValue": argument}, children),
        st.builds(
            lambda name, argument: {name: argument},
            st.sampled_from(["Fn::Base64", "Fn::GetAZs", "Fn::Cidr", "Fn::Nope", "Condition"]),
            children,
        ),
    )


def property_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """A property value as a decoded template holds it: scalars, lists, mappings, intrinsics."""
    return st.recursive(
        scalars | names.map(lambda name: {"Ref": name}),
        lambda children: (
            intrinsics(children)
            | st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(["Key", "Value", "Name", "Fn::Join", "Ref"]), children, max_size=3
            )
        ),
        max_leaves=max_leaves,
    )


def well_formed_cfn(value: Any, top: bool = True) -> str | None:
    """`malformed`, except that the removed marker may be the whole value (a `Ref: AWS::NoValue`)."""
    if top and value is REMOVED:
        return None
    if isinstance(value, Text):
        return None
    return malformed(value)


# --- (1) intrinsics: never an exception, the same value every time, well formed --------------------------


@examples(250)
@given(property_values())
def test_property_values_evaluate_to_a_value_or_an_unknown(node: Any) -> None:
    value, known = guarded(lambda: evaluate(node))
    if known is not None:
        event(f"known bug: {known}")
        return
    note(f"{json.dumps(node)} -> {value!r}")
    problem = well_formed_cfn(value)
    assert problem is None, problem
    assert canonical(evaluate(node)) == canonical(value), (
        "evaluating the same node twice gave different values"
    )
    event("Unknown" if isinstance(value, Unknown) else type(value).__name__)


@examples(40)
@given(
    st.integers(65, 400), st.sampled_from(["Fn::Join", "Fn::Select", "Fn::If", "Fn::Sub", "list", "object"])
)
def test_deep_nesting_is_an_unknown_not_a_crash(depth: int, kind: str) -> None:
    node: Any = "x"
    for _ in range(depth):
        node = {
            "Fn::Join": {"Fn::Join": ["", [node]]},
            "Fn::Select": {"Fn::Select": [0, [node]]},
            "Fn::If": {"Fn::If": ["IsApi", node, "y"]},
            "Fn::Sub": {"Fn::Sub": ["${X}", {"X": node}]},
            "list": [node],
            "object": {"Key": node},
        }[kind]
    value = evaluate(node)
    assert malformed(value) is None
    inner: Any = value
    while isinstance(inner, (list, dict)) and inner:
        inner = next(iter(inner.values())) if isinstance(inner, dict) else inner[0]
    assert isinstance(inner, Unknown) and "nested too deeply" in inner.reason, inner


# --- (2) intrinsics on well-formed arguments give what CloudFormation gives -----------------------------

texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
plain_words = st.sampled_from(["a", "b", "api", "8080", "x y", "", ",", "\u00e9"]) | texts


@examples(150)
@given(st.sampled_from([",", ":", " ", "", "--"]), st.lists(plain_words, max_size=5))
def test_join_joins(delimiter: str, items: list[str]) -> None:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-join.html
    assert evaluate({"Fn::Join": [delimiter, items]}) == delimiter.join(items)
    # an element that is `Ref: AWS::NoValue` is left out
    with_removed = [*items, {"Ref": "AWS::NoValue"}]
    assert evaluate({"Fn::Join": [delimiter, with_removed]}) == delimiter.join(items)


@examples(150)
@given(st.sampled_from([",", ":", " ", "--", "a"]), st.lists(plain_words, min_size=1, max_size=5))
def test_split_splits_and_join_undoes_it(delimiter: str, items: list[str]) -> None:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-split.html
    text = delimiter.join(items)
    parts = evaluate({"Fn::Split": [delimiter, text]})
    assert parts == text.split(delimiter)
    assert evaluate({"Fn::Join": [delimiter, {"Fn::Split": [delimiter, text]}]}) == text


@examples(150)
@given(st.lists(plain_words, max_size=5), st.integers(-2, 6), st.booleans())
def test_select_selects_in_range_and_is_unknown_outside(items: list[str], index: int, as_text: bool) -> None:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-select.html
    # "The index value must be a value from zero to N-1"; it may be given as a string ("1")
    value = evaluate({"Fn::Select": [str(index) if as_text else index, items]})
    if 0 <= index < len(items):
        assert value == items[index]
    else:
        assert isinstance(value, Unknown), value


@examples(150)
@given(
    st.lists(
        st.sampled_from(["text", "${Name}", "${!Name}", "${PortText}", "${X}", "-", "${!Literal}"]),
        max_size=5,
    ),
    texts,
)
def test_sub_substitutes_parameters_variables_and_literals(pieces: list[str], variable: str) -> None:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-sub.html:
    # ${Name} a parameter (its Default here), ${X} a variable given, ${!Literal} the text ${Literal}
    expected = "".join(
        {
            "${Name}": "api",
            "${!Name}": "${Name}",
            "${PortText}": "8080",
            "${X}": variable,
            "${!Literal}": "${Literal}",
        }.get(piece, piece)
        for piece in pieces
    )
    assert evaluate({"Fn::Sub": ["".join(pieces), {"X": variable}]}) == expected
    if "${X}" not in pieces:
        assert evaluate({"Fn::Sub": "".join(pieces)}) == expected


@examples(100)
@given(
    st.lists(
        st.sampled_from(["a", "${AWS::Region}", "${TargetGroup.Arn}", "${NoDefault}"]), min_size=1, max_size=4
    )
)
def test_sub_of_what_only_a_deployment_knows_is_unknown_with_the_rest_readable(pieces: list[str]) -> None:
    value = evaluate({"Fn::Sub": "".join(pieces)})
    if pieces == ["a"] * len(pieces):
        assert value == "a" * len(pieces)
        return
    assert isinstance(value, Unknown) and value.partial is not None
    assert sum(1 for _ in str(value.partial).split(HOLE)) == 1 + 2 * (len(pieces) - pieces.count("a"))
    assert ("TargetGroup" in value.refs) == ("${TargetGroup.Arn}" in pieces)


@examples(100)
@given(st.sampled_from(sorted(CONDITIONS)), scalars, scalars)
def test_if_takes_the_branch_its_condition_decides(condition: str, then: Any, otherwise: Any) -> None:
    # the parameters' Defaults decide: Name is "api", Port 8080; NoDefault and AWS::Region are unknown
    decided = {
        "IsApi": True,
        "NotApi": False,
        "Both": True,
        "Either": None,
        "Unknowable": None,
        "Numbers": True,
        "Loop": None,  # (though IsApi is true: a condition that depends on itself is unknown)
    }
    value = evaluate({"Fn::If": [condition, then, otherwise]})
    if decided.get(condition) is None:
        assert isinstance(value, Unknown), value
    else:
        chosen = then if decided[condition] else otherwise
        assert canonical(value) == canonical(evaluate(chosen))


@examples(100)
@given(
    st.sampled_from(
        [
            ("Env", "prod", "Timeout"),
            ("Env", "dev", "Timeout"),
            ("Env", "prod", "List"),
            ("Deep", "a", "b"),
            ("Env", "qa", "Timeout"),
            ("Nope", "a", "b"),
            ("Bad", "a", "b"),
        ]
    ),
    st.none() | scalars,
)
def test_find_in_map_finds_or_takes_the_default_or_is_unknown(
    path: tuple[str, str, str], default: Any
) -> None:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-findinmap.html
    top, second, third = path
    mapping = MAPPINGS.get(top)
    found = mapping.get(second, {}).get(third) if isinstance(mapping, dict) else None
    argument: list[Any] = [top, second, third]
    if default is not None:
        argument.append({"DefaultValue": default})
    value = evaluate({"Fn::FindInMap": argument})
    if found is not None:
        assert canonical(value) == canonical(evaluate(found))
    elif default is not None:
        assert canonical(value) == canonical(evaluate(default))
    else:
        assert isinstance(value, Unknown), value


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Name", "api"),
        ("PortText", "8080"),
        ("Port", 8080),
        ("Words", ["a", "b", "c"]),
        ("Subnets", ["s-1", "s-2"]),
    ],
)
def test_ref_to_a_parameter_is_its_default(name: str, expected: Any) -> None:
    assert evaluate({"Ref": name}) == expected


@pytest.mark.parametrize("name", ["NoDefault", "Ssm", "AWS::Region", "TargetGroup", "Nope"])
def test_ref_to_what_a_deployment_decides_is_unknown(name: str) -> None:
    value = evaluate({"Ref": name})
    assert isinstance(value, Unknown)
    assert value.refs == (frozenset({"TargetGroup"}) if name == "TargetGroup" else frozenset())


@examples(100)
@given(
    st.lists(scalars | st.just({"Ref": "AWS::NoValue"}), max_size=5),
    st.dictionaries(st.sampled_from(["A", "B", "C"]), scalars | st.just({"Ref": "AWS::NoValue"}), max_size=3),
)
def test_no_value_removes_list_elements_and_properties(items: list[Any], properties: dict[str, Any]) -> None:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html#cfn-pseudo-param-novalue
    removed = {"Ref": "AWS::NoValue"}
    assert evaluate(items) == [item for item in items if item != removed]
    assert evaluate(properties) == {key: item for key, item in properties.items() if item != removed}


# --- (3) whole templates, decoded by cfn-lint, loaded and checked: numbers as strings and odd shapes -------


# How a whole number may be written where CloudFormation takes one (an attribute Value is a String, a
# Port an Integer): all the same number to CloudFormation.
def whole_number_spellings(number: int) -> list[Any]:
    return [number, str(number), {"Ref": "Seconds"}, {"Fn::Sub": str(number)}, {"Fn::Join": ["", [str(number)]]},
            {"Fn::Select": [1, ["0", str(number)]]}, {"Fn::FindInMap": ["Values", "seconds", "value"]},
            {"Fn::If": ["Always", str(number), "1"]}]  # fmt: skip


NOT_WHOLE = ["abc", "", "1.5", 1.5, True, ["120"], {"a": 1}, {"Fn::Join": [",", ["1", "2"]]}, "12 0"]


def service_template(idle: Any, delay: Any, port: Any, command: Any, seconds: int) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Seconds": {"Type": "Number", "Default": seconds}},
        "Mappings": {"Values": {"seconds": {"value": str(seconds)}}},
        "Conditions": {"Always": {"Fn::Equals": ["a", "a"]}},
        "Resources": {
            "LoadBalancer": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {
                    "LoadBalancerAttributes": [{"Key": "idle_timeout.timeout_seconds", "Value": idle}]
                },
            },
            "Listener": {
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": {"Ref": "LoadBalancer"},
                    "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}],
                },
            },
            "TargetGroup": {
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": {
                    "Port": 8000,
                    "TargetType": "ip",
                    "TargetGroupAttributes": [
                        {"Key": "deregistration_delay.timeout_seconds", "Value": delay}
                    ],
                },
            },
            "TaskDefinition": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "ContainerDefinitions": [{"Name": "api", "Image": "python:3.12", "Command": command}]
                },
            },
            "Service": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "TaskDefinition": {"Ref": "TaskDefinition"},
                    "LoadBalancers": [
                        {
                            "ContainerName": "api",
                            "ContainerPort": port,
                            "TargetGroupArn": {"Ref": "TargetGroup"},
                        }
                    ],
                },
            },
        },
    }


@contextmanager
def written(files: dict[str, str]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for name, text in files.items():
            (root / name).write_text(text)
        yield root


def load_template(data: dict[str, Any], times: int = 1) -> Any:
    """The inventory of a template file of `data` (with `times`, a list of that many loads of it)."""
    with written({"template.json": json.dumps(data)}) as root:
        loads = [load([root / "template.json"]) for _ in range(times)]
    return loads[0] if times == 1 else loads


@examples(30)
@given(
    st.integers(1, 4000),
    st.data(),
)
def test_whole_numbers_written_any_way_are_read_as_numbers(seconds: int, data: st.DataObject) -> None:
    idle, delay, port = (
        data.draw(st.sampled_from(whole_number_spellings(seconds)), label)
        for label in ("idle", "delay", "port")
    )
    inventory = load_template(service_template(idle, delay, port, ["uvicorn", "app:app"], seconds))
    assert inventory.errors == ()
    (balancer,) = inventory.load_balancers
    (group,) = inventory.target_groups
    (service,) = inventory.services
    assert balancer.idle_timeout.value == seconds, balancer.idle_timeout
    assert group.deregistration_delay.value == seconds, group.deregistration_delay
    assert service.attachments[0].container_port.value == seconds, service.attachments[0].container_port


@pytest.mark.parametrize("where", ["idle", "delay", "port"])
@pytest.mark.parametrize("value", NOT_WHOLE, ids=repr)
def test_what_is_not_a_whole_number_is_unknown_with_a_reason(value: Any, where: str) -> None:
    spelled = {"idle": 60, "delay": 60, "port": 8000} | {where: value}
    inventory = load_template(
        service_template(spelled["idle"], spelled["delay"], spelled["port"], ["uvicorn"], 60)
    )
    (balancer,) = inventory.load_balancers
    (group,) = inventory.target_groups
    (service,) = inventory.services
    setting = {
        "idle": balancer.idle_timeout,
        "delay": group.deregistration_delay,
        "port": service.attachments[0].container_port,
    }[where]
    assert setting.value is None and not setting.known and setting.note, setting


@examples(40)
@given(
    property_values(max_leaves=6),
    property_values(max_leaves=6),
    property_values(max_leaves=6),
    property_values(max_leaves=8),
)
def test_templates_of_odd_property_values_are_scanned_without_an_exception(
    idle: Any, delay: Any, port: Any, command: Any
) -> None:
    data = service_template(idle, delay, port, command, 30)
    data["Parameters"].update(PARAMETERS)
    data["Mappings"].update(MAPPINGS)
    # (each parameter a condition compares is a scenario more: two conditions on one parameter here)
    data["Conditions"].update(
        {name: CONDITIONS[name] for name in ("IsApi", "NotApi", "Broken", "NotACondition", "Loop")}
    )
    result, known = guarded(lambda: load_template(data, times=2))
    if known is not None:
        event(f"known bug: {known}")
        return
    first, second = result
    assert first == second, "loading the same template twice gave different inventories"
    scanned = check(first)  # the topology, the server catalog and the rules take what the loader gives
    assert all(finding.message for finding in scanned.findings)


# --- (4) ECS container definitions ----------------------------------------------------------------------


def partial(text: str) -> Unknown:
    """A template string known but for one part (`"${var.image}:latest"` with var.image unknown)."""
    return Unknown(
        "var.tag has no default",
        frozenset(),
        Text(text.replace("?", f"{HOLE}0{HOLE}"), HERE),
        (Unknown("var.tag"),),
    )


ecs_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.sampled_from([1.5, 75.0, 0.25]),
    st.sampled_from(["gunicorn", "--keep-alive", "75", "", "sh -c 'x'", "\u00e9", "a b"]),
    st.sampled_from(["75", "--bind=0.0.0.0:8000"]).map(lambda text: located(text, HERE)),
    st.just(
        Unknown("aws_ssm_parameter.x.value is known only after apply", frozenset({"aws_ssm_parameter.x"}))
    ),
    st.sampled_from(["app:?", "?"]).map(partial),
)
ecs_values = st.recursive(
    ecs_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["name", "value", "Name", "x"]), children, max_size=3).map(
            lambda items: Obj(items.items())
        )
    ),
    max_leaves=6,
)
argv = st.one_of(st.lists(ecs_scalars, max_size=5), ecs_values)
environment_entries = st.one_of(
    st.builds(
        lambda name, value: Obj({"name": name, "value": value}.items()),
        st.sampled_from(["GUNICORN_CMD_ARGS", "PORT", "X"]) | ecs_scalars,
        ecs_scalars,
    ),
    st.builds(
        lambda name, value: {"Name": name, "Value": value},
        st.sampled_from(["PORT", "WEB_CONCURRENCY"]),
        ecs_scalars,
    ),
    ecs_values,
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": st.sampled_from(["app", "proxy", "", "api"]) | ecs_scalars,
    "image": st.sampled_from(["python:3.12", "nginx"]) | ecs_scalars,
    "command": argv,
    "entryPoint": argv,
    "environment": st.lists(environment_entries, max_size=4) | ecs_values,
    "secrets": st.lists(
        st.builds(
            lambda name, value: {"name": name, "valueFrom": value},
            st.sampled_from(["DB", "KEY"]) | ecs_scalars,
            ecs_scalars,
        )
        | ecs_values,
        max_size=2,
    )
    | ecs_values,
    "dockerLabels": st.dictionaries(
        st.sampled_from(["keepalive-guard.keep-alive-seconds", "x"]), ecs_scalars, max_size=2
    ).map(lambda items: Obj(items.items()))
    | ecs_values,
    "environmentFiles": st.lists(
        st.builds(lambda value: {"value": value, "type": "s3"}, ecs_scalars) | ecs_values, max_size=2
    )
    | ecs_values,
    "workingDirectory": ecs_scalars,
    "portMappings": st.lists(
        st.builds(lambda port: {"containerPort": port, "protocol": "tcp"}, ecs_scalars) | ecs_values,
        max_size=2,
    )
    | ecs_values,
}


def spelled(key: str, style: int) -> str:
    """Keys are matched without regard to case (terraform-aws-modules writes `entrypoint`)."""
    return [key, key.lower(), key[0].upper() + key[1:], key.upper()][style]


@st.composite
def container_definitions(draw: st.DrawFn, style: int | None = None) -> dict[str, Any]:
    fields = draw(st.lists(st.sampled_from(sorted(FIELDS)), unique=True, max_size=len(FIELDS)))
    style = draw(st.integers(0, 3)) if style is None else style
    return {spelled(key, style): draw(FIELDS[key]) for key in fields}


def expected_text(value: Any) -> str | None:
    """A definition value as ECS takes it in a list of strings: strings as they are, numbers and
    booleans as JSON writes them, a partly known string with its unknown part marked; None: unknown."""
    if isinstance(value, Unknown):
        return None if value.partial is None else str(value.partial).replace(f"{HOLE}0{HOLE}", UNKNOWN_PART)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value) if isinstance(value, str) else None


def field(definition: dict[str, Any], key: str) -> Any:
    return next((value for name, value in definition.items() if name.lower() == key.lower()), None)


def check_argv(setting: Setting[tuple[str, ...]] | None, value: Any, key: str) -> None:
    if value is None:
        assert setting is None
        return
    assert setting is not None
    if not isinstance(value, list):
        assert setting.value is None and not setting.known and setting.note, setting
        return
    texts = [expected_text(item) for item in value]
    if texts and all(text is None for text in texts):
        assert setting.value is None and not setting.known, setting
        return
    assert setting.value == tuple(UNKNOWN_PART if text is None else text for text in texts), (
        key,
        value,
        setting,
    )


@examples(150)
@given(st.lists(container_definitions() | ecs_values, max_size=3) | ecs_values)
def test_container_definitions_of_any_shape_give_containers_or_a_reason(definitions: Any) -> None:
    containers, reason = read_containers(definitions, HERE)
    again = read_containers(definitions, HERE)
    assert again == (containers, reason), "reading the same definitions twice gave different containers"
    if isinstance(definitions, Unknown):
        assert containers is None and reason == definitions.reason
        return
    entries = [definitions] if isinstance(definitions, dict) else definitions
    if not isinstance(entries, list):
        assert containers is None and reason, (containers, reason)
        return
    assert containers is not None and reason == ""
    objects = [(position, entry) for position, entry in enumerate(entries) if isinstance(entry, dict)]
    assert len(containers) == len(objects)
    for container, (position, definition) in zip(containers, objects, strict=True):
        name = field(definition, "name")
        assert container.name == (
            name
            if isinstance(name, str)
            else f"#{position}"
            if name is None
            else f"#{position} (name unknown)"
        )
        check_argv(container.command, field(definition, "command"), "command")
        check_argv(container.entry_point, field(definition, "entryPoint"), "entryPoint")
        image = field(definition, "image")
        expected_image = expected_text(image) if image is not None else None
        assert container.image.value == expected_image or (image is None and not container.image.known), (
            container.image
        )
        check_environment(container, definition)


def check_environment(container: Container, definition: dict[str, Any]) -> None:
    environment = field(definition, "environment")
    expected = []
    for entry in environment if isinstance(environment, list) else []:
        if isinstance(entry, dict) and isinstance(field(entry, "name"), str):
            expected.append((field(entry, "name"), expected_text(field(entry, "value"))))
    secrets = field(definition, "secrets")
    for entry in secrets if isinstance(secrets, list) else []:
        if isinstance(entry, dict) and isinstance(field(entry, "name"), str):
            expected.append((field(entry, "name"), None))
    assert [(name, setting.value) for name, setting in container.environment] == expected
    for (_, setting), (_, text) in zip(container.environment, expected, strict=True):
        assert setting.known == (text is not None), setting
    # a list, entry or name that is not what ECS takes may set any variable: said, never dropped
    for key in ("environment", "secrets"):
        value = field(definition, key)
        odd = value is not None and (
            not isinstance(value, list)
            or any(
                entry is not None
                and (not isinstance(entry, dict) or not isinstance(field(entry, "name"), (str, type(None))))
                for entry in value
            )
        )
        assert odd == any(note.startswith(f"{key},") for note in container.hidden_environment), (
            key,
            value,
            container.hidden_environment,
        )
    labels = field(definition, "dockerLabels")
    assert [(name, setting.value) for name, setting in container.docker_labels] == (
        [(name, expected_text(value)) for name, value in labels.items()] if isinstance(labels, dict) else []
    )


@examples(80)
@given(container_definitions(style=0), st.integers(1, 3))
def test_keys_are_matched_without_regard_to_case(definition: dict[str, Any], style: int) -> None:
    respelled = {spelled(key, style): value for key, value in definition.items()}
    assert read_containers([respelled], HERE) == read_containers([definition], HERE)


# --- (5) the same definitions through every way of writing them agree -----------------------------------

# (json.dumps escapes characters beyond the BMP as surrogate pairs, which cfn-lint's YAML decoder refused:
# test_json_template_with_an_escaped_astral_character_is_a_template)
json_strings = st.text(st.characters(exclude_characters="\x00$%", exclude_categories=["Cs"]), max_size=6)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.sampled_from([1.5, 0.25]), json_strings
)
json_argv = st.lists(json_scalars, max_size=4) | json_scalars
json_environment = st.lists(
    st.builds(
        lambda name, value: {"name": name, "value": value},
        st.sampled_from(["PORT", "GUNICORN_CMD_ARGS"]) | json_scalars,
        json_scalars,
    ),
    max_size=3,
)


@st.composite
def json_definitions(draw: st.DrawFn) -> list[dict[str, Any]]:
    containers = []
    for index in range(draw(st.integers(1, 2))):
        container: dict[str, Any] = {
            "name": f"c{index}",
            "image": draw(st.sampled_from(["python:3.12", "nginx"])),
        }
        for key, strategy in (
            ("command", json_argv),
            ("entryPoint", json_argv),
            ("environment", json_environment),
        ):
            if draw(st.booleans()):
                container[key] = draw(strategy)
        containers.append(container)
    return containers


def hcl_string(text: str) -> str:
    """A quoted HCL string: only the escapes HCL has (\\n \\r \\t \\" \\\\ \\uNNNN)."""
    escapes = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return (
        '"'
        + "".join(escapes.get(c, f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c) for c in text)
        + '"'
    )


def hcl_literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return hcl_string(value)  # (no $ or %: no template sequences)
    if isinstance(value, list):
        return "[" + ", ".join(hcl_literal(item) for item in value) + "]"
    return "{" + ", ".join(f"{hcl_string(key)} = {hcl_literal(item)}" for key, item in value.items()) + "}"


def terraform_task(container_definitions: str, extra: dict[str, str] | None = None) -> Inventory:
    text = f'resource "aws_ecs_task_definition" "app" {{\n  family = "app"\n  container_definitions = {container_definitions}\n}}\n'
    with written({"main.tf": text, **(extra or {})}) as root:
        return load([root])


def container_values(inventory: Inventory) -> list[tuple[Any, ...]]:
    assert inventory.errors == (), inventory.errors
    (task,) = inventory.task_definitions
    assert task.containers is not None, task.containers_note

    def value(setting: Setting[Any] | None) -> Any:
        return None if setting is None else (setting.value, setting.known)

    return [
        (
            container.name,
            value(container.image),
            value(container.command),
            value(container.entry_point),
            tuple((name, value(setting)) for name, setting in container.environment),
        )
        for container in task.containers
    ]


@examples(30)
@given(json_definitions())
def test_definitions_read_the_same_from_hcl_json_heredoc_file_and_cloudformation(
    definitions: list[dict[str, Any]],
) -> None:
    text = json.dumps(definitions, indent=2)
    expected = container_values(terraform_task(f"jsonencode({hcl_literal(definitions)})"))
    note(f"jsonencode: {expected}")
    assert container_values(terraform_task(f"<<EOT\n{text}\nEOT")) == expected
    assert (
        container_values(terraform_task('file("${path.module}/containers.json")', {"containers.json": text}))
        == expected
    )
    assert container_values(terraform_task(json.dumps(json.dumps(definitions)))) == expected
    template = {
        "Resources": {
            "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"ContainerDefinitions": definitions}}
        }
    }
    assert container_values(load_template(template)) == expected
    for container, definition in zip(expected, definitions, strict=True):
        command = definition.get("command")
        if isinstance(command, list) and command and all(isinstance(item, str) for item in command):
            assert container[2] == (tuple(command), True)


# --- regressions: bugs these properties found ------------------------------------------------------------


def test_split_with_an_empty_delimiter_is_unknown() -> None:
    """{"Fn::Split": ["", "abc"]} raised ValueError("empty separator") (Python's str.split) out of load().
    How CloudFormation splits by an empty delimiter is not documented
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-split.html):
    unknown, with the reason."""
    value = evaluate({"Fn::Split": ["", "abc"]})
    assert isinstance(value, Unknown) and value.reason == "Fn::Split: the delimiter is empty", value
    assert isinstance(evaluate({"Fn::Select": [0, {"Fn::Split": ["", {"Ref": "Name"}]}]}), Unknown)


def _counting_truth(calls: list[Any]) -> Callable[..., Any]:
    original = Evaluator.truth

    def truth(self: Evaluator, node: Any, depth: int) -> Any:
        calls.append(node)
        if len(calls) > 10_000:
            raise AssertionError("more than 10,000 condition evaluations: exponential in the nesting")
        return original(self, node, depth)

    return truth


def test_each_condition_is_evaluated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Conditions were not memoised: a chain of conditions each using the next one three times was
    evaluated 3**n times (twelve took minutes). Each is evaluated once per evaluator, which is once per
    scenario of the conditions (scenarios.py)."""
    conditions: dict[str, Any] = {
        f"C{index}": {"Fn::And": [{"Condition": f"C{index + 1}"}] * 3} for index in range(12)
    }
    conditions["C12"] = {"Fn::Equals": ["a", "a"]}
    data = {"Resources": {}, "Conditions": conditions}
    calls: list[Any] = []
    monkeypatch.setattr(Evaluator, "truth", _counting_truth(calls))
    evaluator = Evaluator(Template("template.json", data))
    assert evaluator.value({"Fn::If": ["C0", "x", "y"]}, HERE) == "x"
    # each condition's node once, and each of its three {"Condition": next}
    assert len(calls) == 12 * 4 + 1, len(calls)
    assert evaluator.value({"Fn::If": ["C5", "x", "y"]}, HERE) == "x"
    assert len(calls) == 12 * 4 + 1, "a condition already decided was evaluated again"


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"A": {"Fn::Or": [{"Condition": "A"}, {"Condition": "A"}]}}, "condition A depends on itself"),
        (
            {
                "A": {"Fn::Or": [{"Condition": "B"}, {"Fn::Equals": ["a", "a"]}]},
                "B": {"Fn::Not": [{"Fn::If": ["A", {"Condition": "A"}, {"Condition": "A"}]}]},
            },
            "condition A depends on itself (through B)",
        ),
    ],
)
def test_a_condition_that_depends_on_itself_is_unknown(conditions: dict[str, Any], expected: str) -> None:
    """A condition referring to itself (`A: {"Fn::Or": [{"Condition": "A"}, {"Condition": "A"}]}`, which
    CloudFormation rejects) took about 18 s before "nested too deeply", or never ended with three
    references. It is unknown, whatever else it says (A is not true for its `Fn::Equals`)."""
    data = {"Resources": {}, "Conditions": conditions}
    value = evaluate({"Fn::If": ["A", "x", "y"]}, data)
    assert isinstance(value, Unknown) and value.reason == expected, value


def test_a_condition_that_depends_on_itself_through_a_mapping_is_unknown() -> None:
    """A loop only evaluation follows (CloudFormation's mappings hold no intrinsics; the evaluator reads
    them all the same) is unknown too, not evaluated until too deep."""
    data = {
        "Resources": {},
        "Mappings": {"M": {"k": {"v": {"Fn::If": ["A", "x", "y"]}}}},
        "Conditions": {"A": {"Fn::Equals": [{"Fn::FindInMap": ["M", "k", "v"]}, "x"]}},
    }
    value = evaluate({"Fn::If": ["A", "x", "y"]}, data)
    assert isinstance(value, Unknown) and value.reason == "condition A depends on itself", value


def test_a_template_with_a_condition_loop_loads_with_an_error_at_the_condition() -> None:
    """A template whose resource Condition referred to itself three times never finished loading. It is
    one input error at the condition's line, and the resource, its condition unknown, is read as if
    created."""
    data = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Env": {"Type": "String", "Default": "prod"}},
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "A": {"Fn::Or": [{"Condition": "A"}] * 3},
            "B": {"Fn::And": [{"Condition": "C"}, {"Condition": "IsProd"}]},
            "C": {"Fn::Not": [{"Condition": "B"}]},
        },
        "Resources": {
            "Group": {
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Condition": "A",
                "Properties": {"Port": 80},
            }
        },
    }
    started = time.monotonic()
    with written({"template.json": json.dumps(data, indent=2)}) as root:
        inventory = load([root / "template.json"])
    assert time.monotonic() - started < 5
    assert sorted({(error.line, error.message) for error in inventory.errors}) == [
        (18, "condition A depends on itself"),
        (31, "condition B depends on itself (through C)"),
        (41, "condition C depends on itself (through B)"),
    ]
    assert {group.id.address for group in inventory.target_groups} == {"Group"}
    # the conditions on Env still make two scenarios
    assert sorted(variant.conditions for variant in inventory.variants) == [
        (("IsProd", False),),
        (("IsProd", True),),
    ]


def test_null_in_join_and_sub_is_unknown() -> None:
    """A null among Fn::Join's values or as a Fn::Sub variable was joined as Python's "None":
    {"Fn::Join": ["", ["a", null]]} was "aNone". CloudFormation takes a list of strings (it rejects a
    null): unknown, with the reason."""
    for node, reason in (
        ({"Fn::Join": ["", ["a", None]]}, "Fn::Join: null is not a string"),
        ({"Fn::Join": [",", ["a", {"Fn::If": ["IsApi", None, "b"]}]]}, "Fn::Join: null is not a string"),
        ({"Fn::Sub": ["${X}", {"X": None}]}, "Fn::Sub: null is not a string"),
    ):
        value = evaluate(node)
        assert isinstance(value, Unknown) and value.reason == reason, (node, value)
    assert evaluate({"Fn::Sub": ["a", {"X": None}]}) == "a"  # (a variable not used)


ODD_ENVIRONMENTS = [
    (
        {"GUNICORN_CMD_ARGS": "-k gevent"},
        "environment, which is a map, not a list of {name, value} objects",
    ),
    ("GUNICORN_CMD_ARGS=-k gevent", "environment, which is a string, not a list of {name, value} objects"),
    (
        [["GUNICORN_CMD_ARGS", "-k gevent"]],
        "environment, whose entry #0 is a list, not a {name, value} object",
    ),
    (
        [{"name": "PORT", "value": "8000"}, {"name": 7, "value": "-k gevent"}],
        "environment, whose entry #1 has a name that is a number, not a string",
    ),
    (
        [{"name": Unknown("var.name has no value"), "value": "-k gevent"}],
        "environment, whose entry #0 has a name that cannot be evaluated (var.name has no value)",
    ),
]


@pytest.mark.parametrize(("environment", "note"), ODD_ENVIRONMENTS)
def test_odd_environment_shapes_hide_variables(environment: Any, note: str) -> None:
    """An `environment` that is not a list of {name, value} objects (ECS rejects it) was dropped
    without a trace, and the server catalog read the container as if it had no environment. Each odd
    shape is a place where any variable may be set: every variable not listed is unknown, saying why."""
    containers, _ = read_containers([{"name": "app", "image": "python", "environment": environment}], HERE)
    (container,) = containers or ()
    assert container.hidden_environment == (note,)
    secrets = {"DB": "arn:aws:secretsmanager:db"}
    containers, _ = read_containers([{"name": "app", "image": "python", "secrets": secrets}], HERE)
    assert (containers or ())[0].hidden_environment == (
        "secrets, which is a map, not a list of {name, valueFrom} objects",
    )


def test_a_map_for_environment_makes_the_server_unknown_not_its_default() -> None:
    """gunicorn's default sync worker keeps no connection alive; GUNICORN_CMD_ARGS may choose another
    worker. Written as a map, the environment was dropped and the default taken (no finding): the
    keep-alive is unknown (KA002), saying where the variable may be set."""
    data = service_template(60, 60, 8000, ["gunicorn", "app:app"], 60)
    (definition,) = data["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    definition["Environment"] = {"GUNICORN_CMD_ARGS": "-k gevent --keep-alive 75"}
    (finding,) = check(load_template(data)).findings
    assert finding.rule == "KA002"
    assert (
        "GUNICORN_CMD_ARGS may be set in environment, which is a map, not a list of {name, value} objects"
        in finding.message
    ), finding.message


ASTRAL_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "ContainerDefinitions": [{"Name": "\U0001f600", "Image": "nginx", "Command": ["serve"]}]
            },
        }
    },
}


def test_json_template_with_an_escaped_astral_character_is_a_template() -> None:
    """A JSON template holding a character beyond the BMP written as a JSON escape (a surrogate pair,
    as Python's json.dumps writes it: "\\ud83d\\ude00") was "not a valid template: found invalid
    Unicode character escape code": cfn-lint's decoder reads the file as YAML first. The file is
    valid JSON and a template for CloudFormation: cfn-lint's JSON decoder reads it, with the lines of
    its resources and properties."""
    text = json.dumps(ASTRAL_TEMPLATE, indent=2)
    assert "\\ud83d\\ude00" in text
    with written({"template.json": text, "stack.template": text}) as root:
        for name in ("template.json", "stack.template"):  # (JSON by its name, or its text's first "{")
            inventory = load([root / name])
            assert inventory.errors == ()
            (task,) = inventory.task_definitions
            (container,) = task.containers or ()
            assert container.name == "\U0001f600"
            assert (task.id.location.line, container.location.line) == (4, 9)
            assert container.command is not None and container.command.value == ("serve",)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        # half of a surrogate pair is no character (and no report could write it)
        (
            json.dumps(ASTRAL_TEMPLATE, indent=2).replace("\\ude00", ""),
            "template.json:9: not a valid template: found invalid Unicode character escape code",
        ),
        # invalid JSON: JSON's own error, as before
        (
            json.dumps(ASTRAL_TEMPLATE, indent=2)[:-2],
            "template.json:18: not valid JSON: Expecting ',' delimiter",
        ),
        # a key given twice: YAML's error, as before, though JSON's decoder is tried too
        (
            json.dumps(ASTRAL_TEMPLATE, indent=2).replace(
                '"Image": "nginx"', '"Image": "nginx", "Image": "x"'
            ),
            "template.json:9: not a valid template: found invalid Unicode character escape code",
        ),
        (
            json.dumps(ASTRAL_TEMPLATE, indent=2).replace('"nginx"', "NaN"),
            "template.json:9: not a valid template: found invalid Unicode character escape code",
        ),
    ],
    ids=["half a surrogate pair", "invalid JSON", "duplicate key", "NaN"],
)
def test_json_templates_neither_decoder_reads_are_errors(text: str, error: str) -> None:
    with written({"template.json": text}) as root:
        inventory = load([root / "template.json"])
    assert [str(found).removeprefix(f"{root}/") for found in inventory.errors] == [error]
