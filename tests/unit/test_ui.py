"""The one status → colour/symbol table, tested as a table."""

from __future__ import annotations

import pytest

from generator.aws.status import DriftState, Outcome, StackStatus
from generator.ui import DEFAULT_LOOK, DRIFT_LOOKS, OUTCOME_LOOKS, Console, Look, look

CASES = [
    ("CREATE_COMPLETE", "green", "✓"),
    ("UPDATE_COMPLETE", "green", "✓"),
    ("CREATED", "green", "✓"),
    ("UPDATED", "green", "✓"),
    ("CREATE_IN_PROGRESS", "yellow", "…"),
    ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "yellow", "…"),
    ("REVIEW_IN_PROGRESS", "yellow", "…"),
    ("CREATE_FAILED", "red", "✗"),
    ("FAILED", "red", "✗"),
    ("ROLLBACK_COMPLETE", "red", "✗"),
    ("UPDATE_ROLLBACK_COMPLETE", "red", "✗"),
    ("UPDATE_ROLLBACK_IN_PROGRESS", "red", "✗"),
    ("DELETE_COMPLETE", "bright_black", "–"),
    ("DELETED", "bright_black", "–"),
    ("UNCHANGED", "bright_black", "="),
    ("BLOCKED", "red", "⊘"),
    ("DECLINED", "yellow", "⊘"),
    ("NOT_DEPLOYED", "bright_black", "·"),
    ("DRIFTED", "yellow", "≠"),
    ("IN_SYNC", "green", "✓"),
    ("UNKNOWN", "yellow", "?"),
]


@pytest.mark.parametrize(("status", "colour", "symbol"), CASES)
def test_status_looks(status: str, colour: str, symbol: str) -> None:
    assert look(status) == Look(colour, symbol)


def test_unknown_status_has_a_plain_look() -> None:
    assert look("SOMETHING_NEW") == DEFAULT_LOOK


def test_colour_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    Console(color=False).line(Console(color=False).status("CREATE_FAILED"))
    Console(color=True).line(Console(color=True).status("CREATE_FAILED"))
    plain, coloured = capsys.readouterr().out.splitlines()
    assert plain == "✗ CREATE_FAILED"
    assert coloured != plain and "\x1b[31m" in coloured


def test_every_outcome_and_drift_state_has_a_look_of_its_own() -> None:
    assert set(OUTCOME_LOOKS) == set(Outcome) and set(DRIFT_LOOKS) == set(DriftState)
    assert all(look(o) == OUTCOME_LOOKS[o] != DEFAULT_LOOK for o in Outcome)


@pytest.mark.parametrize("status", [s.value for s in StackStatus])
def test_a_rollback_or_failure_is_never_green(status: str) -> None:
    if StackStatus(status).is_failure():
        assert look(status).colour == "red"
