"""Validation findings and drift overwrites in the reviews (text, Markdown, JSON), without
an endpoint: generator/review/validation.py, generator/review/revert.py."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from generator.aws.status import PlanState
from generator.aws.validation import ValidationFailed, ValidationFinding, findings_of
from generator.review.plan import Plan, ResourceChange, StackPlan
from generator.review.plan_report import markdown, show_review
from generator.review.validation import ValidationBlocked, attach, blocking, refuse_blocked
from generator.ui import Console

RAW = {"EventType": "VALIDATION_ERROR", "LogicalResourceId": "Logs",
       "ResourceType": "AWS::Logs::LogGroup", "ValidationName": "NAME_CONFLICT_VALIDATION",
       "ValidationFailureMode": "FAIL", "ValidationStatusReason": "'/app' already exists",
       "ValidationPath": "/Resources/Logs/Properties/LogGroupName"}
WARN = {**RAW, "LogicalResourceId": "Bucket", "ResourceType": "AWS::S3::Bucket",
        "ValidationName": "S3_BUCKET_EMPTINESS", "ValidationFailureMode": "WARN",
        "ValidationStatusReason": "the bucket is not empty", "ValidationPath": ""}


class Lines(Console):
    def __init__(self) -> None:
        super().__init__(color=False)
        self.out: list[str] = []

    def line(self, text: str = "") -> None:
        self.out.append(text)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.out += [" ".join(map(str, r)) for r in rows]


def _plan() -> StackPlan:
    plan = StackPlan(stack="ecs", stack_name="app-ecs", state=PlanState.CREATE,
                     template_sha256="x", resources=[
                         ResourceChange(action="Add", logical_id="Logs",
                                        resource_type="AWS::Logs::LogGroup"),
                         ResourceChange(action="Add", logical_id="Service",
                                        resource_type="AWS::ECS::Service")])
    return attach(plan, findings_of([RAW, WARN, {"EventType": "PROVISIONING_ERROR"}]), "dev")


def test_findings_are_read_from_validation_events_only() -> None:
    found = findings_of([RAW, RAW, {"EventType": "STACK_EVENT"}])
    assert found == [ValidationFinding("Logs", "AWS::Logs::LogGroup",
                                       "NAME_CONFLICT_VALIDATION", "FAIL",
                                       "'/app' already exists",
                                       "/Resources/Logs/Properties/LogGroupName")]
    assert found[0].property_name == "LogGroupName"
    failed = ValidationFailed("app", "pre-deployment validation failed", found)
    assert "/Resources/Logs/Properties/LogGroupName" in failed.reason


def test_each_finding_is_under_its_resource_in_the_text_review() -> None:
    console = Lines()
    show_review(console, _plan())
    text = "\n".join(console.out)
    assert "! validation FAIL: Logs cannot be deployed as is" in text
    assert ("validation Logs: FAIL NAME_CONFLICT_VALIDATION: '/app' already exists at "
            "/Resources/Logs/Properties/LogGroupName; adopt it with `stackgen deploy --env "
            "dev --adopt-existing`") in text
    # A finding on a resource the change set does not list still shows, by its id.
    assert "validation Bucket: WARN S3_BUCKET_EMPTINESS: the bucket is not empty" in text
    assert not any(line.startswith("  validation Service") for line in console.out)


def test_markdown_and_json_carry_the_findings() -> None:
    plan = Plan(env="dev", created_at="2026-12-07T00:00:00Z", stacks=[_plan()])
    md = markdown(plan)
    assert "**CloudFormation pre-deployment validation**" in md
    assert "⛔ `Logs`" in md and "⚠️ `Bucket`" in md
    doc = json.loads(plan.to_json())
    [stack] = doc["stacks"]
    assert [n["mode"] for n in stack["validation"]] == ["FAIL", "WARN"]
    assert stack["resources"][0]["validation"][0].startswith("FAIL NAME_CONFLICT_VALIDATION")


def test_a_fail_blocks_the_plan_a_warn_does_not() -> None:
    plan = Plan(env="dev", created_at="t", stacks=[_plan()])
    assert [(s, n.logical_id) for s, n in blocking(plan)] == [("ecs", "Logs")]
    with pytest.raises(ValidationBlocked) as refused:
        refuse_blocked(plan)
    assert "ecs: Logs (AWS::Logs::LogGroup): '/app' already exists" in str(refused.value)
    warn_only = StackPlan(stack="s3", stack_name="x", state=PlanState.UPDATE,
                          template_sha256="x")
    attach(warn_only, findings_of([WARN]), "dev")
    refuse_blocked(Plan(env="dev", created_at="t", stacks=[warn_only]))
