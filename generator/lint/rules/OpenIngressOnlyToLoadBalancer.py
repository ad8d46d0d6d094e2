from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import OPEN_CIDRS, as_list, ingress_rules, props, referenced, resources

WEB_PORTS = {80, 443}


class OpenIngressOnlyToLoadBalancer(CloudFormationLintRule):
    """The internet reaches the load balancer on 80/443 and nothing else."""

    id = "E9104"
    shortdesc = "Ingress from 0.0.0.0/0 or ::/0 only to the load balancer on 80/443"
    description = (
        "An open CIDR is allowed only on a security group attached to a load balancer, "
        "and only for ports 80 and 443"
    )
    source_url = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-best-practices.html"
    tags = ["stackgen", "network"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        lb_groups = {
            referenced(sg)
            for _, lb in resources(cfn.template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
            for sg in as_list(props(lb).get("SecurityGroups") or [])
        }
        # A group made for a load balancer in another stack: it says so in its
        # Metadata and leaves through an Output; the 80/443 check still applies.
        exported = {referenced((o or {}).get("Value")) for o in (cfn.template.get("Outputs") or {}).values()
                    if isinstance(o, dict)}
        lb_groups |= {
            name for name, sg in resources(cfn.template, "AWS::EC2::SecurityGroup")
            if name in exported
            and ((sg.get("Metadata") or {}).get("stackgen") or {}).get("load_balancer_group") is True
        }
        matches = []

        def check(rule: dict[str, Any], group: str | None, path: list[Any]) -> None:
            cidr = rule.get("CidrIp") or rule.get("CidrIpv6")
            if cidr not in OPEN_CIDRS:
                return
            lo, hi = rule.get("FromPort"), rule.get("ToPort")
            ports_ok = lo == hi and isinstance(lo, int) and lo in WEB_PORTS
            if group not in lb_groups:
                matches.append(RuleMatch(path, f"{cidr} may only reach a load balancer's group"))
            elif not ports_ok:
                matches.append(RuleMatch(path, f"{cidr} may only reach ports 80 and 443"))

        for found in ingress_rules(cfn.template):
            check(found.rule, found.group, found.path)
        return matches
