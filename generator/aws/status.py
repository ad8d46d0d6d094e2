"""A stack's life as types: CloudFormation's statuses and the questions we ask of them,
what happened to a stack in one run, and a stack's place in a plan.

Each vocabulary has one type here, so no module compares status strings of its own
(in the way AWS Copilot's ``stackstatus.go`` gives ``InProgress()``, ``Success()``).
The values are AWS's (or, for ours, those plan files and ``--events ndjson`` carry),
so JSON keeps its strings: a ``StrEnum`` member is its value.

AWS's lists: the API model's ``StackStatus``, ``ResourceStatus``, ``ChangeSetStatus``
and ``ExecutionStatus`` enums; their meanings: CloudFormation User Guide, "Stack
status codes".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec


class AwsStatus(StrEnum):
    """A status as AWS reports it. AWS adds statuses over time (UPDATE_FAILED came with
    DisableRollback, IMPORT_* with resource import), so a value this list does not know
    is kept as it is, never refused; the predicates read AWS's naming (VERB_STATE),
    which new statuses follow."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    def in_progress(self) -> bool:
        """An operation runs: wait, or come back later."""
        return self.endswith("IN_PROGRESS")

    def failed(self) -> bool:
        return "FAILED" in self  # UPDATE_FAILED, and the like of FAILED_IMPORT

    def is_rollback(self) -> bool:
        """A rollback ran or runs: the operation before it failed."""
        return "ROLLBACK" in self

    def is_failure(self) -> bool:
        return self.failed() or self.is_rollback()

    def complete(self) -> bool:
        """Done (check ``is_failure`` first: a rollback completes too)."""
        return "COMPLETE" in self


class StackStatus(AwsStatus):
    """``DescribeStacks``' StackStatus."""

    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_FAILED = "CREATE_FAILED"
    CREATE_COMPLETE = "CREATE_COMPLETE"
    ROLLBACK_IN_PROGRESS = "ROLLBACK_IN_PROGRESS"
    ROLLBACK_FAILED = "ROLLBACK_FAILED"
    ROLLBACK_COMPLETE = "ROLLBACK_COMPLETE"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_FAILED = "DELETE_FAILED"
    DELETE_COMPLETE = "DELETE_COMPLETE"
    UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
    UPDATE_COMPLETE_CLEANUP_IN_PROGRESS = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    UPDATE_COMPLETE = "UPDATE_COMPLETE"
    UPDATE_FAILED = "UPDATE_FAILED"
    UPDATE_ROLLBACK_IN_PROGRESS = "UPDATE_ROLLBACK_IN_PROGRESS"
    UPDATE_ROLLBACK_FAILED = "UPDATE_ROLLBACK_FAILED"
    UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
    UPDATE_ROLLBACK_COMPLETE = "UPDATE_ROLLBACK_COMPLETE"
    REVIEW_IN_PROGRESS = "REVIEW_IN_PROGRESS"
    IMPORT_IN_PROGRESS = "IMPORT_IN_PROGRESS"
    IMPORT_COMPLETE = "IMPORT_COMPLETE"
    IMPORT_ROLLBACK_IN_PROGRESS = "IMPORT_ROLLBACK_IN_PROGRESS"
    IMPORT_ROLLBACK_FAILED = "IMPORT_ROLLBACK_FAILED"
    IMPORT_ROLLBACK_COMPLETE = "IMPORT_ROLLBACK_COMPLETE"

    def is_success(self) -> bool:
        """The last create, update or import succeeded, and the stack is at rest: what
        our own operation must end in."""
        return self in _SUCCESS

    def usable(self) -> bool:
        """The stack's resources work and its outputs can be read: a downstream stack may
        deploy against it. AWS's "last known stable states" (API Reference,
        RollbackStack: CREATE_, UPDATE_, UPDATE_ROLLBACK_, IMPORT_, IMPORT_ROLLBACK_COMPLETE;
        an update rolled back is its previous working state and takes updates again),
        and the two clean-ups the User Guide calls "usable" while old or new resources
        are still being removed. Not ROLLBACK_COMPLETE: a failed create holds nothing,
        and only a delete is allowed."""
        return self in _USABLE

    def is_deleted(self) -> bool:
        return self == StackStatus.DELETE_COMPLETE

    def must_recreate(self) -> bool:
        """A create failed and rolled back: the stack is empty and AWS allows only a
        delete (User Guide, ROLLBACK_COMPLETE). Not ROLLBACK_FAILED: it still holds the
        resources that would not delete, for a person to look at."""
        return self == StackStatus.ROLLBACK_COMPLETE

    def empty_shell(self) -> bool:
        """Made by a create change set never executed: no template, no resources."""
        return self == StackStatus.REVIEW_IN_PROGRESS


_SUCCESS = frozenset({StackStatus.CREATE_COMPLETE, StackStatus.UPDATE_COMPLETE,
                      StackStatus.IMPORT_COMPLETE})
_USABLE = _SUCCESS | {StackStatus.UPDATE_ROLLBACK_COMPLETE, StackStatus.IMPORT_ROLLBACK_COMPLETE,
                      StackStatus.UPDATE_COMPLETE_CLEANUP_IN_PROGRESS,
                      StackStatus.UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS}


class ResourceStatus(AwsStatus):
    """A stack event's ResourceStatus (a row for the stack itself carries its
    StackStatus, kept as it is)."""

    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_FAILED = "CREATE_FAILED"
    CREATE_COMPLETE = "CREATE_COMPLETE"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_FAILED = "DELETE_FAILED"
    DELETE_COMPLETE = "DELETE_COMPLETE"
    DELETE_SKIPPED = "DELETE_SKIPPED"
    UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
    UPDATE_FAILED = "UPDATE_FAILED"
    UPDATE_COMPLETE = "UPDATE_COMPLETE"
    IMPORT_FAILED = "IMPORT_FAILED"
    IMPORT_COMPLETE = "IMPORT_COMPLETE"
    IMPORT_IN_PROGRESS = "IMPORT_IN_PROGRESS"
    IMPORT_ROLLBACK_IN_PROGRESS = "IMPORT_ROLLBACK_IN_PROGRESS"
    IMPORT_ROLLBACK_FAILED = "IMPORT_ROLLBACK_FAILED"
    IMPORT_ROLLBACK_COMPLETE = "IMPORT_ROLLBACK_COMPLETE"
    EXPORT_FAILED = "EXPORT_FAILED"
    EXPORT_COMPLETE = "EXPORT_COMPLETE"
    EXPORT_IN_PROGRESS = "EXPORT_IN_PROGRESS"
    EXPORT_ROLLBACK_IN_PROGRESS = "EXPORT_ROLLBACK_IN_PROGRESS"
    EXPORT_ROLLBACK_FAILED = "EXPORT_ROLLBACK_FAILED"
    EXPORT_ROLLBACK_COMPLETE = "EXPORT_ROLLBACK_COMPLETE"
    UPDATE_ROLLBACK_IN_PROGRESS = "UPDATE_ROLLBACK_IN_PROGRESS"
    UPDATE_ROLLBACK_COMPLETE = "UPDATE_ROLLBACK_COMPLETE"
    UPDATE_ROLLBACK_FAILED = "UPDATE_ROLLBACK_FAILED"
    ROLLBACK_IN_PROGRESS = "ROLLBACK_IN_PROGRESS"
    ROLLBACK_COMPLETE = "ROLLBACK_COMPLETE"
    ROLLBACK_FAILED = "ROLLBACK_FAILED"


class ChangeSetStatus(AwsStatus):
    """``DescribeChangeSet``'s Status: whether the change set could be made."""

    CREATE_PENDING = "CREATE_PENDING"
    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_COMPLETE = "CREATE_COMPLETE"
    DELETE_PENDING = "DELETE_PENDING"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_COMPLETE = "DELETE_COMPLETE"
    DELETE_FAILED = "DELETE_FAILED"
    FAILED = "FAILED"


class ExecutionStatus(AwsStatus):
    """A change set's ExecutionStatus: whether it could be (and was) executed."""

    UNAVAILABLE = "UNAVAILABLE"
    AVAILABLE = "AVAILABLE"
    EXECUTE_IN_PROGRESS = "EXECUTE_IN_PROGRESS"
    EXECUTE_COMPLETE = "EXECUTE_COMPLETE"
    EXECUTE_FAILED = "EXECUTE_FAILED"
    OBSOLETE = "OBSOLETE"


class Outcome(StrEnum):
    """What happened to a stack in one run (deploy, apply, delete)."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    DELETED = "DELETED"
    FAILED = "FAILED"
    BLOCKED = "BLOCKED"  # an upstream stack did not deploy
    DECLINED = "DECLINED"  # the person said no
    INTERRUPTED = "INTERRUPTED"  # Ctrl-C, or the env's lock was lost
    TIMED_OUT = "TIMED_OUT"  # still in progress when its deadline passed

    def ok(self) -> bool:
        """The stack is as the run wanted it: downstream stacks may go on."""
        return self in _OK


_OK = frozenset({Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.DELETED})


class PlanState(StrEnum):
    """A stack's place in a plan; the values are what plan files hold."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    AFTER_UPSTREAM_CREATE = "created after upstream"
    AFTER_UPSTREAM_APPLY = "changes after upstream apply"
    RECREATE = "re-created after a failed create"  # deploy only: a ROLLBACK_COMPLETE stack

    def changes(self) -> bool:
        return self != PlanState.UNCHANGED

    def predicted(self) -> bool:
        """Reviewed from templates: its change set can only be made once upstream ran."""
        return self in _PREDICTED

    def creates(self) -> bool:
        """The stack does not exist (as planned) until the apply makes it."""
        return self in _CREATES


_PREDICTED = frozenset({PlanState.AFTER_UPSTREAM_CREATE, PlanState.AFTER_UPSTREAM_APPLY,
                        PlanState.RECREATE})
_CREATES = frozenset({PlanState.CREATE, PlanState.AFTER_UPSTREAM_CREATE, PlanState.RECREATE})


class DriftState(StrEnum):
    """What drift detection found on a stack (`stackgen drift`, the plan's marks)."""

    DRIFTED = "DRIFTED"
    IN_SYNC = "IN_SYNC"
    NOT_DEPLOYED = "NOT_DEPLOYED"
    NOT_CHECKED = "NOT_CHECKED"  # detection compared none of the stack's resources
    UNKNOWN = "UNKNOWN"  # detection failed or timed out: say why, never guess


class StackResult(msgspec.Struct):
    stack: str
    stack_name: str
    state: Outcome
    outputs: dict[str, str] = msgspec.field(default_factory=dict)
    reasons: list[str] = msgspec.field(default_factory=list)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.state = Outcome(self.state)

    @property
    def ok(self) -> bool:
        return self.state.ok()
