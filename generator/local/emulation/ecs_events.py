"""ECS task state change events on EventBridge's default bus, as ECS sends them.

Amazon ECS developer guide, "Amazon ECS events": "If the state of a task or service
changes, an event is generated and is sent to Amazon EventBridge"; "Amazon ECS task state
change events": source ``aws.ecs``, detail-type ``ECS Task State Change``, the detail the
task (clusterArn, taskArn, lastStatus, desiredStatus, containers with their exitCode ...),
and for a stopped task ``stoppedReason`` and ``stopCode``. A rule on them with an SQS
target is how one waits for a task to stop without polling DescribeTasks (ReceiveMessage
with WaitTimeSeconds blocks until the event is there). moto 5.2.5's ECS sends none: a
rule on ``aws.ecs`` never matches (tests/e2e/test_containers.py shows it on bare moto).

Here a task whose containers ran in Docker (ecs_containers.py) sends the event when it
has stopped, after its containers are recorded, so a reader of the event who then calls
DescribeTasks sees the same task.

This module's room: the event's shape and where it is put; when is ecs_containers.py's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

SOURCE = "aws.ecs"
TASK_STATE_CHANGE = "ECS Task State Change"


def _stamp(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return None


def task_detail(task: Any) -> dict[str, Any]:
    """The event's detail: the task as DescribeTasks shows it, the fields ECS's example
    event has."""
    containers = [{k: v for k, v in {
        "containerArn": getattr(c, "container_arn", None), "name": getattr(c, "name", None),
        "lastStatus": getattr(c, "last_status", None), "exitCode": getattr(c, "exit_code", None),
        "reason": getattr(c, "reason", None), "taskArn": task.task_arn,
    }.items() if v is not None} for c in task.containers]
    detail = {
        "clusterArn": task.cluster_arn, "taskArn": task.task_arn,
        "taskDefinitionArn": task.task_definition_arn, "group": task.group,
        "launchType": task.launch_type, "lastStatus": task.last_status,
        "desiredStatus": task.desired_status, "containers": containers,
        "stoppedReason": task.stopped_reason or None,
        "stopCode": getattr(task, "stop_code", None),
        "stoppedAt": _stamp(getattr(task, "stopped_at", None)),
        "startedBy": task.started_by,
    }
    return {k: v for k, v in detail.items() if v not in (None, "")}


def send_task_state_change(ecs: Any, task: Any) -> None:
    """Put the task's state change on the account's and region's default event bus."""
    from moto.events.models import events_backends

    events_backends[ecs.account_id][ecs.region_name].put_events([{
        "Source": SOURCE, "DetailType": TASK_STATE_CHANGE, "Resources": [task.task_arn],
        "Detail": json.dumps(task_detail(task)),
    }])
