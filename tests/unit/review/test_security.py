"""Security tables, cost and the picture, computed from templates alone."""

from __future__ import annotations

import math

import pytest

from generator.capacity import registrable, tasks_per_instance
from generator.params import load_env
from generator.render import render
from generator.review import prices
from generator.review.cost import EMPTY, Side, env_cost
from generator.review.picture import diagram
from generator.review.security import ADDED, REMOVED, security_tables
from generator.yamlsrc import load_cfn
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "prices"


def _role(actions: list[str], managed: list[str] | None = None) -> dict[str, object]:
    return {"Resources": {"TaskRole": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole"}]},
        "ManagedPolicyArns": managed or [],
        "Policies": [{"PolicyName": "app", "PolicyDocument": {"Statement": [{
            "Effect": "Allow", "Action": actions, "Resource": {"Ref": "TableArn"}}]}}]}}}}


def _group(ingress: list[dict[str, object]], egress: list[dict[str, object]] | None = None
           ) -> dict[str, object]:
    props: dict[str, object] = {"GroupDescription": "app", "SecurityGroupIngress": ingress}
    if egress is not None:
        props["SecurityGroupEgress"] = egress
    return {"Resources": {"AppGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": props}}}


def test_an_added_task_role_action_is_an_added_statement_that_broadens() -> None:
    old, new = _role(["dynamodb:GetItem"]), _role(["dynamodb:GetItem", "dynamodb:PutItem"])
    tables = security_tables(old, new, {"TableArn": "arn:t"}, {"TableArn": "arn:t"})
    added = [r for r in tables.iam if r.change == ADDED]
    removed = [r for r in tables.iam if r.change == REMOVED]
    assert [(r.resource, r.kind, r.actions, r.principal, r.resources) for r in added] == [
        ("TaskRole", "identity", ["dynamodb:GetItem", "dynamodb:PutItem"], "role TaskRole",
         ["arn:t"])]
    assert [r.actions for r in removed] == [["dynamodb:GetItem"]]
    assert tables.broadens
    assert tables.broadening() == [
        "TaskRole: Allow dynamodb:GetItem, dynamodb:PutItem for role TaskRole on arn:t"]


def test_parameter_values_are_resolved_so_a_changed_resource_arn_shows() -> None:
    doc = _role(["s3:GetObject"])
    tables = security_tables(doc, doc, {"TableArn": "arn:a"}, {"TableArn": "arn:b"})
    assert [(r.change, r.resources) for r in tables.iam] == [
        (ADDED, ["arn:b"]), (REMOVED, ["arn:a"])]


def test_removing_a_statement_narrows_and_a_managed_policy_attach_broadens() -> None:
    old = _role(["s3:GetObject"])
    new = _role([], managed=["arn:aws:iam::aws:policy/AdministratorAccess"])
    tables = security_tables(old, new, {}, {})
    assert [(m.change, m.policy, m.broadens) for m in tables.managed_policies] == [
        (ADDED, "arn:aws:iam::aws:policy/AdministratorAccess", True)]
    assert any(r.change == REMOVED and not r.broadens for r in tables.iam)


def test_no_change_means_empty_tables() -> None:
    doc = _role(["s3:GetObject"])
    assert security_tables(doc, doc, {}, {}).empty


def test_an_added_ingress_rule_broadens_and_names_ports_and_peer() -> None:
    old = _group([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}],
                 egress=[])
    new = _group([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                  {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0",
                   "Description": "ssh"}], egress=[])
    tables = security_tables(old, new, {}, {})
    assert [(r.change, r.group, r.direction, r.protocol, r.ports, r.peer, r.open_to_world)
            for r in tables.security_groups] == [
        (ADDED, "AppGroup", "ingress", "tcp", "22", "0.0.0.0/0", True)]
    assert tables.broadens


def test_a_group_without_egress_rules_shows_aws_default_all_traffic_out() -> None:
    closed = _group([], egress=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                                 "DestinationSecurityGroupId": {"Ref": "DbGroup"}}])
    tables = security_tables(closed, _group([]), {}, {})
    rows = {(r.change, r.direction, r.protocol, r.ports, r.peer) for r in tables.security_groups}
    assert rows == {(ADDED, "egress", "all", "all", "0.0.0.0/0"),
                    (REMOVED, "egress", "tcp", "5432", "Ref DbGroup")}


def test_standalone_ingress_resources_belong_to_their_group() -> None:
    new = {"Resources": {"FromAlb": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
        "GroupId": {"Ref": "AppGroup"}, "IpProtocol": "tcp", "FromPort": 32768,
        "ToPort": 65535, "SourceSecurityGroupId": {"Ref": "AlbGroup"}}}}}
    (row,) = security_tables({}, new, {}, {}).security_groups
    # The group is another stack's (a parameter): it shows as `Ref AppGroup`.
    assert (row.group, row.ports, row.peer) == ("Ref AppGroup", "32768-65535", "Ref AlbGroup")


# --- prices -------------------------------------------------------------------------------


def test_the_shipped_snapshot_prices_the_shipped_envs_region_and_says_its_date() -> None:
    book = prices.load()
    assert book.as_of and book.source
    us = book.region("us-east-1")
    assert us is not None and us.ec2_instance_hour["t3.micro"] > 0
    assert us.rds_instance_hour["db.t3.micro"] > 0 and us.fargate_vcpu_hour["ARM64"] > 0


def test_the_bulk_file_parser_takes_linux_on_demand_first_tier_prices_of_the_region() -> None:
    offers = prices.read_offer_files(FIXTURES)
    book = prices.refresh(prices.load(), "eu-central-1", offers)
    eu = book.region("eu-central-1")
    assert eu is not None
    # Linux, shared, on demand: not Windows (0.0212) nor the reserved term (0.0075).
    assert eu.ec2_instance_hour == {"t3.micro": 0.012}
    assert eu.ebs_gb_month == {"gp3": 0.0952}
    assert eu.nat_gateway_hour == 0.052  # hours, not the per-GB data charge
    assert eu.rds_instance_hour == {"db.t3.micro": 0.021}  # PostgreSQL Single-AZ only
    assert eu.rds_storage_gb_month == {"gp3": 0.133}
    assert book.as_of == "2025-10-15"  # the oldest file's publication date
    assert "bulk" in book.source and book.region("us-east-1") is not None


def test_parsing_files_of_another_region_is_refused() -> None:
    from generator.errors import UsageError

    with pytest.raises(UsageError, match="no prices for region 'ap-south-1'"):
        prices.refresh(prices.load(), "ap-south-1", prices.read_offer_files(FIXTURES))


# --- cost ---------------------------------------------------------------------------------


def _sides(env: str, overrides: tuple[str, ...] = ()) -> dict[str, Side]:
    rendered = render(load_env(ROOT / "params", env, overrides), ROOT / "templates")
    out = {}
    for name, stack in rendered.stacks.items():
        params = {k: str(v) for k, v in stack.parameters.items() if not isinstance(v, dict)}
        params.setdefault("PublicSubnetIds", "subnet-a,subnet-b")
        out[name] = Side(load_cfn(stack.template), params)
    return out


def test_prod_costs_its_instances_database_nat_and_load_balancer() -> None:
    cost = env_cost(prices.load(), "us-east-1", {s: (EMPTY, side)
                                                 for s, side in _sides("prod").items()})
    lines = {(s.stack, line.resource): line for s in cost.stacks for line in s.lines}
    assert lines[("asg", "AutoScalingGroup")].after.endswith("× t3.small")
    assert lines[("rds", "DbInstance")].after == "db.t3.small Multi-AZ"
    # Multi-AZ bills the standby: twice the single-AZ hourly price.
    assert lines[("rds", "DbInstance")].after_usd == pytest.approx(2 * 0.036 * 730, abs=0.01)
    assert cost.before_usd == 0 and cost.after_usd > 100
    usage = {u for s in cost.stacks for u in s.usage}
    assert any("LCU" in u for u in usage) and any("log ingestion" in u for u in usage)


def test_more_tasks_on_ec2_cost_the_instances_they_need_beyond_the_group() -> None:
    before = _sides("local")
    after = _sides("local", ("ecs.service.desired_count=3",
                             "ecs.service.autoscaling.enabled=false"))
    cost = env_cost(prices.load(), "us-east-1", {s: (before[s], after[s]) for s in before})
    ecs = next(s for s in cost.stacks if s.stack == "ecs")
    extra = [line for line in ecs.lines if line.resource == "Service capacity"]
    assert extra and extra[0].after_usd > 0 and "more ×" in extra[0].after
    assert cost.delta == pytest.approx(extra[0].after_usd, abs=0.01)


def test_fargate_tasks_are_priced_by_vcpu_and_memory_for_their_architecture() -> None:
    cost = env_cost(prices.load(), "us-east-1", {s: (EMPTY, side)
                                                 for s, side in _sides("fargate").items()})
    (line,) = [line for s in cost.stacks for line in s.lines if line.resource == "Service"]
    assert "X86_64" in line.after  # the app's image is an x86 build (params/fargate.yaml)
    assert line.after_usd == pytest.approx((0.5 * 0.04048 + 1 * 0.004445) * 730, abs=0.01)


def test_a_region_the_snapshot_lacks_is_said_not_guessed() -> None:
    cost = env_cost(prices.load(), "ap-south-1", {"network": (EMPTY, EMPTY)})
    assert "no prices for region ap-south-1" in cost.missing and not cost.stacks


def test_registrable_memory_follows_the_documented_m4_large_figure() -> None:
    assert registrable("m4.large") == (2048, 7985)
    assert tasks_per_instance("t3.small", 256, 512) == 3
    assert tasks_per_instance("t3.small", 256, 512, one_only=True) == 1
    assert tasks_per_instance("x9.huge", 256, 512) is None
    assert not math.isnan(float(tasks_per_instance("t3.micro", 256, 512) or 0))


# --- picture ------------------------------------------------------------------------------


def test_the_diagram_groups_resources_by_stack_and_colours_the_plans_actions() -> None:
    rendered = render(load_env(ROOT / "params", "prod"), ROOT / "templates")
    docs = {s: load_cfn(st.template) for s, st in rendered.stacks.items()}
    text = diagram(rendered.graph, docs, {("rds", "DbInstance"): "Replace",
                                          ("alb", "OldRule"): "Remove"})
    assert text.startswith("flowchart LR")
    for stack in rendered.graph.order:
        assert f"subgraph {stack}[" in text
    assert "class rds_DbInstance replace" in text and "classDef replace" in text
    assert 'alb_OldRule["OldRule' in text and "class alb_OldRule remove" in text
    assert "classDef add" not in text  # only the classes in use
    assert '-- "VpcId' in text or '-- "' in text  # outputs label the edges
    assert "SubnetRouteTableAssociation" not in text  # plumbing stays out unless changed


def test_a_rule_replaced_by_a_narrower_one_narrows_access() -> None:
    def ingress(cidr: str) -> dict[str, object]:
        return _group([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": cidr}],
                      egress=[])

    narrower = security_tables(ingress("0.0.0.0/0"), ingress("10.0.0.0/8"), {}, {})
    added = [r for r in narrower.security_groups if r.change == ADDED]
    assert [(r.peer, r.covered, r.broadens) for r in added] == [("10.0.0.0/8", True, False)]
    assert not narrower.broadens
    wider = security_tables(ingress("10.0.0.0/8"), ingress("0.0.0.0/0"), {}, {})
    assert wider.broadens


def test_every_service_on_ec2_counts_toward_the_instances_they_need_together() -> None:
    """dev's worker shares the fleet with the web service: their tasks are priced
    together (each at its own scalable target's minimum), not as if each had it alone."""
    before = _sides("dev")
    after = _sides("dev", ("ecs.services.worker.memory_mib=512",
                           "ecs.services.worker.autoscaling.min_tasks=4",
                           "ecs.services.worker.autoscaling.max_tasks=4"))
    cost = env_cost(prices.load(), "us-east-1", {s: (before[s], after[s]) for s in before})
    ecs = next(s for s in cost.stacks if s.stack == "ecs")
    (extra,) = [line for line in ecs.lines if line.resource.endswith("capacity")]
    # t3.micro registers ~904 MiB: 4 workers of 512 MiB need 4 instances, the web task
    # half of one; the group has 1.
    assert extra.resource == "Service capacity" and extra.before_usd == 0
    assert extra.after == "5 tasks of 2 services need 4 more × t3.micro", extra.after
