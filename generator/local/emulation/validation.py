"""Pre-deployment validation of change sets: a resource name already taken fails the change set.

AWS CloudFormation user guide, "Validate stack deployments" (2025-11; every stack operation
since 2026-06-30): CloudFormation checks a change set against "resource name conflict
detection with existing resources" (and property syntax, S3 bucket emptiness, ...);
"FAIL mode blocks change set execution ... for property syntax errors and resource name
conflicts"; the results come back as VALIDATION_ERROR events of DescribeEvents for the
change set (API reference, "OperationEvent": ValidationName, ValidationStatus,
ValidationFailureMode, ValidationStatusReason, ValidationPath). A failed validation leaves
the change set FAILED and not executable. moto 5.2.5 creates such a change set
CREATE_COMPLETE, and its execute fails only at provisioning (or not at all).

Emulated: name conflicts of the named resource types below, for names given as a
literal, ``Ref`` to a parameter or pseudo parameter, ``Fn::Sub`` or ``Fn::Join`` of those;
property syntax against the resource schemas cfn-lint ships (emulation/property_syntax.py).
Not emulated: S3 emptiness, quotas, Config recorder, ECR delete readiness.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from moto.cloudformation import models as cfn_models
from moto.cloudformation.exceptions import CloudFormationError
from moto.ecr.models import ecr_backends
from moto.iam.models import iam_backends
from moto.logs.models import logs_backends
from moto.rds.models import rds_backends
from moto.s3.models import s3_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.utilities.utils import get_partition

from generator.aws.adopt import why_not
from generator.local.emulation import adopt, property_syntax

VALIDATION_NAME = "NAME_CONFLICT_VALIDATION"


class InvalidChangeSetStatus(CloudFormationError):
    """API reference, ExecuteChangeSet: "The specified change set can't be used to update
    the stack. For example, the change set status might be CREATE_IN_PROGRESS, or the stack
    status might be UPDATE_IN_PROGRESS." HTTP 400."""

    code = "InvalidChangeSetStatus"
Exists = Callable[[str, str, str], bool]  # (account, region, name)


def _log_group(account: str, region: str, name: str) -> bool:
    return name in logs_backends[account][region].groups


def _repository(account: str, region: str, name: str) -> bool:
    return name in ecr_backends[account][region].repositories


def _bucket(account: str, region: str, name: str) -> bool:
    return name in s3_backends[account][get_partition(region)].buckets


def _role(account: str, region: str, name: str) -> bool:
    roles = iam_backends[account][get_partition(region)].roles.values()
    return any(role.name == name for role in roles)


def _secret(account: str, region: str, name: str) -> bool:
    return any(s.name == name for s in secretsmanager_backends[account][region].secrets.values())


def _db_instance(account: str, region: str, name: str) -> bool:
    return name in rds_backends[account][region].databases


# Resource type -> (the property that names it, does that name exist in the account).
NAMED: dict[str, tuple[str, Exists]] = {
    "AWS::Logs::LogGroup": ("LogGroupName", _log_group),
    "AWS::ECR::Repository": ("RepositoryName", _repository),
    "AWS::S3::Bucket": ("BucketName", _bucket),
    "AWS::IAM::Role": ("RoleName", _role),
    "AWS::SecretsManager::Secret": ("Name", _secret),
    "AWS::RDS::DBInstance": ("DBInstanceIdentifier", _db_instance),
}

# change set id -> its VALIDATION_ERROR events (DescribeEvents with ChangeSetName reads them).
EVENTS: dict[str, list[dict[str, Any]]] = {}


def resolve(value: Any, known: dict[str, str]) -> str | None:
    """``value`` as a string where it needs only parameters and pseudo parameters."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (fn, arg), = value.items()
    if fn == "Ref":
        return known.get(arg) if isinstance(arg, str) else None
    if fn == "Fn::Sub":
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        names = {**known, **{k: resolve(v, known) for k, v in extra.items()}}
        missing = [n for n in re.findall(r"\$\{([^!}][^}]*)\}", text) if names.get(n) is None]
        if missing:
            return None
        return re.sub(r"\$\{([^!}][^}]*)\}", lambda m: str(names[m[1]]), text)
    if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
        parts = [resolve(p, known) for p in arg[1]]
        return None if any(p is None for p in parts) else str(arg[0]).join(p or "" for p in parts)
    return None


def conflicts(change_set: Any, account: str, region: str,
              importing: bool = False) -> list[dict[str, Any]]:
    """VALIDATION_ERROR events for each named resource whose name is taken outside the
    stack; with ``importing`` (ImportExistingResources, emulation/adopt.py) a resource that
    can be imported is recorded as adopted instead."""
    stack = change_set.stack
    known = {"AWS::StackName": stack.name, "AWS::Region": region, "AWS::AccountId": account,
             "AWS::Partition": get_partition(region), **dict(change_set.parameters or {})}
    mine = {str(r.physical_resource_id) for r in stack.resource_map.values()
            if hasattr(r, "physical_resource_id")} if stack.resource_map else set()
    found = []
    for logical_id, resource in (change_set.template_dict.get("Resources") or {}).items():
        prop, exists = NAMED.get(resource.get("Type"), ("", None))
        if exists is None:
            continue
        name = resolve((resource.get("Properties") or {}).get(prop), known)
        if not name or name in mine or not exists(account, region, name):
            continue
        if importing and adopt.adoptable(resource):
            adopt.ADOPTED.setdefault(change_set.change_set_id, []).append(
                (logical_id, resource["Type"], name))
            continue
        cannot = f" (ImportExistingResources cannot import it: {why_not(resource)})" \
            if importing else ""
        found.append({
            "EventId": str(uuid4()), "StackId": stack.stack_id,
            "OperationType": "CREATE_CHANGESET", "OperationStatus": "FAILED",
            "EventType": "VALIDATION_ERROR", "LogicalResourceId": logical_id,
            "ResourceType": resource["Type"], "Timestamp": datetime.now(UTC),
            "ValidationName": VALIDATION_NAME, "ValidationStatus": "FAILED",
            "ValidationFailureMode": "FAIL",
            "ValidationStatusReason": f"{resource['Type']} with {prop} '{name}' already "
                                      f"exists{cannot}",
            "ValidationPath": f"/Resources/{logical_id}/Properties/{prop}",
        })
    return found


def syntax(change_set: Any, region: str) -> list[dict[str, Any]]:
    """VALIDATION_ERROR events for each property the resource's schema does not allow."""
    stack = change_set.stack
    return [{
        "EventId": str(uuid4()), "StackId": stack.stack_id,
        "OperationType": "CREATE_CHANGESET", "OperationStatus": "FAILED",
        "EventType": "VALIDATION_ERROR", "LogicalResourceId": fault.logical_id,
        "ResourceType": fault.resource_type, "Timestamp": datetime.now(UTC),
        "ValidationName": property_syntax.VALIDATION_NAME, "ValidationStatus": "FAILED",
        "ValidationFailureMode": "FAIL",
        "ValidationStatusReason": f"{fault.reason} ({fault.resource_type})",
        "ValidationPath": fault.validation_path,
    } for fault in property_syntax.template_faults(change_set.template_dict, region)]


def _validated_change_sets() -> None:
    backend = cfn_models.CloudFormationBackend
    create, execute = backend.create_change_set, backend.execute_change_set

    def create_change_set(self: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
        change_set_id, stack_id = create(self, *args, **kwargs)
        change_set = self.change_sets[change_set_id]
        events = syntax(change_set, self.region_name) + conflicts(
            change_set, self.account_id, self.region_name,
            bool(adopt.request_flags().get("ImportExistingResources")))
        if events:
            operation = str(uuid4())
            EVENTS[change_set_id] = [{**e, "OperationId": operation} for e in events]
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.status_reason = ("The change set failed pre-deployment validation: "
                                        + "; ".join(e["ValidationStatusReason"] for e in events))
        return change_set_id, stack_id

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name), None)
        if change_set is not None and change_set.execution_status != "AVAILABLE":
            raise InvalidChangeSetStatus(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                f"execution status of [{change_set.execution_status}]")
        execute(self, change_set_name, stack_name)

    backend.create_change_set = create_change_set  # type: ignore[method-assign]
    backend.execute_change_set = execute_change_set  # type: ignore[method-assign]


def apply() -> None:
    _validated_change_sets()
