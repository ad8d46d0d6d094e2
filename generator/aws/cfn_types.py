"""What CloudFormation answers, as types: a stack, a change set and its changes, what a
change set holds when read back, a stack event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from generator.aws.status import ResourceStatus, StackStatus
from generator.aws.validation import ValidationFinding


@dataclass(frozen=True)
class StackInfo:
    name: str
    stack_id: str
    status: StackStatus
    parameters: dict[str, str]
    outputs: dict[str, str]
    tags: dict[str, str]
    last_change: datetime | None
    termination_protection: bool = False

    def __post_init__(self) -> None:  # a plain string in: its typed status out
        object.__setattr__(self, "status", StackStatus(self.status))

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> StackInfo:
        return cls(
            name=raw["StackName"],
            stack_id=raw["StackId"],
            status=StackStatus(raw["StackStatus"]),
            parameters={p["ParameterKey"]: p.get("ParameterValue", "")
                        for p in raw.get("Parameters", [])},
            outputs={o["OutputKey"]: o["OutputValue"] for o in raw.get("Outputs", [])},
            tags={t["Key"]: t["Value"] for t in raw.get("Tags", [])},
            last_change=raw.get("LastUpdatedTime") or raw.get("CreationTime"),
            termination_protection=bool(raw.get("EnableTerminationProtection")),
        )


class Change(msgspec.Struct, frozen=True):
    action: str
    logical_id: str
    resource_type: str
    physical_id: str = ""
    replacement: str = ""  # True / False / Conditional, or "" when the API says nothing
    scope: tuple[str, ...] = ()
    details: tuple[dict[str, Any], ...] = ()
    before: str | None = None
    after: str | None = None
    nested_change_set: str | None = None  # a nested stack's own change set

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Change:
        rc = raw.get("ResourceChange", {})
        return cls(
            action=rc.get("Action", ""),
            logical_id=rc.get("LogicalResourceId", ""),
            resource_type=rc.get("ResourceType", ""),
            physical_id=rc.get("PhysicalResourceId", "") or "",
            replacement=str(rc.get("Replacement", "") or ""),
            scope=tuple(rc.get("Scope", []) or []),
            details=tuple(rc.get("Details", []) or []),
            before=rc.get("BeforeContext"),
            after=rc.get("AfterContext"),
            nested_change_set=rc.get("ChangeSetId"),
        )


class ChangeSet(msgspec.Struct, frozen=True):
    id: str
    name: str
    stack_name: str
    stack_id: str
    kind: str  # CREATE or UPDATE
    status: str
    changes: tuple[Change, ...] = ()
    # Pre-deployment validation results that did not block it (WARN), by DescribeEvents.
    validation: tuple[ValidationFinding, ...] = ()


class ChangeSetContent(msgspec.Struct, frozen=True):
    """What a change set holds, read back from AWS (DescribeChangeSet, GetTemplate with
    ChangeSetName): the stack it belongs to, its template body, parameters and tags as
    the API reports them (NoEcho values as AWS masks them)."""

    arn: str
    stack_id: str
    stack_name: str
    status: str
    execution_status: str
    template: str
    parameters: Mapping[str, str]
    tags: Mapping[str, str]


class Event(msgspec.Struct, frozen=True):
    id: str
    timestamp: datetime
    logical_id: str
    resource_type: str
    status: ResourceStatus
    reason: str
    physical_id: str = ""

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Event:
        return cls(raw["EventId"], raw["Timestamp"], raw.get("LogicalResourceId", ""),
                   raw.get("ResourceType", ""), ResourceStatus(raw.get("ResourceStatus", "")),
                   raw.get("ResourceStatusReason", "") or "",
                   raw.get("PhysicalResourceId", "") or "")
