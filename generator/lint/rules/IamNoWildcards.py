from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import IAM_TYPES, as_list, identity_statements, props, resources

BROAD_MANAGED = ("FullAccess", "AdministratorAccess", "PowerUserAccess")


class IamNoWildcards(CloudFormationLintRule):
    """Least privilege: name the actions, never '*' or a FullAccess managed policy."""

    id = "E9106"
    shortdesc = "IAM: no '*' actions, no *FullAccess managed policies"
    description = "Allow statements must list actions; broad AWS managed policies are refused"
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
    tags = ["stackgen", "iam"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, *IAM_TYPES):
            properties = props(res)
            base = ["Resources", name, "Properties"]
            for i, arn in enumerate(as_list(properties.get("ManagedPolicyArns") or [])):
                text = str(arn)
                if any(word in text for word in BROAD_MANAGED):
                    matches.append(RuleMatch([*base, "ManagedPolicyArns", i],
                                             f"{name} attaches a broad managed policy"))
            for path, stmt in identity_statements(properties):
                if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
                    continue
                for action in as_list(stmt.get("Action") or []):
                    if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                        matches.append(RuleMatch([*base, *path, "Action"],
                                                 f"{name} allows wildcard action {action}"))
        return matches
