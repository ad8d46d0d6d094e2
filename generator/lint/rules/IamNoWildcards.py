from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.lint.rules._common import as_list, props, resources

IAM_TYPES = ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User",
             "AWS::IAM::Group")
BROAD_MANAGED = ("FullAccess", "AdministratorAccess", "PowerUserAccess")


def _documents(properties: dict[str, Any]) -> list[tuple[list[Any], Any]]:
    docs: list[tuple[list[Any], Any]] = []
    if "PolicyDocument" in properties:
        docs.append((["PolicyDocument"], properties["PolicyDocument"]))
    for i, policy in enumerate(as_list(properties.get("Policies") or [])):
        if isinstance(policy, dict):
            docs.append((["Policies", i, "PolicyDocument"], policy.get("PolicyDocument")))
    return docs


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
            for path, doc in _documents(properties):
                statements = doc.get("Statement") if isinstance(doc, dict) else None
                for j, stmt in enumerate(as_list(statements or [])):
                    if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
                        continue
                    for action in as_list(stmt.get("Action") or []):
                        if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                            matches.append(RuleMatch([*base, *path, "Statement", j, "Action"],
                                                     f"{name} allows wildcard action {action}"))
        return matches
