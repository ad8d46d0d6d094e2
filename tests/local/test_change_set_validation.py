"""Pre-deployment validation on the local endpoint (generator/local/emulation/validation.py):
a name already taken fails the change set, DescribeEvents says where, and it cannot be
executed; bare moto creates and executes it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.aws.cfn import CloudFormation
from generator.errors import ChangeSetFailed
from generator.local.emulation.validation import resolve
from generator.local.manager import Endpoint
from tests.conftest import clients, reset

TEMPLATE = json.dumps({
    "Parameters": {"Env": {"Type": "String"}},
    "Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup",
                 "Properties": {"LogGroupName": {"Fn::Sub": "/app/${Env}/${AWS::Region}"}}},
        "Free": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/app/free"}}}})
TAKEN = "/app/dev/us-east-1"


def _change_set(c: Any) -> str:
    c.logs.create_log_group(logGroupName=TAKEN)  # by hand, outside any stack
    return str(c.cloudformation.create_change_set(
        StackName="app", ChangeSetName="cs1", ChangeSetType="CREATE", TemplateBody=TEMPLATE,
        Parameters=[{"ParameterKey": "Env", "ParameterValue": "dev"}])["Id"])


def test_a_taken_name_fails_the_change_set_and_it_cannot_execute(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    cs = _change_set(c)
    described = c.cloudformation.describe_change_set(ChangeSetName=cs)
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert TAKEN in described["StatusReason"]
    [event] = [e for e in c.cloudformation.describe_events(ChangeSetName=cs)["OperationEvents"]
               if e["EventType"] == "VALIDATION_ERROR"]
    assert (event["EventType"], event["ValidationFailureMode"], event["LogicalResourceId"],
            event["ValidationPath"]) == ("VALIDATION_ERROR", "FAIL", "Logs",
                                         "/Resources/Logs/Properties/LogGroupName")
    with pytest.raises(ClientError) as refused:
        c.cloudformation.execute_change_set(ChangeSetName=cs)
    assert refused.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    assert "/app/free" not in c.logs.describe_log_groups()["logGroups"][0]["logGroupName"]


def test_the_deploy_layer_names_the_conflict_and_where(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    cs = _change_set(c)
    with pytest.raises(ChangeSetFailed) as failed:
        CloudFormation(c.cloudformation).wait_change_set(cs, "app")
    assert f"LogGroupName '{TAKEN}' already exists" in failed.value.reason
    assert "/Resources/Logs/Properties/LogGroupName" in failed.value.reason


def test_bare_moto_creates_it_executable(bare_endpoint: str) -> None:
    reset(bare_endpoint)
    c = clients(bare_endpoint)
    described = c.cloudformation.describe_change_set(ChangeSetName=_change_set(c))
    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")


@pytest.mark.parametrize(("value", "expected"), [
    ("plain", "plain"),
    ({"Ref": "Env"}, "dev"),
    ({"Fn::Sub": "${AWS::StackName}-${Env}"}, "app-dev"),
    ({"Fn::Sub": ["${A}-x", {"A": {"Ref": "Env"}}]}, "dev-x"),
    ({"Fn::Join": ["/", ["a", {"Ref": "Env"}]]}, "a/dev"),
    ({"Fn::GetAtt": ["X", "Arn"]}, None),
    ({"Fn::Sub": "${Bucket.Arn}"}, None),
])
def test_names_are_resolved_from_parameters_only(value: Any, expected: str | None) -> None:
    assert resolve(value, {"Env": "dev", "AWS::StackName": "app"}) == expected
