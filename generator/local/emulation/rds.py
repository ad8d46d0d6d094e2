"""An RDS DB instance update that AWS applies in place is applied in place, and one AWS
refuses is refused.

RDS refuses to shrink allocated storage ("You can't reduce the amount of storage for a
DB instance after storage has been allocated", RDS user guide, "Increasing DB instance
storage capacity") and to move the engine to an older version (ModifyDBInstance:
InvalidParameterCombination, "Cannot upgrade <engine> from <new> to <old>"; RDS user
guide, "Upgrading a DB instance engine version": there is no downgrade). The update then
fails and CloudFormation rolls the stack back; moto applied both.

CloudFormation replaces a resource only when a changed property is create-only in the
resource's schema (CloudFormation user guide, "Update behaviors of stack resources";
the AWS::RDS::DBInstance schema's ``createOnlyProperties``, which cfn-lint ships). moto
replaced the DB on every update, so the deploy guard never saw what AWS would do.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from moto.core.utils import camelcase_to_underscores
from moto.rds.exceptions import InvalidParameterCombination, InvalidParameterValue

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


def _version(value: Any) -> tuple[int, ...]:
    return tuple(int(p) for p in str(value).split(".") if p.isdigit())


def refuse_what_rds_refuses(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Raise RDS's own error for a storage shrink or an engine downgrade."""
    old_gib, new_gib = before.get("AllocatedStorage"), after.get("AllocatedStorage")
    if old_gib is not None and new_gib is not None and int(new_gib) < int(old_gib):
        raise InvalidParameterValue(
            f"Invalid storage size: allocated storage cannot be reduced from {old_gib} to "
            f"{new_gib} GiB")
    old_v, new_v = before.get("EngineVersion"), after.get("EngineVersion")
    if old_v and new_v and _version(new_v) < _version(old_v):
        engine = after.get("Engine") or before.get("Engine") or "postgres"
        raise InvalidParameterCombination(f"Cannot upgrade {engine} from {old_v} to {new_v}")


def update_in_place(db: Any, properties: dict[str, Any]) -> bool:
    """Apply ``properties`` to ``db`` when no create-only property changed; False when the
    update needs a replacement."""
    before = getattr(db, "cfn_properties", None)
    after = plain(properties)
    if before is None:
        return False
    refuse_what_rds_refuses(before, after)
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
