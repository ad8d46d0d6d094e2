"""A picture of the env and of a change: a Mermaid flowchart with the stacks as
groups, the resources that matter as nodes, outputs → parameters as labelled
edges, and each resource coloured by what the plan does to it. GitHub draws
Mermaid in Markdown, so the review's pull-request comment shows it as a diagram.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from generator.graph import Graph

# Plumbing a reader of the architecture does not need, unless the plan changes it.
QUIET_TYPES = frozenset({
    "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::Route", "AWS::EC2::RouteTable",
    "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress", "AWS::IAM::InstanceProfile", "AWS::IAM::Policy",
    "AWS::AutoScaling::ScalingPolicy", "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::ApplicationAutoScaling::ScalableTarget", "AWS::CloudWatch::Alarm",
    "AWS::RDS::DBSubnetGroup", "AWS::EC2::EIP",
})
# The plan's action → Mermaid class; one table, as the terminal's colours are.
ACTION_CLASSES = {
    "Add": ("add", "fill:#dafbe1,stroke:#1a7f37,color:#0b2e13"),
    "Modify": ("modify", "fill:#fff8c5,stroke:#9a6700,color:#3b2300"),
    "Replace": ("replace", "fill:#ffebe9,stroke:#cf222e,stroke-width:3px,color:#4c0b0b"),
    "Remove": ("remove", "fill:#eaeef2,stroke:#6e7781,stroke-dasharray:4 3,color:#57606a"),
}


def _node_id(stack: str, logical_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{stack}_{logical_id}")


def _short_type(resource_type: str) -> str:
    return resource_type.split("::", 1)[-1].replace("::", " ")


def diagram(graph: Graph, templates: Mapping[str, Mapping[str, Any]],
            actions: Mapping[tuple[str, str], str] | None = None) -> str:
    """Mermaid text for ``graph``'s stacks and their templates' resources.

    ``actions`` maps (stack, logical id) to Add, Modify, Replace or Remove; a
    removed resource is drawn from ``actions`` alone, since the template no
    longer holds it.
    """
    actions = actions or {}
    lines = ["flowchart LR"]
    used: set[str] = set()
    for stack in graph.order:
        resources = dict((templates.get(stack) or {}).get("Resources") or {})
        for (s, logical_id), what in actions.items():
            if s == stack and what == "Remove" and logical_id not in resources:
                resources[logical_id] = {"Type": "(removed)"}
        lines.append(f"    subgraph {stack}[\"{stack}\"]")
        lines.append("        direction TB")
        shown = 0
        for logical_id, res in resources.items():
            rtype = str((res or {}).get("Type", ""))
            change = actions.get((stack, logical_id))
            if rtype in QUIET_TYPES and change is None:
                continue
            node = _node_id(stack, logical_id)
            lines.append(f"        {node}[\"{logical_id}<br/><small>{_short_type(rtype)}"
                         f"</small>\"]")
            if change in ACTION_CLASSES:
                lines.append(f"        class {node} {ACTION_CLASSES[change][0]}")
                used.add(change)
            shown += 1
        if not shown:
            lines.append(f"        {stack}_empty[\"(no resources)\"]")
        lines.append("    end")
    for up, down, outs in graph.edges():
        label = ", ".join(outs)
        lines.append(f"    {up} -- \"{label}\" --> {down}")
    for kind, (name, style) in ACTION_CLASSES.items():
        if kind in used:
            lines.append(f"    classDef {name} {style}")
    return "\n".join(lines) + "\n"


def legend(actions: Mapping[tuple[str, str], str]) -> str:
    """What the colours mean, for the actions the diagram shows."""
    words = {"Add": "green: added", "Modify": "yellow: modified",
             "Replace": "red: replaced", "Remove": "grey, dashed: removed"}
    present = [words[a] for a in ACTION_CLASSES if a in set(actions.values())]
    return "; ".join(present)
