"""Hooks on change sets (generator/local/emulation/hooks.py): a hook activated and
configured on the local endpoint fails (FAIL) or reports (WARN) a change set, its
result is read with ListHookResults and shown in the review; a FAIL stops the deploy
with the hook's message. Bare moto has no hooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from generator.aws.cfn import CloudFormation
from generator.aws.validation import ValidationFailed
from generator.local.manager import Endpoint
from tests.conftest import aws_env, clients, reset
from tests.helpers.inprocess import stackgen

OPEN_SSH = json.dumps({"Resources": {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
    "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "ssh", "VpcId": {"Ref": "Vpc"},
        "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                  "CidrIp": "0.0.0.0/0"}]}}}})


def hook(c: Any, mode: str, **properties: Any) -> None:
    """Activate the endpoint's guard hook and configure what it denies."""
    arn = c.cloudformation.activate_type(Type="HOOK", TypeName="Stackgen::Local::Guard",
                                         PublisherId="local")["Arn"]
    c.cloudformation.set_type_configuration(TypeArn=arn, Configuration=json.dumps({
        "CloudFormationConfiguration": {"HookConfiguration": {
            "HookInvocationStatus": "ENABLED", "FailureMode": mode,
            "TargetOperations": ["STACK", "RESOURCE"], "Properties": properties}}}))


def _disable(c: Any) -> None:
    """The hook outlives the endpoint's reset, as hooks outlive stacks: turn it off."""
    arn = c.cloudformation.activate_type(Type="HOOK", TypeName="Stackgen::Local::Guard",
                                         PublisherId="local")["Arn"]
    c.cloudformation.set_type_configuration(TypeArn=arn, Configuration=json.dumps({
        "CloudFormationConfiguration": {"HookConfiguration": {
            "HookInvocationStatus": "DISABLED"}}}))


def _change_set(c: Any) -> str:
    return str(c.cloudformation.create_change_set(
        StackName="ssh", ChangeSetName="cs", ChangeSetType="CREATE",
        TemplateBody=OPEN_SSH)["Id"])


def test_a_fail_hook_fails_the_change_set_with_its_message(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    hook(c, "FAIL", DenyOpenIngressPorts=[22])
    try:
        cs = _change_set(c)
        described = c.cloudformation.describe_change_set(ChangeSetName=cs)
        assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
        [result] = c.cloudformation.list_hook_results(TargetType="CHANGE_SET",
                                                      TargetId=cs)["HookResults"]
        assert (result["TypeName"], result["Status"], result["FailureMode"]) == (
            "Stackgen::Local::Guard", "HOOK_COMPLETE_FAILED", "FAIL")
        events = c.cloudformation.describe_events(ChangeSetName=cs)["OperationEvents"]
        assert [e["EventType"] for e in events if e["EventType"].startswith("HOOK")] == [
            "HOOK_INVOCATION_ERROR"]
        with pytest.raises(ValidationFailed) as failed:
            CloudFormation(c.cloudformation).wait_change_set(cs, "ssh")
        assert "Group: ingress from 0.0.0.0/0 to port(s) [22] is denied" in failed.value.reason
        [finding] = [f for f in failed.value.findings if f.name.startswith("HOOK")]
        assert (finding.logical_id, finding.mode) == ("Group", "FAIL")
    finally:
        _disable(c)


def test_a_warn_hook_reports_and_the_change_set_stays_executable(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    hook(c, "WARN", DenyOpenIngressPorts=[22])
    try:
        cs = _change_set(c)
        made = CloudFormation(c.cloudformation).wait_change_set(cs, "ssh")
        assert made is not None and made.status == "CREATE_COMPLETE"
        assert [(f.name, f.mode) for f in made.validation] == [
            ("HOOK Stackgen::Local::Guard", "WARN")]
    finally:
        _disable(c)


def test_bare_moto_has_no_hooks(bare_endpoint: str) -> None:
    reset(bare_endpoint)
    c = clients(bare_endpoint)
    with pytest.raises((ClientError, ResponseParserError)):
        c.cloudformation.activate_type(Type="HOOK", TypeName="Stackgen::Local::Guard",
                                       PublisherId="local")
    cs = _change_set(c)
    assert c.cloudformation.describe_change_set(ChangeSetName=cs)["Status"] == "CREATE_COMPLETE"


def test_a_fail_hook_is_in_the_plan_and_stops_the_deploy(project: Path, endpoint: Endpoint,
                                                        aws: Any) -> None:
    hook(aws, "FAIL", DenyResourceTypes=["AWS::ECS::Cluster"])
    env = aws_env(endpoint)
    try:
        planned = stackgen(["--no-color", "plan", "--env", "local", "--stack", "cluster"],
                               cwd=project, env=env)
        assert planned.returncode == 1, planned.stdout + planned.stderr
        assert ("validation Cluster: FAIL HOOK Stackgen::Local::Guard: Cluster: "
                "AWS::ECS::Cluster is not allowed in this account") in planned.stdout
        deployed = stackgen(["--no-color", "deploy", "--env", "local", "--stack",
                                 "cluster", "--yes"], cwd=project, env=env)
        assert deployed.returncode == 1
        assert "AWS::ECS::Cluster is not allowed in this account" in \
            deployed.stdout + deployed.stderr
        assert not aws.ecs.list_clusters()["clusterArns"]
    finally:
        _disable(aws)
