"""The context a stack template is rendered from: its Parameters, Outputs and view.

Every stack but ecs has a frozen view of its own in ``generator/views/<stack>.py``,
built from the env's facts (``views/facts.py``); ecs still fills ``values`` here.
Templates only place values; anything computed is decided in Python, so it is
typed, testable and the same for every template.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from generator.config import Environment
from generator.graph import Stack
from generator.views import alb, asg, cert, cluster, dns, ecs, network, rds
from generator.views.common import (  # re-exported: other modules import them from here
    CHECKOV_REASONS,
    NO_EGRESS,
    Built,
    Egress,
    Ingress,
    Names,
    Output,
    Param,
    Raw,
    logical_id,
    yaml_scalar,
)
from generator.views.facts import EPHEMERAL_PORTS, Facts

__all__ = ["CHECKOV_REASONS", "EPHEMERAL_PORTS", "NO_EGRESS", "Egress", "Facts", "Ingress", "Names",
           "Output", "Param", "Raw", "StackContext", "conditions", "logical_id",
           "stack_context", "yaml_scalar"]


def conditions(cfg: Environment) -> frozenset[str]:
    """Named facts about an env that stacks.yaml may select inputs and stacks by."""
    return Facts.of(cfg).conditions


class StackContext(msgspec.Struct):
    """Everything one stack template is rendered from."""

    stack: str
    cfg: Environment
    names: Names
    params: list[Param] = msgspec.field(default_factory=list)
    outputs: list[Output] = msgspec.field(default_factory=list)
    view: Any = None  # the stack's frozen view (generator/views/<stack>.py); templates read view.*

    def as_template_vars(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "cfg": self.cfg,
            "names": self.names,
            "params": self.params,
            "outputs": self.outputs,
            "view": self.view,
        }


# Types of the Parameters that carry upstream outputs.
INPUT_TYPES = {
    "VpcId": "AWS::EC2::VPC::Id",
    "PublicSubnetIds": "List<AWS::EC2::Subnet::Id>",
    "AppSubnetIds": "List<AWS::EC2::Subnet::Id>",
    "DbSubnetIds": "List<AWS::EC2::Subnet::Id>",
    "HostedZoneId": "AWS::Route53::HostedZone::Id",
    "AlbSecurityGroupId": "AWS::EC2::SecurityGroup::Id",
    "AppSecurityGroupId": "AWS::EC2::SecurityGroup::Id",
}


def _input_params(stack: Stack) -> list[Param]:
    return [
        Param(
            i.param,
            INPUT_TYPES.get(i.param, "String"),
            f"{i.output} output of the {i.stack} stack",
            source={"From": i.ref},
        )
        for i in stack.inputs
    ]


# --- one builder per stack ------------------------------------------------------




# One module per stack under generator/views/, built from the env's facts.
VIEWS: dict[str, Callable[[Environment, Names, Facts], Built[Any]]] = {
    "network": network.build,
    "dns": dns.build,
    "cluster": cluster.build,
    "cert": cert.build,
    "alb": alb.build,
    "asg": asg.build,
    "rds": rds.build,
    "ecs": ecs.build,
}


def stack_context(stack: Stack, cfg: Environment, names: Names,
                  facts: Facts | None = None) -> StackContext:
    facts = facts or Facts.of(cfg)
    ctx = StackContext(stack.name, cfg, names)
    view = VIEWS.get(stack.name)
    if view:
        built = view(cfg, names, facts)
        ctx.view = built.view
        ctx.params += built.params
        ctx.outputs += built.outputs
    # Upstream inputs come last so a stack may not redefine them by accident.
    defined = {p.name for p in ctx.params}
    ctx.params += [p for p in _input_params(stack) if p.name not in defined]
    return ctx
