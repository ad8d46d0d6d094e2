from __future__ import annotations

from generator.forecast.account import Account
from generator.forecast.checks._common import ceil_div, ec2_instance_type, service_location
from generator.forecast.model import Check, Finding, Subject
from generator.forecast.placement import capacity, other_services


class ServicePlacement(Check):
    """The service's desired tasks fit on the instances the ASG starts with (the capacity a
    CPU-tracking ASG will not add to for pending tasks)."""

    id = "F101"
    title = "Desired tasks can be placed"
    source = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement.html"

    def run(self, subject: Subject, account: Account | None) -> list[Finding]:
        itype, problems = ec2_instance_type(self, subject)
        if itype is None:
            return problems
        cfg = subject.cfg
        cap = capacity(cfg, itype)
        stack, service = service_location(subject)
        per = cap.service.per_instance
        if per == 0:
            return [self.finding(
                "error", stack, service,
                f"no {itype.name} instance can hold the service's task "
                f"({cfg.ecs.cpu} cpu, {cfg.ecs.memory_mib} MiB): {cap.service.binding}",
                "pick an asg.instance_type the task fits on, or shrink ecs.cpu/ecs.memory_mib")]
        if cfg.ecs.service.scheduling_strategy == "DAEMON":
            return []  # one task per instance, whatever the count
        wanted = cfg.ecs.service.desired_count
        others = other_services(cfg)
        if wanted <= cap.desired * per and others.tasks:
            # Every service's tasks together, on the instances there are.
            instances = cap.instances_for_tasks
            mem = wanted * cfg.ecs.memory_mib + others.memory
            cpu = wanted * cfg.ecs.cpu + others.cpu
            room_mem, room_cpu = instances * itype.registrable_mib, instances * itype.cpu_units
            if mem > room_mem or cpu > room_cpu:
                return [self.finding(
                    "error", stack, service,
                    f"the services' tasks together ({wanted} of the app's and {others.tasks} of "
                    f"{', '.join(s.label.split(' ', 1)[1] for s, _ in others.services)}: {cpu} "
                    f"cpu, {mem} MiB) do not fit on {instances} x {itype.name} ({room_cpu} cpu, "
                    f"{room_mem} MiB registrable)",
                    "raise asg.desired_capacity (min_size too), a larger asg.instance_type, or "
                    "shrink ecs.services.<name>.memory_mib")]
        if wanted <= cap.desired * per:
            return []
        needed = ceil_div(wanted, per)
        if cap.scales_for_tasks and needed <= cap.maximum:
            return [self.finding(
                "info", stack, service,
                f"{wanted} desired tasks need {needed} instances; the ASG starts with "
                f"{cap.desired} and the capacity provider launches up to {cap.maximum} "
                f"({per} per instance: {cap.service.binding})",
                f"set asg.desired_capacity: {needed} to place them without waiting for scale-out")]
        return [self.finding(
            "error", stack, service,
            f"{wanted} desired tasks, but {cap.describe(cap.instances_for_tasks)}; the other "
            f"{wanted - cap.instances_for_tasks * per} stay unplaced and CloudFormation waits "
            "for the service to stabilise (hours) before failing",
            f"set asg.desired_capacity and min_size >= {needed} (max_size too), a larger "
            "asg.instance_type, or a smaller ecs.service.desired_count")]
