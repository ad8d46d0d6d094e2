from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import IAM_TYPES, as_list, identity_statements, props, resources, statements
from generator.iam import PASSED_TO_SERVICE, SERVICE_TRUSTS, SOURCE_ACCOUNT, SOURCE_ARN

# Both keys: the account alone admits any resource of it; the ARN alone, written with
# a wildcard account, would not pin the account (IAM user guide, "The confused deputy
# problem": "use both global condition context keys").
REQUIRED = ((SOURCE_ACCOUNT, "aws:SourceAccount"), (SOURCE_ARN, "aws:SourceArn"))


def _condition_keys(stmt: dict[str, Any]) -> set[str]:
    """The keys a statement's Condition tests, lower case (IAM compares them so)."""
    condition = stmt.get("Condition")
    if not isinstance(condition, dict):
        return set()
    return {str(key).lower() for test in condition.values() if isinstance(test, dict)
            for key in test}


def _services(stmt: dict[str, Any]) -> list[str]:
    principal = stmt.get("Principal")
    if not isinstance(principal, dict):
        return []
    return [s for s in as_list(principal.get("Service")) if isinstance(s, str)]


def _passes_roles(stmt: dict[str, Any]) -> str | None:
    """The action (maybe a wildcard such as iam:Pass*) that grants iam:PassRole."""
    for action in as_list(stmt.get("Action") or []):
        if isinstance(action, str) and fnmatchcase("iam:passrole", action.lower()):
            return action
    return None


class ConfusedDeputyGuarded(CloudFormationLintRule):
    """Service-principal trusts carry the confused-deputy keys; PassRole names its service."""

    id = "E9117"
    shortdesc = "IAM: service trusts with aws:SourceAccount/aws:SourceArn; PassRole with iam:PassedToService"
    description = (
        "A role trusting a service whose documentation gives aws:SourceAccount and "
        "aws:SourceArn for its trust (ecs-tasks, scheduler, vpc-flow-logs, events: "
        "generator/iam.py cites each page) must test both; an Allow of iam:PassRole must "
        "test iam:PassedToService, so the role goes to the service it was made for only"
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"
    tags = ["stackgen", "iam"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, *IAM_TYPES):
            properties = props(res)
            trust = properties.get("AssumeRolePolicyDocument")
            for path, stmt in statements(trust):
                if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
                    continue
                keys = _condition_keys(stmt)
                for service in _services(stmt):
                    if service not in SERVICE_TRUSTS:
                        continue
                    missing = [shown for key, shown in REQUIRED if key not in keys]
                    if missing:
                        shown = " and ".join(missing)
                        matches.append(RuleMatch(
                            ["Resources", name, "Properties", "AssumeRolePolicyDocument", *path],
                            f"{name} trusts {service} without {shown}; add the condition "
                            f"its documentation gives ({SERVICE_TRUSTS[service].source})"))
            for path, stmt in identity_statements(properties):
                if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
                    continue
                action = _passes_roles(stmt)
                if action and PASSED_TO_SERVICE not in _condition_keys(stmt):
                    matches.append(RuleMatch(
                        ["Resources", name, "Properties", *path],
                        f"{name} allows {action} without an iam:PassedToService condition; "
                        "name the service the role is passed to"))
        return matches
