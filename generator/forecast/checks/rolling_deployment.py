from __future__ import annotations

from generator.forecast.account import Account
from generator.forecast.checks._common import ceil_div, ec2_instance_type, service_location
from generator.forecast.model import Check, Finding, Subject
from generator.forecast.placement import capacity


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
        cfg = subject.cfg
        svc = cfg.ecs.service
        cap = capacity(cfg, itype)
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
        if can_start >= 1 or can_stop >= 1:
            return []
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
