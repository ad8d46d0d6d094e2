"""Polling fit for real CloudFormation (issue 16, item 3): back-off from 0.5 s to a 5 s cap,
one shared call budget for every stack in flight, one events call per poll, a deadline per
stack from its resource types (generator/latency.py), and completion or failure noticed
within the poll delay in force, measured on the local endpoint's latency model.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from generator.aws.cfn import CloudFormation
from generator.aws.polling import POLL_BURST, POLL_CAP, POLL_HOLD, POLL_RATE, PollBudget, Waits, backoff
from generator.latency import latency
from generator.params import load_env
from generator.render import Rendered, render
from tests.conftest import ROOT
from tests.helpers.polling import STACK


@pytest.fixture(scope="module")
def rendered() -> Rendered:
    return render(load_env(ROOT / "params", "local"), ROOT / "templates")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_backoff_is_fast_first_holds_two_seconds_for_a_minute_then_capped() -> None:
    delays = list(itertools.islice(backoff(), 60))
    assert delays[:4] == [0.5, 0.75, 1.125, 1.6875]
    looks = list(itertools.accumulate(delays))
    first_minute = [d for d, at in zip(delays, [0.0, *looks], strict=False) if at < 60]
    assert max(first_minute) == POLL_HOLD  # noticed within 2 s during the first minute
    assert max(delays) == POLL_CAP == delays[-1]
    assert looks[delays.index(POLL_CAP)] < 75  # at the cap soon after the minute
    later = [d for d, at in zip(delays, [0.0, *looks], strict=False) if at >= 120]
    assert 2 * 60 / sum(later) * len(later) <= 24.5  # calls per stack-minute at the cap


def test_the_budget_holds_the_rate_across_threads() -> None:
    """16 pollers sharing one budget: no more calls than rate x time + burst."""
    budget = PollBudget()
    lock = threading.Lock()
    fake = FakeClock()
    taken: list[float] = []

    def sleep(seconds: float) -> None:
        with lock:
            fake.sleep(seconds)

    def poller() -> None:
        for _ in range(10):
            budget.take(fake.clock, sleep)
            with lock:
                taken.append(fake.now)

    threads = [threading.Thread(target=poller) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 160
    for t in taken:  # by each moment, at most burst + rate x elapsed calls went out
        assert sum(1 for u in taken if u <= t) <= POLL_BURST + POLL_RATE * t + 16


def test_a_single_poller_is_never_held_back_at_the_cap() -> None:
    budget, fake = PollBudget(), FakeClock()
    for delay in itertools.islice(backoff(), 40):
        for _ in range(2):  # DescribeStacks + DescribeStackEvents
            budget.take(fake.clock, fake.sleep)
        fake.now += delay
    assert budget.waited == 0


def test_throttling_halves_the_budget_and_the_poll_goes_on() -> None:
    client = boto3.client("cloudformation", region_name="us-east-1",  # loopback, never AWS
                          endpoint_url="http://127.0.0.1:9",
                          aws_access_key_id="x", aws_secret_access_key="x")
    fake = FakeClock()
    cfn = CloudFormation(client, waits=Waits(clock=fake.clock, sleep=fake.sleep))
    stack = {"StackName": STACK, "StackId": "id", "StackStatus": "CREATE_IN_PROGRESS",
             "CreationTime": "2026-11-29T00:00:00Z"}
    with Stubber(client) as stub:
        for _ in range(2):
            stub.add_client_error("describe_stacks", "Throttling", "Rate exceeded", 400,
                                  expected_params={"StackName": STACK})
        stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": STACK})
        info = cfn.describe(STACK)
        stub.assert_no_pending_responses()
    assert info is not None and info.status == "CREATE_IN_PROGRESS"
    assert cfn.waits.budget.rate == pytest.approx(POLL_RATE / 4 + 0.1)
    assert fake.now > 0  # it waited for its tokens after each throttle


def _events_page(n: int, token: str | None) -> dict[str, Any]:
    page: dict[str, Any] = {"StackEvents": [{
        "EventId": f"e{n}-{i}", "StackId": "id", "StackName": STACK,
        "Timestamp": "2026-11-29T00:00:00Z", "LogicalResourceId": "Vpc",
        "ResourceType": "AWS::EC2::VPC", "ResourceStatus": "CREATE_IN_PROGRESS"}
        for i in range(3)]}
    if token:
        page["NextToken"] = token
    return page


def test_one_events_call_per_poll_even_with_a_long_history() -> None:
    client = boto3.client("cloudformation", region_name="us-east-1",  # loopback, never AWS
                          endpoint_url="http://127.0.0.1:9",
                          aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response("describe_stack_events", _events_page(1, "more"),
                          {"StackName": STACK})
        fresh = CloudFormation(client).events_since(STACK, "not-on-this-page")
        stub.assert_no_pending_responses()  # the second page was not asked for
    assert len(fresh) == 3


def test_deadline_per_stack_from_the_latency_table(rendered: Rendered) -> None:
    waits = Waits()
    assert waits.for_stack(rendered.stacks["network"].template) == 30 * 60
    for stack, kind in [("rds", "AWS::RDS::DBInstance"), ("ecs", "AWS::ECS::Service"),
                        ("asg", "AWS::AutoScaling::AutoScalingGroup"),
                        ("cert", "AWS::CertificateManager::Certificate")]:
        assert waits.for_stack(rendered.stacks[stack].template) == \
            latency(kind).upper
    scaled = Waits(time_scale=60)
    assert scaled.for_stack(rendered.stacks["rds"].template) == 60
