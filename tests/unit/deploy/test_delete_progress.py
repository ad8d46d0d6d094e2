"""Issues 25 and 28: delete says what it is doing while it waits, its results table gives
the time each stack took, and a stack's delete costs no call beyond DeleteStack and the
polls when it goes well (its events are read only when it failed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from generator.aws.cfn import CloudFormation
from generator.aws.cfn_types import Event, StackInfo
from generator.aws.status import ResourceStatus, StackStatus
from generator.deploy.delete import DeletePlan, Deleter, this_delete
from generator.render import Rendered
from generator.ui import Console
from tests.fakes.clock import FakeClock
from tests.fakes.cloudformation import FakeCloudFormation
from tests.stubs import STACK


def test_delete_says_each_start_and_reports_the_time_each_stack_took(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    fake, clock = FakeCloudFormation(polls_to_finish=3), FakeClock()
    existing = fake.existing(STACK, rendered.stacks["network"].template)
    info = StackInfo(STACK, existing.stack_id, StackStatus.CREATE_COMPLETE, {}, {}, {},
                     existing.created)
    deleter = Deleter(rendered, CloudFormation(fake, waits=clock.waits()), Console(color=False),
                      lambda q: True)
    [result] = deleter.run(DeletePlan([("network", info)], []), yes=True)
    assert result.state == "DELETED"
    assert clock.now > 0 and result.seconds == pytest.approx(clock.now)
    out = capsys.readouterr().out
    started = out.index(f"network: deleting {STACK} (CREATE_COMPLETE)")
    assert started < out.index(f"DELETE_COMPLETE network: {STACK} ({clock.now:.1f} s)")
    # DeleteStack and the polls; no DescribeStackEvents beforehand to mark a start.
    assert set(fake.calls) == {"DeleteStack", "DescribeStacks"}
    assert fake.calls.count("DeleteStack") == 1


def _event(n: int, logical: str, status: str, reason: str = "") -> Event:
    return Event(f"e{n}", datetime(2026, 1, 1, 0, 0, n, tzinfo=UTC), logical,
                 "AWS::EC2::VPC" if logical != STACK else "AWS::CloudFormation::Stack",
                 ResourceStatus(status), reason)


def test_the_failure_reasons_are_those_of_this_delete_not_an_earlier_one() -> None:
    events = [  # oldest first
        _event(1, STACK, "DELETE_IN_PROGRESS"),
        _event(2, "Vpc", "DELETE_FAILED", "an earlier attempt"),
        _event(3, STACK, "DELETE_FAILED"),
        _event(4, STACK, "DELETE_IN_PROGRESS"),
        _event(5, "Vpc", "DELETE_FAILED", "has dependencies"),
        _event(6, STACK, "DELETE_FAILED"),
    ]
    assert [e.reason for e in this_delete(events, STACK) if e.reason] == ["has dependencies"]
    assert this_delete(events[1:3], STACK) == events[1:3]  # no start seen: all of them
