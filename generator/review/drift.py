"""Drift: what was changed by hand since the last deploy, and will be overwritten.

Detection runs on every stack at once (it takes seconds to minutes per stack on
AWS), each polled with the same backoff as stack operations and a deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import msgspec

from generator.deploy.cfn import CloudFormation, backoff
from generator.deploy.status import DriftState
from generator.errors import AwsError, StackNotFound
from generator.ui import Console

DRIFTED = DriftState.DRIFTED
IN_SYNC = DriftState.IN_SYNC
NOT_DEPLOYED = DriftState.NOT_DEPLOYED
UNKNOWN = DriftState.UNKNOWN  # detection failed or timed out: say why, never guess
DEADLINE_SECONDS = 600.0


class PropertyDrift(msgspec.Struct, kw_only=True, frozen=True):
    path: str
    expected: str
    actual: str
    kind: str  # ADD, REMOVE or NOT_EQUAL


class ResourceDrift(msgspec.Struct, kw_only=True):
    logical_id: str
    physical_id: str
    resource_type: str
    status: str  # MODIFIED or DELETED
    properties: list[PropertyDrift] = []


class StackDrift(msgspec.Struct, kw_only=True):
    stack: str
    stack_name: str
    status: str
    resources: list[ResourceDrift] = []
    error: str = ""

    def drifted(self, logical_id: str) -> ResourceDrift | None:
        return next((r for r in self.resources if r.logical_id == logical_id), None)


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
    resources = [ResourceDrift(
        logical_id=r.get("LogicalResourceId", ""), physical_id=r.get("PhysicalResourceId", ""),
        resource_type=r.get("ResourceType", ""), status=r.get("StackResourceDriftStatus", ""),
        properties=[PropertyDrift(path=d.get("PropertyPath", ""),
                                  expected=str(d.get("ExpectedValue", "")),
                                  actual=str(d.get("ActualValue", "")),
                                  kind=d.get("DifferenceType", ""))
                    for d in r.get("PropertyDifferences", []) or []])
        for r in cfn.resource_drifts(name)]
    return StackDrift(stack=stack, stack_name=name,
                      status=DRIFTED if resources else IN_SYNC, resources=resources)


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


def show_drift(console: Console, results: list[StackDrift]) -> None:
    """A table of stacks, then each drifted resource with its property paths."""
    console.table(["stack", "name", "drift"],
                  [[r.stack, r.stack_name, console.status(r.status)] for r in results])
    for r in results:
        if r.error:
            console.line(f"  {r.stack}: {r.error}")
        for res in r.resources:
            console.line(console.style(f"{r.stack}: {res.logical_id} ({res.resource_type}, "
                                       f"{res.physical_id}) {res.status}", "yellow", bold=True))
            for p in res.properties:
                console.line(f"    {p.path} ({p.kind}): expected {p.expected}, "
                             f"actual {p.actual}")
