from __future__ import annotations

from generator.forecast.account import Account
from generator.forecast.checks._common import ec2_instance_type
from generator.forecast.model import Check, Finding, Subject
from generator.forecast.placement import capacity, fit, job_shapes, other_services, task_shapes


class StandaloneTasks(Check):
    """A standalone task (RunTask) needs room on an instance beside the service's tasks;
    without it RunTask answers with a RESOURCE:MEMORY/CPU failure."""

    id = "F103"
    title = "Standalone tasks fit beside the service"
    source = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html"

    def run(self, subject: Subject, account: Account | None) -> list[Finding]:
        itype, _ = ec2_instance_type(self, subject)  # F101 says when the type is unknown
        if itype is None:
            return []
        cfg = subject.cfg
        cap = capacity(cfg, itype)
        n, instances = cfg.ecs.service.desired_count, cap.desired
        others = other_services(cfg)
        found = []
        for shape in [*task_shapes(cfg), *job_shapes(cfg)]:
            name = shape.label.rsplit(" ", 1)[-1]
            key = "jobs" if shape.label.startswith("job ") else "tasks"
            logical = "".join(p.capitalize() for p in name.split("-")) + "TaskDefinition"
            alone = fit(itype, shape)
            if alone.per_instance == 0:
                found.append(self.finding(
                    "error", "ecs", logical,
                    f"{shape.label} ({shape.cpu} cpu, {shape.memory} MiB) fits on no "
                    f"{itype.name}: {alone.binding}",
                    f"shrink ecs.{key}.{name} or pick a larger asg.instance_type"))
                continue
            if instances == 0:
                continue
            # Service tasks spread over the instances; the least busy one has floor(n/i).
            # The other services' tasks (ecs.services) take their share of every instance.
            busy = n // instances
            svc = cap.service
            free_cpu = itype.cpu_units - busy * cfg.ecs.cpu - others.cpu // instances
            free_mem = itype.registrable_mib - busy * cfg.ecs.memory_mib - others.memory // instances
            free_eni = itype.enis - 1 - busy - others.tasks // instances
            if (free_cpu >= shape.cpu and free_mem >= shape.memory
                    and (not shape.awsvpc or free_eni >= 1)):
                continue
            more = cap.scales_for_tasks and cap.maximum > instances
            found.append(self.finding(
                "info" if more else "warning", "ecs", logical,
                f"{shape.label} ({shape.cpu} cpu, {shape.memory} MiB) has no room beside the "
                f"service's {n} task(s)"
                + (f" and {others.tasks} of the other services" if others.tasks else "")
                + f" on {instances} x {itype.name}: the least busy instance "
                f"has {free_cpu} cpu and {free_mem} MiB left (service task: {svc.binding})"
                + ("; the capacity provider launches an instance for it" if more else
                   "; RunTask fails with RESOURCE:MEMORY"),
                "raise asg.desired_capacity by one, or run the task when the service is scaled in"))
        return found
