"""ECS tasks run in Docker (``stackgen local up --containers on``; containers.py runs them):
a service's deployment waits for its tasks to run and pass their health checks, fails by
ECS's circuit breaker, replaces a task that stops with a growing back-off; a task's
secrets, logs and load balancer targets are as ECS gives them.

This module's room: what happens to a task once it has a host; where it goes and when a
service deploys are ecs.py's.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import ServiceException
from moto.ecs import models as ecs_models

from generator.local.emulation import albproxy, containers, ecs_events
from generator.local.emulation.ecs_placement import (
    Need,
    task_need,
)
from generator.local.emulation.ecs_tasks import (
    RUNS,
    name_of,
    new_task,
    on_fargate,
    recount,
    running_tasks,
    stop,
    stopped_tasks,
    td_view,
)

# --- containers: tasks run in Docker (containers.py) -------------------------------------

# ECS API reference, ServiceDeploymentCircuitBreaker: "a minimum threshold of 3 and a maximum
# threshold of 200 ... 0.5 * desired task count" failed tasks fail the deployment.
CIRCUIT_BREAKER_MIN, CIRCUIT_BREAKER_MAX = 3, 200
# How long a deployment waits for its tasks to run and pass health checks before it fails
# (CloudFormation would wait up to hours on AWS; said in the failure's message).
DEPLOYMENT_WAIT_SECONDS = 180.0
# ECS throttles a service whose tasks keep stopping ("Amazon ECS service throttle logic"):
# replacements wait longer each time, up to 15 minutes on AWS; here up to this.
RESTART_BACKOFF_MAX = 30.0


class DeploymentFailed(ServiceException):
    code = "GeneralServiceException"


def circuit_breaker_threshold(desired: int) -> int:
    return min(max(CIRCUIT_BREAKER_MIN, -(-desired // 2)), CIRCUIT_BREAKER_MAX)


def secret_value(account_id: str, region: str, value_from: str) -> str:
    """A container secret's value, as the agent reads it: a Secrets Manager ARN (with
    ``:json-key:version-stage:version-id``) or an SSM parameter name or ARN (developer guide,
    "Pass sensitive data to an Amazon ECS container")."""
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.ssm.models import ssm_backends

    parts = value_from.split(":")
    if value_from.startswith("arn:") and parts[2] == "secretsmanager":
        secret_id = ":".join(parts[:7])
        key = parts[7] if len(parts) > 7 else ""
        stage = parts[8] if len(parts) > 8 else ""
        version = parts[9] if len(parts) > 9 else ""
        sm = secretsmanager_backends[parts[4]][parts[3]]
        got = sm.get_secret_value(secret_id, version or None, stage or None)  # type: ignore[arg-type]
        text = str(got.get("SecretString") or "")
        if key:
            return str(json.loads(text)[key])
        return text
    name = value_from
    if value_from.startswith("arn:") and parts[2] == "ssm":
        name = "/" + ":".join(parts[5:]).removeprefix("parameter/").lstrip("/")
        account_id, region = parts[4], parts[3]
    param = ssm_backends[account_id][region].get_parameter(name)
    if param is None:
        raise KeyError(f"parameter {name} not found")
    return str(param.value)


def _log_sink(account_id: str, region: str) -> containers.LogSink:
    from moto.logs.models import logs_backends

    def sink(group: str, stream: str, events: list[tuple[int, str]]) -> None:
        backend = logs_backends[account_id][region]
        log_group = backend.groups.get(group)
        if log_group is None:
            return
        if stream not in log_group.streams:
            backend.create_log_stream(group, stream)
        backend.put_log_events(group, stream,
                               [{"timestamp": t, "message": m} for t, m in events])

    return sink


def _group_exists(account_id: str, region: str) -> Callable[[str], bool]:
    from moto.logs.models import logs_backends

    return lambda group: group in logs_backends[account_id][region].groups


def _definition(td: Any) -> dict[str, Any]:
    return {"containerDefinitions": copy.deepcopy(td.container_definitions),
            "volumes": copy.deepcopy(td.volumes or []),
            "runtimePlatform": td.runtime_platform or {}}


class ShownContainer:
    """A container as DescribeTasks shows it (moto serializes its attributes by name)."""

    def __init__(self, task_arn: str, c: containers.ContainerRun) -> None:
        self.container_arn = f"{task_arn}/{c.name}"
        self.task_arn = task_arn
        self.name, self.image = c.name, c.definition.get("image")
        self.last_status = c.status
        self.exit_code = c.exit_code
        self.health_status = c.health
        self.reason = c.reason or None
        self.cpu, self.memory = c.definition.get("cpu", 0), c.definition.get("memory")
        self.network_bindings = [
            {"bindIP": containers.HOST, "containerPort": cp, "hostPort": hp, "protocol": "tcp"}
            for cp, hp in c.ports.items()]
        self.network_interfaces: list[Any] = []


def _record(task: Any, run: containers.TaskRun) -> None:
    """The containers as DescribeTasks shows them."""
    task.containers = [ShownContainer(task.task_arn, c) for c in run.containers]


def start_containers(ecs: Any, task: Any, td: Any,
                     overrides: dict[str, list[str]] | None = None) -> containers.TaskRun:
    """Run ``task``'s containers; when they stop by themselves the task stops (and a service
    replaces it)."""
    account, region = ecs.account_id, ecs.region_name

    def on_stopped(run: containers.TaskRun) -> None:
        _record(task, run)
        task.stop_code = ("EssentialContainerExited"
                          if run.stopped_reason == containers.ESSENTIAL_EXITED else
                          "TaskFailedToStart" if ":" in run.stopped_reason and
                          run.stopped_reason.split(":")[0].endswith("Error") else
                          "UserInitiated")
        if task.desired_status != "STOPPED":  # stopped by itself, not by us
            RUNS.pop(task.task_arn, None)
            albproxy.deregister(task.task_arn)
            stop(ecs, task, run.stopped_reason)
            _replace_later(ecs, task)
        task.stopped_at = datetime.now(UTC)
        try:
            ecs_events.send_task_state_change(ecs, task)
        except Exception as exc:  # the task has stopped either way; the log says why
            logging.getLogger(__name__).warning(
                "the ECS Task State Change event of %s was not sent: %s", task.task_arn, exc)

    from generator.local.emulation import latency

    run = containers.TaskRun(
        task.task_arn, task.id, _definition(td),
        lambda value_from: secret_value(account, region, value_from),
        _log_sink(account, region), _group_exists(account, region), on_stopped,
        time_scale=max(1.0, latency.MODEL.time_scale), command_override=overrides)
    RUNS[task.task_arn] = run
    # moto moved a task towards STOPPED on each DescribeTasks; its containers say now.
    task.advance = lambda: None
    _record(task, run)
    run.start()
    return run


def _load_balancers(service: Any) -> list[dict[str, Any]]:
    return list((getattr(service, "emulated_config", None) or {}).get("loadBalancers") or [])


def _register_targets(service_lbs: list[dict[str, Any]], task: Any,
                      run: containers.TaskRun) -> None:
    for lb in service_lbs:
        port = run.host_port(str(lb.get("containerName")), int(lb.get("containerPort", 0)))
        if lb.get("targetGroupArn") and port:
            albproxy.register(str(lb["targetGroupArn"]), task.task_arn, port)


def _task_ready(run: containers.TaskRun) -> bool:
    """Every essential container runs, and is healthy where it has a health check."""
    essential = [c for c in run.containers if c.essential]
    return run.status == "RUNNING" and all(
        c.status == "RUNNING" and (not c.definition.get("healthCheck") or c.health == "HEALTHY")
        for c in essential)


def _healthy_in_groups(lbs: list[dict[str, Any]], task_arn: str) -> bool:
    return all(albproxy.health(str(lb["targetGroupArn"]), task_arn) == "healthy"
               for lb in lbs if lb.get("targetGroupArn"))


def run_deployment(ecs: Any, service: Any, config: dict[str, Any], td: Any,
                    started: list[Any], desired: int, need: Need, group: str, fargate: bool,
                    deployment_id: str) -> None:
    """Run the new tasks for real and wait until each runs (healthy in its target groups);
    tasks that stop are replaced until the circuit breaker's threshold of failed tasks,
    then the deployment fails (ECS developer guide, "How the Amazon ECS deployment circuit
    breaker detects failures"); CloudFormation then rolls the service back."""
    lbs = list(config.get("loadBalancers") or [])
    cluster = ecs._get_cluster(service.cluster_name)
    threshold = circuit_breaker_threshold(desired)
    for task in started:
        task.in_deployment = True  # its stops are the deployment's to count and replace
    waiting = {t.task_arn: (t, start_containers(ecs, t, td)) for t in started}
    registered: set[str] = set()
    failed: list[tuple[Any, containers.TaskRun]] = []
    deadline = time.monotonic() + DEPLOYMENT_WAIT_SECONDS
    while True:
        for arn, (task, run) in list(waiting.items()):
            if run.status == "STOPPED" or task.desired_status == "STOPPED":
                del waiting[arn]
                failed.append((task, run))
                if len(failed) >= threshold:
                    break
                replacement = new_task(ecs, cluster, td, getattr(task, "host_id", None), need,
                                        group, fargate, deployment_id, config)
                replacement.in_deployment = True
                waiting[replacement.task_arn] = (replacement,
                                                 start_containers(ecs, replacement, td))
            elif run.status == "RUNNING" and arn not in registered and \
                    all(c.status != "PENDING" for c in run.containers if c.essential):
                _register_targets(lbs, task, run)
                registered.add(arn)
        if len(failed) >= threshold:
            for task, _ in list(waiting.values()):
                stop(ecs, task, "Task stopped by the failed deployment")
            _fail(service, failed, threshold)
        if all(_task_ready(run) and _healthy_in_groups(lbs, arn)
               for arn, (_, run) in waiting.items()):
            for task, _ in waiting.values():
                task.in_deployment = False  # from now on the scheduler replaces it
            return
        if time.monotonic() > deadline:
            for task, _ in list(waiting.values()):
                stop(ecs, task, "Task stopped by the failed deployment")
            raise DeploymentFailed(
                f"the service's tasks did not run healthy within {DEPLOYMENT_WAIT_SECONDS:.0f} "
                "s (on AWS CloudFormation waits for hours): see `stackgen logs` and the "
                "target group's health check")
        time.sleep(containers.POLL_SECONDS)


def _fail(service: Any, failed: list[tuple[Any, containers.TaskRun]], threshold: int) -> None:
    task, run = failed[-1]
    for _, stopped in failed:  # the stopped containers' exit codes are in DescribeTasks now
        stopped.wait(lambda r: r.status == "STOPPED", 30)
    reason = "ECS deployment circuit breaker: tasks failed to start."
    for record in service.deployments[:1]:
        record.update(rolloutState="FAILED", rolloutStateReason=reason, failedTasks=len(failed))
    detail = f"{run.stopped_reason}: {run.describe_exit()}" if run.stopped_reason != \
        run.describe_exit() else run.stopped_reason
    hint = ""
    if run.stopped_reason.startswith("CannotPullContainerError"):
        hint = (" [local endpoint: put the image in the local Docker (docker load / docker "
                "build), or run without containers: `stackgen local down && stackgen local up "
                "--containers off`]")
    raise DeploymentFailed(
        "Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'. "
        f"{len(failed)} tasks stopped (threshold {threshold}); the last one, "
        f"{task.id}: {detail}{hint}")


_RESTARTS: dict[str, int] = {}


def _replace_later(ecs: Any, task: Any) -> None:
    """A service task that stopped by itself outside a deployment is replaced, after the
    service throttle's growing delay."""
    if not task.group.startswith("service:") or getattr(task, "in_deployment", False):
        return
    key = f"{task.cluster_name}:{task.group.removeprefix('service:')}"
    count = _RESTARTS[key] = _RESTARTS.get(key, 0) + 1
    delay = min(RESTART_BACKOFF_MAX, 0.5 * 2 ** (count - 1))

    def replace() -> None:
        time.sleep(delay)
        service = ecs.services.get(key)
        if service is None or service.status != "ACTIVE":
            return
        running = running_tasks(ecs, task.cluster_name, task.group)
        if len(running) >= service.desired_count:
            return
        td = ecs.describe_task_definition(service.task_definition)
        cluster = ecs._get_cluster(task.cluster_name)
        config = getattr(service, "emulated_config", None) or {}
        fargate = on_fargate(ecs, cluster, config)
        need = task_need(td_view(td))
        new = new_task(ecs, cluster, td, getattr(task, "host_id", None), need, task.group,
                        fargate, task.started_by, config)
        run = start_containers(ecs, new, td)
        if run.wait(lambda r: r.status != "PENDING", 60) and run.status == "RUNNING":
            _register_targets(_load_balancers(service), new, run)
        service.running_count = len(running_tasks(ecs, task.cluster_name, task.group))
        recount(ecs, task.cluster_name)

    threading.Thread(target=replace, daemon=True).start()


def tasks_show_containers() -> None:
    backend = ecs_models.EC2ContainerServiceBackend
    original_describe = backend.describe_tasks
    original_list = backend.list_tasks
    original_run = backend.run_task
    original_stop = backend.stop_task

    def describe_tasks(self: Any, cluster_str: str, tasks: list[str]) -> list[Any]:
        found = list(original_describe(self, cluster_str, tasks))
        seen = {t.task_arn for t in found}
        for arn, task in stopped_tasks(self).items():
            if arn not in seen and any(arn == t or arn.endswith("/" + t) for t in tasks):
                found.append(task)
        return found

    def list_tasks(self: Any, cluster_str: str | None = None, container_instance: str | None = None,
                   family: str | None = None, started_by: str | None = None,
                   service_name: str | None = None, desiredStatus: str | None = None,
                   ) -> list[Any]:
        if desiredStatus != "STOPPED":
            return list(original_list(self, cluster_str, container_instance, family,
                                      started_by, service_name, desiredStatus))
        cluster = name_of(cluster_str or "default")
        return [t for t in stopped_tasks(self).values() if t.cluster_name == cluster
                and (not service_name or t.group == f"service:{name_of(service_name)}")
                and (not family or t.task_definition_arn.split("/")[-1].split(":")[0] == family)
                and (not started_by or t.started_by == started_by)]

    def run_task(self: Any, *args: Any, **kwargs: Any) -> list[Any]:
        started = list(original_run(self, *args, **kwargs))
        if containers.SETTINGS.enabled:
            overrides = (kwargs.get("overrides") or (args[3] if len(args) > 3 else None)) or {}
            commands = {str(o["name"]): list(o["command"])
                        for o in overrides.get("containerOverrides") or [] if o.get("command")}
            for task in started:
                td = self.describe_task_definition(task.task_definition_arn)
                start_containers(self, task, td, commands)
        return started

    def stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        for task in running_tasks(self, name_of(cluster_str)):
            if task.task_arn == task_str or task.task_arn.endswith("/" + task_str):
                stop(self, task, reason or "Task stopped by user")
                return task
        return original_stop(self, cluster_str, task_str, reason)

    backend.describe_tasks = describe_tasks  # type: ignore[method-assign]
    backend.list_tasks = list_tasks  # type: ignore[method-assign]
    backend.run_task = run_task  # type: ignore[method-assign]
    backend.stop_task = stop_task  # type: ignore[method-assign]


