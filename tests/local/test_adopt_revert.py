"""The local endpoint adopts existing resources (ImportExistingResources) and puts drifted
resources back (DeploymentMode=REVERT_DRIFT), as CloudFormation does; bare moto does
neither (generator/local/emulation/adopt.py, drift_revert.py)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from generator.local.manager import Endpoint
from tests.conftest import clients, reset

NAME = "/kubenews/by-hand"


def _logs_template(name: Any, policy: str = "Retain") -> str:
    return json.dumps({"Resources": {"Logs": {
        "Type": "AWS::Logs::LogGroup", "DeletionPolicy": policy, "UpdateReplacePolicy": policy,
        "Properties": {"LogGroupName": name, "RetentionInDays": 7}}}})


def _by_hand(c: Any) -> None:
    c.logs.create_log_group(logGroupName=NAME)
    c.logs.create_log_stream(logGroupName=NAME, logStreamName="kept")


def _create(c: Any, template: str, **flags: Any) -> str:
    return str(c.cloudformation.create_change_set(
        StackName="app", ChangeSetName="cs1", ChangeSetType="CREATE", TemplateBody=template,
        **flags)["Id"])


def test_import_existing_adopts_the_log_group_and_keeps_its_data(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    _by_hand(c)
    cs = _create(c, _logs_template(NAME), ImportExistingResources=True)
    described = c.cloudformation.describe_change_set(ChangeSetName=cs)
    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert [ch["ResourceChange"]["Action"] for ch in described["Changes"]] == ["Import"]
    c.cloudformation.execute_change_set(ChangeSetName=cs)
    assert c.cloudformation.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == \
        "CREATE_COMPLETE"
    [resource] = c.cloudformation.list_stack_resources(StackName="app")["StackResourceSummaries"]
    assert resource["PhysicalResourceId"] == NAME
    groups = c.logs.describe_log_groups(logGroupNamePrefix=NAME)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [NAME]
    streams = c.logs.describe_log_streams(logGroupName=NAME)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["kept"]  # the same group, not a new one


@pytest.mark.parametrize(("name", "policy", "why"), [
    ({"Fn::Sub": "${AWS::StackName}-x"}, "Retain", "not a static name"),
    (NAME, "Delete", "DeletionPolicy is not Retain"),
])
def test_import_existing_refuses_what_aws_cannot_import(endpoint: Endpoint, name: Any,
                                                        policy: str, why: str) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    c.logs.create_log_group(logGroupName="app-x")
    _by_hand(c)
    cs = _create(c, _logs_template(name, policy), ImportExistingResources=True)
    described = c.cloudformation.describe_change_set(ChangeSetName=cs)
    assert described["Status"] == "FAILED"
    assert why in described["StatusReason"]


def test_bare_moto_does_not_import(bare_endpoint: str) -> None:
    reset(bare_endpoint)
    c = clients(bare_endpoint)
    _by_hand(c)
    cs = _create(c, _logs_template(NAME), ImportExistingResources=True)
    described = c.cloudformation.describe_change_set(ChangeSetName=cs)
    assert [ch["ResourceChange"]["Action"] for ch in described["Changes"]] == ["Add"]
    try:  # moto creates the log group again: "already exists" (as JSON in an XML API)
        c.cloudformation.execute_change_set(ChangeSetName=cs)
        status = c.cloudformation.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"]
    except (ClientError, ResponseParserError):
        status = "failed"
    assert status != "CREATE_COMPLETE"


# --- REVERT_DRIFT ---------------------------------------------------------------------

SG = json.dumps({"Resources": {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
    "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "app", "VpcId": {"Ref": "Vpc"},
        "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                  "CidrIp": "10.0.0.0/16"}]}}},
    "Outputs": {"GroupId": {"Value": {"Ref": "Group"}}}})


def _drifted(c: Any) -> str:
    c.cloudformation.create_stack(StackName="net", TemplateBody=SG)
    group = c.cloudformation.describe_stacks(StackName="net")["Stacks"][0]["Outputs"][0][
        "OutputValue"]
    c.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])  # by hand, in an incident
    return str(group)


def _ingress(c: Any, group: str) -> list[tuple[int, str]]:
    [sg] = c.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    return sorted((p.get("FromPort", -1), r["CidrIp"]) for p in sg["IpPermissions"]
                  for r in p.get("IpRanges", []))


def test_revert_drift_change_set_shows_and_puts_back_the_hand_added_rule(
        endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    group = _drifted(c)
    cs = c.cloudformation.create_change_set(
        StackName="net", ChangeSetName="revert", ChangeSetType="UPDATE", TemplateBody=SG,
        DeploymentMode="REVERT_DRIFT")["Id"]
    described = c.cloudformation.describe_change_set(ChangeSetName=cs)
    assert described["Status"] == "CREATE_COMPLETE"
    [change] = [ch["ResourceChange"] for ch in described["Changes"]
                if ch["ResourceChange"]["LogicalResourceId"] == "Group"]
    assert (change["Action"], change["ResourceDriftStatus"]) == ("Modify", "MODIFIED")
    drift = change["Details"][0]["Target"]["Drift"]
    assert '"FromPort": 22' in drift["ActualValue"] and '"FromPort": 22' not in \
        drift["PreviousValue"]
    c.cloudformation.execute_change_set(ChangeSetName=cs)
    assert _ingress(c, group) == [(443, "10.0.0.0/16")]


def test_revert_drift_without_drift_holds_no_change(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    c.cloudformation.create_stack(StackName="net", TemplateBody=SG)
    cs = c.cloudformation.create_change_set(
        StackName="net", ChangeSetName="revert", ChangeSetType="UPDATE", TemplateBody=SG,
        DeploymentMode="REVERT_DRIFT")["Id"]
    described = c.cloudformation.describe_change_set(ChangeSetName=cs)
    assert described["Status"] == "FAILED"
    assert "didn't contain changes" in described["StatusReason"]


def test_bare_moto_has_no_drift_aware_change_sets(bare_endpoint: str) -> None:
    reset(bare_endpoint)
    c = clients(bare_endpoint)
    group = _drifted(c)
    with contextlib.suppress(ClientError):  # "No updates are to be performed"
        cs = c.cloudformation.create_change_set(
            StackName="net", ChangeSetName="revert", ChangeSetType="UPDATE", TemplateBody=SG,
            DeploymentMode="REVERT_DRIFT")["Id"]
        c.cloudformation.execute_change_set(ChangeSetName=cs)
    assert (22, "0.0.0.0/0") in _ingress(c, group)
