from __future__ import annotations

import re

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import props, resources

# ELB security policies whose lowest protocol is TLS 1.2 or 1.3 (TLS13-1-2-*, TLS13-1-3-*,
# TLS-1-2-*, FS-1-2-*, with their Res/Ext/FIPS/PQ variants). Everything else, such as
# ELBSecurityPolicy-2016-08 (the default), -TLS-1-0-*, -TLS-1-1-*, -FS-2018-06,
# -TLS13-1-0-*, -TLS13-1-1-*, still accepts TLS 1.0 or 1.1.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
MODERN = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-[23]|FS-1-2)-")
DEFAULT_POLICY = "ELBSecurityPolicy-2016-08"


class ListenerTlsPolicy(CloudFormationLintRule):
    """HTTPS listeners speak TLS 1.2 or newer only."""

    id = "E9110"
    shortdesc = "HTTPS listeners use a TLS 1.2+ security policy"
    description = "An HTTPS or TLS listener's SslPolicy must not accept TLS 1.0 or 1.1"
    source_url = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html"
    tags = ["stackgen", "network"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, "AWS::ElasticLoadBalancingV2::Listener"):
            p = props(res)
            if p.get("Protocol") not in ("HTTPS", "TLS"):
                continue
            policy = p.get("SslPolicy", DEFAULT_POLICY)
            if isinstance(policy, str) and not MODERN.match(policy):
                matches.append(RuleMatch(
                    ["Resources", name, "Properties", "SslPolicy" if "SslPolicy" in p else "Protocol"],
                    f"{name} uses {policy}, which accepts TLS older than 1.2; use "
                    "ELBSecurityPolicy-TLS13-1-2-2021-06"))
        return matches
