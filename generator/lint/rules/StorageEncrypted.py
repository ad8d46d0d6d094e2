from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import as_list, props, resources


class StorageEncrypted(CloudFormationLintRule):
    """Databases and EBS volumes are encrypted at rest."""

    id = "E9103"
    shortdesc = "Storage encrypted"
    description = "RDS instances and EBS volumes (launch templates, volumes) must be encrypted"
    source_url = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html"
    tags = ["stackgen", "security"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, "AWS::RDS::DBInstance"):
            if props(res).get("StorageEncrypted") not in (True, "true"):
                matches.append(RuleMatch(["Resources", name, "Properties"],
                                         f"DB instance {name} does not set StorageEncrypted: true"))
        for name, res in resources(cfn.template, "AWS::EC2::Volume"):
            if props(res).get("Encrypted") not in (True, "true"):
                matches.append(RuleMatch(["Resources", name, "Properties"],
                                         f"EBS volume {name} is not encrypted"))
        for name, res in resources(cfn.template, "AWS::EC2::LaunchTemplate"):
            data = props(res).get("LaunchTemplateData") or {}
            for i, mapping in enumerate(as_list(data.get("BlockDeviceMappings") or [])):
                ebs = mapping.get("Ebs") if isinstance(mapping, dict) else None
                if isinstance(ebs, dict) and ebs.get("Encrypted") not in (True, "true"):
                    path = ["Resources", name, "Properties", "LaunchTemplateData",
                            "BlockDeviceMappings", i, "Ebs"]
                    matches.append(RuleMatch(path, f"EBS volume of {name} is not encrypted"))
        return matches
