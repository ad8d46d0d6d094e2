"""What a drift-aware change set (``--revert-drift``) overwrites, per resource.

AWS CloudFormation user guide, "Using drift-aware change sets": with
``DeploymentMode=REVERT_DRIFT`` each resource change of a drifted resource carries, per
property, ``Target.Drift`` (PreviousValue: what the last deployment set, ActualValue:
what the resource holds now) and ``ResourceDriftStatus``; executing the change set puts
the template's value back. The review shows the live value that will be overwritten.
Nested change sets are refused: the guide lists drift-aware change sets for a stack's
own resources, and CloudFormation does not accept REVERT_DRIFT with IncludeNestedStacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from generator.errors import UsageError

if TYPE_CHECKING:
    from generator.aws.cfn_types import Change
    from generator.review.plan import ResourceChange

NESTED_REFUSED = ("--revert-drift does not work with the nested form: CloudFormation makes "
                  "drift-aware change sets (DeploymentMode REVERT_DRIFT) for a stack's own "
                  "resources, not for nested change sets; deploy with --no-nested, or "
                  "without --revert-drift")


def refuse_nested(revert_drift: bool, nested: bool) -> None:
    if revert_drift and nested:
        raise UsageError(NESTED_REFUSED)


def overwrites(change: Change) -> list[str]:
    """One line per drifted property the change set puts back."""
    out = []
    for detail in change.details:
        target: dict[str, Any] = detail.get("Target") or {}
        found = target.get("Drift")
        if not found:
            continue
        name = target.get("Path") or target.get("Name") or "?"
        out.append(f"{name}: live {found.get('ActualValue')} is put back to the template's "
                   f"{target.get('AfterValue', found.get('PreviousValue'))}")
    return out


def mark(resources: Iterable[ResourceChange], changes: Iterable[Change]) -> None:
    """Each resource's drift lines: what the apply overwrites."""
    lines = {c.logical_id: overwrites(c) for c in changes}
    for r in resources:
        if lines.get(r.logical_id):
            r.drift = lines[r.logical_id]
