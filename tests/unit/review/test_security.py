"""Security tables, cost and the picture, computed from templates alone."""

from __future__ import annotations

from generator.review.security import ADDED, REMOVED, security_tables


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
