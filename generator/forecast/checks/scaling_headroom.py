from __future__ import annotations

from generator.forecast.account import Account
from generator.forecast.checks._common import ceil_div, ec2_instance_type, service_location
from generator.forecast.model import Check, Finding, Subject
from generator.forecast.placement import capacity


class ScalingHeadroom(Check):
    """Service auto scaling may ask for max_tasks; the ASG at max_size must hold them."""

    id = "F104"
    title = "Service scaling fits the instances"
    source = ("https://docs.aws.amazon.com/AmazonECS/latest/developerguide/"
              "service-auto-scaling.html")

    def run(self, subject: Subject, account: Account | None) -> list[Finding]:
        itype, _ = ec2_instance_type(self, subject)  # F101 reports an unknown type
        scaling = subject.cfg.ecs.service.autoscaling
        if itype is None or not scaling.enabled:
            return []
        cap = capacity(subject.cfg, itype)
        per = cap.service.per_instance
        if per == 0 or scaling.max_tasks <= cap.maximum * per:
            return []
        stack, service = service_location(subject)
        return [self.finding(
            "warning", stack, service,
            f"service scaling may ask for {scaling.max_tasks} tasks, but at asg.max_size "
            f"{cap.describe(cap.maximum)}; the rest stay unplaced",
            f"set asg.max_size >= {ceil_div(scaling.max_tasks, per)} or "
            f"ecs.service.autoscaling.max_tasks <= {cap.maximum * per}")]
