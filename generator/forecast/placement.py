"""How many of a task fit on one container instance, and why no more: the numbers the
placement checks say.

ECS places a task on an instance with enough unreserved registered cpu and
memory, a free host port for each static port mapping, a free ENI for awsvpc,
and every placement constraint met (ECS developer guide, "Amazon ECS task
placement" and "Amazon ECS task networking options for EC2").
"""

from __future__ import annotations

import re

import msgspec

from generator.config import Environment
from generator.forecast.instances import InstanceType


class TaskShape(msgspec.Struct, frozen=True):
    label: str  # "the service's task", "standalone task migrate"
    cpu: int
    memory: int
    static_port: int | None  # a host port only one task per instance can hold
    awsvpc: bool
    distinct: bool
    member_of: tuple[str, ...]
    arch: str


class Fit(msgspec.Struct, frozen=True):
    per_instance: int
    limits: tuple[str, ...]  # every limit, each with its numbers
    binding: str  # the limit that decides per_instance


def service_shape(cfg: Environment) -> TaskShape:
    ecs = cfg.ecs
    mode = ecs.effective_network_mode
    static = None
    if mode == "bridge" and ecs.container.host_port:
        static = ecs.container.host_port
    elif mode == "host":
        static = ecs.container.container_port
    constraints = ecs.service.placement_constraints
    return TaskShape(
        "the service's task", ecs.cpu, ecs.memory_mib, static, mode == "awsvpc",
        any(c.type == "distinctInstance" for c in constraints),
        tuple(c.expression for c in constraints if c.type == "memberOf" and c.expression),
        ecs.cpu_architecture,
    )


def task_shapes(cfg: Environment) -> list[TaskShape]:
    """Standalone tasks: no port mappings, no constraints of their own."""
    mode = cfg.ecs.effective_network_mode
    return [TaskShape(f"standalone task {name}", t.cpu, t.memory_mib, None, mode == "awsvpc",
                      False, (), cfg.ecs.cpu_architecture)
            for name, t in sorted(cfg.ecs.tasks.items())]


class Workloads(msgspec.Struct, frozen=True):
    """The tasks every service beside the app's own keeps running (their initial count),
    and the one-off ones (jobs) that start beside them, summed for placement."""

    services: tuple[tuple[TaskShape, int], ...]  # (shape, tasks) of ecs.services

    @property
    def cpu(self) -> int:
        return sum(shape.cpu * n for shape, n in self.services)

    @property
    def memory(self) -> int:
        return sum(shape.memory * n for shape, n in self.services)

    @property
    def tasks(self) -> int:
        return sum(n for _, n in self.services)


def other_services(cfg: Environment) -> Workloads:
    mode = cfg.ecs.effective_network_mode
    return Workloads(tuple(
        (TaskShape(f"service {name}", s.cpu, s.memory_mib, None, mode == "awsvpc", False, (),
                   cfg.ecs.cpu_architecture),
         s.autoscaling.min_tasks if s.autoscaling.enabled else s.desired_count)
        for name, s in sorted(cfg.ecs.services.items())))


def job_shapes(cfg: Environment) -> list[TaskShape]:
    """Scheduled jobs start like standalone tasks (RunTask), beside the services."""
    mode = cfg.ecs.effective_network_mode
    return [TaskShape(f"job {name}", j.cpu, j.memory_mib, None, mode == "awsvpc",
                      False, (), cfg.ecs.cpu_architecture)
            for name, j in sorted(cfg.ecs.jobs.items())]


_INSTANCE_TYPE_EXPR = re.compile(
    r"^attribute:ecs\.instance-type\s*(==|!=|=~|!~)\s*([A-Za-z0-9.*-]+)$")


def member_of_matches(expression: str, itype: str) -> bool | None:
    """Whether a memberOf expression admits the instance type; None when it is about
    something else (AZ, custom attributes) and cannot be judged offline."""
    m = _INSTANCE_TYPE_EXPR.match(expression.strip())
    if not m:
        return None
    op, value = m.groups()
    pattern = "^" + re.escape(value).replace(r"\*", ".*") + "$"
    hit = re.match(pattern, itype) is not None
    return hit if op in ("==", "=~") else not hit


def fit(itype: InstanceType, shape: TaskShape) -> Fit:
    limits: list[tuple[int, str]] = [
        (itype.cpu_units // shape.cpu,
         f"cpu: {itype.cpu_units} units registered / {shape.cpu} per task = "
         f"{itype.cpu_units // shape.cpu}"),
        (itype.registrable_mib // shape.memory,
         f"memory: {itype.registrable_mib} MiB registrable / {shape.memory} MiB per task = "
         f"{itype.registrable_mib // shape.memory}"),
    ]
    if shape.static_port is not None:
        limits.append((1, f"static host port {shape.static_port}: 1"))
    if shape.distinct:
        limits.append((1, "distinctInstance: 1"))
    if shape.awsvpc:
        limits.append((itype.enis - 1, f"awsvpc: {itype.enis} ENIs, one kept by the instance "
                                       f"= {itype.enis - 1}"))
    if shape.arch != itype.arch:
        limits.append((0, f"architecture: the task needs {shape.arch}, {itype.name} is "
                          f"{itype.arch}: 0"))
    for expr in shape.member_of:
        if member_of_matches(expr, itype.name) is False:
            limits.append((0, f"memberOf '{expr}' excludes {itype.name}: 0"))
    count = min(n for n, _ in limits)
    binding = "; ".join(text for n, text in limits if n == count)
    return Fit(count, tuple(text for _, text in limits), binding)


class Capacity(msgspec.Struct, frozen=True):
    """EC2 capacity for the service: instances now, instances at most, tasks per instance."""

    itype: InstanceType
    desired: int
    maximum: int
    scales_for_tasks: bool  # a capacity provider launches instances for pending tasks
    service: Fit

    minimum: int = 0
    scales_in: bool = False  # CPU target tracking scales in to min_size when load is low

    @property
    def instances_for_tasks(self) -> int:
        """Instances that unplaced tasks can count on: only a capacity provider adds any."""
        return self.maximum if self.scales_for_tasks else self.desired

    @property
    def instances_for_rollout(self) -> int:
        """Instances a later deployment can count on: a CPU-tracking ASG may have scaled in."""
        if self.scales_for_tasks:
            return self.maximum
        return self.minimum if self.scales_in else self.desired

    def describe(self, instances: int) -> str:
        return (f"{instances} x {self.itype.name} ({self.itype.vcpus} vCPU, "
                f"{self.itype.registrable_mib} MiB registrable) hold "
                f"{instances * self.service.per_instance} ({self.service.binding})")


def capacity(cfg: Environment, itype: InstanceType) -> Capacity:
    asg = cfg.asg
    return Capacity(itype, asg.desired_capacity, asg.max_size,
                    asg.scaling.mode == "capacity_provider", fit(itype, service_shape(cfg)),
                    asg.min_size, asg.scaling.mode == "target_tracking")
