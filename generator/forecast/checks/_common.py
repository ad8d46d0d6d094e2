"""Helpers shared by the checks."""

from __future__ import annotations

from typing import Any

from generator.aws.status import StackStatus
from generator.forecast.account import Account, ApiError
from generator.forecast.instances import InstanceType, lookup
from generator.forecast.model import Check, Finding, Subject


def service_location(subject: Subject) -> tuple[str, str]:
    """(stack, logical id) of the ECS service, for findings about it."""
    for stack, logical, _ in subject.resources("AWS::ECS::Service"):
        return stack, logical
    return "ecs", "Service"


def ec2_instance_type(check: Check, subject: Subject) -> tuple[InstanceType | None, list[Finding]]:
    """The env's container instance type from the table, or a warning that it is unknown.
    (None, []) on Fargate, where there is no instance to place on."""
    cfg = subject.cfg
    if cfg.ecs.fargate:
        return None, []
    itype = lookup(cfg.asg.instance_type)
    if itype is None:
        return None, [check.finding(
            "warning", "asg", "LaunchTemplate",
            f"instance type {cfg.asg.instance_type} is not in the forecast's table, so "
            "placement is not computed",
            "add its vCPUs, memory and ENIs to generator/forecast/instances.py")]
    return itype, []


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def deployed_stack(account: Account, stack_name: str) -> dict[str, Any] | None:
    """The stack as DescribeStacks answers, or None when it does not exist (yet)."""
    try:
        stacks = account.call("cloudformation", "describe_stacks", StackName=stack_name)["Stacks"]
    except ApiError as exc:
        if exc.code == "ValidationError":  # CloudFormation's "Stack ... does not exist"
            return None
        raise
    live = [s for s in stacks if not StackStatus(s.get("StackStatus", "")).is_deleted()]
    return live[0] if live else None


def located(subject: Subject, resource_type: str, default: tuple[str, str]) -> tuple[str, str]:
    """(stack, logical id) of the first resource of a type: findings name where it lives,
    whichever stack the templates put it in."""
    for stack, logical, _ in subject.resources(resource_type):
        return stack, logical
    return default
