"""Adopting resources that exist outside any stack, instead of failing on their names.

AWS CloudFormation user guide, "Import AWS resources into a CloudFormation stack
automatically": a change set made with ``ImportExistingResources`` imports the template's
named resources that already exist, where the resource has a static custom name (a
literal: "Dynamic names (using !Ref or other functions) are not currently supported"), a
DeletionPolicy of Retain or RetainExceptOnCreate, belongs to no other stack, its type
supports import, and its primary identifier is in the template (not read-only). Other
resources are imported with a change set of type IMPORT ("Import AWS resources into a
CloudFormation stack with a resource import"), or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.aws.validation import ValidationFinding

# Types whose primary identifier is the name property the template sets, so
# ImportExistingResources can find them (resource type schemas, primaryIdentifier).
# AWS::Route53::HostedZone (Id) and AWS::SecretsManager::Secret (Id, the ARN) are
# identified by read-only properties: import them by hand.
AUTO_IMPORT: Mapping[str, str] = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
}
RETAINED = ("Retain", "RetainExceptOnCreate")


def why_not(resource: Mapping[str, Any]) -> str | None:
    """Why ImportExistingResources cannot adopt this template resource, or None."""
    rtype = str(resource.get("Type", ""))
    prop = AUTO_IMPORT.get(rtype)
    if prop is None:
        return f"{rtype} cannot be imported automatically (its identifier is not a name)"
    name = (resource.get("Properties") or {}).get(prop)
    if not isinstance(name, str):
        return f"its {prop} is not a static name (dynamic names are not imported)"
    if resource.get("DeletionPolicy") not in RETAINED:
        return "its DeletionPolicy is not Retain or RetainExceptOnCreate"
    return None


def hint(finding: ValidationFinding, env: str) -> str:
    """What to do about a name a change set found taken."""
    if finding.resource_type in AUTO_IMPORT:
        return (f"adopt it with `stackgen deploy --env {env} --adopt-existing` "
                "(ImportExistingResources: a static name and DeletionPolicy Retain are "
                "needed), or delete it")
    return ("import it with a change set of type IMPORT (`aws cloudformation "
            "create-change-set --change-set-type IMPORT --resources-to-import ...`), "
            "or delete it")
