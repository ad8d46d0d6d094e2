"""Issue 10, ECS side: the cluster stack, graph order, capacity ownership, ECS Exec.

Each test reads what `render` produces (templates, graph, nested root) for the
shipped envs, so it fails on the commit before the fix it guards.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from generator.deploy.cfn import StackInfo
from generator.deploy.delete import Deleter
from generator.params import load_env
from generator.render import Rendered
from generator.ui import Console
from generator.yamlsrc import load_cfn
from tests.conftest import ENVS, ROOT, run_stackgen
from tests.renders import shipped

EC2_ENVS = ["local", "dev", "prod"]


def _render(env: str, *overrides: str) -> Rendered:
    """Shared with the file's other tests (tests/renders.py): they only read it."""
    return shipped(env, overrides)


def _resources(r: Rendered, stack: str) -> dict[str, Any]:
    resources: dict[str, Any] = load_cfn(r.stacks[stack].template)["Resources"]
    return resources


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


@pytest.mark.parametrize("env", EC2_ENVS)
def test_instances_get_the_cluster_name_from_the_cluster_stack(env: str) -> None:
    r = _render(env)
    inputs = {i.param: i.ref for i in r.graph.stacks["asg"].inputs}
    assert inputs["ClusterName"] == "cluster.ClusterName"
    order = r.graph.order
    assert order.index("cluster") < order.index("asg") < order.index("ecs")
    data = _resources(r, "asg")["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    sub = data["UserData"]["Fn::Base64"]["Fn::Sub"]
    # After Sub the line is `ECS_CLUSTER=<name>`, the agent's config format.
    assert "echo ECS_CLUSTER=${ClusterName} >> /etc/ecs/ecs.config" in sub
    assert f"kubenews-{env}" not in sub  # no name both sides compute
    declared = load_cfn(r.stacks["asg"].template)["Parameters"]
    assert "ClusterName" in declared


def test_graph_command_shows_the_cluster_upstream_of_the_instances(project: Path) -> None:
    text = run_stackgen(["graph", "--env", "local"], cwd=project)
    assert text.returncode == 0, text.stderr
    assert "asg  <- cluster, network" in text.stdout
    assert "    ClusterName = cluster.ClusterName" in text.stdout
    assert "ecs  <- alb, asg, cluster, rds" in text.stdout and "    after asg" in text.stdout
    mermaid = run_stackgen(["graph", "--env", "prod", "--format", "mermaid"], cwd=project)
    assert 'cluster -- "ClusterName" --> asg' in mermaid.stdout
    assert 'network -- "AppSecurityGroupId, AppSubnetIds, VpcId" --> rds' in mermaid.stdout


def test_nested_root_orders_ecs_after_asg() -> None:
    local = load_cfn(_render("local").root.template)["Resources"]
    assert set(local) == {"Network", "Dns", "Cluster", "Cert", "Alb", "Asg", "Rds", "Ecs"}
    assert local["Ecs"]["DependsOn"] == ["Asg"]  # reads nothing of asg, must still wait
    assert local["Asg"]["Properties"]["Parameters"]["ClusterName"] == {
        "Fn::GetAtt": ["Cluster", "Outputs.ClusterName"]}
    prod = load_cfn(_render("prod").root.template)["Resources"]
    assert "DependsOn" not in prod["Ecs"]  # CapacityProviderName already orders it


# --- defect 2: reverse graph order deletes ecs, asg, then the cluster -------------------


class _AllDeployed:
    """The part of CloudFormation that Deleter.plan reads: every stack is deployed."""

    def describe_many(self, names: list[str]) -> dict[str, StackInfo]:
        return {n: StackInfo(n, f"arn:{n}", "CREATE_COMPLETE", {}, {}, {}, None) for n in names}


@pytest.mark.parametrize("env", EC2_ENVS)
def test_reverse_graph_order_deletes_instances_before_the_cluster(env: str) -> None:
    r = _render(env)
    plan = Deleter(r, _AllDeployed(), Console(color=False), lambda q: True).plan()  # type: ignore[arg-type]
    gone = [stack for stack, _ in plan.stacks]
    # DeleteCluster is refused while container instances are registered
    # (ClusterContainsContainerInstancesException): the asg goes first.
    assert gone.index("ecs") < gone.index("asg") < gone.index("cluster")


def test_deleting_the_cluster_alone_is_refused_while_asg_reads_it() -> None:
    from generator.deploy.delete import DeleteRefused

    with pytest.raises(DeleteRefused, match="feeds kubenews-local-asg"):
        Deleter(_render("local"), _AllDeployed(), Console(color=False),  # type: ignore[arg-type]
                lambda q: True).plan(frozenset({"cluster"}))


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


def test_app_group_opens_the_ports_the_targets_listen_on() -> None:
    def ports(env: str, *overrides: str) -> tuple[int, int]:
        rule = _resources(_render(env, *overrides), "network")["AppSecurityGroup"][
            "Properties"]["SecurityGroupIngress"][0]
        return rule["FromPort"], rule["ToPort"]

    assert ports("local") == (80, 80)  # static host port
    assert ports("dev") == (32768, 65535)  # dynamic host ports
    assert ports("fargate") == (8080, 8080)  # awsvpc: the container port


# --- defect 3: the service waits for the capacity provider association ------------------


def test_service_depends_on_the_capacity_provider_association() -> None:
    prod = _resources(_render("prod"), "ecs")
    assert prod["Service"]["DependsOn"] == "CapacityProviderAssociation"
    assert prod["CapacityProviderAssociation"]["Properties"]["Cluster"] == {"Ref": "ClusterName"}
    assert "DependsOn" not in _resources(_render("local"), "ecs")["Service"]


# --- defect 8: what a scaler owns stays out of the template -----------------------------


@pytest.mark.parametrize("env", ENVS)
def test_desired_count_is_left_to_the_service_scaler(env: str) -> None:
    r = _render(env)
    svc = _resources(r, "ecs")["Service"]["Properties"]
    assert "DesiredCount" not in svc
    assert "DesiredCount" not in r.stacks["ecs"].parameters
    target = _resources(r, "ecs")["ScalableTarget"]["Properties"]
    assert target["MinCapacity"] == r.env.config.ecs.service.autoscaling.min_tasks


def test_desired_count_is_set_without_a_scaler() -> None:
    r = _render("local", "ecs.service.autoscaling.enabled=false", "ecs.service.desired_count=2")
    assert _resources(r, "ecs")["Service"]["Properties"]["DesiredCount"] == {"Ref": "DesiredCount"}
    assert r.stacks["ecs"].parameters["DesiredCount"] == 2
    assert "ScalableTarget" not in _resources(r, "ecs")


@pytest.mark.parametrize("env", EC2_ENVS)
def test_desired_capacity_is_left_to_the_group_scaler(env: str) -> None:
    group = _resources(_render(env), "asg")["AutoScalingGroup"]["Properties"]
    assert "DesiredCapacity" not in group
    fixed = _resources(_render(env, "asg.scaling.mode=none"), "asg")["AutoScalingGroup"]
    assert fixed["Properties"]["DesiredCapacity"] == str(load_env(
        ROOT / "params", env, []).config.asg.desired_capacity)


# --- defect 12 (ECS/ASG): ECS Exec, target group timing, AMI roll-out, one owner --------


def test_ecs_exec_gets_its_channels_and_logging() -> None:
    on = _resources(_render("local", "ecs.service.enable_execute_command=true",
                            "ecs.container.read_only_root_filesystem=false"), "ecs")
    statements = on["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    actions = {a for s in statements for a in s["Action"]}
    assert {"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"} <= actions
    logs = next(s for s in statements if "logs:PutLogEvents" in s["Action"])
    assert logs["Resource"] == {"Fn::GetAtt": ["LogGroup", "Arn"]}
    assert on["Service"]["Properties"]["EnableExecuteCommand"] is True
    off = _resources(_render("local"), "ecs")["TaskRole"]["Properties"]
    assert "Policies" not in off  # no exec, no app statements: nothing granted
    cluster = _resources(_render("local"), "cluster")["Cluster"]["Properties"]
    assert cluster["Configuration"]["ExecuteCommandConfiguration"] == {"Logging": "DEFAULT"}


def test_target_group_marks_targets_healthy_fast_and_drains_briefly() -> None:
    tg = _resources(_render("local"), "alb")["TargetGroup"]["Properties"]
    assert tg["HealthCheckIntervalSeconds"] * tg["HealthyThresholdCount"] <= 30
    assert tg["TargetGroupAttributes"] == [
        {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]
    tuned = _resources(_render("local", "alb.target_group.health_check.interval_seconds=20",
                               "alb.target_group.deregistration_delay_seconds=90"),
                       "alb")["TargetGroup"]["Properties"]
    assert tuned["HealthCheckIntervalSeconds"] == 20
    assert tuned["TargetGroupAttributes"][0]["Value"] == "90"


@pytest.mark.parametrize("env", EC2_ENVS)
def test_a_new_ami_rolls_through_the_group(env: str) -> None:
    r = _render(env)
    group = _resources(r, "asg")["AutoScalingGroup"]
    policy = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    asg = r.env.config.asg
    assert policy["MaxBatchSize"] == 1
    assert policy["MinInstancesInService"] == min(asg.min_size, asg.max_size - 1)
    assert policy["MinInstancesInService"] < asg.max_size
    assert "AlarmNotification" in policy["SuspendProcesses"]
    # The AMI comes from the SSM parameter; the group follows the template's latest version.
    assert group["Properties"]["LaunchTemplate"]["Version"] == {
        "Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]}


@pytest.mark.parametrize("env", EC2_ENVS)
def test_only_the_service_registers_targets(env: str) -> None:
    r = _render(env)
    assert "TargetGroupARNs" not in _resources(r, "asg")["AutoScalingGroup"]["Properties"]
    assert "TargetGroupArn" not in {i.param for i in r.graph.stacks["asg"].inputs}
    assert _resources(r, "ecs")["Service"]["Properties"]["LoadBalancers"][0]["TargetGroupArn"] == {
        "Ref": "TargetGroupArn"}


def test_user_data_names_the_cluster_as_the_agent_config_line() -> None:
    """After Sub, one `ECS_CLUSTER=<name>` line: what the agent (and the local
    endpoint's `ECS_CLUSTER=(\\S+)`) reads."""
    data = _resources(_render("local"), "asg")["LaunchTemplate"]["Properties"][
        "LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    resolved = data.replace("${ClusterName}", "kubenews-local")
    assert re.findall(r"ECS_CLUSTER=(\S+)", resolved) == ["kubenews-local"]
    assert "${" not in resolved


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
