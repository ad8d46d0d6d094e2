"""The network stack: a VPC (or an existing one passed through), the load balancer's
and the app's security groups, VPC flow logs."""

from __future__ import annotations

import ipaddress
from typing import Any

import msgspec

from generator.config import Environment
from generator.views.common import (
    NO_EGRESS,
    Built,
    Egress,
    EgressRule,
    Ingress,
    Names,
    Output,
    Param,
    Raw,
    Trust,
    skips,
    trust,
)
from generator.views.facts import Facts


class Subnet(msgspec.Struct, frozen=True):
    id: str  # logical id, e.g. PublicSubnet1
    az_index: int
    cidr: str
    name: str  # its Name tag
    route_table: str  # logical id of its route table


class NatGateway(msgspec.Struct, frozen=True):
    suffix: str  # "" for the first, so switching modes keeps its ids
    subnet: str  # logical id of the public subnet it sits in
    route_table_name: str  # Name tag of the private route table it serves


class NetworkView(msgspec.Struct, frozen=True):
    description: str
    existing: bool  # an existing VPC, passed through: no VPC resources
    vpc_ref: str  # raw YAML: the VPC the groups and flow log belong to
    # the security groups (both stacks downstream read them from here)
    alb_ingress: tuple[Ingress, ...]
    alb_egress: tuple[Egress, ...]
    alb_egress_rules: tuple[EgressRule, ...]
    alb_group_name: str
    alb_group_skips: tuple[dict[str, str], ...]
    app_ingress: tuple[Ingress, ...]
    app_egress: tuple[Egress, ...]
    app_group_name: str
    # VPC flow logs (the template reads these only when flow_logs is on)
    flow_logs: bool
    flow_log_retention_days: int
    flow_log_traffic_type: str
    flow_log_statements: tuple[dict[str, Any], ...]
    flow_log_trust: Trust
    flow_log_skips: tuple[dict[str, str], ...]
    # a created VPC (read only when it is not an existing one; the lists are empty then)
    cidr: str
    vpc_name: str
    igw_name: str
    public_route_table_name: str
    public_subnets: tuple[Subnet, ...]
    private_subnets: tuple[Subnet, ...]
    nat_gateways: tuple[NatGateway, ...]


def _alb_egress(cfg: Environment, facts: Facts) -> list[Egress]:
    """The load balancer reaches the app's group on the app's ports (and a health
    check port of its own, if set) and nothing else."""
    low, high = facts.app_ports
    rules = [Egress("to the app's ports", low, high, dest_sg="!Ref AppSecurityGroup")]
    check_port = cfg.alb.target_group.health_check.port
    if check_port.isdigit() and not low <= int(check_port) <= high:
        rules.append(Egress("to the app's health check port", int(check_port), int(check_port),
                            dest_sg="!Ref AppSecurityGroup"))
    return rules


SECURITY_GROUP_OUTPUTS = (
    Output("AlbSecurityGroupId", "!Ref AlbSecurityGroup", "load balancer security group"),
    Output("AppSecurityGroupId", "!Ref AppSecurityGroup",
           "security group of the container instances (EC2) or tasks (awsvpc)"),
)

# VPC flow logs to CloudWatch Logs, on by default in prod-like envs (VPC user guide,
# "IAM role for publishing flow logs to CloudWatch Logs": the role vpc-flow-logs
# assumes). Its permissions list DescribeLogGroups beside the stream actions; the
# group exists already (this stack), so CreateLogGroup is left out, and
# DescribeLogGroups, which names no single group, is held to this account's groups.
FLOW_LOG_STATEMENTS = (
    {
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
        "Resource": [Raw("!GetAtt FlowLogGroup.Arn")],
    },
    {
        "Effect": "Allow",
        "Action": ["logs:DescribeLogGroups"],
        "Resource": [Raw('!Sub "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}'
                         ':log-group:*"')],
    },
)


def _subnets(cfg: Environment, names: Names) -> tuple[list[Subnet], list[Subnet], list[NatGateway]]:
    """Public and private subnets (one per AZ, /20 blocks of the VPC or smaller) and
    the NAT gateways: one (with its route table) per AZ unless `single`; the first
    keeps the unnumbered ids, so switching modes adds or removes gateways without
    replacing it."""
    net = cfg.network
    vpc = ipaddress.ip_network(net.cidr)
    blocks = list(vpc.subnets(new_prefix=min(vpc.prefixlen + 4, 28)))
    zones = range(len(cfg.availability_zones))
    public = [Subnet(f"PublicSubnet{i + 1}", i, str(blocks[i]),
                     names.resource(f"publicsubnet{i + 1}"), "PublicRouteTable") for i in zones]
    if not net.private_subnets:
        return public, [], []
    per_az = net.nat_gateways == "one_per_az"
    suffixes = ["" if i == 0 else str(i + 1) for i in (zones if per_az else range(1))]
    nats = [NatGateway(suffix, public[i].id, names.resource(f"private{suffix}"))
            for i, suffix in enumerate(suffixes)]
    private = [Subnet(f"PrivateSubnet{i + 1}", i, str(blocks[8 + i]),
                      names.resource(f"privatesubnet{i + 1}"),
                      f"PrivateRouteTable{suffixes[i] if per_az else ''}") for i in zones]
    return public, private, nats


def _existing(cfg: Environment) -> tuple[tuple[Param, ...], list[Output]]:
    net = cfg.network
    params = (
        Param("VpcId", "AWS::EC2::VPC::Id", "existing VPC", value=net.vpc_id),
        Param(
            "PublicSubnetIds", "List<AWS::EC2::Subnet::Id>", "existing public subnets",
            value=",".join(net.public_subnet_ids),
        ),
        Param(
            "AppSubnetIds", "List<AWS::EC2::Subnet::Id>", "existing app and DB subnets",
            value=",".join(net.private_subnet_ids or net.public_subnet_ids),
        ),
    )
    outputs = [
        Output("VpcId", "!Ref VpcId", "VPC id"),
        Output("PublicSubnetIds", '!Join [",", !Ref PublicSubnetIds]', "public subnets"),
        Output("AppSubnetIds", '!Join [",", !Ref AppSubnetIds]', "app and DB subnets"),
    ]
    return params, outputs


def _created(cfg: Environment, public: list[Subnet],
             private: list[Subnet]) -> tuple[tuple[Param, ...], list[Output]]:
    params = (
        Param(
            "AvailabilityZones", "List<AWS::EC2::AvailabilityZone::Name>",
            "zones for the subnets", value=",".join(cfg.availability_zones),
        ),
    )
    app = private or public
    outputs = [
        Output("VpcId", "!Ref Vpc", "VPC id"),
        Output(
            "PublicSubnetIds",
            '!Join [",", [' + ", ".join(f"!Ref {s.id}" for s in public) + "]]",
            "public subnets, one per AZ",
        ),
        Output(
            "AppSubnetIds",
            '!Join [",", [' + ", ".join(f"!Ref {s.id}" for s in app) + "]]",
            "subnets for instances, tasks and the DB",
        ),
    ]
    return params, outputs


def build(cfg: Environment, names: Names, facts: Facts) -> Built[NetworkView]:
    """The load balancer's and the app's groups live in network, so that rds (which
    reads the app's group) depends on network alone and runs beside alb and asg.
    Egress is closed too (issue 13): the load balancer only to the app, the app only
    HTTPS out (ECR, ECS, CloudWatch, Secrets Manager through the NAT gateway or public
    address) and the DB port (rule in the rds stack, where the DB's group lives). DNS
    to the VPC resolver, IMDS and the time service are link-local: no rule needed."""
    net = cfg.network
    low, high = facts.app_ports
    existing = facts.vpc_mode == "existing"
    public, private, nats = ([], [], []) if existing else _subnets(cfg, names)
    params, vpc_outputs = _existing(cfg) if existing else _created(cfg, public, private)
    flow_logs = (Output("FlowLogGroupName", "!Ref FlowLogGroup", "VPC flow logs"),)
    outputs = (*SECURITY_GROUP_OUTPUTS, *(flow_logs if facts.flow_logs else ()), *vpc_outputs)
    behind_nat = " and private subnets behind NAT" if private else ""
    view = NetworkView(
        description=(f"Network: the existing VPC {net.vpc_id}, passed through" if existing
                     else f"Network: a VPC with public subnets{behind_nat}"),
        existing=existing,
        vpc_ref="!Ref VpcId" if existing else "!Ref Vpc",
        alb_ingress=tuple(
            Ingress(f"{proto} from {cidr}", port, port, cidr=cidr)
            for cidr in cfg.alb.ingress_cidrs
            for proto, port in (("HTTP", 80), ("HTTPS", 443))
        ),
        # Inline on the load balancer's group would be a cycle (the app's group names
        # it in its ingress): the real rules are AWS::EC2::SecurityGroupEgress resources.
        alb_egress=tuple(NO_EGRESS),
        alb_egress_rules=tuple(EgressRule(f"AlbEgress{i + 1}", "!Ref AlbSecurityGroup", r)
                               for i, r in enumerate(_alb_egress(cfg, facts))),
        alb_group_name=names.resource("alb"),
        alb_group_skips=tuple(skips("CKV_AWS_260") if cfg.alb.http_redirect else ()),
        app_ingress=(Ingress("app ports from the load balancer", low, high,
                             source_sg="!Ref AlbSecurityGroup"),),
        app_egress=(Egress("HTTPS to AWS APIs and the image registry", 443, 443,
                           cidr="0.0.0.0/0"),),
        app_group_name=names.resource("app"),
        flow_logs=facts.flow_logs,
        flow_log_retention_days=net.flow_logs.retention_days,
        flow_log_traffic_type=net.flow_logs.traffic_type,
        flow_log_statements=FLOW_LOG_STATEMENTS,
        flow_log_trust=trust("vpc-flow-logs.amazonaws.com"),
        flow_log_skips=tuple(skips("CKV_AWS_158")),
        cidr=net.cidr,
        vpc_name=names.resource("vpc"),
        igw_name=names.resource("igw"),
        public_route_table_name=names.resource("public"),
        public_subnets=tuple(public),
        private_subnets=tuple(private),
        nat_gateways=tuple(nats),
    )
    return Built(view, params, outputs)
