"""Run one task where the service's tasks run, follow it to the end, return its exit code.

The task goes into the service's own capacity provider strategy or launch type,
subnets and security groups (read from DescribeServices), so it reaches what the
service reaches (the database) and nothing else; roles and secrets are the task
definition's. Its log lines are streamed from the awslogs stream the task
definition names while it runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from generator.ecs.logs import Line, StreamTail
from generator.ecs.ops import aws_call, main_container, task_id
from generator.errors import StackgenError

# Between DescribeTasks polls: ECS moves a task PROVISIONING -> PENDING -> RUNNING ->
# STOPPED in seconds to minutes; 3 s is ~20 calls a minute, far below the API's limits.
POLL_SECONDS = 3.0


class TaskFailed(StackgenError):
    """A one-off task could not start, ended non-zero, or ran past its deadline."""

    exit_code = 1

    def __init__(self, message: str, run: TaskRun | None = None) -> None:
        super().__init__(message)
        self.run = run


class TaskRun(msgspec.Struct):
    name: str
    task_arn: str = ""
    container: str = ""
    exit_code: int | None = None
    stopped_reason: str = ""
    container_reason: str = ""
    lines: list[Line] = msgspec.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def summary(self, tail: int = 10) -> str:
        """The task's outcome in one line: exit code, reasons, its last log lines."""
        parts = [f"task {self.name} ({task_id(self.task_arn) if self.task_arn else 'not started'})"]
        parts.append(f"exit code {self.exit_code}" if self.exit_code is not None
                     else "no exit code")
        if self.stopped_reason:
            parts.append(f"stoppedReason: {self.stopped_reason}")
        if self.container_reason:
            parts.append(f"container reason: {self.container_reason}")
        if self.lines and tail > 0:
            parts.append("last log lines: " + " | ".join(
                line.message.rstrip() for line in self.lines[-tail:]))
        return "; ".join(parts)


# What ECS's RunTask failure reasons mean (developer guide, "API failure reasons").
REASONS = {
    "RESOURCE:CPU": "not enough CPU left",
    "RESOURCE:MEMORY": "not enough memory left",
    "RESOURCE:PORTS": "a host port it needs is taken",
    "AGENT": "its ECS agent is disconnected",
}


def failure_reasons(failures: Sequence[dict[str, Any]]) -> str:
    """RunTask's ``failures`` in one line: each reason, what it means, and on which
    container instances (``RESOURCE:MEMORY (not enough memory left) on container
    instance 5d1e...``)."""
    by_reason: dict[str, list[str]] = {}
    details: dict[str, str] = {}
    for failure in failures:
        reason = str(failure.get("reason") or "unknown reason")
        by_reason.setdefault(reason, []).append(str(failure.get("arn") or "").rsplit("/", 1)[-1])
        if failure.get("detail"):
            details.setdefault(reason, str(failure["detail"]))
    parts = []
    for reason, where in by_reason.items():
        meaning = REASONS.get(reason) or details.get(reason, "")
        named = [w for w in where if w]
        parts.append(reason + (f" ({meaning})" if meaning else "")
                     + (f" on container instance{'s' if len(named) > 1 else ''} "
                        + ", ".join(named) if named else ""))
    return "; ".join(parts)


class Runner(msgspec.Struct):
    ecs: Any
    logs: Any
    cluster: str
    out: Callable[[str], None]
    timeout: float = 1800.0
    poll: float = POLL_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def run(self, name: str, task_definition: str, launch: dict[str, Any],
            command: Sequence[str] | None = None) -> TaskRun:
        """Start the task, stream its logs, wait until it stops (or the deadline passes:
        then it is stopped, and that is a failure)."""
        container, target = main_container(self.ecs, task_definition)
        result = TaskRun(name, container=container)
        kwargs: dict[str, Any] = {"cluster": self.cluster, "taskDefinition": task_definition,
                                  "count": 1, "startedBy": "stackgen run-task", **launch}
        if command:
            kwargs["overrides"] = {"containerOverrides": [
                {"name": container, "command": list(command)}]}
        started = aws_call("ecs RunTask", self.ecs.run_task, **kwargs)
        if not started.get("tasks"):
            why = failure_reasons(started.get("failures") or []) or "no task started"
            result.stopped_reason = why
            raise TaskFailed(f"task {name} did not start: {why}", result)
        result.task_arn = started["tasks"][0]["taskArn"]
        tail = StreamTail(self.logs, target.group, target.stream(task_id(result.task_arn))) \
            if target else None
        self.out(f"task {name}: {task_id(result.task_arn)} started in cluster {self.cluster}"
                 + (f"; logs {target.group} {tail.stream}" if target and tail else
                    "; its container has no awslogs configuration"))
        try:
            self._wait(result, tail)
        except KeyboardInterrupt:  # leaving does not stop the task: say so, and how
            self.out(f"task {name}: {task_id(result.task_arn)} keeps running; stop it with "
                     f"`aws ecs stop-task --cluster {self.cluster} --task {result.task_arn}`")
            raise
        return result

    def _drain(self, result: TaskRun, tail: StreamTail | None) -> None:
        if tail is None:
            return
        for line in tail.poll():
            result.lines.append(line)
            self.out(line.format())

    def _wait(self, result: TaskRun, tail: StreamTail | None) -> None:
        deadline = self.clock() + self.timeout
        status = ""
        while True:
            out = aws_call("ecs DescribeTasks", self.ecs.describe_tasks, cluster=self.cluster,
                           tasks=[result.task_arn])
            task = (out.get("tasks") or [{}])[0]
            if task.get("lastStatus") and task["lastStatus"] != status:
                status = task["lastStatus"]
                self.out(f"task {result.name}: {status}")
            self._drain(result, tail)
            if status == "STOPPED":
                break
            if self.clock() >= deadline:
                aws_call("ecs StopTask", self.ecs.stop_task, cluster=self.cluster,
                         task=result.task_arn, reason="stackgen: deadline passed")
                result.stopped_reason = f"still {status or 'unknown'} after {self.timeout:.0f} s; stopped"
                raise TaskFailed(f"task {result.name} ran past its deadline: {result.summary()}",
                                 result)
            self.sleep(self.poll)
        result.stopped_reason = task.get("stoppedReason", "")
        main: dict[str, Any] = next((c for c in task.get("containers") or []
                     if c.get("name") == result.container), {})
        code = main.get("exitCode")
        result.exit_code = int(code) if code is not None else None
        result.container_reason = main.get("reason", "")
        self.sleep(min(self.poll, 1.0))  # the log agent flushes the last lines after the stop
        self._drain(result, tail)
