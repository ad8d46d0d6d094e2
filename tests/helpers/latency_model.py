"""Helpers shared by the tests split from test_latency_model.py."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

TEMPLATE = {
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet",
                   "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24"}},
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "lat"}},
    },
    "Outputs": {"SubnetId": {"Value": {"Ref": "Subnet"}}},
}


def execute(cfn: Any, name: str, template: dict[str, Any], kind: str = "CREATE") -> None:
    cs = cfn.create_change_set(StackName=name, ChangeSetName=f"cs{time.monotonic_ns()}",
                               ChangeSetType=kind, TemplateBody=json.dumps(template))
    cfn.execute_change_set(ChangeSetName=cs["Id"])


def stack(cfn: Any, name: str) -> dict[str, Any]:
    return dict(cfn.describe_stacks(StackName=name)["Stacks"][0])


def opened(cfn: Any, name_or_id: str, status: str) -> datetime:
    """When the stack's latest operation began (its own ``status`` event), model time: what
    a test measures the modelled windows from."""
    events = cfn.describe_stack_events(StackName=name_or_id)["StackEvents"]
    name = name_or_id.split("/")[1] if name_or_id.startswith("arn:") else name_or_id
    return max(e["Timestamp"] for e in events
               if e["LogicalResourceId"] == name and e["ResourceStatus"] == status)
