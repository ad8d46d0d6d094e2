from __future__ import annotations

from fnmatch import fnmatchcase

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import IAM_TYPES, as_list, identity_statements, props, resources

# Actions that read data or escalate privilege: on "*" they reach every secret, key,
# object or role of the account. IAM action names are case-insensitive.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege
SENSITIVE = (
    "iam:passrole", "iam:create*", "iam:attach*", "iam:put*policy", "iam:update*",
    "iam:setdefaultpolicyversion", "iam:addusertogroup", "sts:assumerole*",
    "s3:*", "secretsmanager:getsecretvalue", "ssm:getparameter*", "kms:decrypt",
    "kms:generatedatakey*", "kms:reencrypt*", "dynamodb:getitem", "dynamodb:batchgetitem",
    "dynamodb:query", "dynamodb:scan", "dynamodb:putitem", "dynamodb:updateitem",
    "dynamodb:deleteitem", "dynamodb:batchwriteitem", "lambda:updatefunctioncode",
    "lambda:createfunction", "ec2:runinstances",
)


def _sensitive(action: str) -> str | None:
    """The sensitive pattern an action (itself maybe a wildcard) reaches, if any."""
    act = action.lower()
    for pattern in SENSITIVE:
        if fnmatchcase(act, pattern) or fnmatchcase(pattern, act):
            return pattern
    return None


class IamSensitiveActionsScoped(CloudFormationLintRule):
    """Data and privilege-escalation actions name the resources they apply to."""

    id = "E9111"
    shortdesc = "IAM: no data or privilege-escalation actions on Resource '*'"
    description = (
        "Allow statements with Resource '*' must not grant iam:PassRole, iam:Create*, "
        "iam:Attach*, iam:Put*Policy, sts:AssumeRole, s3:*, secretsmanager:GetSecretValue, "
        "ssm:GetParameter*, kms:Decrypt and similar actions"
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
    tags = ["stackgen", "iam"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, *IAM_TYPES):
            for path, stmt in identity_statements(props(res)):
                if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
                    continue
                if "*" not in as_list(stmt.get("Resource")):
                    continue
                for action in as_list(stmt.get("Action") or []):
                    if isinstance(action, str) and _sensitive(action):
                        matches.append(RuleMatch(
                            ["Resources", name, "Properties", *path, "Resource"],
                            f"{name} allows {action} on every resource ('*'); name the ARNs"))
        return matches
