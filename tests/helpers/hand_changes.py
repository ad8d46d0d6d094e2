"""Changes made by hand on a deployed local env, as an operator would in the console: what
drift detection, `plan`'s drift column and `--revert-drift` must notice."""

from __future__ import annotations

from typing import Any


def open_load_balancer_group(aws: Any, port: int = 22, cidr: str = "0.0.0.0/0",
                             stack: str = "kubenews-local-network") -> str:
    """Add an ingress rule to the deployed AlbSecurityGroup outside CloudFormation;
    returns the group's id."""
    resources = aws.cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    group: str = next(r["PhysicalResourceId"] for r in resources
                      if r["LogicalResourceId"] == "AlbSecurityGroup")
    aws.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
        "IpRanges": [{"CidrIp": cidr}]}])
    return group
