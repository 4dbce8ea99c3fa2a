"""From a load balancer to the container that receives its traffic, through real Terraform fixtures."""

from __future__ import annotations

from pathlib import Path

from policies.scan import Result, scan
from tests.helpers import FIXTURES, rules_of, scan_tree, service_tf

TERRAFORM = FIXTURES / "terraform"


def scanned(name: str) -> Result:
    return scan([TERRAFORM / name])


def pairs(result: Result) -> set[tuple[str, str, str]]:
    return {
        (
            str(target.chain.load_balancer.id) if target.chain.load_balancer else "",
            str(target.chain.target_group.id) if target.chain.target_group else "",
            target.chain.container.name if target.chain.container else "",
        )
        for target in result.targets
    }


def test_listener_rules_and_weighted_forwards() -> None:
    result = scanned("listener_rules")
    assert pairs(result) == {
        ("aws_lb.shop", "aws_lb_target_group.api", "api"),
        ("aws_lb.shop", "aws_lb_target_group.blue", "web"),  # weight 90
        ("aws_lb.shop", "aws_lb_target_group.green", "web"),  # weight 10
    }
    listeners = {
        str(target.chain.target_group.id): [str(item.id) for item in target.chain.listeners]
        for target in result.targets
    }  # type: ignore[union-attr]
    assert listeners["aws_lb_target_group.api"] == ["aws_lb_listener_rule.api"]
    # gevent with the default 2 s keep-alive on both colours; uvicorn at 75 s passes
    assert rules_of(result) == ["KA001", "KA001"]
    assert {str(finding.chain.service.id) for finding in result.findings} == {
        "aws_ecs_service.blue",
        "aws_ecs_service.green",
    }  # type: ignore[union-attr]


def test_the_target_is_the_container_named_by_the_service_not_every_container() -> None:
    result = scanned("sidecar")
    (target,) = result.targets
    assert target.chain.container is not None and target.chain.container.name == "proxy"
    assert (
        target.server is not None and target.server.name == "nginx" and target.server.keep_alive.seconds == 65
    )
    # the gunicorn app behind nginx (2 s keep-alive) does not face the load balancer
    assert rules_of(result) == []


def test_classic_elb_follows_elb_name_and_draining() -> None:
    result = scanned("classic_elb")
    assert pairs(result) == {("aws_elb.legacy", "", "app"), ("aws_elb.drained", "", "app")}
    (finding,) = result.findings
    assert finding.rule == "DR001"
    assert str(finding.chain.load_balancer.id) == "aws_elb.legacy"  # type: ignore[union-attr]
    assert "connection_draining is not enabled (the default)" in finding.message
    assert finding.fix.startswith(
        "Set connection_draining = true and connection_draining_timeout = 20 on aws_elb.legacy"
    )


def test_network_load_balancers_and_lambda_targets_are_skipped_and_said_so() -> None:
    result = scanned("skipped")
    assert result.targets == () and result.findings == ()
    reasons = {str(item.id): item.reason for item in result.skipped}
    assert reasons["aws_lb.network"].startswith("network load balancer")
    assert reasons["aws_lb_target_group.tcp"] == "behind the network load balancer aws_lb.network"
    assert reasons["aws_lb_target_group.lambda"].startswith("target type lambda")


def test_shared_load_balancer_looked_up_with_data_is_unknown_but_deregistration_is_checked() -> None:
    result = scanned("shared_alb")
    assert rules_of(result) == [
        "KA002",
        "DR001",
    ]  # ordered by location: listener_arn (13), deregistration_delay (22)
    unknown = next(finding for finding in result.findings if finding.rule == "KA002")
    assert (
        "is looked up with data.aws_lb_listener.https: it is defined outside the scanned files"
        in unknown.message
    )
    cut = next(finding for finding in result.findings if finding.rule == "DR001")
    assert "10 s" in cut.message and "60 s" in cut.message  # gunicorn sync --timeout 60


def test_ec2_targets_are_unknown_not_passed() -> None:
    result = scanned("ec2_targets")
    unknown = next(finding for finding in result.findings if finding.rule == "KA002")
    assert (
        "its targets are the EC2 instances of an autoscaling group, registered by aws_autoscaling_group.web"
        in unknown.message
    )


def test_container_name_that_is_not_in_the_task_definition() -> None:
    (finding,) = scanned("wrong_container").findings
    assert finding.rule == "KA002"
    assert (
        'sends traffic to container "nginx", which is not in aws_ecs_task_definition.web (it has "app", "worker")'
        in finding.message
    )
    assert finding.location is not None and finding.location.line == 22  # container_name = "nginx"


def test_two_listeners_to_the_same_target_give_one_check(tmp_path: Path) -> None:
    extra = """
resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.web.arn
  port              = 443
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}
"""
    result = scan_tree(tmp_path, {"main.tf": service_tf(command=["uvicorn", "app:app"]) + extra})
    (target,) = result.targets
    assert [str(listener.id) for listener in target.chain.listeners] == [
        "aws_lb_listener.http",
        "aws_lb_listener.https",
    ]
    assert rules_of(result) == ["KA001"]


def test_codedeploy_blue_green_pair_reaches_the_same_container() -> None:
    result = scanned("codedeploy")
    # after a deployment CodeDeploy points the production listener at green, in front of the same tasks
    assert pairs(result) == {
        ("aws_lb.web", "aws_lb_target_group.blue", "web"),
        ("aws_lb.web", "aws_lb_target_group.green", "web"),
    }
    green = next(target for target in result.targets if str(target.chain.target_group.id).endswith("green"))  # type: ignore[union-attr]
    assert [str(listener.id) for listener in green.chain.listeners] == ["aws_lb_listener.prod"]
    assert result.findings == ()  # uvicorn at 75 s against 60 s: fine on both colours


def test_classic_elb_with_tcp_listeners_keeps_no_pool(tmp_path: Path) -> None:
    tf = """
resource "aws_elb" "tcp" {
  name                        = "tcp"
  connection_draining         = true
  connection_draining_timeout = 120
  listener {
    lb_port           = 443
    lb_protocol       = "ssl"
    instance_port     = 8000
    instance_protocol = "tcp"
  }
}
resource "aws_ecs_service" "app" {
  task_definition = aws_ecs_task_definition.app.arn
  load_balancer {
    elb_name       = aws_elb.tcp.name
    container_name = "app"
    container_port = 8000
  }
}
resource "aws_ecs_task_definition" "app" {
  family                = "app"
  container_definitions = jsonencode([{ name = "app", image = "x:1", command = ["uvicorn", "app:app"] }])
}
"""
    assert rules_of(scan_tree(tmp_path, {"main.tf": tf})) == []
    http = tf.replace('instance_protocol = "tcp"', 'instance_protocol = "http"').replace('"ssl"', '"https"')
    assert rules_of(scan_tree(tmp_path, {"main.tf": http})) == ["KA001"]


def test_every_gap_says_what_would_make_it_known() -> None:
    fixes = {
        finding.chain.path() or finding.message: finding.fix for finding in scanned("missing_module").findings
    }
    assert all("terraform init" in fix for fix in fixes.values()), fixes
    (shared,) = [finding for finding in scanned("shared_alb").findings if finding.rule == "KA002"]
    assert shared.fix == "Scan the configuration that defines it together with this one"
    (wrong,) = scanned("wrong_container").findings
    assert wrong.fix == 'Set container_name to the container that serves the port (one of "app", "worker")'


def test_data_lookups_find_the_shared_load_balancer_scanned_with_them() -> None:
    alone = scanned("shared_alb")
    assert "KA002" in rules_of(alone)
    together = scan([TERRAFORM / "shared_alb", TERRAFORM / "shared_platform"])
    (target,) = together.targets
    assert str(target.chain.load_balancer.id) == "aws_lb.shared"  # type: ignore[union-attr]
    assert target.chain.load_balancer.id.unit.endswith("shared_platform")  # type: ignore[union-attr]
    assert target.chain.gap is None
    # gunicorn sync has no keep-alive; its --timeout 60 is under the 120 s idle timeout and over the 10 s delay
    assert rules_of(together) == ["DR001"]


def test_an_instance_of_a_resource_checked_as_one_instance_is_found(tmp_path: Path) -> None:
    tf = """
variable "services" {}
resource "aws_lb" "web" { name = "web" }
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.web.arn
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.t["api"].arn
  }
}
resource "aws_lb_target_group" "t" {
  for_each    = var.services
  target_type = "ip"
}
resource "aws_ecs_service" "api" {
  task_definition = aws_ecs_task_definition.api.arn
  load_balancer {
    target_group_arn = aws_lb_target_group.t["api"].arn
    container_name   = "api"
    container_port   = 80
  }
}
resource "aws_ecs_task_definition" "api" {
  family                = "api"
  container_definitions = jsonencode([{ name = "api", image = "x:1", command = ["uvicorn", "app:app"] }])
}
"""
    result = scan_tree(tmp_path, {"main.tf": tf})
    assert pairs(result) == {("aws_lb.web", "aws_lb_target_group.t", "api")}
    assert rules_of(result) == ["KA001"]


def test_remote_state_is_said_to_be_unfollowed(tmp_path: Path) -> None:
    tf = (
        service_tf(command=["uvicorn", "app:app"]).replace(
            "load_balancer_arn = aws_lb.web.arn",
            "load_balancer_arn = data.terraform_remote_state.platform.outputs.alb_arn",
        )
        + 'data "terraform_remote_state" "platform" {\n  backend = "s3"\n}\n'
    )
    (finding,) = [
        finding for finding in scan_tree(tmp_path, {"main.tf": tf}).findings if finding.rule == "KA002"
    ]
    assert (
        "comes from the remote state data.terraform_remote_state.platform, which keepalive-guard does not follow"
        in finding.message
    )
    assert finding.fix == "Check it against the stack that writes that state by hand"
