"""Terraform plan JSON whose fields have the wrong type: each such field is one input error naming the
plan and the field's JSON path, never an exception; the rest of the plan is still read, and the fields
Terraform leaves out or sets to null stay silent. Plans as Terraform writes them: tests/loaders/test_plan.py.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.cli import main
from policies.model import shown_path
from policies.scan import Result, scan
from tests.helpers import FIXTURES

PLANS = FIXTURES / "plan"

# derandomize: the same examples on every run, so CI never fails on an example no one saw locally
SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def two_plans() -> dict[str, Any]:
    """chain/plan.json and alb_v9/plan.json as one plan. They share no address: the first's resources are
    in the root module (a KA001), the second's in the child modules the root calls (two KA002), so each
    is "the rest of the plan" for a field of the other. resource_changes[5] deletes aws_lb.old (its
    `after` is null); resource_changes[6:] and child_modules are alb_v9's."""
    chain = json.loads((PLANS / "chain" / "plan.json").read_text())
    alb = json.loads((PLANS / "alb_v9" / "plan.json").read_text())
    chain["planned_values"]["root_module"]["child_modules"] = alb["planned_values"]["root_module"][
        "child_modules"
    ]
    chain["resource_changes"] += alb["resource_changes"]
    chain["configuration"]["root_module"]["module_calls"] = alb["configuration"]["root_module"][
        "module_calls"
    ]
    return chain


BASE = two_plans()
BASE_TEXT = json.dumps(BASE)


def base() -> dict[str, Any]:
    """A copy of the two plans to change (decoding the text is faster than copy.deepcopy)."""
    document: dict[str, Any] = json.loads(BASE_TEXT)
    return document


# The findings of each part, as `found` shows them.
ROOT = frozenset({'KA001 aws_lb.web → aws_lb_target_group.app → aws_ecs_service.app → container "app"'})
MODULES = frozenset(
    {
        'KA002 module.alb.aws_lb.this[0] → module.alb.aws_lb_target_group.this["ex_ecs"] → '
        "module.app_service.aws_ecs_service.this[0]",
        'KA002 module.alb.aws_lb.this[0] → module.alb.aws_lb_target_group.this["ex_admin"] → '
        "module.admin_service.aws_ecs_service.this[0]",
    }
)
# A value of each JSON type, by the name messages give the type.
VALUES: dict[str, Any] = {
    "a number": 5,
    "a string": "x",
    "a list": [1],
    "an object": {"x": 1},
    "a boolean": True,
    "null": None,
}


def found(result: Result) -> set[str]:
    return {f"{finding.rule} {finding.chain.path()}" for finding in result.findings}


def errors(result: Result) -> list[str]:
    return [str(error) for error in result.errors]


def _steps(path: str) -> list[str | int]:
    """`a.b[0].c` → ["a", "b", 0, "c"]."""
    return [int(index) if index else name for name, index in re.findall(r"([A-Za-z_][\w-]*)|\[(\d+)\]", path)]


MISSING = object()


def replaced(path: str, value: Any) -> dict[str, Any]:
    """The two plans with the field at `path` set to `value` (removed when `value` is MISSING)."""
    document = base()
    *parents, last = _steps(path)
    holder: Any = document
    for step in parents:
        holder = holder[step]
    if value is MISSING:
        holder.pop(last, None)
    else:
        holder[last] = value
    return document


OPTIONAL, REQUIRED, ENTRY = "optional", "required", "entry"


@dataclass(frozen=True)
class Field:
    path: str
    expected: str  # what the message says the field should be
    untouched: frozenset[str]  # findings that must still be reported when the field is wrong
    # OPTIONAL: Terraform may leave it out or set it to null; REQUIRED: it always writes it (missing or
    # null is an error); ENTRY: an entry of a list or of a map (null is an error)
    kind: str = OPTIONAL
    also: str = ""  # a type the field may have when it is something else (see its own test)

    def wrong(self) -> list[tuple[str, Any]]:
        """The values of the wrong type for this field, named as the message names them."""
        return [
            (name, value)
            for name, value in VALUES.items()
            if name not in self.expected
            and name != self.also
            and (value is not None or self.kind != OPTIONAL)
        ]


ALL = ROOT | MODULES
PV = "planned_values.root_module"
RC = "resource_changes"
CONF = "configuration.root_module"
ALB = f"{CONF}.module_calls.alb"
# Every field the loader reads, in one place of the two plans, with the findings it leaves untouched:
# a field of the root module's part leaves the MODULES findings, a field of the modules' part the ROOT
# finding; a wrong planned_values leaves ALL (resource_changes are read instead).
FIELDS = [
    Field("format_version", "a string", ALL, REQUIRED),
    Field("planned_values", "an object", ALL),
    Field(f"{PV}", "an object", ALL, REQUIRED),
    Field(f"{RC}", "a list", ROOT),  # planned values are read without after_unknown
    Field(f"{PV}.resources", "a list", MODULES),
    Field(f"{PV}.resources[1]", "an object", MODULES, ENTRY),
    Field(f"{PV}.resources[1].address", "a string", MODULES, REQUIRED),
    Field(f"{PV}.resources[1].mode", "a string", MODULES),
    Field(f"{PV}.resources[1].type", "a string", MODULES, REQUIRED),
    Field(f"{PV}.resources[1].name", "a string", MODULES, REQUIRED),
    Field(f"{PV}.resources[1].index", "a number or a string", MODULES),
    Field(f"{PV}.resources[1].values", "an object", MODULES),
    Field(f"{PV}.resources[1].values.default_action", "a list or an object", MODULES),
    Field(f"{PV}.resources[1].values.default_action[0]", "an object", MODULES, ENTRY),
    Field(f"{PV}.resources[3].values.load_balancer", "a list or an object", MODULES),
    Field(f"{PV}.child_modules", "a list", ROOT),
    Field(f"{PV}.child_modules[0]", "an object", ROOT, ENTRY),
    Field(f"{PV}.child_modules[0].address", "a string", ROOT, REQUIRED),
    Field(f"{PV}.child_modules[0].resources", "a list", ROOT),
    Field(f"{PV}.child_modules[0].resources[3].index", "a number or a string", ROOT),
    Field(f"{RC}[3]", "an object", MODULES, ENTRY),
    Field(f"{RC}[3].address", "a string", MODULES, REQUIRED),
    Field(f"{RC}[3].mode", "a string", MODULES),
    Field(f"{RC}[3].type", "a string", MODULES, REQUIRED),
    Field(f"{RC}[3].name", "a string", MODULES, REQUIRED),
    Field(f"{RC}[3].index", "a number or a string", MODULES),
    Field(f"{RC}[11].module_address", "a string", ROOT),
    Field(f"{RC}[3].change", "an object", MODULES, REQUIRED),
    Field(f"{RC}[3].change.actions", "a list", MODULES),
    Field(f"{RC}[3].change.actions[0]", "a string", MODULES, ENTRY),
    Field(f"{RC}[5].change.after", "an object", MODULES),  # null: deleted
    Field(f"{RC}[3].change.after_unknown", "an object or a boolean", MODULES),
    Field(f"{RC}[3].change.after_unknown.load_balancer", "a boolean, an object or a list", MODULES),
    Field(
        f"{RC}[3].change.after_unknown.load_balancer[0].target_group_arn",
        "a boolean, an object or a list",
        MODULES,
    ),
    Field("configuration", "an object", frozenset()),  # nothing to follow unknown ARNs through
    Field(CONF, "an object", frozenset(), REQUIRED),
    Field(f"{CONF}.resources", "a list", MODULES),
    Field(f"{CONF}.resources[3]", "an object", MODULES, ENTRY),
    Field(f"{CONF}.resources[3].mode", "a string", MODULES),
    Field(f"{CONF}.resources[3].type", "a string", MODULES, REQUIRED),
    Field(f"{CONF}.resources[3].name", "a string", MODULES, REQUIRED),
    Field(f"{CONF}.resources[3].expressions", "an object", MODULES),
    Field(f"{CONF}.resources[3].expressions.task_definition", "an object or a list", MODULES, ENTRY),
    Field(f"{CONF}.resources[3].expressions.task_definition.references", "a list", MODULES, also="an object"),
    Field(f"{CONF}.resources[3].expressions.task_definition.references[0]", "a string", MODULES, ENTRY),
    Field(f"{CONF}.resources[3].expressions.load_balancer[0]", "an object", MODULES, ENTRY),
    Field(f"{CONF}.module_calls", "an object", ROOT),
    Field(f"{ALB}", "an object", ROOT, ENTRY),
    Field(f"{ALB}.source", "a string", ROOT),
    Field(f"{ALB}.expressions", "an object", ROOT),
    Field(f"{CONF}.module_calls.app_service.expressions.load_balancer", "an object or a list", ROOT, ENTRY),
    Field(f"{ALB}.module", "an object", ROOT, REQUIRED),
    Field(f"{ALB}.module.resources", "a list", ROOT),
    Field(f"{ALB}.module.outputs", "an object", ROOT),
    Field(f"{ALB}.module.outputs.target_groups", "an object", ROOT, ENTRY),
    Field(f"{ALB}.module.outputs.target_groups.expression", "an object", ROOT, REQUIRED),
]
CASES = [
    pytest.param(item, name, value, id=f"{item.path}={name}")
    for item in FIELDS
    for name, value in item.wrong()
]


# Every plan and state of the fixtures and examples (not .terraform/modules/modules.json: terraform init's)
WRITTEN = [
    *sorted(path for path in PLANS.glob("**/*.json") if ".terraform" not in path.parts),
    FIXTURES.parents[1] / "examples" / "plan" / "plan.json",
]


@pytest.mark.parametrize("plan", WRITTEN, ids=lambda plan: f"{plan.parent.name}/{plan.name}")
def test_the_plans_terraform_writes_have_no_field_of_the_wrong_type(plan: Path) -> None:
    result = scan([plan])
    assert errors(result) == []
    assert result.inputs


def test_the_two_plans_report_the_findings_of_both(in_tmp: Path) -> None:
    (in_tmp / "plan.json").write_text(json.dumps(BASE))
    result = scan([in_tmp / "plan.json"])
    assert errors(result) == []
    assert found(result) == ALL


@pytest.mark.parametrize(("item", "name", "value"), CASES)
def test_a_field_of_the_wrong_type_is_one_error_naming_its_path(
    in_tmp: Path, item: Field, name: str, value: Any
) -> None:
    (in_tmp / "plan.json").write_text(json.dumps(replaced(item.path, value)))
    result = scan([in_tmp / "plan.json"])
    assert errors(result) == [f"plan.json: {item.path} is {name}, expected {item.expected}"]
    assert item.untouched <= found(result)


@pytest.mark.parametrize(
    "item",
    # without format_version, the file is not a plan at all (test_plan.py)
    [item for item in FIELDS if item.kind == REQUIRED and item.path != "format_version"],
    ids=lambda item: item.path,
)
def test_a_missing_field_that_terraform_always_writes_is_one_error(in_tmp: Path, item: Field) -> None:
    (in_tmp / "plan.json").write_text(json.dumps(replaced(item.path, MISSING)))
    result = scan([in_tmp / "plan.json"])
    assert errors(result) == [f"plan.json: {item.path} is missing, expected {item.expected}"]
    assert item.untouched <= found(result)


@pytest.mark.parametrize("path", [item.path for item in FIELDS if item.kind == OPTIONAL])
@pytest.mark.parametrize("value", [None, MISSING], ids=["null", "missing"])
def test_a_field_terraform_may_leave_out_or_set_to_null_is_silent(
    in_tmp: Path, path: str, value: Any
) -> None:
    (in_tmp / "plan.json").write_text(json.dumps(replaced(path, value)))
    assert errors(scan([in_tmp / "plan.json"])) == []


def test_a_block_that_nests_singly_is_one_object(in_tmp: Path) -> None:
    # The plugin framework's single nested blocks are planned as an object, not a list of one.
    document = base()
    values = document["planned_values"]["root_module"]["resources"][3]["values"]
    values["load_balancer"] = values["load_balancer"][0]
    (in_tmp / "plan.json").write_text(json.dumps(document))
    result = scan([in_tmp / "plan.json"])
    assert errors(result) == []
    assert found(result) == ALL


def test_references_that_are_an_object_are_an_argument_of_that_name(in_tmp: Path) -> None:
    # A nested block may have an argument named `references`: its expression is an object, and what is
    # wrong is then in that object.
    path = f"{CONF}.resources[3].expressions.task_definition.references"
    (in_tmp / "plan.json").write_text(json.dumps(replaced(path, {"x": 1})))
    result = scan([in_tmp / "plan.json"])
    assert errors(result) == [f"plan.json: {path}.x is a number, expected an object or a list"]
    assert found(result) >= MODULES


def test_an_error_is_reported_once_however_often_the_field_is_read(in_tmp: Path) -> None:
    # the module's configuration is read to link each of its resources, its outputs and its callers
    document = base()
    calls = document["configuration"]["root_module"]["module_calls"]
    calls["alb"]["module"] = 5
    calls["app_service"]["expressions"]["load_balancer"]["references"] = [
        7,
        *calls["app_service"]["expressions"]["load_balancer"]["references"],
    ]
    (in_tmp / "plan.json").write_text(json.dumps(document))
    result = scan([in_tmp / "plan.json"])
    assert errors(result) == [
        f"plan.json: {ALB}.module is a number, expected an object",
        f"plan.json: {CONF}.module_calls.app_service.expressions.load_balancer.references[0] is a number, "
        "expected a string",
    ]
    assert found(result) >= ROOT


def test_every_wrong_field_of_a_resource_is_reported_and_the_resource_skipped(in_tmp: Path) -> None:
    document = base()
    listener = document["planned_values"]["root_module"]["resources"][1]
    listener.update(type=["aws_lb_listener"], values="{}", index={})
    (in_tmp / "plan.json").write_text(json.dumps(document))
    result = scan([in_tmp / "plan.json"])
    assert errors(result) == [
        f"plan.json: {PV}.resources[1].index is an object, expected a number or a string",
        f"plan.json: {PV}.resources[1].type is a list, expected a string",
        f"plan.json: {PV}.resources[1].values is a string, expected an object",
    ]
    assert found(result) >= MODULES
    assert ROOT.isdisjoint(found(result))  # its listener skipped: the root's chain is not followed


def test_a_task_definition_whose_configuration_records_nothing_is_no_exception(in_tmp: Path) -> None:
    # Terraform leaves `expressions` out of a resource whose block sets nothing: container_definitions
    # is then not set, as far as the configuration goes.
    (in_tmp / "plan.json").write_text(json.dumps(replaced(f"{CONF}.resources[4].expressions", MISSING)))
    result = scan([in_tmp / "plan.json"])
    assert errors(result) == []


@pytest.mark.parametrize(
    ("document", "exit_code"),
    [
        # an error-severity finding (the KA001 of the root part) makes the exit 1
        ({**BASE, "resource_changes": "x"}, 1),
        # otherwise the input errors make it 2, never 0
        (
            {
                "format_version": "1.2",
                "terraform_version": "1.9.0",
                "planned_values": {"root_module": {"resources": 5}},
                "resource_changes": "x",
            },
            2,
        ),
    ],
    ids=["finding", "no-finding"],
)
def test_the_exit_code_follows_the_spec(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], document: dict[str, Any], exit_code: int
) -> None:
    (in_tmp / "plan.json").write_text(json.dumps(document))
    assert main(["scan", "--no-cache", "plan.json"]) == exit_code
    assert "input error: plan.json: resource_changes is a string, expected a list" in capsys.readouterr().out


# --- any subtree replaced by any JSON value -----------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, steps: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """The path of every subtree of `value` (but not of its text inside strings)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [steps] + [path for key, item in items for path in _paths(item, (*steps, key))]


PATHS = _paths(BASE)[1:]


def _replace(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    holder: Any = document
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = value


def _shown(path: tuple[str | int, ...]) -> str:
    """A path as messages write it: `a.b[0]["c d"]`."""
    shown = ""
    for step in path:
        if isinstance(step, int):
            shown += f"[{step}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", step):
            shown += f".{step}" if shown else step
        else:
            shown += f"[{json.dumps(step)}]"
    return shown


WRONG_TYPE = re.compile(r"(.+) is (?:missing|null|a number|a string|a list|an object|a boolean), expected ")


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON), min_size=1, max_size=3))
def test_any_subtree_replaced_by_any_json_is_never_an_exception(
    replacements: list[tuple[tuple[str | int, ...], Any]],
) -> None:
    document, replaced = base(), []
    for path, value in replacements:
        try:
            _replace(document, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed the place
        replaced.append(_shown(path))
    with tempfile.TemporaryDirectory() as directory:
        plan = Path(directory) / "plan.json"
        plan.write_text(json.dumps(document))
        first, second = scan([plan]), scan([plan])
    assert (first.findings, first.errors) == (second.findings, second.errors)
    assert all(error.path == shown_path(plan) for error in first.errors)
    # the plan was right but for what was replaced: a field of the wrong type is in it
    for error in first.errors:
        if match := WRONG_TYPE.match(error.message):
            field = match.group(1)
            assert any(field == path or field.startswith((f"{path}.", f"{path}[")) for path in replaced)
