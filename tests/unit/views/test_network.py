"""The network stack's view and template (generator/views/network.py): NAT gateways,
security groups and their egress, flow logs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ENVS
from tests.helpers.rendered import _render, _resources


def test_prod_has_a_nat_gateway_per_az_and_each_private_subnet_routes_through_its_own() -> None:
    res = _resources(_render("prod"), "network")
    nats = {k: v for k, v in res.items() if v["Type"] == "AWS::EC2::NatGateway"}
    assert sorted(nats) == ["NatGateway", "NatGateway2"]
    assert {n["Properties"]["SubnetId"]["Ref"] for n in nats.values()} == {
        "PublicSubnet1", "PublicSubnet2"}
    tables = {res[f"PrivateSubnet{i}RouteTableAssociation"]["Properties"]["RouteTableId"]["Ref"]
              for i in (1, 2)}
    assert tables == {"PrivateRouteTable", "PrivateRouteTable2"}
    routes = {res[f"PrivateDefaultRoute{s}"]["Properties"]["NatGatewayId"]["Ref"]
              for s in ("", "2")}
    assert routes == {"NatGateway", "NatGateway2"}


def test_a_single_nat_gateway_stays_selectable_with_the_same_ids() -> None:
    res = _resources(_render("prod", "network.nat_gateways=single"), "network")
    assert [k for k, v in res.items() if v["Type"] == "AWS::EC2::NatGateway"] == ["NatGateway"]
    assert res["PrivateSubnet2RouteTableAssociation"]["Properties"]["RouteTableId"] == {
        "Ref": "PrivateRouteTable"}


def test_app_group_opens_the_ports_the_targets_listen_on() -> None:
    def ports(env: str, *overrides: str) -> tuple[int, int]:
        rule = _resources(_render(env, *overrides), "network")["AppSecurityGroup"][
            "Properties"]["SecurityGroupIngress"][0]
        return rule["FromPort"], rule["ToPort"]

    assert ports("local") == (80, 80)  # static host port
    assert ports("dev") == (32768, 65535)  # dynamic host ports
    assert ports("fargate") == (8080, 8080)  # awsvpc: the container port


def _of_type(res: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in res.items() if v["Type"] == kind}


# --- gap 4: egress is closed ------------------------------------------------------------


def _egress(sg: dict[str, Any]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = sg["Properties"].get("SecurityGroupEgress", [])
    return rules


NO_OP = {"IpProtocol": "-1", "CidrIp": "127.0.0.1/32"}


@pytest.mark.parametrize("env", ENVS)
def test_no_security_group_keeps_the_default_open_egress(env: str) -> None:
    r = _render(env)
    groups = {**_of_type(_resources(r, "network"), "AWS::EC2::SecurityGroup"),
              **_of_type(_resources(r, "rds"), "AWS::EC2::SecurityGroup")}
    assert set(groups) == {"AlbSecurityGroup", "AppSecurityGroup", "DbSecurityGroup"}
    for name, sg in groups.items():
        assert _egress(sg), f"{name} keeps the default allow-all egress"
        for rule in _egress(sg):
            assert not (rule["IpProtocol"] == "-1" and rule.get("CidrIp") == "0.0.0.0/0"), name


@pytest.mark.parametrize("env", ENVS)
def test_egress_is_what_each_group_needs(env: str) -> None:
    r = _render(env)
    net, rds = _resources(r, "network"), _resources(r, "rds")
    # The DB: none at all.
    assert [{k: v for k, v in rule.items() if k != "Description"}
            for rule in _egress(rds["DbSecurityGroup"])] == [NO_OP]
    # The load balancer: none inline; its rules reach the app's group alone.
    assert [{k: v for k, v in rule.items() if k != "Description"}
            for rule in _egress(net["AlbSecurityGroup"])] == [NO_OP]
    ingress = net["AppSecurityGroup"]["Properties"]["SecurityGroupIngress"][0]
    alb_rules = [e["Properties"] for e in _of_type(net, "AWS::EC2::SecurityGroupEgress").values()]
    assert [(p["GroupId"], p["DestinationSecurityGroupId"], p["FromPort"], p["ToPort"])
            for p in alb_rules] == [({"Ref": "AlbSecurityGroup"}, {"Ref": "AppSecurityGroup"},
                                     ingress["FromPort"], ingress["ToPort"])]
    # The app: HTTPS out, and the DB port to the DB's group (a rule in rds, no cycle).
    assert [(e["IpProtocol"], e["FromPort"], e["ToPort"], e["CidrIp"])
            for e in _egress(net["AppSecurityGroup"])] == [("tcp", 443, 443, "0.0.0.0/0")]
    to_db = rds["AppToDbEgress"]["Properties"]
    assert (to_db["GroupId"], to_db["DestinationSecurityGroupId"], to_db["FromPort"],
            to_db["ToPort"]) == ({"Ref": "AppSecurityGroupId"}, {"Ref": "DbSecurityGroup"},
                                 5432, 5432)

def test_prod_keeps_vpc_flow_logs() -> None:
    res = _resources(_render("prod"), "network")
    flow = res["FlowLog"]["Properties"]
    assert (flow["ResourceId"], flow["ResourceType"], flow["TrafficType"]) == (
        {"Ref": "Vpc"}, "VPC", "ALL")
    assert flow["LogGroupName"] == {"Ref": "FlowLogGroup"}
    assert res["FlowLogGroup"]["DeletionPolicy"] == "Retain"
    trust = res["FlowLogRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}

