"""Polling against the local endpoint's latency model (issue 16, item 3). The wait's sleep
moves the endpoint's clock on (tests/helpers/endpoint_clock.py) and records each delay, so
the test sees the pacing in force exactly and no modelled second is waited for."""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime
from typing import Any

from generator.aws.cfn import CloudFormation
from generator.aws.polling import POLL_HOLD, Waits, backoff
from tests.conftest import LATENCY_SCALE
from tests.helpers.endpoint_clock import EndpointClock
from tests.helpers.polling import STACK

# --- on the latency model ---------------------------------------------------------------

SCALE = LATENCY_SCALE
# Model seconds that pass for real between a poll and our reading the clock (HTTP calls on
# a loaded box); the delays themselves are exact.
SLACK = 0.5


def _create(cfn: Any, template: dict[str, Any]) -> None:
    cs = cfn.create_change_set(StackName=STACK, ChangeSetName=f"cs{time.monotonic_ns()}",
                               ChangeSetType="CREATE", TemplateBody=json.dumps(template))
    cfn.execute_change_set(ChangeSetName=cs["Id"])


def _noticed(client: Any, clock: EndpointClock,
             template: dict[str, Any]) -> tuple[str, float, list[datetime], int]:
    """Create, wait as the engine does; (final status, model seconds from the status change
    to our noticing it, the model time of each poll, calls made)."""
    cfn = CloudFormation(client, waits=Waits(time_scale=SCALE, clock=clock.monotonic,
                                             sleep=clock.sleep))
    _create(client, template)
    polls: list[datetime] = []
    info = cfn.wait_stack(STACK, on_poll=lambda *_: polls.append(clock.now()))
    assert info is not None
    events = client.describe_stack_events(StackName=STACK)["StackEvents"]
    changed = max(e["Timestamp"] for e in events if e["LogicalResourceId"] == STACK)
    # The status changed after the poll before the last (that one saw it in progress).
    assert polls[-2] < changed
    # The delays were the pacing in force, in order: nothing else slept.
    assert clock.slept == [d / SCALE for d in itertools.islice(backoff(), len(clock.slept))]
    return info.status, (polls[-1] - changed).total_seconds() * SCALE, polls, cfn.calls


def test_completion_is_noticed_within_two_seconds_early_and_the_cap_later(
        slow: Any, endpoint_clock: EndpointClock) -> None:
    quick = {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC",
                                   "Properties": {"CidrBlock": "10.0.0.0/16"}}}}
    status, late, polls, calls = _noticed(slow.cloudformation, endpoint_clock, quick)
    assert status == "CREATE_COMPLETE"
    in_force = endpoint_clock.slept[-1] * SCALE
    assert in_force <= POLL_HOLD  # within the first minute the delay holds at 2 s
    assert late <= in_force + SLACK
    # 10 modelled seconds: polls at 0, .5, 1.25, 2.4, 4.1, 6.1, 8.1, 10.1; two calls each
    assert len(polls) == 8
    assert calls <= 2 * len(polls)


def test_failure_is_noticed_within_the_delay_in_force(
        slow: Any, endpoint_clock: EndpointClock) -> None:
    failing = {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "CidrBlock": "192.168.0.0/24"}}}}
    status, late, _, _ = _noticed(slow.cloudformation, endpoint_clock, failing)
    assert status == "ROLLBACK_COMPLETE"
    assert late <= endpoint_clock.slept[-1] * SCALE + SLACK
