"""The typed statuses: every stack status AWS documents, and what each one answers.

The list is the API model's StackStatus enum (botocore ships AWS's model); the
meanings are the User Guide's "Stack status codes" and the RollbackStack API
reference's "last known stable states"."""

from __future__ import annotations

from typing import Any

import botocore.session
import msgspec
import pytest

from generator.aws.cfn import CloudFormation
from generator.aws.cfn_types import Event, StackInfo
from generator.aws.status import (
    ChangeSetStatus,
    ExecutionStatus,
    Outcome,
    PlanState,
    ResourceStatus,
    StackResult,
    StackStatus,
)
from generator.deploy.stack_work import DeployOptions, StackWork
from generator.errors import UsageError
from generator.params import load_env
from generator.references import Lookups
from generator.render import render
from generator.review.plan import Plan, StackPlan
from generator.ui import Console
from tests.conftest import ROOT

# status: in_progress, is_success, usable, is_failure, is_rollback, is_deleted, must_recreate
T, F = True, False
STACK_STATUSES = {
    "CREATE_IN_PROGRESS": (T, F, F, F, F, F, F),
    "CREATE_FAILED": (F, F, F, T, F, F, F),
    "CREATE_COMPLETE": (F, T, T, F, F, F, F),
    "ROLLBACK_IN_PROGRESS": (T, F, F, T, T, F, F),
    "ROLLBACK_FAILED": (F, F, F, T, T, F, F),
    "ROLLBACK_COMPLETE": (F, F, F, T, T, F, T),  # only a delete is allowed
    "DELETE_IN_PROGRESS": (T, F, F, F, F, F, F),
    "DELETE_FAILED": (F, F, F, T, F, F, F),
    "DELETE_COMPLETE": (F, F, F, F, F, T, F),
    "UPDATE_IN_PROGRESS": (T, F, F, F, F, F, F),
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": (T, F, T, F, F, F, F),  # "updated and usable"
    "UPDATE_COMPLETE": (F, T, T, F, F, F, F),
    "UPDATE_FAILED": (F, F, F, T, F, F, F),
    "UPDATE_ROLLBACK_IN_PROGRESS": (T, F, F, T, T, F, F),
    "UPDATE_ROLLBACK_FAILED": (F, F, F, T, T, F, F),
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": (T, F, T, T, T, F, F),
    "UPDATE_ROLLBACK_COMPLETE": (F, F, T, T, T, F, F),  # its previous working state
    "REVIEW_IN_PROGRESS": (T, F, F, F, F, F, F),
    "IMPORT_IN_PROGRESS": (T, F, F, F, F, F, F),
    "IMPORT_COMPLETE": (F, T, T, F, F, F, F),
    "IMPORT_ROLLBACK_IN_PROGRESS": (T, F, F, T, T, F, F),
    "IMPORT_ROLLBACK_FAILED": (F, F, F, T, T, F, F),
    "IMPORT_ROLLBACK_COMPLETE": (F, F, T, T, T, F, F),
}


def _aws_enum(shape: str) -> list[str]:
    model = botocore.session.get_session().get_service_model("cloudformation")
    return list(model.shape_for(shape).enum)


def test_the_table_and_the_type_hold_every_status_aws_documents() -> None:
    assert set(STACK_STATUSES) == set(_aws_enum("StackStatus")) == {s.value for s in StackStatus}


@pytest.mark.parametrize(("value", "expected"), STACK_STATUSES.items())
def test_stack_status_predicates(value: str, expected: tuple[bool, ...]) -> None:
    status = StackStatus(value)
    assert (status.in_progress(), status.is_success(), status.usable(), status.is_failure(),
            status.is_rollback(), status.is_deleted(), status.must_recreate()) == expected
    assert status.empty_shell() == (value == "REVIEW_IN_PROGRESS")


def test_the_other_vocabularies_match_aws() -> None:
    assert {s.value for s in ResourceStatus} == set(_aws_enum("ResourceStatus"))
    assert {s.value for s in ChangeSetStatus} == set(_aws_enum("ChangeSetStatus"))
    assert {s.value for s in ExecutionStatus} == set(_aws_enum("ExecutionStatus"))


def test_a_status_aws_adds_later_is_kept_not_refused() -> None:
    status = StackStatus("EXPORT_ROLLBACK_IN_PROGRESS")
    assert status == "EXPORT_ROLLBACK_IN_PROGRESS" and f"{status}" == status.value
    assert status.in_progress() and status.is_rollback() and not status.usable()
    assert StackStatus("CREATE_COMPLETE") is StackStatus.CREATE_COMPLETE


def test_api_answers_and_plain_strings_come_out_typed() -> None:
    info = StackInfo.from_api({"StackName": "s", "StackId": "id", "StackStatus": "UPDATE_COMPLETE"})
    assert info.status is StackStatus.UPDATE_COMPLETE
    assert StackInfo("s", "id", "ROLLBACK_COMPLETE", {}, {}, {}, None).status.must_recreate()
    raw: dict[str, Any] = {"EventId": "e", "Timestamp": 0, "ResourceStatus": "DELETE_FAILED"}
    assert Event.from_api(raw).status.failed()
    assert StackResult("a", "b", "TIMED_OUT").state is Outcome.TIMED_OUT


OUTCOMES_OK = {"CREATED": T, "UPDATED": T, "UNCHANGED": T, "DELETED": T, "FAILED": F,
               "BLOCKED": F, "DECLINED": F, "INTERRUPTED": F, "TIMED_OUT": F}


@pytest.mark.parametrize(("value", "ok"), OUTCOMES_OK.items())
def test_outcomes(value: str, ok: bool) -> None:
    assert Outcome(value).ok() == ok == StackResult("s", "n", Outcome(value)).ok


# state: changes, predicted, creates
PLAN_STATES = {
    "create": (T, F, T),
    "update": (T, F, F),
    "unchanged": (F, F, F),
    "created after upstream": (T, T, T),
    "changes after upstream apply": (T, T, F),
    "re-created after a failed create": (T, T, T),
}


@pytest.mark.parametrize(("value", "expected"), PLAN_STATES.items())
def test_plan_states(value: str, expected: tuple[bool, bool, bool]) -> None:
    state = PlanState(value)
    assert (state.changes(), state.predicted(), state.creates()) == expected
    assert set(PLAN_STATES) == {s.value for s in PlanState}


def test_plan_files_keep_their_strings() -> None:
    plan = Plan(env="e", created_at="t", stacks=[
        StackPlan(stack="a", stack_name="n", state=PlanState.AFTER_UPSTREAM_APPLY,
                  template_sha256="x")])
    text = plan.to_json()
    assert '"state": "changes after upstream apply"' in text
    again = Plan.from_json(text)
    assert again.stacks[0].state is PlanState.AFTER_UPSTREAM_APPLY and again.stacks[0].predicted
    with pytest.raises(msgspec.ValidationError):
        Plan.from_json(text.replace("changes after upstream apply", "some other state"))


class _Deployed(CloudFormation):
    """What DescribeStacks answers, without a client: only preflight's reads."""

    def __init__(self, stacks: dict[str, StackInfo]) -> None:
        super().__init__(client=None)
        self.stacks = stacks

    def describe_many(self, names: list[str]) -> dict[str, StackInfo]:
        return {n: self.stacks[n] for n in names if n in self.stacks}


@pytest.mark.parametrize(("status", "usable"), [
    ("UPDATE_COMPLETE", True),
    ("UPDATE_ROLLBACK_COMPLETE", True),  # refused as upstream before: one meaning now
    ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", True),
    ("ROLLBACK_COMPLETE", False),
    ("UPDATE_ROLLBACK_FAILED", False),
])
def test_an_upstream_is_usable_in_one_sense_for_its_outputs_and_as_upstream(
        status: str, usable: bool) -> None:
    rendered = render(load_env(ROOT / "params", "local"), ROOT / "templates")
    up = rendered.stacks["network"].stack_name
    cfn = _Deployed({up: StackInfo(up, "id", status, {}, {"VpcId": "vpc-1"}, {}, None)})
    work = StackWork(rendered, cfn, Lookups(None), Console(color=False), lambda q: False,
                     DeployOptions(stacks=frozenset({"rds"})))
    if usable:
        work.preflight()
        assert work.outputs["network"] == {"VpcId": "vpc-1"}
    else:
        with pytest.raises(UsageError, match=f"reads outputs of network, which is {status}"):
            work.preflight()
        assert "network" not in work.outputs
