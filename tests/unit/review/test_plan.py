"""The plan (generator/review/plan.py): the review descends into nested change sets."""

from __future__ import annotations

import json

import msgspec
from botocore.stub import Stubber

from generator.aws.cfn import CloudFormation
from generator.aws.cfn_types import ChangeSet
from generator.deploy.stack_work import DeployOptions, Prepared, StackWork
from generator.params import load_env
from generator.references import Lookups
from generator.render import nested_view, render
from generator.ui import Console
from tests.conftest import ROOT
from tests.stubs import offline_client


def test_review_descends_into_nested_change_sets() -> None:
    """AWS returns a nested stack's own change set id on its resource change."""
    rendered = render(load_env(ROOT / "params", "local"), ROOT / "templates")
    view = nested_view(rendered)
    client = offline_client("cloudformation")
    child_cs = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/child/1"
    child_stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/kubenews-local-root-Rds/1"
    root_cs = ChangeSet(id="root-cs", name="stackgen-1", stack_name="kubenews-local-root",
                        stack_id="", kind="UPDATE", status="CREATE_COMPLETE", changes=())
    from generator.aws.cfn_types import Change

    root_cs = msgspec.structs.replace(root_cs, changes=(Change(
        action="Modify", logical_id="Rds", resource_type="AWS::CloudFormation::Stack",
        physical_id=child_stack, replacement="False", nested_change_set=child_cs),))
    with Stubber(client) as stub:
        stub.add_response("get_template", {"TemplateBody": rendered.stacks["rds"].template},
                          {"StackName": child_stack, "TemplateStage": "Original"})
        stub.add_response("describe_change_set", {
            "ChangeSetId": child_cs, "StackName": "kubenews-local-root-Rds",
            "Status": "CREATE_COMPLETE", "Changes": [{"Type": "Resource", "ResourceChange": {
                "Action": "Modify", "LogicalResourceId": "DbInstance",
                "ResourceType": "AWS::RDS::DBInstance", "PhysicalResourceId": "db-1",
                "Replacement": "True",
                "BeforeContext": json.dumps({"Properties": {"DBName": "kubenews"}}),
                "AfterContext": json.dumps({"Properties": {"DBName": "other"}})}}]},
            {"ChangeSetName": child_cs, "IncludePropertyValues": True})
        work = StackWork(view, CloudFormation(client, sleep=lambda _: None), Lookups(None),
                         Console(color=False), lambda q: True,
                         DeployOptions(nested=True, children=rendered))
        prepared = Prepared("root", "kubenews-local-root", "UPDATE", view.root.template, {}, {},
                            None, view.root.template)
        review = work.review(prepared, root_cs)
    [child] = review.nested
    assert child.stack == "rds" and child.resources[0].logical_id == "DbInstance"
    assert child.resources[0].properties[0].after == "other"
    assert [r.logical_id for r in review.blocked_by_guard([])] == ["DbInstance"]
    assert review.blocked_by_guard(["DbInstance"]) == []

