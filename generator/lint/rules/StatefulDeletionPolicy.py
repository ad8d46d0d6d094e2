from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import STATEFUL_TYPES, resources


class StatefulDeletionPolicy(CloudFormationLintRule):
    """Data-holding resources say what happens to their data on delete and replace."""

    id = "E9102"
    shortdesc = "Stateful resources carry DeletionPolicy and UpdateReplacePolicy"
    description = (
        "DB instances, hosted zones, secrets, log groups and other data stores must set "
        "both policies explicitly"
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html"
    tags = ["stackgen", "data"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, *STATEFUL_TYPES):
            for attr in ("DeletionPolicy", "UpdateReplacePolicy"):
                if attr not in res:
                    matches.append(RuleMatch(["Resources", name],
                                             f"{res['Type']} {name} has no {attr}"))
        return matches
