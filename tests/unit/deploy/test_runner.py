"""What `apply` holds a run to: the plan's target, what was deployed when planned, and
the review a downstream change set made during the run must stay within."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from generator.aws.cfn import CloudFormation
from generator.aws.cfn_types import StackInfo
from generator.aws.status import PlanState
from generator.deploy.runner import PlanMismatch, PlanRunner, check_plan_place, moved
from generator.deploy.stack_work import DeployOptions
from generator.references import Lookups
from generator.render import Rendered
from generator.review.plan import (
    Plan,
    ResourceChange,
    StackPlan,
    beyond_review,
    deployed_digest,
    merge_changes,
    ripple_changes,
)
from generator.review.risk import Templates
from generator.review.security import SecurityGroupChange, SecurityTables
from generator.ui import Console
from generator.yamlsrc import load_cfn
from tests.fakes.clock import FakeClock
from tests.fakes.cloudformation import FakeCloudFormation
from tests.stubs import STACK, recorder


def _plan(**kw: Any) -> StackPlan:
    return StackPlan(**{"stack": "rds", "stack_name": "s", "state": PlanState.UPDATE,
                        "template_sha256": "t", **kw})


def _db(action: str = "Modify", replacement: str = "", predicted: str | None = None
        ) -> ResourceChange:
    return ResourceChange(action=action, logical_id="Db", resource_type="AWS::RDS::DBInstance",
                          replacement=replacement, predicted=predicted)


def test_beyond_review_is_replacement_removal_or_broadening_the_review_did_not_show() -> None:
    reviewed = _plan(resources=[_db(predicted="DBName")])
    assert beyond_review(reviewed, _plan(resources=[_db(replacement="True")])) == []
    assert beyond_review(_plan(), _plan(resources=[_db()])) == []  # a plain modify is within
    assert beyond_review(_plan(), _plan(resources=[_db(replacement="True")])) == [
        "replaces Db (AWS::RDS::DBInstance, True)"]
    assert beyond_review(reviewed, _plan(resources=[_db("Remove")])) == [
        "removes Db (AWS::RDS::DBInstance)"]
    def rule(peer: str) -> SecurityTables:
        return SecurityTables(security_groups=[SecurityGroupChange(
            change="+", group="Sg", direction="ingress", protocol="tcp", ports="22", peer=peer)])

    wider = _plan(security=rule("0.0.0.0/0"))
    assert beyond_review(_plan(), wider) == ["widens access: Sg: ingress tcp 22 from 0.0.0.0/0"]
    assert beyond_review(wider, wider) == []
    # A value the review could not know (an upstream output) stays within it.
    assert beyond_review(_plan(security=rule("Ref AlbGroupId")), _plan(security=rule("sg-1"))) \
        == []


def test_ripple_predicts_a_replacement_through_a_create_only_property() -> None:
    template = {"Resources": {
        "Db": {"Type": "AWS::RDS::DBInstance",
               "Properties": {"DBSubnetGroupName": {"Ref": "Subnets"}, "AllocatedStorage": "20"}},
        "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"ContainerDefinitions": [
            {"Environment": [{"Name": "DB", "Value": {"Fn::Sub": "${Endpoint}:5432"}}]}]}},
        "Other": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}}}}
    changes = ripple_changes(Templates({}, template, {}, {}, "us-east-1"), {"Endpoint"})
    assert [(c.logical_id, c.predicted) for c in changes] == [("Task", "ContainerDefinitions")]
    reviewed = merge_changes([ResourceChange(action="Modify", logical_id="Task",
                                             resource_type="AWS::ECS::TaskDefinition")], changes)
    assert reviewed[0].replaces and len(reviewed) == 1


def _info(**kw: Any) -> StackInfo:
    base: dict[str, Any] = dict(name="s", stack_id="id-1", status="UPDATE_COMPLETE",
                                parameters={"A": "1"}, outputs={}, tags={"owner": "x"},
                                last_change=datetime(2026, 11, 28, tzinfo=UTC))
    return StackInfo(**{**base, **kw})


def test_moved_names_what_changed_since_the_plan() -> None:
    planned = _plan(deployed_status="UPDATE_COMPLETE", stack_id="id-1",
                    deployed_sha256=deployed_digest("T", {"A": "1"}, {"owner": "x"}))
    assert moved(planned, _info(), "T", "t", "") is None
    assert moved(planned, _info(), "T", "other", "") == \
        "its rendered template changed since the plan"
    assert moved(planned, None, None, "t", "") == "the stack was deleted since the plan"
    assert moved(planned, _info(stack_id="id-2"), "T", "t", "") == \
        "the stack was deleted and created again since the plan"
    assert "tags changed since the plan" in str(moved(planned, _info(tags={"owner": "y"}),
                                                      "T", "t", ""))
    assert "changed since the plan" in str(moved(planned, _info(parameters={"A": "2"}),
                                                 "T", "t", ""))
    assert moved(planned, _info(status="UPDATE_ROLLBACK_COMPLETE"), "T", "t", "") == \
        "its status moved from UPDATE_COMPLETE to UPDATE_ROLLBACK_COMPLETE"
    fresh = _plan(state="created after upstream")
    assert moved(fresh, _info(), "T", "t", "") == \
        "the stack was created since the plan (now UPDATE_COMPLETE)"


def test_a_plan_is_bound_to_its_target() -> None:
    plan = Plan(env="local", created_at="now", account="123456789012", region="us-east-1",
                endpoint="http://127.0.0.1:4599")
    check_plan_place(plan, "local", "123456789012", "us-east-1", "http://127.0.0.1:4599")
    with pytest.raises(PlanMismatch, match="made for account 123456789012, this run targets "
                                           "210987654321"):
        check_plan_place(plan, "local", "210987654321", "us-east-1", "http://127.0.0.1:4599")
    with pytest.raises(PlanMismatch, match="made for region us-east-1"):
        check_plan_place(plan, "local", "123456789012", "eu-west-1", "http://127.0.0.1:4599")
    old = Plan(env="local", created_at="now")  # written before plans were bound
    with pytest.raises(PlanMismatch, match=r"\(not recorded\)"):
        check_plan_place(old, "local", "123456789012", "us-east-1", "http://127.0.0.1:4599")


def test_apply_refuses_a_downstream_change_set_that_replaces_what_the_review_did_not(
        rendered: Rendered) -> None:
    """AWS says Replacement: True for a change set made during the run; the plan's
    review of that stack showed no replacement: refused, discarded, never executed."""
    planned = StackPlan(stack="network", stack_name=STACK, state=PlanState.AFTER_UPSTREAM_APPLY,
                        template_sha256=rendered.stacks["network"].template_sha256,
                        resources=[ResourceChange(action="Modify", logical_id="Vpc",
                                                  resource_type="AWS::EC2::VPC")])
    network = rendered.stacks["network"]
    fake = FakeCloudFormation()
    before = load_cfn(network.template)
    before["Resources"]["Vpc"]["Properties"]["CidrBlock"] = "10.9.0.0/16"
    fake.existing(STACK, json.dumps(before), "UPDATE_COMPLETE", tags=network.tags,
                  parameters=network.parameters)
    fake.replacement[(STACK, "Vpc")] = "True"
    asked: list[str] = []
    runner = PlanRunner(rendered, CloudFormation(fake, waits=FakeClock().waits()),
                        Lookups(None), Console(color=False), recorder(asked),
                        DeployOptions(frozenset({"network"}), planned={"network": planned}))
    [result] = runner.run()
    assert fake.change_sets == {} and "ExecuteChangeSet" not in fake.calls  # discarded
    assert fake.statuses() == {STACK: "UPDATE_COMPLETE"}
    assert result.state == "FAILED" and asked == []
    assert result.reasons == ["its change set goes beyond the plan: replaces Vpc "
                              "(AWS::EC2::VPC, True); run `stackgen plan` again"]
