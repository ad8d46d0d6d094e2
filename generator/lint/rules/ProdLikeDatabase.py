from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import is_true, props, resources
from generator.lint.rules._common import ProdLikeOnly


class ProdLikeDatabase(ProdLikeOnly, CloudFormationLintRule):
    """A prod-like env's database survives a mistaken delete and can be restored."""

    id = "E9113"
    shortdesc = "Prod-like envs: DB deletion protection and backups"
    description = (
        "In a prod-like env (termination_protection: true), DB instances and clusters set "
        "DeletionProtection: true and keep automated backups (BackupRetentionPeriod > 0)"
    )
    source_url = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html#USER_DeletionProtection"
    tags = ["stackgen", "data", "prod"]

    def match_prod_like(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, "AWS::RDS::DBInstance", "AWS::RDS::DBCluster"):
            p = props(res)
            base = ["Resources", name, "Properties"]
            protection = p.get("DeletionProtection")
            if not isinstance(protection, dict) and not is_true(protection):
                matches.append(RuleMatch(base, f"{name} has no DeletionProtection in a prod-like env"))
            # Unset, RDS keeps one day (CloudFormation's default); 0 turns backups off.
            # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html
            backups = p.get("BackupRetentionPeriod")
            if backups is not None and not isinstance(backups, dict) and str(backups) == "0":
                matches.append(RuleMatch([*base, "BackupRetentionPeriod"],
                                         f"{name} keeps no automated backups in a prod-like env"))
        return matches
