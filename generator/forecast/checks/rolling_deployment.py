from __future__ import annotations

from generator.capacity import MARGIN
from generator.forecast.account import Account
from generator.forecast.checks._common import ceil_div, ec2_instance_type, service_location
from generator.forecast.model import Check, Finding, Subject
from generator.forecast.placement import Capacity, Workloads, capacity, other_services
from generator.views.common import logical_id


class RollingDeployment(Check):
    """A deployment starts new tasks beside the old ones up to MaximumPercent and keeps
    MinimumHealthyPercent running; with no room for a new task and no old one it may
    stop, it never progresses (service event: "unable to place a task because no
    container instance met all of its requirements") and CloudFormation waits."""

    id = "F102"
    title = "A deployment can replace the tasks"
    source = ("https://docs.aws.amazon.com/AmazonECS/latest/developerguide/"
              "deployment-type-ecs.html")

    def run(self, subject: Subject, account: Account | None) -> list[Finding]:
        itype, _ = ec2_instance_type(self, subject)  # F101 says when the type is unknown
        if itype is None:
            return []
        cap = capacity(subject.cfg, itype)
        others = other_services(subject.cfg)
        return self._app(subject, cap, others) + self._others(subject, cap, others)

    @staticmethod
    def _free(subject: Subject, cap: Capacity, others: Workloads) -> tuple[int, int]:
        """Registered cpu and memory left on the rollout's instances once every service
        runs its tasks (summed over the instances: a bound, packing may leave less)."""
        cfg, instances = subject.cfg, cap.instances_for_rollout
        n = cfg.ecs.service.desired_count
        return (instances * cap.itype.cpu_units - n * cfg.ecs.cpu - others.cpu,
                instances * cap.itype.registrable_mib - n * cfg.ecs.memory_mib - others.memory)

    def _others(self, subject: Subject, cap: Capacity, others: Workloads) -> list[Finding]:
        """Each service of ecs.services rolls out too: beside every other task there must
        be room for one new task of it, or its min healthy percent must let one stop."""
        free_cpu, free_mem = self._free(subject, cap, others)
        found = []
        for shape, count in others.services:
            name = shape.label.split(" ", 1)[1]
            s = subject.cfg.ecs.services[name]
            least = ceil_div(count * s.min_healthy_percent, 100)
            most = count * s.max_percent // 100
            fits = min(free_cpu // shape.cpu, free_mem // shape.memory)
            if count == 0 or count - least >= 1 or min(most - count, fits) >= 1:
                continue
            found.append(self.finding(
                "error", "ecs", f"{logical_id(name)}Service",
                f"a rolling deployment of service {name} ({count} task(s)) cannot start: min "
                f"healthy {s.min_healthy_percent}% keeps every old task running and beside "
                f"every service's tasks {cap.instances_for_rollout} x {cap.itype.name} have "
                f"{max(free_cpu, 0)} cpu and {max(free_mem, 0)} MiB left, less than its task's "
                f"{shape.cpu} cpu and {shape.memory} MiB",
                f"set ecs.services.{name}.min_healthy_percent: 0 (its old task stops first), "
                "or raise asg.desired_capacity (min_size too)"))
        return found

    def _margin(self, subject: Subject, cap: Capacity, others: Workloads,
                peak_tasks: int) -> list[Finding]:
        """The rollout fits, but at its peak it should leave MARGIN of the registrable
        memory free: the registrable figure of most types is an estimate
        (generator/capacity.py), and the agent, Docker and the SSM agent share the rest."""
        cfg, itype, instances = subject.cfg, cap.itype, cap.instances_for_rollout
        peak = peak_tasks * cfg.ecs.memory_mib + others.memory
        room = instances * itype.packable_mib
        if peak <= room:
            return []
        stack, service = service_location(subject)
        return [self.finding(
            "warning", stack, service,
            f"a rolling deployment peaks at {peak} MiB ({peak_tasks} x {cfg.ecs.memory_mib} MiB "
            f"of the app beside {others.memory} MiB of other services), within "
            f"{int(MARGIN * 100)}% of the {instances * itype.registrable_mib} MiB "
            f"{instances} x {itype.name} register; the figure is an estimate and the "
            "rollout may not fit",
            f"keep the peak under {room} MiB: lower ecs.memory_mib or the other services', "
            "or a larger asg.instance_type")]

    def _app(self, subject: Subject, cap: Capacity, others: Workloads) -> list[Finding]:
        cfg = subject.cfg
        svc = cfg.ecs.service
        stack, service = service_location(subject)
        n, per = svc.desired_count, cap.service.per_instance
        if svc.scheduling_strategy == "DAEMON" or n == 0 or per == 0:
            return []  # daemons replace in place; an unplaceable task is F101's finding
        dep = svc.deployment
        instances = cap.instances_for_rollout
        room = instances * per
        if dep.strategy == "BLUE_GREEN":
            # The new revision runs in full beside the old one until the bake time ends.
            if 2 * n <= room:
                return []
            return [self.finding(
                "error", stack, service,
                f"a blue/green deployment runs {n} new tasks beside {n} old ones ({2 * n}), "
                f"but {cap.describe(instances)}",
                f"set asg.desired_capacity and min_size >= {ceil_div(2 * n, per)}, or use the "
                "ROLLING strategy")]
        most = n * dep.max_percent // 100
        least = ceil_div(n * dep.min_healthy_percent, 100)
        can_start = min(most - n, room - n)
        can_stop = n - least
        if can_stop < 1 <= can_start and others.tasks:
            # Room for the app's tasks alone; the other services' tasks hold part of it.
            free_cpu, free_mem = self._free(subject, cap, others)
            if min(free_cpu // cfg.ecs.cpu, free_mem // cfg.ecs.memory_mib) < 1:
                itype = cap.itype
                needed = max(ceil_div((n + 1) * cfg.ecs.memory_mib + others.memory,
                                      itype.registrable_mib),
                             ceil_div((n + 1) * cfg.ecs.cpu + others.cpu, itype.cpu_units))
                names = ", ".join(shape.label.split(" ", 1)[1] for shape, _ in others.services)
                return [self.finding(
                    "error", stack, service,
                    f"a rolling deployment of {n} task(s) cannot start: min healthy "
                    f"{dep.min_healthy_percent}% keeps all {n} old tasks running, and beside "
                    f"them and the tasks of {names} {instances} x {itype.name} have "
                    f"{max(free_cpu, 0)} cpu and {max(free_mem, 0)} MiB left, less than one "
                    f"task's {cfg.ecs.cpu} cpu and {cfg.ecs.memory_mib} MiB",
                    f"set asg.desired_capacity and min_size >= {needed}, or "
                    f"ecs.service.deployment.min_healthy_percent <= {100 * (n - 1) // n} (stops "
                    "an old task first), or shrink the other services' memory_mib")]
        if can_start >= 1 or can_stop >= 1:
            return self._margin(subject, cap, others, n + (1 if can_start >= 1 else 0))
        if most <= n:
            why = (f"max {dep.max_percent}% of {n} allows no task beside the old ones and min "
                   f"healthy {dep.min_healthy_percent}% keeps all {n} running")
        else:
            why = (f"min healthy {dep.min_healthy_percent}% keeps all {n} old tasks running, "
                   f"max {dep.max_percent}% allows {most} at once, but "
                   f"{cap.describe(instances)}: no room for a new task beside the old")
        scaled = ""
        if cap.scales_in:
            scaled = (f" (a CPU-tracking ASG scales in to min_size {cap.minimum} and adds no "
                      "instance for pending tasks)")
        elif not cap.scales_for_tasks:
            scaled = " (this ASG adds no instance for pending tasks)"
        return [self.finding(
            "error", stack, service,
            f"a rolling deployment of {n} task(s) cannot start: {why}{scaled}; every update of "
            "the task definition waits until CloudFormation gives up",
            f"set asg.desired_capacity and min_size >= {ceil_div(n + 1, per)}, or "
            f"ecs.service.deployment.min_healthy_percent <= {100 * (n - 1) // n} (stops an old "
            "task first), or remove what limits one task per instance")]
