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
from policies.loaders.cloudformation.template import Evaluator, Template, read_parameters
from policies.loaders.cloudformation.template import decode as decode_cfn
from policies.loaders.reading import ANYWHERE
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


# --- conditions: every branch a deployment can take ---------------------------------------------


def test_each_branch_of_the_conditions_is_checked_and_findings_say_when(in_tmp: Path) -> None:
    path = copy(in_tmp, "conditions.yaml")
    result = scan([path])
    assert errors(result) == []
    messages = {
        finding.location.line if finding.location else 0: finding.message for finding in result.findings
    }
    # Fn::If: 75 s is safe behind the default 60 s, not behind 300 s (Tier large, any value but prod)
    service = " ".join(messages[line(path, '- !If [IsProd, "350", "75"]')].split())
    assert "after 75 s" in service and "the 300 s idle timeout" in service
    assert service.endswith("This holds when IsLarge is true and IsProd is false.")
    # a resource Condition: the canary exists only when LargeProd is true
    canary = " ".join(messages[line(path, "Command: [uvicorn, app:app]")].split())
    assert canary.endswith("This holds when LargeProd is true.")
    assert len(result.findings) == 2
    # every target is listed once; nothing is skipped, as some scenario creates the canary
    assert [target.chain.path() for target in result.targets] == [
        'LoadBalancer → TargetGroup → Service → container "api"',
        'LoadBalancer → TargetGroup → Canary → container "canary"',
    ]
    assert result.skipped == ()


def test_given_parameters_pin_the_branches(in_tmp: Path) -> None:
    path = copy(in_tmp, "conditions.yaml")
    tier = {"Tier": ("large", Location("--parameter Tier"))}
    result = scan([path], load_options=LoadOptions(parameters=tier))
    assert [finding.message.rsplit(". ", 1)[-1] for finding in result.findings] == [
        "This holds when IsProd is false.",
        "This holds when IsProd is true.",
    ]
    both = {**tier, "Stage": ("dev", Location("--parameter Stage"))}
    result = scan([path], load_options=LoadOptions(parameters=both))
    (finding,) = result.findings  # one deployment: nothing to qualify
    assert "This holds when" not in finding.message
    assert [item.id.address for item in result.skipped] == ["CanaryTaskDefinition", "Canary"]


def test_a_mapping_keyed_condition_in_a_property_is_data_and_ssm_parameters_are_unknown(in_tmp: Path) -> None:
    Path("t.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Parameters:\n"
        "  Timeout:\n"
        "    Type: AWS::SSM::Parameter::Value<String>\n"
        "    Default: /web/idle-timeout\n"
        "Resources:\n"
        "  LoadBalancer:\n"
        "    Type: AWS::ElasticLoadBalancingV2::LoadBalancer\n"
        "    Properties:\n"
        "      LoadBalancerAttributes:\n"
        "        - Key: idle_timeout.timeout_seconds\n"
        "          Value: !Ref Timeout\n"
        "      Tags:\n"
        "        - Condition: kept\n"
    )
    template = Template("t.yaml", decode_template(Path("t.yaml")))
    value = Evaluator(template).value({"Condition": "kept"}, Location("t.yaml", 14))
    assert value == {"Condition": "kept"}
    (balancer,) = load([Path("t.yaml")]).load_balancers
    assert balancer.idle_timeout.value is None
    assert (
        "the value of the SSM parameter /web/idle-timeout, read at deployment" in balancer.idle_timeout.note
    )


# --- nested stacks ---------------------------------------------------------------------------------


def test_nested_stacks_link_through_parameters_and_outputs(in_tmp: Path) -> None:
    shutil.copytree(TEMPLATES / "nested", in_tmp / "nested")
    result = scan([Path("nested")])
    assert errors(result) == []
    ka001, ka002 = sorted(result.findings, key=lambda finding: finding.rule)
    # the listener's target group is the Groups stack's output; the Api stack's service gets it as a
    # parameter; its keep-alive is the value the parent passes ("75"), not the child's Default ("5")
    assert ka001.rule == "KA001"
    assert ka001.chain.path() == 'LoadBalancer → Groups/TargetGroup → Api/Service → container "api"'
    assert ka001.location == Location("nested/service.yaml", line(Path("nested/service.yaml"), "Command:"))
    assert "after 75 s" in ka001.message and "120 s idle timeout" in ka001.message
    # a template that is not a local file may hide targets: said, with what to do
    assert ka002.rule == "KA002"
    assert "Workers may define load balancers or services" in ka002.message
    assert "https://s3.amazonaws.com/templates/ecs-service.yaml is not a local file" in ka002.message
    # the nested templates are read through their parent only
    assert len(result.targets) == 2
    assert sorted(result.inputs) == ["nested/groups.yaml", "nested/parent.yaml", "nested/service.yaml"]


def test_a_nested_template_alone_is_a_template_of_its_own(in_tmp: Path) -> None:
    shutil.copytree(TEMPLATES / "nested", in_tmp / "nested")
    result = scan([Path("nested/service.yaml")])
    # without its parent, its target group parameter has no value: reported as such
    (finding,) = result.findings
    assert finding.rule == "KA002"
    assert "parameter TargetGroupArn has no Default and no value was given" in finding.message


def test_a_stack_nesting_itself_ends_with_an_error(in_tmp: Path) -> None:
    Path("loop.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Resources:\n"
        "  Again:\n"
        "    Type: AWS::CloudFormation::Stack\n"
        "    Properties:\n"
        "      TemplateURL: loop.yaml\n"
    )
    Path("broken.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Resources:\n"
        "  Child:\n"
        "    Type: AWS::CloudFormation::Stack\n"
        "    Properties:\n"
        "      TemplateURL: missing.yaml\n"
    )
    result = scan([Path("loop.yaml"), Path("broken.yaml")])
    assert errors(result) == [
        "broken.yaml:3: the stack Child: its template missing.yaml is not a file",
        "loop.yaml:3: the stack Again nests itself: not read further",
    ]


# --- acknowledgements in Metadata ---------------------------------------------------------------


def test_metadata_acknowledges_a_finding_only_with_a_reason(in_tmp: Path) -> None:
    text = (TEMPLATES / "conditions.yaml").read_text()
    acknowledged = text.replace(
        "  CanaryTaskDefinition:\n",
        "  CanaryTaskDefinition:\n"
        "    Metadata:\n"
        "      keepalive-guard:\n"
        "        ignore:\n"
        "          - id: KA001\n"
        "            reason: the canary takes no production traffic\n",
    ).replace(
        "  Service:\n",
        "  Service:\n    Metadata:\n      keepalive-guard:\n        ignore:\n          - id: KA001\n",
    )
    Path("t.yaml").write_text(acknowledged)
    result = scan([Path("t.yaml")])
    # the canary's finding is acknowledged; the service's acknowledgement has no reason: not applied
    ((finding, why),) = result.suppressed
    assert (finding.chain.path(), why.reason) == (
        'LoadBalancer → TargetGroup → Canary → container "canary"',
        "the canary takes no production traffic",
    )
    assert "This holds when LargeProd is true." in finding.message
    (reported,) = result.findings
    assert reported.chain.path() == 'LoadBalancer → TargetGroup → Service → container "api"'
    service = line(Path("t.yaml"), "- id: KA001", "  Service:")
    assert errors(result) == [
        f"t.yaml:{service}: Metadata keepalive-guard ignore KA001: a reason is required; the finding is not ignored"
    ]


def decode_template(path: Path) -> dict[str, object]:
    data, error = decode_cfn(path, str(path), ANYWHERE)
    assert error is None and data is not None
    return data


def conditional_keep_alive(condition: str, parameters: str = "") -> str:
    """A template whose uvicorn keep-alive is 5 s when `IsSmall` holds, 300 s otherwise (ALB: 120 s)."""
    return (
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        f"Parameters:\n  Unused:\n    Type: String\n    Default: x\n{parameters}"
        f"Conditions:\n  IsSmall: {condition}\n"
        "Resources:\n"
        "  LoadBalancer:\n    Type: AWS::ElasticLoadBalancingV2::LoadBalancer\n    Properties:\n"
        "      LoadBalancerAttributes:\n        - Key: idle_timeout.timeout_seconds\n          Value: '120'\n"
        "  Listener:\n    Type: AWS::ElasticLoadBalancingV2::Listener\n    Properties:\n"
        "      LoadBalancerArn: !Ref LoadBalancer\n      DefaultActions:\n"
        "        - Type: forward\n          TargetGroupArn: !Ref TargetGroup\n"
        "  TargetGroup:\n    Type: AWS::ElasticLoadBalancingV2::TargetGroup\n    Properties:\n"
        "      Port: 8000\n      TargetType: ip\n"
        "  TaskDefinition:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n"
        "      ContainerDefinitions:\n        - Name: api\n          Image: python:3.12\n"
        "          Command: [uvicorn, app:app, --timeout-keep-alive, !If [IsSmall, '5', '300']]\n"
        "  Service:\n    Type: AWS::ECS::Service\n    Properties:\n"
        "      TaskDefinition: !Ref TaskDefinition\n      LoadBalancers:\n"
        "        - ContainerName: api\n          ContainerPort: 8000\n          TargetGroupArn: !Ref TargetGroup\n"
    )


def test_conditions_on_pseudo_parameters_and_numbers_take_each_branch(in_tmp: Path) -> None:
    Path("region.yaml").write_text(conditional_keep_alive('!Equals [!Ref "AWS::Region", us-east-1]'))
    (finding,) = scan([Path("region.yaml")]).findings
    assert (finding.rule, finding.message.rsplit(". ", 1)[-1]) == (
        "KA001",
        "This holds when IsSmall is true.",
    )
    size = "  Size:\n    Type: Number\n    Default: 2\n"
    Path("size.yaml").write_text(conditional_keep_alive("!Equals [!Ref Size, 1]", size))
    (finding,) = scan([Path("size.yaml")]).findings
    assert finding.message.endswith("This holds when IsSmall is true.")
    # the default (2) deploys the 300 s branch: the target listed is that one
    (target,) = scan([Path("size.yaml")]).targets
    assert target.server is not None and target.server.keep_alive.seconds == 300


def test_many_flags_are_read_by_what_the_conditions_compare(in_tmp: Path) -> None:
    # ten flags: 2**10 combinations of compared and other values, more than are read: said so
    flags = "".join(f"  Flag{index}:\n    Type: String\n    Default: 'false'\n" for index in range(10))
    condition = "!Or [" + ", ".join(f"!Equals [!Ref Flag{index}, 'true']" for index in range(9)) + "]"
    Path("flags.yaml").write_text(
        conditional_keep_alive(f"!And [{condition}, !Equals [!Ref Flag9, 'true']]", flags)
    )
    result = scan([Path("flags.yaml")])
    assert errors(result) == [
        "flags.yaml: its conditions depend on 1024 combinations of parameter values, more than 256: "
        "only the branches the defaults take are checked (give values with --parameter)"
    ]
    # four of them (16 combinations) are read in full
    flags = "".join(f"  Flag{index}:\n    Type: String\n    Default: 'false'\n" for index in range(4))
    condition = "!And [" + ", ".join(f"!Equals [!Ref Flag{index}, 'true']" for index in range(4)) + "]"
    Path("four.yaml").write_text(conditional_keep_alive(condition, flags))
    (finding,) = scan([Path("four.yaml")]).findings
    assert finding.message.endswith("This holds when IsSmall is true.")


def test_a_malformed_intrinsic_is_unknown_not_a_crash(in_tmp: Path) -> None:
    text = conditional_keep_alive("!Equals [a, b]").replace(
        "Image: python:3.12", 'Image: !Sub ["${X}", {X: [!Ref "AWS::Region"]}]'
    )
    Path("t.yaml").write_text(text)
    result = scan([Path("t.yaml")])
    assert errors(result) == []
    (definition,) = load([Path("t.yaml")]).task_definitions
    (container,) = definition.containers or ()
    assert container.image.value is None and "cannot join" in container.image.note


def test_parameter_files_skip_use_previous_value_and_join_lists(in_tmp: Path) -> None:
    Path("cli.json").write_text(
        json.dumps(
            [
                {"ParameterKey": "Environment", "UsePreviousValue": True},
                {"ParameterKey": "Workers", "ParameterValue": "a,b"},
            ]
        )
    )
    assert read_parameters(Path("cli.json")) == {"Workers": ("a,b", Location("cli.json"))}
    Path("plain.json").write_text(json.dumps({"Workers": ["a", "b"]}))
    assert read_parameters(Path("plain.json")) == {"Workers": ("a,b", Location("plain.json"))}


def test_cdk_asset_metadata_finds_a_nested_template_without_the_assembly(in_tmp: Path) -> None:
    shutil.copytree(TEMPLATES / "nested", in_tmp / "nested")
    parent = Path("nested/parent.yaml")
    parent.write_text(
        parent.read_text()
        .replace(
            "      TemplateURL: ./service.yaml\n",
            "      TemplateURL: https://s3.eu-west-1.amazonaws.com/cdk-assets/0123.json\n",
        )
        .replace("  Api:\n", "  Api:\n    Metadata:\n      aws:asset:path: service.yaml\n")
    )
    result = scan([parent])
    assert sorted(finding.rule for finding in result.findings) == ["KA001", "KA002"]


def test_a_parameter_passed_to_a_nested_stack_takes_each_branch_of_its_conditions(in_tmp: Path) -> None:
    shutil.copytree(TEMPLATES / "nested", in_tmp / "nested")
    parent, child = Path("nested/parent.yaml"), Path("nested/service.yaml")
    parent.write_text(
        parent.read_text()
        .replace("Resources:\n", "Parameters:\n  Env:\n    Type: String\n    Default: dev\nResources:\n", 1)
        .replace('        KeepAlive: "75"\n', "        Env: !Ref Env\n")
    )
    child.write_text(
        child.read_text()
        .replace(
            "Resources:\n",
            "  Env:\n    Type: String\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\nResources:\n",
        )
        .replace("--keep-alive ${KeepAlive}", "--keep-alive ${Seconds}")
        .replace(
            'Command: !Split [" ", !Sub "gunicorn',
            'Command: !Split [" ", !Sub ["gunicorn',
        )
        .replace(' app:app"]', ' app:app", {Seconds: !If [IsProd, "5", "300"]}]]')
    )
    findings = [finding for finding in scan([parent]).findings if finding.rule == "KA001"]
    (finding,) = findings  # 300 s is safe behind 120 s; 5 s, in production, is not
    assert "after 5 s" in finding.message
    assert finding.message.endswith("This holds when Api/IsProd is true.")
