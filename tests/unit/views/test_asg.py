"""The asg stack's view and template (generator/views/asg.py): the instances' cluster,
rolling AMIs, the group scaler, the instance metadata block."""

from __future__ import annotations

import re

import pytest

from generator.params import load_env
from generator.render import Rendered
from generator.yamlsrc import load_cfn
from tests.conftest import ROOT
from tests.helpers.rendered import EC2_ENVS, _render, _resources


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


@pytest.mark.parametrize("env", EC2_ENVS)
def test_desired_capacity_is_left_to_the_group_scaler(env: str) -> None:
    group = _resources(_render(env), "asg")["AutoScalingGroup"]["Properties"]
    assert "DesiredCapacity" not in group
    fixed = _resources(_render(env, "asg.scaling.mode=none"), "asg")["AutoScalingGroup"]
    assert fixed["Properties"]["DesiredCapacity"] == str(load_env(
        ROOT / "params", env, []).config.asg.desired_capacity)


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


def test_user_data_names_the_cluster_as_the_agent_config_line() -> None:
    """After Sub, one `ECS_CLUSTER=<name>` line: what the agent (and the local
    endpoint's `ECS_CLUSTER=(\\S+)`) reads."""
    data = _resources(_render("local"), "asg")["LaunchTemplate"]["Properties"][
        "LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    resolved = data.replace("${ClusterName}", "kubenews-local")
    assert re.findall(r"ECS_CLUSTER=(\S+)", resolved) == ["kubenews-local"]
    assert "${" not in resolved


IMDS = "169.254.169.254"


def _user_data(r: Rendered) -> str:
    lt = _resources(r, "asg")["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    text: str = lt["UserData"]["Fn::Base64"]["Fn::Sub"]
    return text


# --- gap 1: containers cannot reach the instance role ---------------------------------


@pytest.mark.parametrize("env", EC2_ENVS)
def test_containers_cannot_reach_instance_metadata(env: str) -> None:
    r = _render(env)
    lt = _resources(r, "asg")["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert lt["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert lt["MetadataOptions"]["HttpTokens"] == "required"
    data = _user_data(r)
    # Bridge tasks: the ECS guide's DOCKER-USER rule, added once Docker has started.
    assert "#cloud-boothook" in data
    rule = f"--insert DOCKER-USER 1 --in-interface docker+ --destination {IMDS}/32 --jump DROP"
    assert rule in data
    # The cluster line the ECS agent (and the local endpoint) reads is still there.
    assert "echo ECS_CLUSTER=${ClusterName} >> /etc/ecs/ecs.config" in data


def test_the_metadata_rule_is_added_after_docker_starts_never_restored_as_a_table() -> None:
    """Issue 27: a restored `*filter` table, run after dockerd, flushes Docker's chains and
    the DOCKER-USER jump; the rule goes into DOCKER-USER after Docker starts instead."""
    data = _user_data(_render("dev"))
    assert "*filter" not in data and "/etc/sysconfig/iptables" not in data
    assert "systemctl enable iptables" not in data and "iptables-restore" not in data
    boothook = data[data.index("#cloud-boothook"):data.index("#!/bin/bash")]
    drop_in = "/etc/systemd/system/docker.service.d/"
    unit = boothook[boothook.index(f"> {drop_in}"):boothook.index("\nUNIT\n")]
    # In docker.service's own unit: after each start of dockerd, restarts included.
    assert "[Service]\nExecStartPost=/bin/sh -c 'iptables -w --check DOCKER-USER" in unit
    assert "--insert DOCKER-USER 1 --in-interface docker+" in unit
    # Written, then loaded, before Docker can start with it; added at once only when
    # Docker already runs (the boothook raced it and lost).
    lines = boothook.splitlines()
    reload_at = lines.index("systemctl daemon-reload")
    assert reload_at > next(i for i, x in enumerate(lines) if x.startswith("cat <<'UNIT' >"))
    assert lines[reload_at + 1] == "if systemctl is-active --quiet docker; then"
    assert "--insert DOCKER-USER 1" in lines[reload_at + 2]


def test_awsvpc_tasks_on_ec2_are_blocked_by_the_agent() -> None:
    data = _user_data(_render("local", "ecs.network_mode=awsvpc"))
    assert "echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config" in data
    assert "DOCKER-USER" not in data


def test_metadata_block_can_be_turned_off() -> None:
    data = _user_data(_render("local", "asg.block_container_metadata=false"))
    assert IMDS not in data and "ECS_AWSVPC_BLOCK_IMDS" not in data
    assert data.startswith("#!/bin/bash\n")

