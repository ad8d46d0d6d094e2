"""Pre-deployment validation of change sets, as CloudFormation reports it.

AWS CloudFormation user guide, "Validate stack deployments" (2025-11): when a change set
is created CloudFormation validates it against the account: property syntax and
resource-name conflicts with existing resources FAIL (the change set is FAILED and cannot
be executed), S3 bucket emptiness, service quotas, AWS Config recorders and ECR delete
readiness WARN (the change set stays executable). The results come back as events of
DescribeEvents for the change set (API reference, "OperationEvent": EventType
VALIDATION_ERROR with ValidationName, ValidationStatus, ValidationFailureMode,
ValidationStatusReason, ValidationPath).

This module is the data: one ``ValidationFinding`` per event, and ``ValidationFailed``,
the typed error of a change set a FAIL finding blocked. Reading the events is
``CloudFormation.validation_findings``; showing them is the review's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from generator.errors import ChangeSetFailed

FAIL = "FAIL"
WARN = "WARN"
NAME_CONFLICT = "NAME_CONFLICT_VALIDATION"


class ValidationFinding(msgspec.Struct, frozen=True):
    """One validation result of a change set, where in the template it applies."""

    logical_id: str
    resource_type: str
    name: str  # ValidationName, e.g. NAME_CONFLICT_VALIDATION
    mode: str  # FAIL blocks the change set, WARN does not
    reason: str
    path: str = ""  # ValidationPath: /Resources/X/Properties/Y

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> ValidationFinding:
        return cls(logical_id=str(raw.get("LogicalResourceId", "") or ""),
                   resource_type=str(raw.get("ResourceType", "") or ""),
                   name=str(raw.get("ValidationName", "") or ""),
                   mode=str(raw.get("ValidationFailureMode", "") or FAIL),
                   reason=str(raw.get("ValidationStatusReason", "") or ""),
                   path=str(raw.get("ValidationPath", "") or ""))

    @property
    def blocks(self) -> bool:
        return self.mode == FAIL

    @property
    def property_name(self) -> str:
        """The property the path points at (``LogGroupName``), or ""."""
        parts = self.path.strip("/").split("/")
        return parts[3] if len(parts) >= 4 and parts[2] == "Properties" else ""

    def line(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.mode} {self.logical_id} ({self.resource_type}): {self.reason}{where}"


def findings_of(events: Iterable[dict[str, Any]]) -> list[ValidationFinding]:
    """The validation results among DescribeEvents' OperationEvents, each once."""
    found = [ValidationFinding.from_api(e) for e in events
             if e.get("EventType") == "VALIDATION_ERROR"]
    return list(dict.fromkeys(found))


def hook_findings(results: Iterable[dict[str, Any]]) -> list[ValidationFinding]:
    """ListHookResults' summaries for a change set (CloudFormation Hooks user guide: a
    hook in FAIL mode fails the change set, in WARN mode it reports), the failed ones as
    findings named after the hook."""
    return [ValidationFinding(
        logical_id=str(r.get("HookExecutionTarget", "") or "").rsplit("/", 1)[-1],
        resource_type="", name=f"HOOK {r.get('TypeName', '')}",
        mode=str(r.get("FailureMode", "") or FAIL),
        reason=str(r.get("HookStatusReason", "") or r.get("Status", "")))
        for r in results if r.get("Status") in ("HOOK_COMPLETE_FAILED", "HOOK_FAILED")]


class ValidationFailed(ChangeSetFailed):
    """A change set that pre-deployment validation FAILED: not executable."""

    def __init__(self, stack_name: str, reason: str,
                 findings: Sequence[ValidationFinding]) -> None:
        lines = [f.line() for f in findings]
        super().__init__(stack_name, "; ".join([reason, *[x for x in lines if x not in reason]])
                         if reason else "; ".join(lines))
        self.findings = list(findings)


class ValidationNote(msgspec.Struct, kw_only=True, frozen=True):
    """One validation result as the plan records it."""

    logical_id: str
    resource_type: str
    validation: str  # ValidationName
    mode: str  # FAIL or WARN
    reason: str
    path: str = ""
    fix: str = ""  # what to do about it, when we know

    @property
    def blocks(self) -> bool:
        return self.mode == FAIL

    def line(self) -> str:
        where = f" at {self.path}" if self.path else ""
        fix = f"; {self.fix}" if self.fix else ""
        return f"{self.mode} {self.validation}: {self.reason}{where}{fix}"
