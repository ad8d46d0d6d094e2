from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import as_list, props, resources


class HttpOnlyRedirects(CloudFormationLintRule):
    """Plain HTTP exists only to send people to HTTPS."""

    id = "E9108"
    shortdesc = "The load balancer's port 80 only redirects"
    description = "Every default action of an HTTP listener on port 80 must redirect to HTTPS"
    source_url = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html"
    tags = ["stackgen", "network"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, "AWS::ElasticLoadBalancingV2::Listener"):
            p = props(res)
            if p.get("Port") not in (80, "80") or p.get("Protocol", "HTTP") != "HTTP":
                continue
            for i, action in enumerate(as_list(p.get("DefaultActions") or [])):
                redirect = isinstance(action, dict) and action.get("Type") == "redirect"
                to_https = redirect and (action.get("RedirectConfig") or {}).get("Protocol") == "HTTPS"
                if not to_https:
                    matches.append(RuleMatch(
                        ["Resources", name, "Properties", "DefaultActions", i],
                        f"{name} on port 80 must redirect to HTTPS, not "
                        f"{action.get('Type') if isinstance(action, dict) else action}",
                    ))
        return matches
