"""The ecs stack's view as types: frozen Structs the ecs template's partials place, one
per workload kind (the web service, more services, standalone tasks, scheduled jobs)."""

from __future__ import annotations

from typing import Any

import msgspec

from generator.views.common import Trust


class EnvVar(msgspec.Struct, frozen=True):
    name: str
    value: str  # raw YAML


class SecretVar(msgspec.Struct, frozen=True):
    name: str
    value_from: str  # raw YAML


class Launch(msgspec.Struct, frozen=True):
    """Where every workload's tasks run: shared by the services, tasks and jobs."""

    compatibility: str  # EC2 or FARGATE
    network_mode: str
    capacity_provider: bool  # tasks go to the asg's capacity provider
    cpu_architecture: str
    os_family: str
    awsvpc: bool
    assign_public_ip: str  # ENABLED or DISABLED (awsvpc)


class Hardening(msgspec.Struct, frozen=True):
    read_only: bool
    user: str | None
    linux_parameters: dict[str, Any]
    mount_points: tuple[dict[str, Any], ...]
    volumes: tuple[dict[str, Any], ...]
    stop_timeout: int


class InitContainer(msgspec.Struct, frozen=True):
    name: str
    image: str  # raw YAML
    command: tuple[str, ...]
    environment: tuple[EnvVar, ...]
    secrets: tuple[SecretVar, ...]


class Scaling(msgspec.Struct, frozen=True):
    """Application Auto Scaling of one service (target tracking)."""

    min_tasks: int
    max_tasks: int
    cpu_target_percent: float | None
    requests_per_target: int | None
    scale_in_cooldown: int
    scale_out_cooldown: int
    cpu_policy_name: str
    request_policy_name: str
    request_target_groups: tuple[str, ...]  # blue/green: both groups' metric dimensions


class WebService(msgspec.Struct, frozen=True):
    """The app's own service (ecs.service, ecs.container), behind the load balancer."""

    family: str
    cpu: int
    memory: int
    container_name: str
    image: str  # raw YAML: the Image parameter or the env's repository URI with its tag
    container_cpu: int
    container_memory: int
    container_port: int
    host_port: int
    command: tuple[str, ...] | None
    environment: tuple[EnvVar, ...]
    secrets: tuple[SecretVar, ...]
    hardening: Hardening
    db_bootstrap: InitContainer
    # What the agent reads for the app's container and its init container (the app's
    # login and, for db-bootstrap alone, the master's): ExecutionRole.
    execution_statements: tuple[dict[str, Any], ...]
    task_statements: tuple[dict[str, Any], ...]
    desired_count: bool  # DesiredCount is a parameter (no scaler owns it)
    scheduling_strategy: str
    health_check_grace_period: int
    enable_execute_command: bool
    min_healthy_percent: int
    max_percent: int
    circuit_breaker: bool
    rollback: bool
    blue_green: bool
    bake_time_minutes: int
    placement_strategies: tuple[dict[str, str], ...]
    placement_constraints: tuple[dict[str, str], ...]
    scaling: Scaling | None  # None: no scalable target
    cpu_alarm_topic: str | None


class WorkloadTask(msgspec.Struct, frozen=True):
    """A workload's task definition: one container, its own role (``<id>TaskRole``)."""

    id: str  # logical id prefix, e.g. Worker
    name: str  # the workload's name: container name and log stream prefix
    family: str
    image: str  # raw YAML
    command: tuple[str, ...] | None
    cpu: int
    memory: int
    environment: tuple[EnvVar, ...]
    secrets: tuple[SecretVar, ...]
    statements: tuple[dict[str, Any], ...]
    # Its own execution role (<id>ExecutionRole) reads only this workload's secrets: the
    # master login's only for a `db_login: master` workload.
    execution_statements: tuple[dict[str, Any], ...]
    execution_managed: tuple[str, ...]
    trust: Trust  # of both its roles (ecs-tasks)
    hardening: Hardening  # the app's container hardening: the same image, the same needs
    port: int | None = None  # a web service's container port
    host_port: int | None = None


class Route(msgspec.Struct, frozen=True):
    """A web service's target group and the HTTPS listener rule that sends to it."""

    target_type: str  # instance or ip
    port: int
    health_check_path: str
    priority: int
    conditions: tuple[dict[str, Any], ...]


class ServiceWorkload(msgspec.Struct, frozen=True):
    """A service beside the app's own: a `web` one with a route, or a `worker`."""

    task: WorkloadTask
    desired_count: int | None  # None: the scaler owns the count
    min_healthy_percent: int
    max_percent: int
    scaling: Scaling | None
    scaling_resource_id: str  # raw YAML: the service as Application Auto Scaling names it
    route: Route | None


class ScheduledJob(msgspec.Struct, frozen=True):
    """A scheduled task: EventBridge Scheduler's schedule runs it with RunTask, as a
    role of its own that may run this task definition and pass its two roles only."""

    task: WorkloadTask
    schedule_name: str
    expression: str
    timezone: str
    state: str  # ENABLED or DISABLED
    task_count: int
    scheduler_statements: tuple[dict[str, Any], ...]
    scheduler_trust: Trust


class EcsView(msgspec.Struct, frozen=True):
    description: str
    launch: Launch
    log_retention_days: int
    log_group_skips: tuple[dict[str, str], ...]
    execution_managed: tuple[str, ...]  # every execution role's managed policy
    task_trust: Trust  # the web task's two roles (ecs-tasks)
    load_balancer_trust: Trust  # blue/green's infrastructure role (ecs)
    web: WebService
    web_services: tuple[ServiceWorkload, ...]  # with a route: service.j2
    workers: tuple[ServiceWorkload, ...]  # no load balancer: worker.j2
    tasks: tuple[WorkloadTask, ...]
    jobs: tuple[ScheduledJob, ...]
    cluster_arn: str  # raw YAML: what a schedule's target names
