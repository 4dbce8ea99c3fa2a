"""Inline `keepalive-guard:ignore` comments (policies/loaders/inline.py), through real loads and scans."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from policies.loaders import LoadOptions, load
from policies.model import InputError, Location
from policies.rules import Options
from policies.scan import Result, scan
from tests.helpers import FIXTURES, line_of, rules_of, service_tf, write_tree

ROOT = Path(__file__).resolve().parents[2]
# uvicorn's default keep-alive (5 s) against the ALB's default idle timeout (60 s): KA001 only.
KEEP_ALIVE = service_tf(command=["uvicorn", "app:app"])
# The same, with a 5 s deregistration delay: KA001 and DR001.
BOTH = service_tf(command=["uvicorn", "app:app"], deregistration_delay=5)

LB = 'resource "aws_lb" "web" {'
TARGET_GROUP = 'resource "aws_lb_target_group" "app" {'
SERVICE = 'resource "aws_ecs_service" "app" {'
TASK_DEFINITION = 'resource "aws_ecs_task_definition" "app" {'


def above(text: str, header: str, *comments: str) -> str:
    """`text` with `comments` written on the lines directly above the line `header`."""
    assert text.count(header) == 1, header
    return text.replace(header, "".join(f"{comment}\n" for comment in comments) + header)


def scan_main(in_tmp: Path, text: str) -> Result:
    (in_tmp / "main.tf").write_text(text)
    return scan([Path(".")])


def errors(result: Result) -> list[str]:
    return [str(error) for error in result.errors]


def ignored(result: Result) -> list[tuple[str, str, str, str]]:
    """Each suppressed finding as (rule of the finding, resource, reason, where the comment is)."""
    return [
        (finding.rule, why.resource.address, why.reason, str(why.location))
        for finding, why in result.suppressed
    ]


# --- where the comment may be -------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["#", "//", "  #", "#  "])
def test_a_comment_directly_above_a_resource(in_tmp: Path, marker: str) -> None:
    text = above(KEEP_ALIVE, TARGET_GROUP, f"{marker} keepalive-guard:ignore KA001 nginx in the task answers")
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == []
    comment = line_of(text, "keepalive-guard:ignore")
    assert comment == line_of(text, TARGET_GROUP) - 1
    assert ignored(result) == [
        ("KA001", "aws_lb_target_group.app", "nginx in the task answers", f"main.tf:{comment}")
    ]
    ((finding, why),) = result.suppressed
    assert why.rule == "KA001"
    assert why.resource.unit == "."
    assert why.resource.location == Location("main.tf", comment + 1)
    # the finding keeps what it says: it is acknowledged, not changed
    assert (
        finding.chain.path() == 'aws_lb.web → aws_lb_target_group.app → aws_ecs_service.app → container "app"'
    )
    assert "uvicorn" in finding.message and "5 s" in finding.message


def test_a_trailing_comment_on_the_line_that_opens_the_resource(in_tmp: Path) -> None:
    text = KEEP_ALIVE.replace(SERVICE, SERVICE + "  # keepalive-guard:ignore KA001 drained by the sidecar")
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == []
    line = line_of(text, "keepalive-guard:ignore")
    assert line == line_of(text, 'resource "aws_ecs_service"')
    assert ignored(result) == [("KA001", "aws_ecs_service.app", "drained by the sidecar", f"main.tf:{line}")]


def test_a_comment_further_up_in_a_contiguous_comment_block(in_tmp: Path) -> None:
    text = above(
        KEEP_ALIVE,
        LB,
        "# keepalive-guard:ignore KA001 the idle timeout is raised by the platform team",
        "// The public load balancer.",
        "#",
    )
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == []
    comment = line_of(text, "keepalive-guard:ignore")
    assert comment == line_of(text, LB) - 3
    assert ignored(result) == [
        ("KA001", "aws_lb.web", "the idle timeout is raised by the platform team", f"main.tf:{comment}")
    ]


def test_a_blank_line_between_comment_and_resource_detaches_it(in_tmp: Path) -> None:
    text = above(KEEP_ALIVE, TARGET_GROUP, "# keepalive-guard:ignore KA001 not attached", "")
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == ["KA001"]
    assert result.suppressed == ()


def test_a_comment_inside_the_previous_block_applies_to_nothing(in_tmp: Path) -> None:
    # the `}` closing aws_lb.web separates the comment from the listener; it is not above aws_lb.web either
    text = KEEP_ALIVE.replace(
        '  name = "web"\n}', '  name = "web"\n  # keepalive-guard:ignore KA001 misplaced\n}'
    )
    assert text != KEEP_ALIVE
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == ["KA001"]
    assert result.suppressed == ()


@pytest.mark.parametrize(
    ("header", "address"),
    [
        (LB, "aws_lb.web"),
        (TARGET_GROUP, "aws_lb_target_group.app"),
        (SERVICE, "aws_ecs_service.app"),
        (TASK_DEFINITION, "aws_ecs_task_definition.app"),
    ],
)
def test_a_suppression_on_each_resource_of_the_chain(in_tmp: Path, header: str, address: str) -> None:
    text = above(KEEP_ALIVE, header, "# keepalive-guard:ignore KA001 accepted for now")
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == []
    comment = line_of(text, "keepalive-guard:ignore")
    assert ignored(result) == [("KA001", address, "accepted for now", f"main.tf:{comment}")]


def test_a_comment_above_a_resource_outside_the_chain_suppresses_nothing(in_tmp: Path) -> None:
    # listeners are not among the resources a suppression can be written on
    text = above(KEEP_ALIVE, 'resource "aws_lb_listener" "http" {', "# keepalive-guard:ignore KA001 listener")
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == ["KA001"]
    assert result.suppressed == ()


# --- what the comment says ----------------------------------------------------------------------


def test_a_suppression_of_another_rule_does_not_suppress(in_tmp: Path) -> None:
    text = above(KEEP_ALIVE, TARGET_GROUP, "# keepalive-guard:ignore DR001 long requests are retried")
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == ["KA001"]
    assert result.suppressed == ()


def test_only_the_rule_named_is_suppressed(in_tmp: Path) -> None:
    text = above(BOTH, TARGET_GROUP, "# keepalive-guard:ignore DR001 requests finish in a second")
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == ["KA001"]
    assert [rule for rule, *_ in ignored(result)] == ["DR001"]


@pytest.mark.parametrize("rules", ["KA001,DR001", "KA001, DR001", "DR001 ,KA001", "ka001,dr001"])
def test_several_rules_in_one_comment(in_tmp: Path, rules: str) -> None:
    text = above(BOTH, TARGET_GROUP, f"# keepalive-guard:ignore {rules} a batch service behind nginx")
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == []
    comment = f"main.tf:{line_of(text, 'keepalive-guard:ignore')}"
    assert sorted(ignored(result)) == [
        ("DR001", "aws_lb_target_group.app", "a batch service behind nginx", comment),
        ("KA001", "aws_lb_target_group.app", "a batch service behind nginx", comment),
    ]
    assert {why.rule for _, why in result.suppressed} == {"KA001", "DR001"}


@pytest.mark.parametrize(
    "comment",
    [
        "# keepalive-guard:ignore=KA001 reason given",
        "# keepalive-guard:ignore = KA001 reason given",
        "# keepalive-guard:ignore: KA001 reason given",
        "# keepalive-guard:ignore:KA001 reason given",
        "# keepalive-guard:ignore KA001: reason given",
        "# keepalive-guard:ignore KA001 - reason given",
        "#keepalive-guard:ignore KA001   reason    given  ",
        "# KeepAlive-Guard:Ignore KA001 reason given",
    ],
)
def test_separators_and_spacing(in_tmp: Path, comment: str) -> None:
    result = scan_main(in_tmp, above(KEEP_ALIVE, SERVICE, comment))
    assert errors(result) == []
    assert rules_of(result) == []
    (suppressed,) = ignored(result)
    assert suppressed[:3] == ("KA001", "aws_ecs_service.app", "reason given")


@pytest.mark.parametrize("rest", ["KA001", "KA001   ", "KA001:", "KA001 -"])
def test_a_comment_without_a_reason_is_an_error_and_suppresses_nothing(in_tmp: Path, rest: str) -> None:
    text = above(KEEP_ALIVE, TARGET_GROUP, f"# keepalive-guard:ignore {rest}")
    result = scan_main(in_tmp, text)
    assert rules_of(result) == ["KA001"]
    assert result.suppressed == ()
    line = line_of(text, "keepalive-guard:ignore")
    assert result.errors == (
        InputError(
            "main.tf",
            "keepalive-guard:ignore KA001: a reason is required after the rule id; the finding is not ignored",
            line,
        ),
    )
    assert errors(result) == [
        f"main.tf:{line}: keepalive-guard:ignore KA001: a reason is required after the rule id; "
        "the finding is not ignored"
    ]


@pytest.mark.parametrize(
    ("rest", "unknown"),
    [("KA009 not a rule", "KA009"), ("KA001,XY123 one unknown voids all", "XY123")],
)
def test_an_unknown_rule_is_an_error_and_suppresses_nothing(in_tmp: Path, rest: str, unknown: str) -> None:
    text = above(KEEP_ALIVE, TARGET_GROUP, f"# keepalive-guard:ignore {rest}")
    result = scan_main(in_tmp, text)
    assert rules_of(result) == ["KA001"]
    assert result.suppressed == ()
    line = line_of(text, "keepalive-guard:ignore")
    assert errors(result) == [
        f"main.tf:{line}: keepalive-guard:ignore: unknown rule {unknown} (known: KA001, KA002, DR001); "
        "nothing is ignored"
    ]


@pytest.mark.parametrize("rest", ["", "   ", " because we said so", " = reasons", ":", " KA: no number"])
def test_a_comment_without_a_rule_is_an_error(in_tmp: Path, rest: str) -> None:
    text = above(KEEP_ALIVE, SERVICE, f"# keepalive-guard:ignore{rest}")
    result = scan_main(in_tmp, text)
    assert rules_of(result) == ["KA001"]
    assert result.suppressed == ()
    line = line_of(text, "keepalive-guard:ignore")
    assert errors(result) == [
        f"main.tf:{line}: keepalive-guard:ignore: expected `keepalive-guard:ignore RULE reason…`"
    ]


def test_a_good_and_a_bad_comment_above_one_resource(in_tmp: Path) -> None:
    text = above(
        BOTH,
        TARGET_GROUP,
        "# keepalive-guard:ignore DR001",
        "# keepalive-guard:ignore KA001 nginx in front of uvicorn",
    )
    result = scan_main(in_tmp, text)
    assert rules_of(result) == ["DR001"]
    assert [rule for rule, *_ in ignored(result)] == ["KA001"]
    assert errors(result) == [
        f"main.tf:{line_of(text, 'ignore DR001')}: keepalive-guard:ignore DR001: a reason is required after "
        "the rule id; the finding is not ignored"
    ]


def test_the_marker_in_a_string_without_a_comment_does_nothing(in_tmp: Path) -> None:
    one_line = 'resource "aws_lb" "web" { name = "keepalive-guard:ignore KA001 not a comment" }'
    text = KEEP_ALIVE.replace('resource "aws_lb" "web" {\n  name = "web"\n}', one_line)
    assert one_line in text
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == ["KA001"]
    assert result.suppressed == ()


def test_the_marker_after_a_hash_inside_a_string_does_nothing(in_tmp: Path) -> None:
    one_line = 'resource "aws_lb" "web" { name = "web # keepalive-guard:ignore KA001 not a comment" }'
    text = KEEP_ALIVE.replace('resource "aws_lb" "web" {\n  name = "web"\n}', one_line)
    assert one_line in text
    result = scan_main(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == ["KA001"]
    assert result.suppressed == ()


def test_a_windows_file_with_a_bom(in_tmp: Path) -> None:
    text = above(KEEP_ALIVE, SERVICE, "# keepalive-guard:ignore KA001 written on Windows")
    (in_tmp / "main.tf").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    result = scan([Path(".")])
    assert errors(result) == []
    assert rules_of(result) == []
    assert ignored(result) == [
        (
            "KA001",
            "aws_ecs_service.app",
            "written on Windows",
            f"main.tf:{line_of(text, 'keepalive-guard:ignore')}",
        )
    ]


# --- modules ------------------------------------------------------------------------------------


def module_tree(in_tmp: Path, comment: str) -> str:
    """A root calling the module ./mod twice; `comment` is written above the module's target group."""
    module = above(KEEP_ALIVE, TARGET_GROUP, comment)
    write_tree(
        in_tmp,
        {
            "main.tf": 'module "blue" {\n  source = "./mod"\n}\n\nmodule "green" {\n  source = "./mod"\n}\n',
            "mod/main.tf": module,
        },
    )
    return module


def test_a_suppression_in_a_module_applies_to_every_instance(in_tmp: Path) -> None:
    module = module_tree(in_tmp, "# keepalive-guard:ignore KA001 every copy runs behind nginx")
    result = scan([Path(".")])
    assert errors(result) == []
    assert rules_of(result) == []
    where = f"mod/main.tf:{line_of(module, 'keepalive-guard:ignore')}"
    assert sorted(ignored(result)) == [
        ("KA001", "module.blue.aws_lb_target_group.app", "every copy runs behind nginx", where),
        ("KA001", "module.green.aws_lb_target_group.app", "every copy runs behind nginx", where),
    ]
    assert len(result.targets) == 2


def test_a_malformed_comment_in_a_module_is_one_error(in_tmp: Path) -> None:
    module = module_tree(in_tmp, "# keepalive-guard:ignore KA001")
    result = scan([Path(".")])
    assert rules_of(result) == ["KA001", "KA001"]
    assert result.suppressed == ()
    assert errors(result) == [
        f"mod/main.tf:{line_of(module, 'keepalive-guard:ignore')}: keepalive-guard:ignore KA001: a reason is "
        "required after the rule id; the finding is not ignored"
    ]


def test_load_reports_suppressions_in_the_inventory(in_tmp: Path) -> None:
    text = above(BOTH, SERVICE, "# keepalive-guard:ignore KA001,DR001 reviewed")
    (in_tmp / "main.tf").write_text(text)
    inventory = load([Path(".")])
    line = line_of(text, "keepalive-guard:ignore")
    assert [(s.rule, s.resource.address, s.reason, s.location) for s in inventory.suppressions] == [
        ("KA001", "aws_ecs_service.app", "reviewed", Location("main.tf", line)),
        ("DR001", "aws_ecs_service.app", "reviewed", Location("main.tf", line)),
    ]
    assert inventory.errors == ()


# --- CloudFormation YAML ------------------------------------------------------------------------

TEMPLATE = (FIXTURES / "cloudformation" / "service.yaml").read_text()


def scan_template(in_tmp: Path, text: str) -> Result:
    (in_tmp / "t.yaml").write_text(text)
    return scan([Path("t.yaml")])


def test_a_yaml_comment_above_a_logical_id(in_tmp: Path) -> None:
    # service.yaml: KA001 (uvicorn's 5 s against 120 s) and DR001 (30 s delay)
    assert sorted(rules_of(scan_template(in_tmp, TEMPLATE))) == ["DR001", "KA001"]
    text = TEMPLATE.replace(
        "  Service:\n",
        "  # keepalive-guard:ignore KA001 the api answers through an nginx sidecar\n  # (see the runbook)\n"
        "  Service:\n",
    )
    result = scan_template(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == ["DR001"]
    line = line_of(text, "keepalive-guard:ignore")
    assert ignored(result) == [
        ("KA001", "Service", "the api answers through an nginx sidecar", f"t.yaml:{line}")
    ]
    ((_, why),) = result.suppressed
    assert why.resource.unit == "t.yaml"
    assert why.resource.location == Location("t.yaml", line + 2)


def test_a_yaml_trailing_comment_on_the_logical_id(in_tmp: Path) -> None:
    text = TEMPLATE.replace(
        "  TargetGroup:\n", "  TargetGroup:  # keepalive-guard:ignore DR001 requests are short\n"
    )
    result = scan_template(in_tmp, text)
    assert errors(result) == []
    assert rules_of(result) == ["KA001"]
    assert ignored(result) == [
        ("DR001", "TargetGroup", "requests are short", f"t.yaml:{line_of(text, 'keepalive-guard:ignore')}")
    ]


def test_a_yaml_comment_without_a_reason_is_an_error(in_tmp: Path) -> None:
    text = TEMPLATE.replace("  LoadBalancer:\n", "  # keepalive-guard:ignore KA001\n  LoadBalancer:\n")
    result = scan_template(in_tmp, text)
    assert sorted(rules_of(result)) == ["DR001", "KA001"]
    assert result.suppressed == ()
    assert errors(result) == [
        f"t.yaml:{line_of(text, 'keepalive-guard:ignore')}: keepalive-guard:ignore KA001: a reason is "
        "required after the rule id; the finding is not ignored"
    ]


def test_the_marker_in_a_yaml_block_scalar_does_nothing(in_tmp: Path) -> None:
    text = TEMPLATE.replace(
        "  Service:\n",
        "  Note:\n"
        "    Type: AWS::SSM::Parameter\n"
        "    Properties:\n"
        "      Type: String\n"
        "      Value: |\n"
        "        # keepalive-guard:ignore KA001 a line of the parameter's value\n"
        "  Service:\n",
    )
    result = scan_template(in_tmp, text)
    assert errors(result) == []
    assert sorted(rules_of(result)) == ["DR001", "KA001"]
    assert result.suppressed == ()


# --- plans located in their configuration (--repo-root) ----------------------------------------

# A real plan of a root calling ./modules/api (which calls ../service) and a downloaded registry module.
REPO_ROOT = FIXTURES / "plan" / "repo_root"
API = "infra/modules/api/main.tf"


def infra(in_tmp: Path, comment: str) -> str:
    """The repo_root fixture in infra/, with `comment` above the api module's target group."""
    shutil.copytree(REPO_ROOT, in_tmp / "infra")
    path = in_tmp / API
    text = above(path.read_text(), 'resource "aws_lb_target_group" "this" {', comment)
    path.write_text(text)
    return text


def test_a_plan_with_repo_root_reads_comments_in_the_tf_files(in_tmp: Path) -> None:
    text = infra(in_tmp, "# keepalive-guard:ignore KA001,DR001 the api is being replaced")
    before = scan([Path("infra/plan.json")], Options(), LoadOptions(repo_root=None))
    result = scan([Path("infra/plan.json")], Options(), LoadOptions(repo_root=Path("infra")))
    for scanned in (before, result):  # next to its configuration, the plan is located in it anyway
        assert errors(scanned) == []
        # the worker (gunicorn, a downloaded module) is not suppressed
        assert [
            (f.rule, f.chain.service.id.address if f.chain.service else None) for f in scanned.findings
        ] == [("KA001", 'module.worker["blue"].aws_ecs_service.this')]
        where = f"{API}:{line_of(text, 'keepalive-guard:ignore')}"
        assert sorted(ignored(scanned)) == [
            ("DR001", "module.api.aws_lb_target_group.this", "the api is being replaced", where),
            ("KA001", "module.api.aws_lb_target_group.this", "the api is being replaced", where),
        ]


def test_a_plan_away_from_its_configuration_reads_no_comments(in_tmp: Path) -> None:
    infra(in_tmp, "# keepalive-guard:ignore KA001,DR001 the api is being replaced")
    shutil.move(in_tmp / "infra" / "plan.json", in_tmp / "plan.json")
    result = scan([Path("plan.json")])
    assert errors(result) == []
    assert result.suppressed == ()
    assert sorted(rules_of(result)) == ["DR001", "KA001", "KA001"]
    # pointed at its configuration again, it finds them
    located = scan([Path("plan.json")], Options(), LoadOptions(repo_root=Path("infra")))
    assert errors(located) == []
    assert sorted(rule for rule, *_ in ignored(located)) == ["DR001", "KA001"]
    assert rules_of(located) == ["KA001"]


# --- the command line ---------------------------------------------------------------------------


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policies", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_json_report_lists_the_suppression_and_the_exit_code_is_0(tmp_path: Path) -> None:
    text = above(KEEP_ALIVE, TARGET_GROUP, "# keepalive-guard:ignore KA001 nginx terminates the connections")
    write_tree(tmp_path, {"infra/main.tf": text})
    result = run("scan", "infra", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document["findings"] == [] and document["errors"] == []
    (entry,) = document["suppressed"]
    assert entry["rule"] == "KA001" and entry["severity"] == "error"
    assert entry["target_group"] == "aws_lb_target_group.app" and entry["container"] == "app"
    assert entry["suppression"] == {
        "reason": "nginx terminates the connections",
        "resource": "aws_lb_target_group.app",
        "path": "infra/main.tf",
        "line": line_of(text, "keepalive-guard:ignore"),
    }
    assert document["summary"]["suppressed"] == 1
    assert document["summary"]["errors"] == 0 and document["summary"]["failing"] == 0
    # without the comment the same configuration fails
    (tmp_path / "infra/main.tf").write_text(KEEP_ALIVE)
    assert run("scan", "infra", "--format", "json", cwd=tmp_path).returncode == 1


def test_a_malformed_comment_on_the_command_line(tmp_path: Path) -> None:
    text = above(KEEP_ALIVE, TARGET_GROUP, "# keepalive-guard:ignore KA001")
    write_tree(tmp_path, {"main.tf": text})
    result = run("scan", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr  # the finding is still there, and wins
    line = line_of(text, "keepalive-guard:ignore")
    assert (
        f"main.tf:{line}: keepalive-guard:ignore KA001: a reason is required after the rule id"
        in result.stdout
    )
    assert "Traceback" not in result.stderr
    # with the only finding acknowledged elsewhere, the bad comment alone makes the scan incomplete
    text = above(text, SERVICE, "# keepalive-guard:ignore KA001 acknowledged on the service")
    (tmp_path / "main.tf").write_text(text)
    result = run("scan", ".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["findings"] == []
    assert [entry["suppression"]["resource"] for entry in document["suppressed"]] == ["aws_ecs_service.app"]
    assert [(error["path"], error["line"]) for error in document["errors"]] == [("main.tf", line)]
