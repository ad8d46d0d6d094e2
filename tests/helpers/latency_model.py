"""Helpers shared by the tests split from test_latency_model.py."""

from __future__ import annotations

import json
import time
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


def execute(cfn: Any, name: str, template: dict[str, Any], kind: str = "CREATE") -> float:
    cs = cfn.create_change_set(StackName=name, ChangeSetName=f"cs{time.monotonic_ns()}",
                               ChangeSetType=kind, TemplateBody=json.dumps(template))
    started = time.monotonic()
    cfn.execute_change_set(ChangeSetName=cs["Id"])
    return started


def stack(cfn: Any, name: str) -> dict[str, Any]:
    return dict(cfn.describe_stacks(StackName=name)["Stacks"][0])
