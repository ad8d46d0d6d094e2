"""Stack refactoring (generator/deploy/refactor.py, emulation/refactor.py): an env
deployed in the old layout (the load balancer's group in `alb`, tests/fixtures/old_layout)
moves the group to `network` unreplaced, then takes today's templates with no resource
replaced; bare moto has no refactor API."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from generator.deploy.refactor import (
    Move,
    Refactorer,
    RefactorFailed,
    detect,
    read_mapping,
    refactor_templates,
)
from generator.errors import UsageError
from generator.local.manager import Endpoint
from generator.yamlsrc import load_cfn
from tests.conftest import clients, reset

FIXTURE = Path(__file__).parent / "fixtures" / "old_layout"
MOVE = Move("alb", "AlbSecurityGroup", "network", "AlbSecurityGroup")


def _text(layout: str, stack: str) -> str:
    return (FIXTURE / layout / f"{stack}.yaml").read_text()


def _old_layout(c: Any) -> tuple[str, str]:
    cfn = c.cloudformation
    cfn.create_stack(StackName="network", TemplateBody=_text("old", "network"))
    vpc = cfn.describe_stacks(StackName="network")["Stacks"][0]["Outputs"][0]["OutputValue"]
    cfn.create_stack(StackName="alb", TemplateBody=_text("old", "alb"),
                     Parameters=[{"ParameterKey": "VpcId", "ParameterValue": vpc}])
    group = cfn.describe_stacks(StackName="alb")["Stacks"][0]["Outputs"][0]["OutputValue"]
    return str(vpc), str(group)


def _physical(c: Any, stack: str) -> dict[str, str]:
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
            c.cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]}


def _update(c: Any, stack: str, **params: str) -> list[tuple[str, str]]:
    cfn = c.cloudformation
    cs = cfn.create_change_set(StackName=stack, ChangeSetName="up", ChangeSetType="UPDATE",
                               TemplateBody=_text("new", stack),
                               Parameters=[{"ParameterKey": k, "ParameterValue": v}
                                           for k, v in params.items()])["Id"]
    changes = [(ch["ResourceChange"]["Action"], ch["ResourceChange"]["LogicalResourceId"])
               for ch in cfn.describe_change_set(ChangeSetName=cs)["Changes"]]
    cfn.execute_change_set(ChangeSetName=cs)
    return changes


def test_the_old_layout_moves_and_upgrades_with_nothing_replaced(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    vpc, group = _old_layout(c)
    deployed = {s: load_cfn(_text("old", s)) for s in ("network", "alb")}
    moves = detect(deployed, {s: load_cfn(_text("new", s)) for s in ("network", "alb")})
    assert moves == [MOVE]
    assert MOVE.line() == "move alb.AlbSecurityGroup → network.AlbSecurityGroup"
    templates = refactor_templates(deployed, moves, {"alb": _physical(c, "alb")},
                                   {"alb": {"VpcId": vpc}})
    moved = templates["network"]["Resources"]["AlbSecurityGroup"]
    assert moved["Properties"]["VpcId"] == vpc  # what it read of alb, as its value
    assert templates["alb"]["Outputs"]["AlbSecurityGroupId"]["Value"] == group

    actions = Refactorer(c.cloudformation, sleep=lambda s: None).run(
        {"alb": "alb", "network": "network"}, moves, templates, create_stacks=False,
        description="test")
    assert actions == [f"move resource: move AlbSecurityGroup {group}"]
    assert _physical(c, "network")["AlbSecurityGroup"] == group
    assert "AlbSecurityGroup" not in _physical(c, "alb")

    # Today's templates: the group stays (no Add, no Remove), and keeps its id.
    assert ("Add", "AlbSecurityGroup") not in _update(c, "network")
    assert ("Remove", "AlbSecurityGroup") not in _update(c, "alb", VpcId=vpc)
    assert _physical(c, "network")["AlbSecurityGroup"] == group
    [sg] = c.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    assert sg["VpcId"] == vpc


def test_a_refactor_that_would_empty_a_stack_or_add_a_parameter_fails(
        endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    vpc, _ = _old_layout(c)
    deployed = {s: load_cfn(_text("old", s)) for s in ("network", "alb")}
    templates = refactor_templates(deployed, [MOVE], {"alb": _physical(c, "alb")},
                                   {"alb": {"VpcId": vpc}})
    templates["network"]["Parameters"] = {"Extra": {"Type": "String"}}
    with pytest.raises(RefactorFailed, match="cannot add parameters"):
        Refactorer(c.cloudformation, sleep=lambda s: None).run(
            {"alb": "alb", "network": "network"}, [MOVE], templates, False, "test")


def test_bare_moto_has_no_stack_refactor(bare_endpoint: str) -> None:
    reset(bare_endpoint)
    c = clients(bare_endpoint)
    _old_layout(c)
    refused = False
    with contextlib.suppress(ClientError, ResponseParserError):
        c.cloudformation.create_stack_refactor(StackDefinitions=[
            {"StackName": "alb", "TemplateBody": _text("new", "alb")},
            {"StackName": "network", "TemplateBody": _text("new", "network")}])
        refused = True  # pragma: no cover - reached only if moto learns the API
    assert not refused


def test_renames_and_moves_are_paired_by_type_when_ids_differ() -> None:
    old = {"asg": {"Resources": {"InstanceSecurityGroup": {"Type": "AWS::EC2::SecurityGroup"},
                                 "Group": {"Type": "AWS::AutoScaling::AutoScalingGroup"}}},
           "network": {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC"}}}}
    new = {"asg": {"Resources": {"Group": {"Type": "AWS::AutoScaling::AutoScalingGroup"}}},
           "network": {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC"},
                                     "AppSecurityGroup": {"Type": "AWS::EC2::SecurityGroup"}}}}
    [guess] = detect(old, new)
    assert guess == Move("asg", "InstanceSecurityGroup", "network", "AppSecurityGroup", "type")
    assert guess.line().startswith("possible move asg.InstanceSecurityGroup → "
                                   "network.AppSecurityGroup")


def test_a_mapping_file_is_read_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "m.yaml"
    good.write_text("alb.AlbSecurityGroup: network.AlbSecurityGroup\n")
    assert read_mapping(good, ["alb", "network"]) == [MOVE]
    bad = tmp_path / "bad.yaml"
    bad.write_text("alb.AlbSecurityGroup: nowhere.X\n")
    with pytest.raises(UsageError, match=r"stack\.LogicalId"):
        read_mapping(bad, ["alb", "network"])


# --- an env: plan says "move", deploy refactors first, nothing is replaced ---------------

MARKER = ("  Marker:\n    Type: AWS::Logs::LogGroup\n    DeletionPolicy: Delete\n"
          "    UpdateReplacePolicy: Delete\n    Properties:\n      RetentionInDays: 1\n\n")


def _put_marker(project: Path, stack: str, present: bool) -> None:
    path = project / "templates" / f"{stack}.yaml.j2"
    text = path.read_text().replace(MARKER, "")
    path.write_text(text.replace("Resources:\n", "Resources:\n" + MARKER, 1) if present
                    else text)


def test_an_env_whose_resource_moved_stack_plans_a_move_and_deploys_it_unreplaced(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    from tests.conftest import aws_env, run_stackgen

    env = aws_env(endpoint)
    _put_marker(project, "dns", True)
    first = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes"], cwd=project,
                         env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    [before] = [r["PhysicalResourceId"] for r in aws.cloudformation.list_stack_resources(
        StackName="kubenews-local-dns")["StackResourceSummaries"]
        if r["LogicalResourceId"] == "Marker"]

    _put_marker(project, "dns", False)
    _put_marker(project, "cluster", True)  # the same resource, now in the cluster stack
    planned = run_stackgen(["--no-color", "plan", "--env", "local", "--format", "json"],
                           cwd=project, env=env)
    assert planned.returncode == 0, planned.stderr
    assert __import__("json").loads(planned.stdout)["moves"] == [
        "move dns.Marker → cluster.Marker"]

    moved = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes"], cwd=project,
                         env=env)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "move dns.Marker → cluster.Marker" in moved.stdout
    after = {r["LogicalResourceId"]: r["PhysicalResourceId"]
             for r in aws.cloudformation.list_stack_resources(
                 StackName="kubenews-local-cluster")["StackResourceSummaries"]}
    assert after["Marker"] == before  # the same log group: moved, not replaced
    groups = [g["logGroupName"] for g in aws.logs.describe_log_groups()["logGroups"]]
    assert before in groups and not [g for g in groups if "Marker" in g and g != before]
    dns = aws.cloudformation.list_stack_resources(StackName="kubenews-local-dns")
    assert "Marker" not in {r["LogicalResourceId"] for r in dns["StackResourceSummaries"]}
