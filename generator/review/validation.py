"""Pre-deployment validation in the review: each finding under the resource it names.

CloudFormation validates every change set against the account (user guide, "Validate
stack deployments"); generator/aws/validation.py reads the results. Here they become
part of the plan: a ``ValidationNote`` per finding on the stack, one line under each
resource in the text, Markdown and JSON reviews, and ``blocked``: the FAIL findings that
make the stack's change set not executable, with what to do about each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from generator.aws.validation import NAME_CONFLICT, ValidationFinding, ValidationNote
from generator.errors import StackgenError

if TYPE_CHECKING:
    from generator.review.plan import Plan, ResourceChange, StackPlan


def note(finding: ValidationFinding, fix: str = "") -> ValidationNote:
    return ValidationNote(logical_id=finding.logical_id, resource_type=finding.resource_type,
                          validation=finding.name, mode=finding.mode, reason=finding.reason,
                          path=finding.path, fix=fix)


def adopt_hint(finding: ValidationFinding, env: str) -> str:
    """What to do about a name already taken (generator/aws/adopt.py says whether
    the resource can be imported automatically)."""
    if finding.name != NAME_CONFLICT:
        return ""
    from generator.aws.adopt import hint
    return hint(finding, env)


def attach(plan: StackPlan, findings: Iterable[ValidationFinding], env: str,
           resources: Sequence[ResourceChange] = ()) -> StackPlan:
    """Record ``findings`` on the stack's plan, and each under its resource; a resource
    the change set never listed (it failed before listing changes) gets its row back from
    ``resources`` (the changes predicted from the templates)."""
    notes = [note(f, adopt_hint(f, env)) for f in findings]
    plan.validation = notes
    known = {r.logical_id for r in plan.resources}
    for r in resources:
        if r.logical_id not in known and any(n.logical_id == r.logical_id for n in notes):
            plan.resources.append(r)
    for r in plan.resources:
        r.validation = [n.line() for n in notes if n.logical_id == r.logical_id]
    return plan


def blocking(plan: Plan) -> list[tuple[str, ValidationNote]]:
    """(stack, note) for every FAIL finding: the change sets that cannot execute."""
    return [(s.stack, n) for s in plan.stacks for n in s.validation if n.blocks]


class ValidationBlocked(StackgenError):
    """A change set failed pre-deployment validation: nothing is executed."""

    exit_code = 1

    def __init__(self, found: Sequence[tuple[str, ValidationNote]]) -> None:
        lines = [f"{stack}: {n.logical_id} ({n.resource_type}): {n.reason}"
                 + (f"; {n.fix}" if n.fix else "") for stack, n in found]
        super().__init__("CloudFormation's pre-deployment validation failed, nothing was "
                         "executed: " + " | ".join(lines))
        self.found = list(found)


def refuse_blocked(plan: Plan) -> None:
    """ValidationBlocked when any stack of ``plan`` holds a FAIL finding."""
    found = blocking(plan)
    if found:
        raise ValidationBlocked(found)
