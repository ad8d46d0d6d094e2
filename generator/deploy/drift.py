"""Drift detection: what was changed by hand since the last deploy, and will be overwritten.

Detection runs on every stack at once (it takes seconds to minutes per stack on
AWS), each polled with the same backoff as stack operations and a deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from generator.aws.cfn import CloudFormation
from generator.aws.polling import backoff
from generator.aws.status import DriftState
from generator.errors import AwsError, StackNotFound
from generator.review.drift import (
    DRIFTED,
    IN_SYNC,
    NOT_CHECKED,
    NOT_DEPLOYED,
    UNKNOWN,
    PropertyDrift,
    ResourceDrift,
    StackDrift,
)

DEADLINE_SECONDS = 600.0
# A resource's StackResourceDriftStatus that is drift (API Reference, StackResourceDrift).
DRIFTED_RESOURCE = frozenset({"MODIFIED", "DELETED"})


def _one(cfn: CloudFormation, stack: str, name: str, deadline: float,
         clock: Callable[[], float]) -> StackDrift:
    try:
        detection = cfn.detect_drift(name)
    except StackNotFound:
        return StackDrift(stack=stack, stack_name=name, status=NOT_DEPLOYED)
    except AwsError as exc:
        return StackDrift(stack=stack, stack_name=name, status=UNKNOWN, error=str(exc))
    end = clock() + deadline
    delays = backoff()
    while True:
        status = cfn.drift_status(detection)
        state = status.get("DetectionStatus")
        if state == "DETECTION_FAILED" and not status.get("StackDriftStatus"):
            return StackDrift(stack=stack, stack_name=name, status=UNKNOWN,
                              error=str(status.get("DetectionStatusReason", "failed")))
        if state in ("DETECTION_COMPLETE", "DETECTION_FAILED"):
            break
        if clock() > end:
            return StackDrift(stack=stack, stack_name=name, status=UNKNOWN,
                              error=f"detection still running after {deadline:.0f} s")
        cfn.waits.sleep(next(delays))
    rows = cfn.resource_drifts(name)
    resources = [ResourceDrift(
        logical_id=r.get("LogicalResourceId", ""), physical_id=r.get("PhysicalResourceId", ""),
        resource_type=r.get("ResourceType", ""), status=r.get("StackResourceDriftStatus", ""),
        properties=[PropertyDrift(path=d.get("PropertyPath", ""),
                                  expected=str(d.get("ExpectedValue", "")),
                                  actual=str(d.get("ActualValue", "")),
                                  kind=d.get("DifferenceType", ""))
                    for d in r.get("PropertyDifferences", []) or []])
        for r in rows if r.get("StackResourceDriftStatus") in DRIFTED_RESOURCE]
    not_checked = [f"{r.get('LogicalResourceId', '')} ({r.get('ResourceType', '')})"
                   for r in rows if r.get("StackResourceDriftStatus") == "NOT_CHECKED"]
    return StackDrift(stack=stack, stack_name=name,
                      status=stack_state(bool(resources), len(not_checked), len(rows)),
                      resources=resources, not_checked=not_checked)


def stack_state(drifted: bool, not_checked: int, total: int) -> DriftState:
    """A stack's drift from its resources': DRIFTED when any drifted; NOT_CHECKED when
    drift detection compared none of them (every one NOT_CHECKED: types it does not
    support, or an endpoint that compares only some), never IN_SYNC on that."""
    if drifted:
        return DRIFTED
    if total and not_checked == total:
        return NOT_CHECKED
    return IN_SYNC


def detect(cfn: CloudFormation, stacks: Mapping[str, str], concurrency: int = 8,
           deadline: float = DEADLINE_SECONDS,
           clock: Callable[[], float] | None = None) -> list[StackDrift]:
    """Drift of each stack (stack -> stack name), detected concurrently, in order;
    paced by the CloudFormation wrapper's clock unless given one."""
    if not stacks:
        return []
    clock = clock or cfn.waits.clock
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(stacks)))) as pool:
        futures = [pool.submit(_one, cfn, stack, name, deadline, clock)
                   for stack, name in stacks.items()]
        return [f.result() for f in futures]
