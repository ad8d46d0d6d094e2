"""Pre-deployment validation on the local endpoint (generator/local/emulation/validation.py,
property_syntax.py): a name already taken, or a property the resource's schema does not
allow, fails the change set, DescribeEvents says where, and it cannot be executed; bare
moto creates and executes it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.aws.cfn import CloudFormation
from generator.errors import ChangeSetFailed
from generator.local.emulation import property_syntax
from generator.local.emulation.validation import resolve
from generator.local.manager import Endpoint
from generator.yamlsrc import load_cfn
from tests.conftest import ROOT, clients, reset

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


# --- property syntax (emulation/property_syntax.py) ------------------------------------

BAD_SYNTAX = json.dumps({
    "Resources": {
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "web", "Colour": "blue",
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": "80",
                                      "ToPort": [443], "CidrIp": "10.0.0.0/8"}]}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        "Topic": {"Type": "AWS::SNS::Subscription", "Properties": {"Protocol": "email"}}}})


def _syntax_change_set(c: Any) -> str:
    return str(c.cloudformation.create_change_set(
        StackName="syntax", ChangeSetName="cs1", ChangeSetType="CREATE",
        TemplateBody=BAD_SYNTAX)["Id"])


def test_a_property_the_schema_does_not_allow_fails_the_change_set(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    cs = _syntax_change_set(c)
    described = c.cloudformation.describe_change_set(ChangeSetName=cs)
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    events = [e for e in c.cloudformation.describe_events(ChangeSetName=cs)["OperationEvents"]
              if e["EventType"] == "VALIDATION_ERROR"]
    found = {(e["ValidationName"], e["ValidationFailureMode"], e["LogicalResourceId"],
              e["ValidationPath"]) for e in events}
    assert found == {
        ("PROPERTY_VALIDATION", "FAIL", "Group", "/Resources/Group/Properties/Colour"),
        ("PROPERTY_VALIDATION", "FAIL", "Group",
         "/Resources/Group/Properties/SecurityGroupIngress/0/ToPort"),
        ("PROPERTY_VALIDATION", "FAIL", "Topic", "/Resources/Topic/Properties/TopicArn"),
    }  # "80" for a port is coerced as CloudFormation does; the log group is valid
    reasons = {e["ValidationPath"].rsplit("/", 1)[1]: e["ValidationStatusReason"]
               for e in events}
    assert "unsupported property Colour" in reasons["Colour"]
    assert "array type where integer is expected" in reasons["ToPort"]
    assert "Required property TopicArn is missing" in reasons["TopicArn"]
    with pytest.raises(ClientError) as refused:
        c.cloudformation.execute_change_set(ChangeSetName=cs)
    assert refused.value.response["Error"]["Code"] == "InvalidChangeSetStatus"


def test_the_deploy_layer_names_the_property_and_where(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    with pytest.raises(ChangeSetFailed) as failed:
        CloudFormation(c.cloudformation).wait_change_set(_syntax_change_set(c), "syntax")
    assert "/Resources/Group/Properties/Colour" in failed.value.reason


def test_bare_moto_accepts_the_bad_properties(bare_endpoint: str) -> None:
    reset(bare_endpoint)
    c = clients(bare_endpoint)
    described = c.cloudformation.describe_change_set(ChangeSetName=_syntax_change_set(c))
    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")


def test_intrinsic_values_are_not_judged_and_shipped_templates_pass() -> None:
    fn_if = {"Fn::If": ["Prod", {"Ref": "Days"}, {"Ref": "AWS::NoValue"}]}
    assert property_syntax.faults("L", {"Type": "AWS::Logs::LogGroup", "Properties": {
        "RetentionInDays": fn_if, "LogGroupName": {"Fn::Sub": "/x/${Env}"}}}) == []
    assert property_syntax.faults("C", {"Type": "Custom::Thing",
                                        "Properties": {"Anything": [1]}}) == []
    golden = ROOT / "tests" / "golden"
    templates = sorted(golden.rglob("*.yaml"))
    assert len(templates) > 30
    faults = [(t.name, f) for t in templates
              for f in property_syntax.template_faults(load_cfn(t.read_text()))]
    assert faults == []
