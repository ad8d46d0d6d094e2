"""The stack graph (generator/graph.py): each stack's inputs and order."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.yamlsrc import load_cfn
from tests.conftest import ENVS
from tests.helpers.rendered import _render, _resources

# --- 5: a created zone is delegated before its certificate starts -----------------


def test_the_certificate_has_its_own_stack_after_the_zone() -> None:
    r = _render("dev")
    assert r.graph.stacks["cert"].upstream == ("dns",)
    assert "cert" in r.graph.stacks["alb"].upstream
    assert "Certificate" not in _resources(r, "dns")
    outputs = load_cfn(r.stacks["dns"].template)["Outputs"]
    assert outputs["NameServers"]["Value"] == {
        "Fn::Join": [",", {"Fn::GetAtt": ["HostedZone", "NameServers"]}]}


# --- defect 1: the cluster exists before any instance boots ---------------------------


@pytest.mark.parametrize("env", ENVS)
def test_cluster_has_its_own_stack_that_ecs_reads(env: str) -> None:
    r = _render(env)
    cluster = _resources(r, "cluster")
    assert cluster["Cluster"]["Type"] == "AWS::ECS::Cluster"
    assert set(load_cfn(r.stacks["cluster"].template)["Outputs"]) == {"ClusterName", "ClusterArn"}
    ecs = _resources(r, "ecs")
    assert not any(res["Type"] == "AWS::ECS::Cluster" for res in ecs.values())
    assert ecs["Service"]["Properties"]["Cluster"] == {"Ref": "ClusterName"}
    inputs = {i.param: i.ref for i in r.graph.stacks["ecs"].inputs}
    assert inputs["ClusterName"] == "cluster.ClusterName"


def test_nested_root_orders_ecs_after_asg() -> None:
    local = load_cfn(_render("local").root.template)["Resources"]
    assert set(local) == {"Network", "Dns", "Cluster", "Cert", "Alb", "Asg", "Rds", "Ecs"}
    assert local["Ecs"]["DependsOn"] == ["Asg"]  # reads nothing of asg, must still wait
    assert local["Asg"]["Properties"]["Parameters"]["ClusterName"] == {
        "Fn::GetAtt": ["Cluster", "Outputs.ClusterName"]}
    prod = load_cfn(_render("prod").root.template)["Resources"]
    assert "DependsOn" not in prod["Ecs"]  # CapacityProviderName already orders it


# --- security groups in network: rds beside alb and asg ---------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_rds_depends_on_network_alone(env: str) -> None:
    r = _render(env)
    assert r.graph.stacks["rds"].upstream == ("network",)
    network = _resources(r, "network")
    assert {"AlbSecurityGroup", "AppSecurityGroup"} <= set(network)
    app = network["AppSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert [rule["SourceSecurityGroupId"] for rule in app] == [{"Ref": "AlbSecurityGroup"}]
    alb = _resources(r, "alb")
    assert alb["LoadBalancer"]["Properties"]["SecurityGroups"] == [{"Ref": "AlbSecurityGroupId"}]
    assert not any(res["Type"] == "AWS::EC2::SecurityGroup" for res in alb.values())
    # Critical path: asg (EC2) reads nothing of alb, so it runs beside alb and rds.
    if "asg" in r.stacks:
        assert "alb" not in r.graph.stacks["asg"].upstream


# --- `after:` in stacks.yaml --------------------------------------------------------------


def test_after_orders_without_an_input_and_is_checked() -> None:
    from generator.errors import GraphError
    from generator.graph import build_graph

    spec = {"a": {}, "b": {"when": "ec2"}, "c": {"after": [{"ec2": "b"}, "a"]}}
    g = build_graph(spec, frozenset({"ec2"}), Path("s.yaml"))
    assert g.stacks["c"].upstream == ("a", "b") and g.order[-1] == "c"
    assert build_graph(spec, frozenset(), Path("s.yaml")).stacks["c"].after == ("a",)
    with pytest.raises(GraphError, match=r"c.after names 'b', which is not in this env"):
        build_graph({"a": {}, "b": {"when": "ec2"}, "c": {"after": ["b"]}}, frozenset(),
                    Path("s.yaml"))
    with pytest.raises(GraphError, match="expected a list of stack names"):
        build_graph({"c": {"after": "b"}}, frozenset(), Path("s.yaml"))
    with pytest.raises(GraphError, match="cycle"):
        build_graph({"a": {"after": ["b"]}, "b": {"after": ["a"]}}, frozenset(), Path("s.yaml"))

