"""DescribeEvents: a stack's events grouped by operation, and ``FailedEvents`` for root causes.

AWS CloudFormation API reference, "DescribeEvents" (2025-11): events are grouped by
operation id; an operation is "any action performed on a stack, including stack
lifecycle actions (Create, Update, Delete, Rollback), change set creation ... and
automatic rollbacks triggered by failures", and one of ``StackName``, ``ChangeSetName``
or ``OperationId`` must be given. "EventFilter": ``FailedEvents`` "only returns failed
events within the operation. This helps quickly identify root causes". moto 5.2.5 has
no DescribeEvents at all (its server answers "not implemented" with an HTML 500).

The operations are derived from moto's own stack events on every call: each stack-level
``*_IN_PROGRESS`` that starts a lifecycle action opens one, and the events up to the next
belong to it, so nothing extra is stored and the latency model's view of the events (the
ones visible at this moment) is what is grouped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.core.responses import ActionResult

from generator.local.emulation import validation

# The stack-level status that opens an operation, and the operation's type (botocore's
# OperationType enum). A rollback is an operation of its own, as the API reference says.
OPENS = {
    "REVIEW_IN_PROGRESS": "CREATE_CHANGESET",
    "CREATE_IN_PROGRESS": "CREATE_STACK",
    "UPDATE_IN_PROGRESS": "UPDATE_STACK",
    "DELETE_IN_PROGRESS": "DELETE_STACK",
    "ROLLBACK_IN_PROGRESS": "ROLLBACK",
    "UPDATE_ROLLBACK_IN_PROGRESS": "ROLLBACK",
}
_NAMESPACE = uuid.UUID("5f0b6c1e-8d43-4c8f-9a53-0e3b2f7d9a10")


@dataclass
class Operation:
    id: str
    type: str
    events: list[Any] = field(default_factory=list)
    failed: bool = False
    finished: bool = False

    @property
    def status(self) -> str:
        if self.failed:
            return "FAILED"
        return "SUCCEEDED" if self.finished else "IN_PROGRESS"


def _stack_level(event: Any) -> bool:
    return bool(event.resource_type == "AWS::CloudFormation::Stack"
                and event.physical_resource_id == event.stack_id)


def operations(events: list[Any]) -> list[Operation]:
    """``events`` (oldest first) as operations, oldest first."""
    ops: list[Operation] = []
    for event in events:
        status = str(event.resource_status)
        if _stack_level(event) and status in OPENS:
            if ops and not ops[-1].finished:  # superseded: a create that rolls back failed
                ops[-1].failed = ops[-1].failed or OPENS[status] == "ROLLBACK"
                ops[-1].finished = True
            ops.append(Operation(str(uuid.uuid5(_NAMESPACE, str(event.event_id))), OPENS[status]))
        if not ops:
            continue
        current = ops[-1]
        current.events.append(event)
        if status.endswith("_FAILED"):
            current.failed = current.failed or _stack_level(event)
        if _stack_level(event) and not status.endswith("_IN_PROGRESS"):
            current.finished = True
            current.failed = current.failed or "FAILED" in status or (
                "ROLLBACK" in status and current.type != "ROLLBACK")
    return ops


def _event_type(event: Any) -> str:
    if _stack_level(event):
        return "STACK_EVENT"
    return "PROVISIONING_ERROR" if str(event.resource_status).endswith("_FAILED") else "PROGRESS_EVENT"


def as_api(op: Operation, event: Any) -> dict[str, Any]:
    """One OperationEvent, shaped as botocore's model has it."""
    item: dict[str, Any] = {
        "EventId": str(event.event_id),
        "StackId": event.stack_id,
        "OperationId": op.id,
        "OperationType": op.type,
        "OperationStatus": op.status,
        "EventType": _event_type(event),
        "LogicalResourceId": event.logical_resource_id,
        "PhysicalResourceId": event.physical_resource_id or "",
        "ResourceType": event.resource_type,
        "Timestamp": event.timestamp,
        "ResourceStatus": event.resource_status,
    }
    if event.resource_status_reason:
        item["ResourceStatusReason"] = event.resource_status_reason
    return item


def select(ops: list[Operation], operation_id: str | None, failed_only: bool) -> list[dict[str, Any]]:
    """The events asked for, newest first as DescribeStackEvents orders them."""
    out: list[dict[str, Any]] = []
    for op in ops:
        if operation_id and op.id != operation_id:
            continue
        for event in op.events:
            if failed_only and not str(event.resource_status).endswith("_FAILED"):
                continue
            out.append(as_api(op, event))
    out.sort(key=lambda item: item["Timestamp"], reverse=True)
    return out


def _describe_events(self: Any) -> ActionResult:
    backend = self.cloudformation_backend
    stack_name = self._get_param("StackName")
    change_set = self._get_param("ChangeSetName")
    operation_id = self._get_param("OperationId")
    failed_only = self._get_param("Filters.FailedEvents") in (True, "true")
    if change_set and not stack_name:
        stack_name = backend.describe_change_set(change_set).stack_id
    if stack_name:
        stacks = [backend.get_stack(stack_name)]
    elif operation_id:
        stacks = [*backend.stacks.values(), *backend.deleted_stacks.values()]
    else:
        raise ValidationError(message="One of ChangeSetName, OperationId or StackName must be specified")
    found: list[dict[str, Any]] = []
    for stack in stacks:  # a change set's validation failures (emulation/validation.py) first
        ids = [backend.describe_change_set(change_set).change_set_id] if change_set else [
            cs_id for cs_id, cs in backend.change_sets.items() if cs.stack_id == stack.stack_id]
        found += [e for cs_id in ids for e in validation.EVENTS.get(cs_id, [])
                  if not operation_id or e["OperationId"] == operation_id]
        ops = operations(list(backend.describe_stack_events(stack.stack_id)))
        if change_set:  # a change set's own operation: its creation (and validation)
            ops = [op for op in ops if op.type == "CREATE_CHANGESET"]
        found += select(ops, operation_id, failed_only)
    return ActionResult({"OperationEvents": found})


def apply() -> None:
    cfn_responses.CloudFormationResponse.describe_events = _describe_events  # type: ignore[attr-defined]
