"""Root causes of a failed stack operation, from CloudFormation's DescribeEvents.

AWS CloudFormation API reference, "DescribeEvents" (2025-11): events grouped by operation
id, and ``Filters.FailedEvents`` "only returns failed events within the operation. This
helps quickly identify root causes for a failed operation." The failed events include
validation errors and hook failures that stack events alone do not carry.

Where an endpoint has no DescribeEvents (an older partition, a proxy, bare moto), the
caller keeps the failures it read from the stack events while it waited.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import msgspec

# The reason CloudFormation gives a resource it stopped because another one failed: a
# consequence, never the cause (user guide, "Troubleshooting CloudFormation").
CANCELLED = ("Resource creation cancelled", "Resource update cancelled")
# Operations that undo another: their failures come after the cause.
UNDOING = frozenset({"ROLLBACK", "CONTINUE_ROLLBACK"})
# Client and service clocks differ; an operation that ended this much before the call was
# made is still taken as this call's.
CLOCK_SKEW = timedelta(minutes=5)


class OperationEvent(msgspec.Struct, frozen=True):
    """One event of DescribeEvents, the fields a root cause needs."""

    operation_id: str
    operation_type: str
    event_type: str
    logical_id: str
    resource_type: str
    status: str
    reason: str
    timestamp: datetime
    path: str = ""  # ValidationPath: where in the template a validation failed

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> OperationEvent:
        reason = (raw.get("ResourceStatusReason") or raw.get("ValidationStatusReason")
                  or raw.get("HookStatusReason") or "")
        return cls(raw.get("OperationId", ""), raw.get("OperationType", ""),
                   raw.get("EventType", ""), raw.get("LogicalResourceId", ""),
                   raw.get("ResourceType", ""), raw.get("ResourceStatus", ""), reason,
                   raw["Timestamp"], raw.get("ValidationPath", ""))

    @property
    def stack_level(self) -> bool:
        return self.event_type == "STACK_EVENT"

    def line(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.logical_id} ({self.resource_type}): {self.reason}{where}"


def root_causes(events: Iterable[OperationEvent], since: datetime) -> list[str]:
    """The causes of the newest operation started by this run that failed, oldest first.

    Rollbacks are skipped in favour of the operation they undo; resources cancelled
    because another failed are consequences, kept only when nothing else is left.
    """
    recent = [e for e in events if e.timestamp >= since - CLOCK_SKEW]
    ops: dict[str, list[OperationEvent]] = {}
    for event in sorted(recent, key=lambda e: e.timestamp):
        ops.setdefault(event.operation_id, []).append(event)
    candidates = [evs for evs in ops.values() if evs[0].operation_type not in UNDOING]
    chosen = candidates[-1] if candidates else next(reversed(ops.values()), [])
    causes = [e for e in chosen if not e.stack_level and e.reason]
    first = [e for e in causes if not e.reason.startswith(CANCELLED)] or causes
    if not first:  # a stack-level failure only (a validation, a hook, a quota)
        first = [e for e in chosen if e.reason]
    return list(dict.fromkeys(e.line() for e in first))
