from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.lint.rules._common import as_list, props, resources

OPEN = ("0.0.0.0/0", "::/0")
WEB_PORTS = {80, 443}


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(as_list(value["Fn::GetAtt"])[0]).split(".")[0]
    return None


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
            _ref(sg)
            for _, lb in resources(cfn.template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
            for sg in as_list(props(lb).get("SecurityGroups") or [])
        }
        # A group made for a load balancer in another stack: it says so in its
        # Metadata and leaves through an Output; the 80/443 check still applies.
        exported = {_ref((o or {}).get("Value")) for o in (cfn.template.get("Outputs") or {}).values()
                    if isinstance(o, dict)}
        lb_groups |= {
            name for name, sg in resources(cfn.template, "AWS::EC2::SecurityGroup")
            if name in exported
            and ((sg.get("Metadata") or {}).get("stackgen") or {}).get("load_balancer_group") is True
        }
        matches = []

        def check(rule: dict[str, Any], group: str | None, path: list[Any]) -> None:
            cidr = rule.get("CidrIp") or rule.get("CidrIpv6")
            if cidr not in OPEN:
                return
            lo, hi = rule.get("FromPort"), rule.get("ToPort")
            ports_ok = lo == hi and isinstance(lo, int) and lo in WEB_PORTS
            if group not in lb_groups:
                matches.append(RuleMatch(path, f"{cidr} may only reach a load balancer's group"))
            elif not ports_ok:
                matches.append(RuleMatch(path, f"{cidr} may only reach ports 80 and 443"))

        for name, sg in resources(cfn.template, "AWS::EC2::SecurityGroup"):
            for i, rule in enumerate(as_list(props(sg).get("SecurityGroupIngress") or [])):
                if isinstance(rule, dict):
                    check(rule, name, ["Resources", name, "Properties", "SecurityGroupIngress", i])
        for name, ing in resources(cfn.template, "AWS::EC2::SecurityGroupIngress"):
            check(props(ing), _ref(props(ing).get("GroupId")), ["Resources", name, "Properties"])
        return matches
