"""cdk.out cloud assemblies, as `cdk synth` writes them: a real aws-cdk-lib synthesis of
tests/fixtures/cdk/app.py (ecs_patterns ALB Fargate services, a Stage, a NestedStack, an image asset),
scanned through the CLI's pipeline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from policies.cli import main
from policies.scan import Result, scan
from tests.helpers import NODE_MAJORS

APP = Path(__file__).parent.parent / "fixtures" / "cdk" / "app.py"
EXAMPLE = Path(__file__).parents[2] / "examples" / "cdk"


def synthesize(app: Path, out: Path) -> None:
    """`cdk synth` without the CLI: the app run with CDK_OUTDIR, as the CLI runs it."""
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(out),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": NODE_MAJORS,
    }
    done = subprocess.run(
        [sys.executable, str(app)], env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "cdk.out"
    synthesize(APP, out)
    return out


@pytest.fixture
def result(assembly: Path, in_tmp: Path) -> Result:
    shutil.copytree(assembly, in_tmp / "cdk.out")
    return scan([Path("cdk.out")])


def test_the_violating_service_is_found_with_construct_paths(result: Result) -> None:
    assert [str(error) for error in result.errors] == []
    broken = [finding for finding in result.findings if finding.chain.unit == "cdk.out/Broken.template.json"]
    (finding,) = broken
    assert finding.rule == "KA001"
    # the construct path beside the logical id, the template line of the command
    assert (
        "of WebServiceD04B5F3E (Broken/Web/Service/Service) closes idle keep-alive connections after 5 s"
        in (" ".join(finding.message.split()))
    )
    template = json.loads(Path("cdk.out/Broken.template.json").read_text())
    assert finding.location is not None and finding.location.path == "cdk.out/Broken.template.json"
    assert finding.fix.startswith("Add `--timeout-keep-alive 65` to the uvicorn command at cdk.out/Broken")
    assert "make the change in the CDK app (Broken/Web/TaskDef" in finding.fix
    assert any(resource["Type"] == "AWS::ECS::TaskDefinition" for resource in template["Resources"].values())


def test_the_fixed_service_passes(result: Result) -> None:
    fixed = [target for target in result.targets if target.chain.unit == "cdk.out/Fixed.template.json"]
    (target,) = fixed
    assert target.server is not None and target.server.keep_alive.seconds == 75
    assert not [finding for finding in result.findings if finding.chain.unit == target.chain.unit]


def test_a_stage_s_nested_stack_is_read_and_its_image_asset_dockerfile_decides(result: Result) -> None:
    unit = "cdk.out/assembly-Prod/ProdApi2466CF1F.template.json"
    (finding,) = [finding for finding in result.findings if finding.chain.unit == unit]
    chain = finding.chain
    assert chain.load_balancer is not None and chain.container is not None
    # nested resources live in the top stack's unit, under the nested stack's logical id
    assert str(chain.load_balancer.id) == (
        "InnerNestedStackInnerNestedStackResource745E041B/WebLB720665E7 (Prod/Api/Inner/Web/LB)"
    )
    assert (
        chain.load_balancer.id.location.path
        == "cdk.out/assembly-Prod/ProdApiInnerB55B5D34.nested.template.json"
    )
    # no command in the task definition: the Dockerfile of the image asset gives it
    assert chain.container.command is None and chain.container.build is not None
    assert finding.location is not None and finding.location.path.endswith("/Dockerfile")
    assert finding.location.path.startswith("cdk.out/asset.")
    # the nested template is read through its parent only, not a second time on its own
    assert len([target for target in result.targets if "Prod/Api" in target.chain.path()]) == 1


def test_metadata_acknowledges_a_finding_with_its_reason(result: Result) -> None:
    unit = "cdk.out/Acknowledged.template.json"
    assert not [finding for finding in result.findings if finding.chain.unit == unit]
    ((finding, why),) = result.suppressed
    assert (finding.rule, finding.chain.unit, why.reason) == ("KA001", unit, "internal tool, retries on 502")
    assert why.resource.label == "Acknowledged/Web/LB/PublicListener/ECSGroup"


def test_the_cli_reports_the_assembly(
    assembly: Path, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(assembly, in_tmp / "project" / "cdk.out")
    (in_tmp / "project" / "cdk.json").write_text('{"app": "python3 app.py"}')
    # the project directory is searched; the assembly is read through its manifest, not file by file
    assert main(["scan", "project", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [finding["rule"] for finding in report["findings"]] == ["KA001", "KA001"]
    broken = report["findings"][0]
    assert (broken["load_balancer"], broken["construct_paths"]["load_balancer"]) == (
        "WebLB720665E7",
        "Broken/Web/LB",
    )
    assert report["summary"]["targets"] == 4
    assert report["summary"]["suppressed"] == 1
    assert report["suppressed"][0]["suppression"]["reason"] == "internal tool, retries on 502"
    assert report["errors"] == []


def test_a_damaged_assembly_is_one_error_line_each(assembly: Path, in_tmp: Path) -> None:
    shutil.copytree(assembly, in_tmp / "cdk.out")
    Path("cdk.out/Fixed.template.json").unlink()
    Path("cdk.out/assembly-Prod/ProdApi2466CF1F.assets.json").write_text("{not json")
    result = scan([Path("cdk.out")])
    assert sorted(str(error) for error in result.errors) == [
        "cdk.out/Fixed.template.json: cannot read: No such file or directory",
        "cdk.out/assembly-Prod/ProdApi2466CF1F.assets.json:1: not valid JSON: Expecting property name enclosed in double quotes",
    ]
    # the other stacks are still checked
    assert {finding.chain.unit for finding in result.findings} == {"cdk.out/Broken.template.json"}


def test_the_example_app_fails_at_its_dockerfile(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(EXAMPLE, in_tmp / "cdk", ignore=shutil.ignore_patterns("cdk.out", "node_modules"))
    synthesize(in_tmp / "cdk" / "app.py", in_tmp / "cdk" / "cdk.out")
    assert main(["scan", "cdk/cdk.out"]) == 1
    output = capsys.readouterr().out
    first = output.splitlines()[0]
    # the container has no command: the CMD of the image asset's Dockerfile decides
    assert first.startswith("cdk/cdk.out/asset.") and first.endswith(
        "/Dockerfile:5: error KA001 keepalive-not-longer-than-idle-timeout"
    )
    assert "ApiLB8D4BD609 (Checkout/Api/LB) → " in output
    assert "\n1 error, 0 warnings in 1 load balancer target (" in output


def test_a_template_named_beside_its_assembly_is_read_once(assembly: Path, in_tmp: Path) -> None:
    shutil.copytree(assembly, in_tmp / "cdk.out")
    result = scan([Path("cdk.out"), Path("cdk.out/Broken.template.json")])
    assert (len(result.findings), len(result.targets)) == (2, 4)
