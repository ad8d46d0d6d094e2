from __future__ import annotations

from collections.abc import Callable

import msgspec

from generator.forecast.account import Account, ApiError, not_found
from generator.forecast.checks._common import deployed_stack
from generator.forecast.model import AccountCheck, Finding, Subject


class Quota(msgspec.Struct, frozen=True):
    resource_type: str
    service_code: str
    quota_code: str
    name: str
    usage: Callable[[Account], int]


def _vpcs(a: Account) -> int:
    return len(a.pages("ec2", "describe_vpcs", "Vpcs"))


def _eips(a: Account) -> int:
    return len(a.call("ec2", "describe_addresses")["Addresses"])


def _nat_gateways(a: Account) -> int:
    # Counted over the region: at most what any one AZ holds, so the check errs safe.
    gateways = a.pages("ec2", "describe_nat_gateways", "NatGateways")
    return sum(1 for g in gateways if g.get("State") in ("pending", "available"))


def _albs(a: Account) -> int:
    lbs = a.pages("elbv2", "describe_load_balancers", "LoadBalancers")
    return sum(1 for lb in lbs if lb.get("Type") == "application")


def _db_instances(a: Account) -> int:
    return len(a.pages("rds", "describe_db_instances", "DBInstances"))


# Service Quotas codes: Service Quotas console / `aws service-quotas list-service-quotas`.
QUOTAS = (
    Quota("AWS::EC2::VPC", "vpc", "L-F678F1CE", "VPCs per Region", _vpcs),
    Quota("AWS::EC2::EIP", "ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", _eips),
    Quota("AWS::EC2::NatGateway", "vpc", "L-FE5A380F", "NAT gateways per Availability Zone",
          _nat_gateways),
    Quota("AWS::ElasticLoadBalancingV2::LoadBalancer", "elasticloadbalancing", "L-53DA6B97",
          "Application Load Balancers per Region", _albs),
    Quota("AWS::RDS::DBInstance", "rds", "L-7B6409FD", "DB instances", _db_instances),
)


class QuotaHeadroom(AccountCheck):
    """What the plan creates fits under the account's quotas; a create over a quota fails
    mid-stack (e.g. AddressLimitExceeded, VpcLimitExceeded)."""

    id = "F404"
    title = "Quotas have room for what the plan creates"
    source = "https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html"

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        # Stacks already deployed have their resources counted in the usage.
        new_stacks = {s for s in subject.graph.order
                      if deployed_stack(account, subject.stack_name(s)) is None}
        found = []
        for quota in QUOTAS:
            planned = [(stack, logical) for stack, logical, _ in
                       subject.resources(quota.resource_type) if stack in new_stacks]
            if not planned:
                continue
            stack, logical = planned[0]
            limit = self._limit(account, quota)
            if limit is None:
                found.append(self.finding(
                    "info", stack, logical,
                    f"the endpoint does not answer quota {quota.service_code}/{quota.quota_code} "
                    f"({quota.name}); {len(planned)} new not checked against it",
                    "check the quota in the Service Quotas console"))
                continue
            used = quota.usage(account)
            if used + len(planned) > limit:
                found.append(self.finding(
                    "error", stack, logical,
                    f"{quota.name}: {used} in use + {len(planned)} planned > quota {limit:g}",
                    f"request an increase of {quota.service_code}/{quota.quota_code}, or free "
                    "some"))
        return found

    def _limit(self, account: Account, quota: Quota) -> float | None:
        # GetServiceQuota answers the applied value of these adjustable quotas.
        try:
            answer = account.call("service-quotas", "get_service_quota",
                                  ServiceCode=quota.service_code, QuotaCode=quota.quota_code)
        except ApiError as exc:
            if not_found(exc):
                return None
            raise
        return float(answer["Quota"]["Value"])
