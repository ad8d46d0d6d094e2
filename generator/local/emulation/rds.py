"""An RDS DB instance update that AWS applies in place is applied in place.

CloudFormation replaces a resource only when a changed property is create-only in the
resource's schema (CloudFormation user guide, "Update behaviors of stack resources";
the AWS::RDS::DBInstance schema's ``createOnlyProperties``, which cfn-lint ships). moto
replaced the DB on every update, so the deploy guard never saw what AWS would do.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from moto.core.utils import camelcase_to_underscores

# CloudFormation property -> moto DBInstance attribute, where the plain conversion misses.
ATTRIBUTES = {"VPCSecurityGroups": "vpc_security_group_ids", "MultiAZ": "multi_az",
              "DBInstanceClass": "db_instance_class",
              "DBParameterGroupName": "db_parameter_group_name"}
# Handled by the managed-password code or not an attribute of the instance.
SPECIAL = {"ManageMasterUserPassword", "MasterUserSecret", "Tags"}


@cache
def create_only(resource_type: str = "AWS::RDS::DBInstance") -> frozenset[str]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # loaded on the first DB update only

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    return frozenset(p.split("/")[2] for p in schema.get("createOnlyProperties", [])
                     if p.startswith("/properties/"))


def plain(value: Any) -> Any:
    """Resolved properties with moto objects replaced by their physical ids (comparable)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if hasattr(value, "physical_resource_id"):
        return value.physical_resource_id
    return value


def changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {k for k in set(before) | set(after) if before.get(k) != after.get(k)}


def update_in_place(db: Any, properties: dict[str, Any]) -> bool:
    """Apply ``properties`` to ``db`` when no create-only property changed; False when the
    update needs a replacement."""
    before = getattr(db, "cfn_properties", None)
    after = plain(properties)
    if before is None:
        return False
    diff = changed(before, after)
    if diff & create_only():
        return False
    kwargs: dict[str, Any] = {}
    for key in diff - SPECIAL:
        kwargs[ATTRIBUTES.get(key) or camelcase_to_underscores(key)] = after.get(key)
    if "ManageMasterUserPassword" in diff:
        kwargs["manage_master_user_password"] = str(
            after.get("ManageMasterUserPassword")).lower() == "true"
    db.update(**kwargs)
    db.cfn_properties = after
    return True
