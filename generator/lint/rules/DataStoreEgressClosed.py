from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import as_list, is_open, props, references, resources

# Data stores and the property that names their security groups.
DATA_STORES = {
    "AWS::RDS::DBInstance": ("VPCSecurityGroups", "VpcSecurityGroupIds"),
    "AWS::RDS::DBCluster": ("VpcSecurityGroupIds",),
    "AWS::ElastiCache::CacheCluster": ("VpcSecurityGroupIds",),
    "AWS::ElastiCache::ReplicationGroup": ("SecurityGroupIds",),
    "AWS::EFS::MountTarget": ("SecurityGroups",),
    "AWS::DocDB::DBCluster": ("VpcSecurityGroupIds",),
    "AWS::Neptune::DBCluster": ("VpcSecurityGroupIds",),
    "AWS::Redshift::Cluster": ("VpcSecurityGroupIds",),
    "AWS::MemoryDB::Cluster": ("SecurityGroupIds",),
}


class DataStoreEgressClosed(CloudFormationLintRule):
    """A database answers; it does not call out. Its security group has no open egress.

    A security group without SecurityGroupEgress gets AWS's default rule, all traffic
    to 0.0.0.0/0; to allow none, give it one rule that matches nothing (e.g. IpProtocol
    -1 to 127.0.0.1/32).
    """

    id = "E9116"
    shortdesc = "A data store's security group has no open egress"
    description = (
        "Security groups of DB instances and clusters, caches and file systems must list "
        "their egress, none of it to 0.0.0.0/0 or ::/0 (no SecurityGroupEgress means all)"
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroup.html"
    tags = ["stackgen", "network", "data"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        groups = {n: r for n, r in resources(cfn.template, "AWS::EC2::SecurityGroup")}
        store_groups: dict[str, str] = {}
        for name, res in resources(cfn.template, *DATA_STORES):
            for key in DATA_STORES[res["Type"]]:
                for ref in references(props(res).get(key)):
                    if ref in groups:
                        store_groups.setdefault(ref, name)
        matches = []
        for group, store in sorted(store_groups.items()):
            egress = props(groups[group]).get("SecurityGroupEgress")
            base = ["Resources", group, "Properties"]
            if egress is None:
                matches.append(RuleMatch(base, f"{group} (of {store}) has AWS's default egress, "
                                               "all traffic anywhere; list its egress"))
            for i, rule in enumerate(as_list(egress or [])):
                if is_open(rule):
                    matches.append(RuleMatch([*base, "SecurityGroupEgress", i],
                                             f"{group} (of {store}) allows egress to the internet"))
        for name, res in resources(cfn.template, "AWS::EC2::SecurityGroupEgress"):
            owner = references(props(res).get("GroupId")) & set(store_groups)
            if owner and is_open(props(res)):
                matches.append(RuleMatch(["Resources", name, "Properties"],
                                         f"{name} opens egress of {min(owner)} to the internet"))
        return matches
