from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

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


_SUBSTITUTION = re.compile(r"\$\{[^}]*\}")
_WILDCARD = re.compile(r"[*?]")


def _text(resource: Any) -> str | None:
    """A resource as text: a literal, or the string of an Fn::Sub (its ``${...}`` are
    names the template fills in, never wildcards)."""
    if isinstance(resource, dict) and len(resource) == 1 and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        resource = sub[0] if isinstance(sub, list) and sub else sub
    if not isinstance(resource, str):
        return None
    return _SUBSTITUTION.sub("x", resource)


def unscoped(resource: Any) -> str | None:
    """Why a statement's resource reaches any resource of its kind, or None when it names
    some: ``*``; a wildcard in the ARN's partition, service, region or account
    (``arn:aws:secretsmanager:*:*:secret:x`` is every account's ``x``); or a resource
    name that starts with a wildcard (``role/*``, ``secret:*``, ``parameter/*``, an S3
    ``*``). A wildcard after a fixed name (``secret:app/db-*``, ``bucket/logs/*``) keeps
    the statement to names the account chose."""
    text = _text(resource)
    if text is None:
        return None
    if text == "*":
        return "every resource ('*')"
    if not _WILDCARD.search(text):
        return None
    parts = text.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return f"'{text}', a wildcard that is not a scoped ARN"
    _, partition, service, region, account, rest = parts
    for label, value in (("partition", partition), ("service", service), ("region", region),
                         ("account", account)):
        if _WILDCARD.search(value):
            return f"'{text}', any {label}"
    if service == "s3":
        name = rest
    else:
        typed = re.match(r"^[A-Za-z0-9_.-]+[/:](?P<name>.*)$", rest)
        name = typed["name"] if typed else rest
    if not name or _WILDCARD.match(name):
        return f"'{text}', any resource of its kind"
    return None


class IamSensitiveActionsScoped(CloudFormationLintRule):
    """Data and privilege-escalation actions name the resources they apply to."""

    id = "E9111"
    shortdesc = "IAM: no data or privilege-escalation actions on Resource '*' or a wildcard ARN"
    description = (
        "Allow statements with Resource '*', or an ARN with a wildcard in its region, "
        "account or resource name (role/*, secret:*), must not grant iam:PassRole, iam:Create*, "
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
                wide = [why for r in as_list(stmt.get("Resource")) if (why := unscoped(r))]
                if not wide:
                    continue
                for action in as_list(stmt.get("Action") or []):
                    if isinstance(action, str) and _sensitive(action):
                        matches.append(RuleMatch(
                            ["Resources", name, "Properties", *path, "Resource"],
                            f"{name} allows {action} on {wide[0]}; name the ARNs"))
        return matches
