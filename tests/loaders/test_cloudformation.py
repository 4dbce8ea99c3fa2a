"""CloudFormation templates: detection, decoding (real cfn-lint), resources, intrinsics, parameters."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from policies.cli import main
from policies.loaders import LoadOptions, load
from policies.model import UNKNOWN_PART, Location, Origin
from policies.rules import Options
from policies.scan import Result, scan
from tests.helpers import FIXTURES, only, rules_of

TEMPLATES = FIXTURES / "cloudformation"


def errors(result: Result) -> list[str]:
    return [str(error) for error in result.errors]


def copy(in_tmp: Path, name: str) -> Path:
    shutil.copy(TEMPLATES / name, in_tmp / name)
    return Path(name)


def line(path: Path, needle: str, after: str = "") -> int:
    text = path.read_text()
    start = text.index(after)
    return text.count("\n", 0, text.index(needle, start)) + 1


def test_a_yaml_template_is_checked_end_to_end(in_tmp: Path) -> None:
    path = copy(in_tmp, "service.yaml")
    result = scan([in_tmp])
    assert errors(result) == []
    assert sorted(rules_of(result)) == ["DR001", "KA001"]
    keep_alive = only(result, "KA001")
    assert keep_alive.location == Location("service.yaml", line(path, "Command:"))
    # the idle timeout comes from the parameter's Default, through the attribute's Value
    default, value = line(path, "Default: 120"), line(path, "Value: !Ref IdleTimeout")
    assert (
        f"(idle_timeout.timeout_seconds 120 s at service.yaml:{default}, via service.yaml:{value})"
    ) in keep_alive.message
    assert (
        keep_alive.fix
        == f"Add `--timeout-keep-alive 125` to the uvicorn command at service.yaml:{line(path, 'Command:')}"
    )
    drain = only(result, "DR001")
    delay = line(path, 'Value: "30"')
    assert (
        drain.fix == f"Set deregistration_delay.timeout_seconds = 120 on TargetGroup at service.yaml:{delay}"
    )
    assert [target.chain.path() for target in result.targets] == [
        'LoadBalancer → TargetGroup → Service → container "api"'
    ]


def test_intrinsics_are_evaluated(in_tmp: Path) -> None:
    path = copy(in_tmp, "intrinsics.yaml")
    inventory = load([path])
    # IsProduction can be true or false: both scenarios are read, the defaults' first
    assert [variant.conditions for variant in inventory.variants] == [
        (("IsProduction", False), ("NotProduction", True)),
        (("IsProduction", True), ("NotProduction", False)),
    ]
    staging = inventory.variants[0].unit
    inventory = replace(
        inventory,
        **{
            name: tuple(item for item in getattr(inventory, name) if item.id.unit == staging)
            for name in ("load_balancers", "listeners", "target_groups", "services", "task_definitions")
        },
    )
    (balancer,) = inventory.load_balancers
    # Fn::FindInMap keyed by a parameter, located at the mapping's entry
    assert balancer.idle_timeout.value == 120
    assert balancer.idle_timeout.location == Location("intrinsics.yaml", line(path, "Idle: 120"))
    assert balancer.name == "staging-web"  # Fn::Sub with a parameter
    (group,) = inventory.target_groups
    assert group.name == "staging-web"  # Fn::Join
    assert (group.deregistration_delay.value, group.deregistration_delay.origin) == (30, Origin.SET)
    (definition,) = inventory.task_definitions
    assert definition.family == "web-task"  # Fn::Sub with variables, Fn::Select
    (container,) = definition.containers or ()
    assert container.command is not None
    assert container.command.value == (
        "gunicorn",
        "--threads",
        "4",
        "--keep-alive",
        "75",
        "app:app",
    )  # Fn::Split
    assert dict(container.environment)["WEB_CONCURRENCY"].value == "2"  # Fn::If on a decided condition
    # pseudo parameters are known only at deploy time; the rest of the image stays readable
    assert container.image.value == f"{UNKNOWN_PART}.dkr.ecr.{UNKNOWN_PART}.amazonaws.com/web:1"
    (listener,) = inventory.listeners
    (forward,) = listener.forwards
    assert (forward.target_group.refs, forward.weight) == ({"TargetGroup"}, 100)  # ForwardConfig
    (service,) = inventory.services
    (attachment,) = service.attachments
    assert attachment.target_group is not None and attachment.target_group.refs == {"TargetGroup"}  # GetAtt


def test_parameters_given_override_the_defaults(in_tmp: Path) -> None:
    path = copy(in_tmp, "intrinsics.yaml")
    given = {"Environment": ("production", Location("--parameter Environment"))}
    inventory = load([path], LoadOptions(parameters=given))
    (balancer,) = inventory.load_balancers
    assert (balancer.idle_timeout.value, balancer.name) == (300, "production-web")
    (definition,) = inventory.task_definitions
    (container,) = definition.containers or ()
    assert dict(container.environment)["WEB_CONCURRENCY"].value == "8"


@pytest.mark.parametrize(
    "content",
    [
        [{"ParameterKey": "Environment", "ParameterValue": "production"}],  # aws cloudformation CLI
        {"Parameters": {"Environment": "production"}},  # CodePipeline template configuration
        {"Environment": "production"},
    ],
)
def test_parameter_files_in_the_shapes_aws_tools_write(in_tmp: Path, content: object) -> None:
    copy(in_tmp, "intrinsics.yaml")
    Path("params.json").write_text(json.dumps(content))
    assert main(["scan", "intrinsics.yaml", "--parameters", "params.json", "--format", "json"]) == 1


def test_a_bad_parameters_file_is_one_line_and_exit_2(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy(in_tmp, "intrinsics.yaml")
    Path("params.json").write_text('{"Parameters": [1, 2]')
    assert main(["scan", "intrinsics.yaml", "--parameters", "params.json"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("keepalive-guard: --parameters params.json: not valid JSON:")
    assert error.count("\n") == 1


def test_a_json_template_and_a_classic_elb_without_draining(in_tmp: Path) -> None:
    path = copy(in_tmp, "classic.json")
    result = scan([path])
    assert errors(result) == []
    assert sorted(rules_of(result)) == ["DR001", "KA001"]
    drain = only(result, "DR001")
    assert "ConnectionDrainingPolicy is not set: draining is disabled" in drain.message
    legacy = line(path, chr(34) + "Legacy" + chr(34))
    assert drain.fix == (
        "Set ConnectionDrainingPolicy.Enabled = true and ConnectionDrainingPolicy.Timeout = 30 on Legacy "
        f"at classic.json:{legacy}"
    )
    keep_alive = only(result, "KA001")
    assert "the 30 s idle timeout of the Classic ELB Legacy" in keep_alive.message
    assert (
        f"ConnectionSettings.IdleTimeout 30 s at classic.json:{line(path, 'IdleTimeout')}"
        in keep_alive.message
    )


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({"Enabled": False}, (0, "ConnectionDrainingPolicy.Enabled is false")),
        ({"Enabled": True}, (300, "not set: the AWS default")),
        ({"Enabled": "true", "Timeout": 60}, (60, "")),
    ],
)
def test_classic_connection_draining(
    in_tmp: Path, policy: dict[str, object], expected: tuple[int, str]
) -> None:
    template = json.loads((TEMPLATES / "classic.json").read_text())
    template["Resources"]["Legacy"]["Properties"]["ConnectionDrainingPolicy"] = policy
    Path("classic.json").write_text(json.dumps(template, indent=1))
    (balancer,) = load([Path("classic.json")]).load_balancers
    assert balancer.connection_draining is not None
    value, note = expected
    assert balancer.connection_draining.value == value
    assert balancer.connection_draining.note.startswith(note)


def test_listener_rules_weighted_forwards_and_network_load_balancers(in_tmp: Path) -> None:
    path = copy(in_tmp, "rules_and_nlb.yaml")
    result = scan([path], Options())
    assert errors(result) == []
    assert sorted(target.chain.path() for target in result.targets) == [
        'Public → Blue → BlueService → container "api"',
        'Public → Green → GreenService → container "api"',
    ]
    assert {target.chain.listeners[0].id.address for target in result.targets} == {"ApiRule"}
    skipped = {item.id.address: item.reason for item in result.skipped}
    assert skipped["Internal"].startswith("network load balancer")
    assert skipped["Tcp"] == "behind the network load balancer Internal"


def test_other_yaml_and_json_in_the_tree_is_ignored(in_tmp: Path) -> None:
    copy(in_tmp, "service.yaml")
    Path(".github").mkdir()
    Path(".github/ci.yml").write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n")
    Path("deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n")
    Path("package.json").write_text('{"name": "web", "scripts": {"start": "node server.js"}}')
    result = scan([in_tmp])
    assert errors(result) == []
    assert result.inputs == ("service.yaml",)


def test_a_malformed_template_is_one_error_line_and_the_rest_is_scanned(in_tmp: Path) -> None:
    copy(in_tmp, "service.yaml")
    Path("broken.yaml").write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: [1,\n")
    Path("duplicate.json").write_text(
        '{"AWSTemplateFormatVersion": "2010-09-09",\n "Resources": {"A": {"Type": "AWS::S3::Bucket"},\n'
        ' "A": {"Type": "AWS::S3::Bucket"}}}\n'
    )
    result = scan([in_tmp])
    assert sorted(rules_of(result)) == ["DR001", "KA001"]
    assert [(error.path, error.line) for error in result.errors] == [
        ("broken.yaml", 4),
        ("duplicate.json", 2),
    ]
    assert result.errors[0].message.startswith("not a valid template: ")
    assert "Duplicate found 'A'" in result.errors[1].message


def test_a_named_file_that_is_not_a_template_is_an_error(in_tmp: Path) -> None:
    Path("values.yaml").write_text("replicas: 3\n")
    result = scan([Path("values.yaml")])
    assert errors(result) == [
        "values.yaml: not a CloudFormation template (no AWSTemplateFormatVersion and no AWS:: resources)"
    ]


def test_cfn_lint_is_imported_only_when_a_template_is_read() -> None:
    probe = (
        "import sys; from pathlib import Path; from policies.scan import scan; "
        f"scan([Path({str(FIXTURES / 'plan' / 'chain' / 'plan.json')!r})]); "
        "print('cfnlint' in sys.modules)"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert completed.stdout.strip() == "False", completed.stderr
