from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import props, resources


class Imdsv2Required(CloudFormationLintRule):
    """Instances only answer IMDSv2 (session tokens), which blocks SSRF credential theft."""

    id = "E9105"
    shortdesc = "Launch templates require IMDSv2"
    description = "LaunchTemplateData.MetadataOptions.HttpTokens must be 'required'"
    source_url = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html"
    tags = ["stackgen", "security"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, "AWS::EC2::LaunchTemplate"):
            data = props(res).get("LaunchTemplateData") or {}
            options = data.get("MetadataOptions") or {}
            if options.get("HttpTokens") != "required":
                matches.append(RuleMatch(
                    ["Resources", name, "Properties", "LaunchTemplateData"],
                    f"{name} does not require IMDSv2 (MetadataOptions.HttpTokens: required)",
                ))
        return matches
