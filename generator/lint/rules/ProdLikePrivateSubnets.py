from __future__ import annotations

import re
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import OPEN_CIDRS, is_true, props, references, resources
from generator.lint.rules._common import ProdLikeOnly

# Where instances, tasks and data stores are placed, by resource type.
PLACEMENT = {
    "AWS::AutoScaling::AutoScalingGroup": ["VPCZoneIdentifier"],
    "AWS::EC2::Instance": ["SubnetId"],
    "AWS::ECS::Service": ["NetworkConfiguration", "AwsvpcConfiguration", "Subnets"],
    "AWS::ECS::TaskSet": ["NetworkConfiguration", "AwsvpcConfiguration", "Subnets"],
    "AWS::RDS::DBSubnetGroup": ["SubnetIds"],
}
# The network stack's outputs that the stack graph hands to instances, tasks and the
# DB (templates/stacks.yaml: AppSubnetIds); a prod-like env must point them at private
# subnets.
APP_SUBNET_OUTPUT = re.compile(r"^(App|Private|Db|Data)\w*Subnet")


def _public_subnets(template: dict[str, Any]) -> set[str]:
    """Subnets that give public IPs at launch or route to an internet gateway."""
    gateways = {n for n, _ in resources(template, "AWS::EC2::InternetGateway")}
    public_tables = {
        str(next(iter(references(props(r).get("RouteTableId"))), ""))
        for _, r in resources(template, "AWS::EC2::Route")
        if (props(r).get("DestinationCidrBlock") in OPEN_CIDRS
            or props(r).get("DestinationIpv6CidrBlock") in OPEN_CIDRS)
        and references(props(r).get("GatewayId")) & gateways
    }
    public = {n for n, r in resources(template, "AWS::EC2::Subnet")
              if is_true(props(r).get("MapPublicIpOnLaunch"))}
    for _, assoc in resources(template, "AWS::EC2::SubnetRouteTableAssociation"):
        if references(props(assoc).get("RouteTableId")) & public_tables:
            public |= references(props(assoc).get("SubnetId"))
    return public


def _dig(value: Any, path: list[str]) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


class ProdLikePrivateSubnets(ProdLikeOnly, CloudFormationLintRule):
    """In a prod-like env, instances, tasks and the DB live in private subnets."""

    id = "E9114"
    shortdesc = "Prod-like envs: instances, tasks and DBs in private subnets"
    description = (
        "In a prod-like env (termination_protection: true), auto scaling groups, instances, "
        "ECS services and DB subnet groups, and the App/Private/Db subnet outputs handed to "
        "them, must not use subnets that map public IPs or route to an internet gateway"
    )
    source_url = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-example-private-subnets-nat.html"
    tags = ["stackgen", "network", "prod"]

    def match_prod_like(self, cfn):  # type: ignore[no-untyped-def]
        public = _public_subnets(cfn.template)
        if not public:
            return []
        matches = []
        for rtype, path in PLACEMENT.items():
            for name, res in resources(cfn.template, rtype):
                used = references(_dig(props(res), path)) & public
                if used:
                    matches.append(RuleMatch(
                        ["Resources", name, "Properties", *path],
                        f"{name} is placed in public subnets ({', '.join(sorted(used))}) "
                        "in a prod-like env"))
        for name, output in (cfn.template.get("Outputs") or {}).items():
            if not APP_SUBNET_OUTPUT.match(str(name)) or not isinstance(output, dict):
                continue
            used = references(output.get("Value")) & public
            if used:
                matches.append(RuleMatch(
                    ["Outputs", name, "Value"],
                    f"Output {name} hands public subnets ({', '.join(sorted(used))}) to "
                    "instances, tasks or the DB in a prod-like env; set "
                    "network.private_subnets: true"))
        return matches
