from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import as_list, is_true, props, resources
from generator.lint.rules._common import ProdLikeOnly


class NoPublicIpInProdLike(ProdLikeOnly, CloudFormationLintRule):
    """In a prod-like env, instances and tasks have no public address: only the load
    balancer faces the internet."""

    id = "E9112"
    shortdesc = "Prod-like envs: no public IPs on instances or tasks"
    description = (
        "In a prod-like env (termination_protection: true), ECS services and task sets must "
        "not assign public IPs, nor launch templates and instances associate them"
    )
    source_url = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/networking-outbound.html"
    tags = ["stackgen", "network", "prod"]

    def match_prod_like(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, "AWS::ECS::Service", "AWS::ECS::TaskSet"):
            vpc = (props(res).get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
            if isinstance(vpc, dict) and vpc.get("AssignPublicIp") == "ENABLED":
                matches.append(RuleMatch(
                    ["Resources", name, "Properties", "NetworkConfiguration",
                     "AwsvpcConfiguration", "AssignPublicIp"],
                    f"{name} gives its tasks public IPs in a prod-like env; use private "
                    "subnets and AssignPublicIp: DISABLED"))
        for name, res in resources(cfn.template, "AWS::EC2::LaunchTemplate", "AWS::EC2::Instance"):
            p = props(res)
            nested = "LaunchTemplateData" in p
            data = p["LaunchTemplateData"] if nested else p
            base = ["Resources", name, "Properties", *(["LaunchTemplateData"] if nested else [])]
            if not isinstance(data, dict):
                continue
            for i, nic in enumerate(as_list(data.get("NetworkInterfaces") or [])):
                if isinstance(nic, dict) and is_true(nic.get("AssociatePublicIpAddress")):
                    matches.append(RuleMatch(
                        [*base, "NetworkInterfaces", i, "AssociatePublicIpAddress"],
                        f"{name} associates a public IP in a prod-like env"))
        return matches
