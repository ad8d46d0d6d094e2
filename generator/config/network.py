"""The network stack's params: the VPC created, or an existing one passed through."""


from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from generator.config.base import Cidr, Strict, doc


class FlowLogs(Strict):
    """VPC flow logs to CloudWatch Logs: the network half of the audit trail (issue 13)."""

    enabled: Annotated[
        bool | None, doc("on by default in prod-like envs (termination_protection: true)")
    ] = None
    traffic_type: Annotated[Literal["ALL", "ACCEPT", "REJECT"], doc("which flows are logged")] = "ALL"
    retention_days: Annotated[
        Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653],
        doc("CloudWatch Logs retention of the flow logs"),
    ] = 365


class Network(Strict):
    """The VPC: created by the network stack, or an existing one passed through."""

    mode: Annotated[
        Literal["create", "existing"], doc("`create` a VPC, or pass an `existing` one through")
    ] = "create"
    cidr: Annotated[Cidr, doc("VPC CIDR (mode create)")] = "10.0.0.0/16"
    availability_zones: Annotated[list[str], Meta(min_length=2), doc("AZs for subnets (mode create)")] = (
        msgspec.field(default_factory=lambda: ["us-east-1a", "us-east-1b"])
    )
    private_subnets: Annotated[
        bool, doc("app and DB in private subnets behind a NAT gateway (mode create)")
    ] = False
    # A NAT gateway lives in one AZ: with a single one, losing that AZ cuts every
    # private subnet off the internet (VPC user guide, "NAT gateway basics").
    nat_gateways: Annotated[
        Literal["one_per_az", "single"],
        doc("private subnets: a NAT gateway in each AZ, or one shared (cheaper, one AZ's fate)"),
    ] = "one_per_az"
    flow_logs: FlowLogs = msgspec.field(default_factory=FlowLogs)
    vpc_id: Annotated[str | None, doc("existing VPC id (mode existing)")] = None
    public_subnet_ids: Annotated[list[str], doc("existing public subnets (mode existing)")] = []
    private_subnet_ids: Annotated[
        list[str], doc("existing app/DB subnets; public ones when empty (mode existing)")
    ] = []
