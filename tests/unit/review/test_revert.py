"""Drift overwrites in the review (generator/review/revert.py)."""

from __future__ import annotations

from typing import Any

from generator.aws.cfn import Change
from generator.review.plan import ResourceChange
from generator.review.revert import mark, overwrites


def _drifted_change() -> Change:
    detail: dict[str, Any] = {"Target": {
        "Attribute": "Properties", "Name": "SecurityGroupIngress",
        "Path": "/Properties/SecurityGroupIngress", "AfterValue": "[443]",
        "Drift": {"PreviousValue": "[443]", "ActualValue": "[22, 443]"}}}
    return Change(action="Modify", logical_id="Group", resource_type="AWS::EC2::SecurityGroup",
                  details=(detail, {"Target": {"Name": "Tags"}}))


def test_revert_drift_review_names_the_live_value_it_overwrites() -> None:
    assert overwrites(_drifted_change()) == [
        "/Properties/SecurityGroupIngress: live [22, 443] is put back to the template's [443]"]
    resources = [ResourceChange(action="Modify", logical_id="Group",
                                resource_type="AWS::EC2::SecurityGroup")]
    mark(resources, [_drifted_change()])
    assert resources[0].drift == overwrites(_drifted_change())

