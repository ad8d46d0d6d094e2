"""Root causes of a failed operation from DescribeEvents' FailedEvents (generator/aws/rootcause.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from generator.aws.rootcause import OperationEvent, root_causes

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def ev(op: str, kind: str, logical: str, reason: str, at: int, event_type: str = "PROVISIONING_ERROR",
       status: str = "CREATE_FAILED") -> OperationEvent:
    return OperationEvent.from_api({
        "OperationId": op, "OperationType": kind, "EventType": event_type,
        "LogicalResourceId": logical, "ResourceType": "AWS::X::Y", "ResourceStatus": status,
        "ResourceStatusReason": reason, "Timestamp": T0 + timedelta(seconds=at)})


def test_the_failed_operation_not_its_rollback_and_not_the_cancelled_resources() -> None:
    events = [
        ev("rb", "ROLLBACK", "Db", "Resource deletion failed", 30, status="DELETE_FAILED"),
        ev("op", "UPDATE_STACK", "Web", "Resource update cancelled", 20, status="UPDATE_FAILED"),
        ev("op", "UPDATE_STACK", "Service", "Circuit breaker tripped", 10, status="UPDATE_FAILED"),
    ]
    assert root_causes(events, T0) == ["Service (AWS::X::Y): Circuit breaker tripped"]


def test_an_older_failed_operation_is_not_this_runs_cause() -> None:
    old = ev("before", "CREATE_STACK", "Old", "failed last week", -7 * 86400)
    assert root_causes([old], T0) == []


def test_a_stack_level_failure_alone_is_the_cause() -> None:
    only = ev("op", "CREATE_CHANGESET", "app", "Resource name conflict: log group x exists", 1,
              event_type="STACK_EVENT", status="FAILED")
    assert root_causes([only], T0) == ["app (AWS::X::Y): Resource name conflict: log group x exists"]


def test_cancellations_are_kept_when_nothing_else_failed() -> None:
    events = [ev("op", "CREATE_STACK", "A", "Resource creation cancelled", 1)]
    assert root_causes(events, T0) == ["A (AWS::X::Y): Resource creation cancelled"]


def test_validation_and_hook_reasons_are_read() -> None:
    raw = {"OperationId": "op", "OperationType": "CREATE_CHANGESET", "EventType": "VALIDATION_ERROR",
           "LogicalResourceId": "Bucket", "ResourceType": "AWS::S3::Bucket",
           "ValidationStatusReason": "bucket name exists", "Timestamp": T0}
    assert OperationEvent.from_api(raw).reason == "bucket name exists"
