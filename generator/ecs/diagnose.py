"""Why a stack failed, from the resources themselves: the stack event says "did not
stabilize"; the stopped task, the service's events, the DB's events and the group's
scaling activities say why.

Called by the deploy engine when a stack ends failed or rolled back. Every call is
read-only and may fail on its own (permissions, a resource already gone): a
diagnosis that cannot be made is a note, never a second error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator.ecs.logs import last_lines
from generator.ecs.ops import log_target, task_id
from generator.errors import StackgenError

# How much of each source goes into a root cause: enough to see the pattern.
SERVICE_EVENTS = 5
STOPPED_TASKS = 3
LOG_LINES = 5


def _cluster_of(service_arn: str) -> str | None:
    """The cluster from a service's long ARN (``...:service/<cluster>/<name>``)."""
    parts = service_arn.split(":", 5)[-1].split("/")
    return parts[1] if len(parts) == 3 else None


def ecs_service(ecs: Any, logs: Any, cluster: str, service: str) -> list[str]:
    """The service's last events (placement failures included) and, for each recently
    stopped task, its stoppedReason, each container's exit code and reason, and the
    container's last log lines (a web server that exits 0 has still failed)."""
    notes: list[str] = []
    described = ecs.describe_services(cluster=cluster, services=[service])
    for svc in described.get("services") or []:
        for dep in svc.get("deployments") or []:
            if dep.get("rolloutState") == "FAILED":
                notes.append(f"service {svc['serviceName']}: deployment {dep.get('id')} FAILED: "
                             f"{dep.get('rolloutStateReason', '')}")
        # DescribeServices lists events newest first.
        for event in (svc.get("events") or [])[:SERVICE_EVENTS]:
            notes.append(f"service event: {event.get('message', '')}")
    arns = ecs.list_tasks(cluster=cluster, serviceName=service,
                          desiredStatus="STOPPED").get("taskArns") or []
    if not arns:
        return notes
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns[:100]).get("tasks") or []
    tasks.sort(key=lambda t: t.get("stoppedAt") or t.get("createdAt") or datetime.min,
               reverse=True)
    definitions: dict[str, Any] = {}
    for task in tasks[:STOPPED_TASKS]:
        tid = task_id(task["taskArn"])
        notes.append(f"stopped task {tid}: {task.get('stoppedReason', 'no stoppedReason')}"
                     + (f" ({task['stopCode']})" if task.get("stopCode") else ""))
        for c in task.get("containers") or []:
            code, reason = c.get("exitCode"), c.get("reason")
            notes.append(f"  container {c.get('name')}: exit code "
                         f"{code if code is not None else 'none'}"
                         + (f", reason: {reason}" if reason else ""))
            arn = task.get("taskDefinitionArn", "")
            if arn not in definitions:
                definitions[arn] = ecs.describe_task_definition(
                    taskDefinition=arn)["taskDefinition"]
            spec = next((d for d in definitions[arn].get("containerDefinitions") or []
                         if d.get("name") == c.get("name")), None)
            target = log_target(spec) if spec else None
            if target is None:
                continue
            lines = last_lines(logs, target.group, target.stream(tid), LOG_LINES)
            if lines:
                notes.append(f"  last log lines of {c.get('name')}: "
                             + " | ".join(line.message.rstrip() for line in lines))
    return notes


def rds_instance(rds: Any, instance: str, now: datetime | None = None) -> list[str]:
    """The DB instance's events of the last hour (RDS DescribeEvents)."""
    start = (now or datetime.now().astimezone()) - timedelta(hours=1)
    events = rds.describe_events(SourceIdentifier=instance, SourceType="db-instance",
                                 StartTime=start).get("Events") or []
    return [f"db event {e.get('Date', '')}: {e.get('Message', '')}" for e in events[-5:]]


def asg_group(autoscaling: Any, group: str) -> list[str]:
    """The group's failed or cancelled scaling activities (newest first)."""
    acts = autoscaling.describe_scaling_activities(AutoScalingGroupName=group,
                                                   MaxRecords=20).get("Activities") or []
    bad = [a for a in acts if a.get("StatusCode") in ("Failed", "Cancelled")]
    return [f"scaling activity {a.get('StatusCode')}: {a.get('Description', '')}: "
            f"{a.get('StatusMessage', '')}" for a in bad[:3]]


Client = Callable[[str], Any]


def diagnose(client: Client, resources: Mapping[str, tuple[str, str]],
             cluster: str | None = None) -> list[str]:
    """Notes for the failed stack's ECS services, DB instances and auto scaling groups.

    ``resources``: logical id -> (resource type, physical id); ``cluster``: the
    stack's cluster, for a service whose ARN is of the short (cluster-less) form.
    """
    notes: list[str] = []
    for logical, (kind, physical) in sorted(resources.items()):
        if not physical:
            continue
        try:
            if kind == "AWS::ECS::Service":
                where = _cluster_of(physical) or cluster
                if where:
                    notes += ecs_service(client("ecs"), client("logs"), where, physical)
            elif kind == "AWS::RDS::DBInstance":
                notes += rds_instance(client("rds"), physical)
            elif kind == "AWS::AutoScaling::AutoScalingGroup":
                notes += asg_group(client("autoscaling"), physical)
        except (ClientError, BotoCoreError, StackgenError) as exc:
            notes.append(f"{logical}: could not diagnose ({exc})")
    return [f"diagnosis: {n}" for n in notes]
