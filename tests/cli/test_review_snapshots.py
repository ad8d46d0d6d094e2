"""Reviews: AWS's change-set fields read as they come (Stubber), risk predictions,
and the Markdown review compared with its snapshot."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from botocore.stub import Stubber

from generator.aws.cfn import CloudFormation
from generator.review.plan import (
    ParamChange,
    Plan,
    PropertyChange,
    ResourceChange,
    StackPlan,
    resource_changes,
)
from generator.review.plan_report import markdown, show_review
from generator.review.risk import Templates, create_only_properties
from generator.review.security import SecurityGroupChange, SecurityTables
from generator.ui import Console
from tests.conftest import ROOT
from tests.stubs import offline_client

SNAPSHOTS = ROOT / "tests" / "snapshots"
CS = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/stackgen-1/abc"


def _templates(old: dict[str, Any] | None = None, new: dict[str, Any] | None = None,
               old_params: dict[str, str] | None = None,
               new_params: dict[str, str] | None = None) -> Templates:
    return Templates(old or {}, new or {}, old_params or {}, new_params or {}, "us-east-1")


def test_aws_replacement_scope_details_and_contexts_are_read() -> None:
    client = offline_client("cloudformation")
    change = {"Type": "Resource", "ResourceChange": {
        "Action": "Modify", "LogicalResourceId": "DbInstance", "PhysicalResourceId": "db-1",
        "ResourceType": "AWS::RDS::DBInstance", "Replacement": "True",
        "Scope": ["Properties"],
        "Details": [{"Target": {"Attribute": "Properties", "Name": "DBName",
                                "RequiresRecreation": "Always"},
                     "Evaluation": "Static", "ChangeSource": "DirectModification"}],
        "BeforeContext": json.dumps({"Properties": {"DBName": "kubenews",
                                                    "Tags": [{"Key": "a", "Value": "1"}]}}),
        "AfterContext": json.dumps({"Properties": {"DBName": "kubenews2",
                                                   "Tags": [{"Key": "a", "Value": "2"}]}}),
    }}
    with Stubber(client) as stub:
        stub.add_response("describe_change_set", {
            "ChangeSetId": CS, "StackName": "s", "Status": "CREATE_COMPLETE",
            "Changes": [change], "NextToken": "page2"},
            {"ChangeSetName": CS, "IncludePropertyValues": True})
        stub.add_response("describe_change_set", {
            "ChangeSetId": CS, "StackName": "s", "Status": "CREATE_COMPLETE",
            "Changes": [{"Type": "Resource", "ResourceChange": {
                "Action": "Remove", "LogicalResourceId": "LogGroup",
                "ResourceType": "AWS::Logs::LogGroup", "PhysicalResourceId": "lg"}}]},
            {"ChangeSetName": CS, "NextToken": "page2", "IncludePropertyValues": True})
        change_set = CloudFormation(client, sleep=lambda _: None).wait_change_set(CS, "s")
    assert len(change_set.changes) == 2  # every page read
    first = change_set.changes[0]
    assert (first.replacement, first.scope) == ("True", ("Properties",))
    assert first.details[0]["Target"]["RequiresRecreation"] == "Always"

    [db, logs] = resource_changes(change_set, _templates())
    assert db.replacement == "True" and db.predicted is None and db.risk == "True"
    assert [(p.name, p.before, p.after) for p in db.properties] == [
        ("DBName", "kubenews", "kubenews2"), ("Tags[0].Value", "1", "2")]
    assert db.endangers_data and logs.endangers_data and logs.action == "Remove"
    plan = StackPlan(stack="rds", stack_name="s", state="update", template_sha256="x",
                     resources=[db, logs])
    assert [r.logical_id for r in plan.blocked_by_guard(["LogGroup"])] == ["DbInstance"]


def test_conditional_replacement_is_predicted_from_create_only_properties() -> None:
    assert "DBName" in create_only_properties("AWS::RDS::DBInstance", "us-east-1")
    assert create_only_properties("AWS::Nope::Thing", "us-east-1") == ()
    old = {"Resources": {"Db": {"Type": "AWS::RDS::DBInstance",
                                "Properties": {"DBName": {"Ref": "Name"}, "Port": "5432"}}}}
    templates = _templates(old, old, {"Name": "a"}, {"Name": "b"})
    assert templates.predicted_replacement("Db") == "DBName"
    same = _templates(old, old, {"Name": "a"}, {"Name": "a"})
    assert same.predicted_replacement("Db") is None


def test_widened_access_is_its_own_finding() -> None:
    def doc(cidrs: list[str], actions: list[str]) -> dict[str, Any]:
        return {"Resources": {
            "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": [
                {"IpProtocol": "tcp", "CidrIp": c, "FromPort": 443, "ToPort": 443}
                for c in cidrs]}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]},
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
                    {"Effect": "Allow", "Action": actions, "Resource": "*"}]}}]}}}}

    templates = _templates(doc(["10.0.0.0/8"], ["s3:GetObject"]),
                           doc(["10.0.0.0/8", "0.0.0.0/0"], ["s3:GetObject", "s3:PutObject"]))
    tables = templates.security()
    assert tables.broadens
    assert tables.broadening() == [
        "Role: Allow s3:GetObject, s3:PutObject for role Role on *",
        "Sg: ingress tcp 443 from 0.0.0.0/0"]


def _fixture_plan() -> Plan:
    db = ResourceChange(action="Modify", logical_id="DbInstance",
                        resource_type="AWS::RDS::DBInstance", physical_id="kubenews-db",
                        predicted="DBName",
                        properties=[PropertyChange(name="DBName", before="kubenews",
                                                   after="kubenews2")])
    sg = ResourceChange(action="Modify", logical_id="AlbSecurityGroup",
                        resource_type="AWS::EC2::SecurityGroup", replacement="False")
    return Plan(env="local", created_at="2026-11-28T12:00:00Z", stacks=[
        StackPlan(stack="network", stack_name="kubenews-local-network", state="unchanged",
                  template_sha256="a"),
        StackPlan(stack="alb", stack_name="kubenews-local-alb", state="update",
                  template_sha256="b", resources=[sg],
                  security=SecurityTables(security_groups=[SecurityGroupChange(
                      change="+", group="AlbSecurityGroup", direction="ingress",
                      protocol="tcp", ports="443", peer="::/0", description="HTTPS")]),
                  template_diff="--- deployed\n+++ rendered\n@@ -1 +1 @@\n-a\n+b\n"),
        StackPlan(stack="rds", stack_name="kubenews-local-rds", state="update",
                  template_sha256="c", resources=[db],
                  parameters=[ParamChange(key="DbInstanceClass", old="db.t3.micro",
                                          new="db.t3.small"),
                              ParamChange(key="MasterPassword", old="****", new="****")],
                  changed_outputs=["DbEndpoint"]),
        StackPlan(stack="ecs", stack_name="kubenews-local-ecs",
                  state="changes after upstream apply", template_sha256="d",
                  ripple=["DbEndpoint ← rds.DbEndpoint"]),
        StackPlan(stack="batch", stack_name="kubenews-local-batch",
                  state="created after upstream", template_sha256="e", waits_for=["ecs"]),
    ])


def test_markdown_review_snapshot() -> None:
    text = markdown(_fixture_plan())
    snapshot = SNAPSHOTS / "review.md"
    if os.environ.get("STACKGEN_UPDATE_GOLDEN") == "1":
        snapshot.write_text(text)
    assert text == snapshot.read_text(), "review changed; `make golden` refreshes snapshots"


def test_plan_round_trips_through_json() -> None:
    plan = _fixture_plan()
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.has_changes


def test_text_review_marks_risks(capsys: pytest.CaptureFixture[str]) -> None:
    show_review(Console(color=False), _fixture_plan().stacks[2])
    out = capsys.readouterr().out
    assert "! replaces DbInstance (AWS::RDS::DBInstance): data at risk" in out
    assert "True (predicted: DBName)" in out
    assert "DbInstanceClass: db.t3.micro → db.t3.small" in out
    assert "MasterPassword: **** → ****" in out


@pytest.mark.parametrize(("key", "shown"), [
    ("DbPassword", "****"), ("ApiKey", "****"), ("GithubToken", "****"),
    ("DbSecretArn", "arn:x"), ("InstanceType", "arn:x"), ("Declared", "****"),
])
def test_parameter_values_are_masked_when_secret(key: str, shown: str) -> None:
    from generator.review.plan import masked

    assert masked(key, "arn:x", no_echo={"Declared"}) == shown
