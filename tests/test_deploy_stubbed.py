"""What the local endpoint cannot show, fed responses of the real API's shape:
rollbacks with reasons, Replacement flags, failed change sets, throttling."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from generator.aws import RETRY_CONFIG
from generator.deploy.cfn import (
    THROTTLE_RETRIES,
    CloudFormation,
    StackInfo,
    UnreadableAnswer,
    Waits,
)
from generator.deploy.delete import DeletePlan, Deleter
from generator.deploy.engine import Deployer, DeployOptions
from generator.deploy.resolve import Lookups
from generator.deploy.workflow import waits_from
from generator.errors import AwsError, UsageError
from generator.render import Rendered
from generator.ui import Console
from generator.yamlsrc import load_cfn
from tests.conftest import run_stackgen
from tests.fakes.clock import FakeClock
from tests.fakes.cloudformation import FakeCloudFormation
from tests.stubs import (
    CS_ID,
    STACK,
    STACK_ID,
    T0,
    offline_client,
    recorder,
    serving,
    stubbed_cfn,
)


def _deployer(rendered: Rendered, client: Any, asked: list[str]) -> Deployer:
    return Deployer(rendered, CloudFormation(client, sleep=lambda _: None), Lookups(None),
                    Console(color=False), recorder(asked), DeployOptions(frozenset({"network"})))


def _event(n: int, logical: str, rtype: str, status: str, reason: str = "") -> dict[str, Any]:
    event = {"StackId": STACK_ID, "EventId": f"e{n}", "StackName": STACK,
             "LogicalResourceId": logical, "PhysicalResourceId": "", "ResourceType": rtype,
             "Timestamp": T0 + timedelta(seconds=n), "ResourceStatus": status}
    if reason:
        event["ResourceStatusReason"] = reason
    return event


def _stack(status: str, **extra: Any) -> dict[str, Any]:
    return {"Stacks": [{"StackName": STACK, "StackId": STACK_ID, "StackStatus": status,
                        "CreationTime": T0, **extra}]}


def _change(action: str, logical: str, rtype: str, replacement: str | None = None,
            **extra: Any) -> dict[str, Any]:
    rc: dict[str, Any] = {"Action": action, "LogicalResourceId": logical, "ResourceType": rtype,
                          **extra}
    if replacement:
        rc["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": rc}


def _create_until_execute(stub: Stubber, changes: list[dict[str, Any]]) -> None:
    stub.add_response("describe_stacks", {"Stacks": []}, {})
    stub.add_response("create_change_set", {"Id": CS_ID, "StackId": STACK_ID},
                      {"StackName": STACK, "ChangeSetName": ANY, "ChangeSetType": "CREATE",
                       "TemplateBody": ANY, "Capabilities": ANY, "Description": ANY,
                       "Parameters": ANY, "Tags": ANY})
    stub.add_response("describe_change_set", {
        "ChangeSetId": CS_ID, "ChangeSetName": "stackgen-x", "StackId": STACK_ID,
        "StackName": STACK, "Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE",
        "Changes": changes}, {"ChangeSetName": CS_ID, "IncludePropertyValues": True})
    stub.add_response("describe_stack_events", {"StackEvents": [
        _event(1, STACK, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS")]},
        {"StackName": STACK})
    stub.add_response("execute_change_set", {}, {"ChangeSetName": CS_ID})


CIDR_CONFLICT = "Resource handler returned message: \"The CIDR '10.0.0.0/16' conflicts\""


def _on_fake(rendered: Rendered, fake: FakeCloudFormation, asked: list[str],
             clock: FakeClock | None = None) -> Deployer:
    """The network stack's deploy against CloudFormation in memory, on a fake clock."""
    cfn = CloudFormation(fake, waits=(clock or FakeClock()).waits())
    return Deployer(rendered, cfn, Lookups(None), Console(color=False), recorder(asked),
                    DeployOptions(frozenset({"network"})))


def test_rollback_reports_the_failed_resources_and_their_reasons(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeCloudFormation()
    fake.fail(STACK, "Vpc", CIDR_CONFLICT)
    asked: list[str] = []
    [result] = _on_fake(rendered, fake, asked).run()
    assert result.state == "FAILED"
    assert result.reasons == [f"Vpc (AWS::EC2::VPC): {CIDR_CONFLICT}"]
    assert fake.statuses() == {STACK: "ROLLBACK_COMPLETE"}
    out = capsys.readouterr().out
    # Only this operation's events, each once, oldest first.
    assert out.index("CREATE_IN_PROGRESS") < out.index("CREATE_FAILED") < \
        out.index("ROLLBACK_COMPLETE")
    assert out.count("REVIEW_IN_PROGRESS") == 0 and out.count("CREATE_FAILED") == 1
    assert asked == [f"execute this change set on {STACK}?"]


def test_replacement_flags_reach_the_review(rendered: Rendered,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    template = rendered.stacks["network"].template
    resources = load_cfn(template)["Resources"]
    subnet = resources["PublicSubnet1"]
    before = {**resources, "Vpc": {**resources["Vpc"], "Properties": {"CidrBlock": "10.9.0.0/16"}},
              "PublicSubnet1": {**subnet, "Properties": {**subnet["Properties"], "Tags": []}}}
    del before["AppSecurityGroup"]
    fake = FakeCloudFormation()
    network = rendered.stacks["network"]
    fake.existing(STACK, json.dumps({"Resources": before}), tags=network.tags,
                  parameters={k: str(v) for k, v in network.parameters.items()})
    fake.replacement[(STACK, "Vpc")] = "True"
    fake.replacement[(STACK, "PublicSubnet1")] = "Conditional"
    fake.outputs[STACK] = {"VpcId": "vpc-0a1b"}
    [result] = _on_fake(rendered, fake, []).run()
    assert result.state == "UPDATED" and result.outputs["VpcId"] == "vpc-0a1b"
    review = capsys.readouterr().out
    rows = {line.split()[2]: line.split() for line in review.splitlines()
            if line.strip().startswith(("~", "+"))}
    assert rows["Vpc"][-1] == "True"
    assert rows["PublicSubnet1"][-1] == "Conditional"
    assert rows["AppSecurityGroup"][-1] == "AWS::EC2::SecurityGroup"  # no replacement column value
    assert "VpcId = vpc-0a1b" in review


def test_a_change_set_that_fails_creation_is_cleaned_up(rendered: Rendered) -> None:
    fake = FakeCloudFormation()
    fake.inject("CreateChangeSet", "ValidationError",
                "Template format error: Unresolved resource dependencies [Igw]")
    [result] = _on_fake(rendered, fake, []).run()
    assert result.state == "FAILED"
    assert "Unresolved resource dependencies [Igw]" in result.reasons[0]
    assert fake.stacks == {} and fake.change_sets == {}


def test_persistent_throttling_is_a_clean_failure_not_a_traceback(rendered: Rendered) -> None:
    fake, clock = FakeCloudFormation(), FakeClock()
    # Polls answer Throttling by halving their budget and asking again; persistent
    # throttling outlasts those retries too.
    fake.inject("DescribeStacks", "Throttling", "Rate exceeded", times=THROTTLE_RETRIES + 1)
    with pytest.raises(AwsError, match="Rate exceeded"):
        _on_fake(rendered, fake, [], clock).run()
    assert fake.calls == ["DescribeStacks"] * (THROTTLE_RETRIES + 1)
    assert clock.now > 0  # each retry waited for the halved budget's token (on the fake clock)


class _ThrottlingCloudFormation(BaseHTTPRequestHandler):
    """Answers like CloudFormation under load: Throttling twice, then the result."""

    hits = 0
    THROTTLED = (b'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
                 b"<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
                 b"</Message></Error><RequestId>r1</RequestId></ErrorResponse>")
    OK = (b'<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
          b"<DescribeStacksResult><Stacks><member><StackName>s</StackName><StackId>id</StackId>"
          b"<StackStatus>CREATE_COMPLETE</StackStatus>"
          b"<CreationTime>2026-11-28T12:00:00Z</CreationTime></member></Stacks>"
          b"</DescribeStacksResult><ResponseMetadata><RequestId>r2</RequestId>"
          b"</ResponseMetadata></DescribeStacksResponse>")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).hits += 1
        body = self.THROTTLED if type(self).hits <= 2 else self.OK
        self.send_response(400 if type(self).hits <= 2 else 200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def throttling_server() -> Iterator[str]:
    _ThrottlingCloudFormation.hits = 0
    with serving(_ThrottlingCloudFormation) as port:
        yield f"http://127.0.0.1:{port}"


def test_throttling_is_absorbed_by_adaptive_retries(
        throttling_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore backs off with time.sleep: recorded here, not slept (seconds per retry).
    backoffs: list[float] = []
    monkeypatch.setattr(time, "sleep", backoffs.append)
    client = offline_client("cloudformation", endpoint_url=throttling_server, config=RETRY_CONFIG)
    assert client.meta.config.retries["mode"] == "adaptive"
    found = CloudFormation(client, waits=FakeClock().waits()).describe_many(["s", "other"])
    assert list(found) == ["s"] and found["s"].status == "CREATE_COMPLETE"
    assert _ThrottlingCloudFormation.hits == 3
    assert len([b for b in backoffs if b > 0]) >= 1  # a retry after Throttling backs off


def test_rollback_complete_is_recreated_after_a_yes(rendered: Rendered) -> None:
    fake = FakeCloudFormation()
    old = fake.existing(STACK, rendered.stacks["network"].template, "ROLLBACK_COMPLETE")
    asked: list[str] = []
    [result] = _on_fake(rendered, fake, asked).run()
    assert asked[0].startswith(f"{STACK} is ROLLBACK_COMPLETE after a failed create")
    assert result.state == "CREATED", result.reasons
    assert fake.gone == [old] and fake.stacks[STACK].stack_id != old.stack_id


def test_rollback_complete_is_left_alone_without_a_yes(rendered: Rendered) -> None:
    fake = FakeCloudFormation()
    fake.existing(STACK, rendered.stacks["network"].template, "ROLLBACK_COMPLETE")
    deployer = _on_fake(rendered, fake, [])
    deployer.confirm = lambda question: False
    [result] = deployer.run()
    assert result.state == "DECLINED"
    assert fake.statuses() == {STACK: "ROLLBACK_COMPLETE"}
    assert "DeleteStack" not in fake.calls and "CreateChangeSet" not in fake.calls


# --- deadlines and Ctrl-C (issue 11, defects 7 and 6) --------------------------------


def _in_progress_polls(stub: Stubber, status: str, count: int) -> None:
    for n in range(count):
        stub.add_response("describe_stacks", _stack(status), {"StackName": STACK})
        stub.add_response("describe_stack_events", {"StackEvents": [
            _event(2, "Vpc", "AWS::EC2::VPC", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
            _event(1, STACK, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS")]} if n == 0
            else {"StackEvents": []}, {"StackName": STACK})


def test_a_create_that_never_ends_times_out_and_says_what_is_where(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    """A lost response once left a create waiting silently forever."""
    client = stubbed_cfn()
    fake = FakeClock()
    waits = Waits(clock=fake.clock, sleep=fake.sleep, default_seconds=5, progress_every=2)
    with Stubber(client) as stub:
        _create_until_execute(stub, [_change("Add", "Vpc", "AWS::EC2::VPC")])
        _in_progress_polls(stub, "CREATE_IN_PROGRESS", 40)
        deployer = Deployer(rendered, CloudFormation(client, waits=waits), Lookups(None),
                            Console(color=False), lambda q: True,
                            DeployOptions(frozenset({"network"})))
        [result] = deployer.run()
    assert result.state == "TIMED_OUT" and not result.ok
    assert result.reasons == [
        f"{STACK} still CREATE_IN_PROGRESS after 5.0s (deadline 5.0s); CloudFormation "
        "carries on without us: see `stackgen status`, or allow longer with --wait-timeout"]
    assert 5.0 <= fake.now < 5.01  # the last sleep is cut to the deadline, not past it
    out = capsys.readouterr().out
    progress = [line for line in out.splitlines() if " for " in line and "deadline" in line]
    assert len(progress) == 2  # every 2 s of a 5 s wait
    # polls at 0, 0.5, 1.25, 2.375 s (backoff 0.5 s x 1.5): the first past 2 s
    assert "[network] … CREATE_IN_PROGRESS for 2.4s (deadline 5.0s); last event " in progress[0]
    assert progress[0].endswith("Vpc CREATE_IN_PROGRESS")
    where = out[out.index("where the stacks are now:"):]
    assert f"network  {STACK}  … CREATE_IN_PROGRESS" in where


def test_deadlines_follow_the_slowest_resource_type(rendered: Rendered) -> None:
    waits = Waits(default_seconds=30 * 60)
    assert waits.for_stack(rendered.stacks["network"].template) == 30 * 60
    assert waits.for_stack(rendered.stacks["rds"].template) == 60 * 60
    tuned = waits_from(["45", "AWS::RDS::DBInstance=90"])
    assert tuned.for_stack(rendered.stacks["network"].template) == 45 * 60
    assert tuned.for_stack(rendered.stacks["rds"].template) == 90 * 60
    with pytest.raises(UsageError, match="--wait-timeout soon: give minutes"):
        waits_from(["soon"])


def test_a_delete_that_never_ends_times_out(rendered: Rendered,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    client = stubbed_cfn()
    fake = FakeClock()
    waits = Waits(clock=fake.clock, sleep=fake.sleep, default_seconds=3, progress_every=60)
    info = StackInfo(STACK, STACK_ID, "CREATE_COMPLETE", {}, {}, {}, T0)
    with Stubber(client) as stub:
        stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK})
        stub.add_response("delete_stack", {}, {"StackName": STACK})
        for _ in range(5):  # polls at 0, 0.5, 1.25, 2.375 and 3.0 s
            stub.add_response("describe_stacks", _stack("DELETE_IN_PROGRESS"),
                              {"StackName": STACK_ID})
        stub.add_response("describe_stacks", _stack("DELETE_IN_PROGRESS"), {"StackName": STACK})
        deleter = Deleter(rendered, CloudFormation(client, waits=waits), Console(color=False),
                          lambda q: True)
        [result] = deleter.run(DeletePlan([("network", info)], []), yes=True)
        stub.assert_no_pending_responses()
    assert result.state == "TIMED_OUT"
    assert result.reasons[0].startswith(f"{STACK} still DELETE_IN_PROGRESS after 3.0s")
    out = capsys.readouterr().out
    assert f"network  {STACK}  … DELETE_IN_PROGRESS" in out[out.index("where the stacks"):]


def test_ctrl_c_twice_stops_waiting_and_reports_instead_of_raising(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C pressed twice: the second press used to escape the scheduler (KeyError or
    a raw KeyboardInterrupt); now it stops every wait and says what is where."""
    client = stubbed_cfn()
    cfn = CloudFormation(client)
    waiting = threading.Event()

    def sleep(_: float) -> None:  # a long CloudFormation operation
        waiting.set()
        cfn.abandon.wait(10)

    cfn.waits = Waits(sleep=sleep)

    stopping = threading.Event()

    class Watching(Console):  # the second press only once the first was handled
        def line(self, text: str = "") -> None:
            super().line(text)
            if text.startswith("interrupted: no new stack starts"):
                stopping.set()

    def press_ctrl_c_twice() -> None:
        assert waiting.wait(10)
        os.kill(os.getpid(), signal.SIGINT)
        assert stopping.wait(10)
        os.kill(os.getpid(), signal.SIGINT)

    with Stubber(client) as stub:
        _create_until_execute(stub, [_change("Add", "Vpc", "AWS::EC2::VPC")])
        _in_progress_polls(stub, "CREATE_IN_PROGRESS", 2)
        stub.add_response("describe_stacks", _stack("CREATE_IN_PROGRESS"), {"StackName": STACK})
        deployer = Deployer(rendered, cfn, Lookups(None), Watching(color=False), lambda q: True,
                            DeployOptions(frozenset({"network"})))
        presser = threading.Thread(target=press_ctrl_c_twice)
        presser.start()
        try:
            [result] = deployer.run()
        except KeyboardInterrupt:
            pytest.fail("the second Ctrl-C escaped the engine")
        finally:
            presser.join()
    assert result.state == "INTERRUPTED"
    assert result.reasons == [f"stopped waiting while {STACK} was CREATE_IN_PROGRESS; "
                              "CloudFormation carries on without us: see `stackgen status`"]
    out = capsys.readouterr().out
    assert "interrupted: no new stack starts" in out
    assert "interrupted again: no longer waiting for CloudFormation" in out
    assert f"network  {STACK}  … CREATE_IN_PROGRESS" in out


def test_an_interrupt_between_scheduling_steps_loses_no_stack(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C landing while a stack is handed to a worker left it out of the results:
    KeyError at the end of the run."""
    from generator.deploy import scheduler

    class Interrupting(ThreadPoolExecutor):
        def submit(self, *args: Any, **kwargs: Any) -> Any:
            super().submit(*args, **kwargs)
            raise KeyboardInterrupt  # after the hand-over, before the bookkeeping

    monkeypatch.setattr(scheduler, "ThreadPoolExecutor", Interrupting)
    client = stubbed_cfn()
    with Stubber(client) as stub:
        stub.add_response("describe_stacks", {"Stacks": []}, {})
        stub.add_response("create_change_set", {"Id": CS_ID, "StackId": STACK_ID}, None)
        stub.add_response("describe_change_set", {
            "ChangeSetId": CS_ID, "StackId": STACK_ID, "StackName": STACK,
            "Status": "CREATE_COMPLETE", "Changes": []}, None)
        stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
        stub.add_response("delete_stack", {}, {"StackName": STACK})
        deployer = _deployer(rendered, client, [])
        deployer.confirm = lambda question: False
        results = deployer.run()
    # The worker either saw the interrupt or was declined; either way, nothing ran.
    assert [r.stack for r in results] == ["network"]
    assert results[0].state in ("INTERRUPTED", "DECLINED")


class _FailingEndpoint(BaseHTTPRequestHandler):
    """What a broken endpoint (or a proxy before it) answers: an HTML error page."""

    PAGE = (b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
            b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and "
            b"was unable to complete your request.</p>\n")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(500)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.PAGE)))
        self.end_headers()
        self.wfile.write(self.PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def failing_endpoint() -> Iterator[str]:
    with serving(_FailingEndpoint) as port:
        yield f"http://127.0.0.1:{port}"


def test_an_html_answer_is_one_line_naming_the_endpoint(failing_endpoint: str) -> None:
    client = offline_client("cloudformation", endpoint_url=failing_endpoint, config=RETRY_CONFIG)
    with pytest.raises(UnreadableAnswer) as caught:
        CloudFormation(client).describe("s")
    assert str(caught.value) == (
        f"describe_stacks: {failing_endpoint} answered an HTML page ('500 Internal Server "
        "Error'), not an AWS response; that endpoint (or a proxy in front of it) is failing")


def test_the_command_line_shows_the_html_answer_as_one_line(
        failing_endpoint: str, project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=failing_endpoint, AWS_ACCESS_KEY_ID="x",
               AWS_SECRET_ACCESS_KEY="x")
    # An AWS env: a local one follows only a stackgen endpoint and would refuse this one.
    done = run_stackgen(["deploy", "--env", "dev", "--yes", "--no-lint"], cwd=project, env=env)
    assert done.returncode == 1
    assert done.stderr == (
        f"error: get_caller_identity: {failing_endpoint} answered an HTML page ('500 Internal "
        "Server Error'), not an AWS response; that endpoint (or a proxy in front of it) is "
        "failing\n")


def test_a_change_set_that_never_finishes_is_given_up_and_removed(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    client = stubbed_cfn()
    fake = FakeClock()
    waits = Waits(clock=fake.clock, sleep=fake.sleep, change_set_seconds=4, progress_every=3)
    with Stubber(client) as stub:
        stub.add_response("describe_stacks", {"Stacks": []}, {})
        stub.add_response("create_change_set", {"Id": CS_ID, "StackId": STACK_ID}, None)
        for _ in range(5):  # polls at 0, 0.5, 1.25, 2.375 and 4.0 s (4.06 cut to 4.0)
            stub.add_response("describe_change_set", {
                "ChangeSetId": CS_ID, "StackId": STACK_ID, "StackName": STACK,
                "Status": "CREATE_IN_PROGRESS"},
                {"ChangeSetName": CS_ID, "IncludePropertyValues": True})
        stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
        stub.add_response("delete_stack", {}, {"StackName": STACK})
        stub.add_client_error("describe_stacks", "ValidationError",
                              f"Stack with id {STACK} does not exist", 400,
                              expected_params={"StackName": STACK})
        deployer = Deployer(rendered, CloudFormation(client, waits=waits), Lookups(None),
                            Console(color=False), lambda q: True,
                            DeployOptions(frozenset({"network"})))
        [result] = deployer.run()
        stub.assert_no_pending_responses()
    assert result.state == "TIMED_OUT"
    assert result.reasons[0].startswith(
        f"change set on {STACK} still CREATE_IN_PROGRESS after 4.0s (deadline 4.0s)")
    out = capsys.readouterr().out
    assert "[network] … CREATE_IN_PROGRESS for 4.0s (deadline 4.0s); no event yet" in out
    assert f"network  {STACK}  · NOT_DEPLOYED" in out  # the empty shell went with it
