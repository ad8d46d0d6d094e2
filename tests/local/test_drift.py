"""Drift detection on the local endpoint (missing on bare moto)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from generator.aws.cfn import CloudFormation
from generator.deploy.drift import detect
from generator.local.manager import Endpoint
from generator.review.drift import DRIFTED, IN_SYNC
from tests.conftest import clients, reset

TEMPLATE = {
    "Parameters": {"VpcId": {"Type": "String"}},
    "Resources": {
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "app", "VpcId": {"Ref": "VpcId"},
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                      "CidrIp": "0.0.0.0/0"}]}},
        "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
    },
}


def _deploy(c: Any, name: str) -> str:
    vpc = c.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    c.cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(TEMPLATE),
                                  Parameters=[{"ParameterKey": "VpcId", "ParameterValue": vpc}])
    resources = c.cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    return next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "Group")


def test_a_rule_added_by_hand_is_drift_on_our_endpoint(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    group = _deploy(c, "drifty")
    cfn = CloudFormation(c.cloudformation, sleep=lambda s: None)
    (clean,) = detect(cfn, {"app": "drifty"})
    assert clean.status == IN_SYNC and not clean.resources

    c.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    (found,) = detect(cfn, {"app": "drifty"})
    assert found.status == DRIFTED
    (resource,) = found.resources
    assert (resource.logical_id, resource.status, resource.physical_id) == (
        "Group", "MODIFIED", group)
    (prop,) = resource.properties
    assert prop.path.startswith("/SecurityGroupIngress/") and prop.kind == "ADD"
    assert json.loads(prop.actual) == {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                       "CidrIp": "0.0.0.0/0"}


def test_bare_moto_has_no_drift_detection(bare_endpoint: str) -> None:
    reset(bare_endpoint)
    c = clients(bare_endpoint)
    _deploy(c, "drifty")
    with pytest.raises((ClientError, BotoCoreError, ResponseParserError)):
        c.cloudformation.detect_stack_drift(StackName="drifty")


def test_a_log_group_changed_by_hand_reads_not_checked_on_our_endpoint_never_in_sync(
        endpoint: Endpoint) -> None:
    """Our endpoint compares security-group ingress only (generator/local/drift.py): a
    stack of other resources was not compared, and says so (issue 25)."""
    from generator.review.drift import NOT_CHECKED

    reset(endpoint.url)
    c = clients(endpoint.url)
    c.cloudformation.create_stack(StackName="logs", TemplateBody=json.dumps({"Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": "app", "RetentionInDays": 7}}}}))
    c.logs.put_retention_policy(logGroupName="app", retentionInDays=30)  # by hand
    cfn = CloudFormation(c.cloudformation, sleep=lambda s: None)
    (found,) = detect(cfn, {"logs": "logs"})
    assert found.status == NOT_CHECKED and found.not_checked == ["Logs (AWS::Logs::LogGroup)"]

