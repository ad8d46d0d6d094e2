from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import is_true, props, resources


class RdsNotPublic(CloudFormationLintRule):
    """A database is reached from the app's network only, never from the internet."""

    id = "E9109"
    shortdesc = "RDS is not publicly accessible"
    description = "DB instances and clusters must not set PubliclyAccessible: true"
    source_url = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.Hiding"
    tags = ["stackgen", "network", "data"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        return [
            RuleMatch(["Resources", name, "Properties", "PubliclyAccessible"],
                      f"{name} is publicly accessible; set PubliclyAccessible: false")
            for name, res in resources(cfn.template, "AWS::RDS::DBInstance", "AWS::RDS::DBCluster")
            if is_true(props(res).get("PubliclyAccessible"))
        ]
