"""Drift: detection on the local endpoint (missing on bare moto), and its reading."""

from __future__ import annotations

from typing import Any

from generator.aws.cfn import CloudFormation
from generator.deploy.drift import detect
from generator.review.drift import DRIFTED, NOT_DEPLOYED, UNKNOWN


class FakeCfn(CloudFormation):
    """Answers of the real API's shape, including a detection that never ends."""

    def __init__(self, statuses: list[str]) -> None:
        super().__init__(client=None, sleep=lambda s: None)
        self.statuses = statuses

    def detect_drift(self, stack_name: str) -> str:
        if stack_name == "gone":
            from generator.errors import StackNotFound
            raise StackNotFound(stack_name)
        return "det-1"

    def drift_status(self, detection_id: str) -> dict[str, Any]:
        state = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"DetectionStatus": state, "StackDriftStatus": "DRIFTED"}

    def resource_drifts(self, stack_name: str) -> list[dict[str, Any]]:
        return [{"LogicalResourceId": "Db", "PhysicalResourceId": "db-1",
                 "ResourceType": "AWS::RDS::DBInstance", "StackResourceDriftStatus": "MODIFIED",
                 "PropertyDifferences": [{"PropertyPath": "/BackupRetentionPeriod",
                                          "ExpectedValue": "7", "ActualValue": "1",
                                          "DifferenceType": "NOT_EQUAL"}]}]


def test_detection_is_polled_until_complete_and_reads_property_differences() -> None:
    cfn = FakeCfn(["DETECTION_IN_PROGRESS", "DETECTION_IN_PROGRESS", "DETECTION_COMPLETE"])
    (result,) = detect(cfn, {"rds": "app-rds"})
    assert result.status == DRIFTED
    assert result.drifted("Db") is not None
    assert [(p.path, p.expected, p.actual) for p in result.resources[0].properties] == [
        ("/BackupRetentionPeriod", "7", "1")]


def test_a_detection_past_its_deadline_is_unknown_not_in_sync_and_missing_stacks_say_so() -> None:
    ticks = iter(range(0, 10_000, 100))
    cfn = FakeCfn(["DETECTION_IN_PROGRESS"])
    results = detect(cfn, {"rds": "app-rds", "old": "gone"}, deadline=250,
                     clock=lambda: float(next(ticks)))
    assert [(r.stack, r.status) for r in results] == [("rds", UNKNOWN), ("old", NOT_DEPLOYED)]
    assert "still running after 250 s" in results[0].error
