"""What the local endpoint cannot show, on CloudFormation in memory (tests/fakes): rollbacks
with reasons, Replacement flags, failed change sets, throttling, deadlines, Ctrl-C. The
tests state the world and check its end state, not the order of the API calls."""

from __future__ import annotations

import _thread
import json
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from generator.aws.cfn import CloudFormation
from generator.aws.cfn_types import StackInfo
from generator.aws.polling import THROTTLE_RETRIES, Waits
from generator.deploy.connect import waits_from
from generator.deploy.delete import DeletePlan, Deleter
from generator.deploy.engine import Deployer
from generator.deploy.stack_work import DeployOptions
from generator.errors import AwsError, UsageError
from generator.references import Lookups
from generator.render import Rendered, nested_view
from generator.ui import Console
from generator.yamlsrc import load_cfn
from tests.fakes.clock import FakeClock
from tests.fakes.cloudformation import FakeCloudFormation
from tests.helpers.rendered import _render
from tests.stubs import (
    STACK,
    offline_client,
    recorder,
)

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


NEVER = 10**9  # polls before the fake's operation ends: it does not


def test_a_create_that_never_ends_times_out_and_says_what_is_where(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    """A lost response once left a create waiting silently forever."""
    fake, clock = FakeCloudFormation(polls_to_finish=NEVER), FakeClock()
    deployer = Deployer(rendered, CloudFormation(fake, waits=clock.waits(
                            default_seconds=5, progress_every=2)), Lookups(None),
                        Console(color=False), lambda q: True, DeployOptions(frozenset({"network"})))
    [result] = deployer.run()
    assert result.state == "TIMED_OUT" and not result.ok
    assert result.reasons == [
        f"{STACK} still CREATE_IN_PROGRESS after 5.0s (deadline 5.0s); CloudFormation "
        "carries on without us: see `stackgen status`, or allow longer with --wait-timeout"]
    # The change set's own wait comes first: the stack's deadline counts from its execute.
    stack_wait = clock.slept[-5:]  # polls at 0, 0.5, 1.25, 2.375, 4.06 cut to 5.0
    assert stack_wait[:-1] == [0.5, 0.75, 1.125, 1.6875]
    assert sum(stack_wait) == pytest.approx(5.0)  # the last sleep cut to the deadline
    assert fake.statuses() == {STACK: "CREATE_IN_PROGRESS"}  # AWS carries on
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
    fake, clock = FakeCloudFormation(polls_to_finish=NEVER), FakeClock()
    existing = fake.existing(STACK, rendered.stacks["network"].template)
    info = StackInfo(STACK, existing.stack_id, "CREATE_COMPLETE", {}, {}, {}, existing.created)
    deleter = Deleter(rendered, CloudFormation(fake, waits=clock.waits(
                          default_seconds=3, progress_every=60)), Console(color=False),
                      lambda q: True)
    [result] = deleter.run(DeletePlan([("network", info)], []), yes=True)
    assert result.state == "TIMED_OUT"
    assert result.reasons[0].startswith(f"{STACK} still DELETE_IN_PROGRESS after 3.0s")
    assert clock.now == pytest.approx(3.0)
    assert fake.statuses() == {STACK: "DELETE_IN_PROGRESS"}
    out = capsys.readouterr().out
    assert f"network  {STACK}  … DELETE_IN_PROGRESS" in out[out.index("where the stacks"):]


def test_ctrl_c_twice_stops_waiting_and_reports_instead_of_raising(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C pressed twice: the second press used to escape the scheduler (KeyError or
    a raw KeyboardInterrupt); now it stops every wait and says what is where."""
    fake = FakeCloudFormation(polls_to_create=0, polls_to_finish=NEVER)  # a long operation
    waiting = threading.Event()

    def sleep(_: float) -> None:
        waiting.set()
        cfn.abandon.wait(10)

    cfn = CloudFormation(fake, waits=Waits(clock=FakeClock().clock, sleep=sleep))
    stopping = threading.Event()

    class Watching(Console):  # the second press only once the first was handled
        def line(self, text: str = "") -> None:
            super().line(text)
            if text.startswith("interrupted: no new stack starts"):
                stopping.set()

    missed = threading.Event()

    def press_ctrl_c_twice() -> None:
        # interrupt_main: a Ctrl-C whose signal landed just before the main thread began a
        # wait (its handler's flag set, no wait interrupted). The first press once the stack
        # waits; the second once the first was handled. A wait without a timeout never saw
        # the second (the suite hung 3 runs in 10 on it); if it is missed, the stack's wait
        # is let go so that the test fails instead of hanging.
        assert waiting.wait(10)
        _thread.interrupt_main()
        assert stopping.wait(10)
        _thread.interrupt_main()
        if not cfn.abandon.wait(5):
            missed.set()
            cfn.abandon.set()

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
    assert not missed.is_set(), "the second Ctrl-C was not seen within 5 s"
    assert fake.statuses() == {STACK: "CREATE_IN_PROGRESS"}  # AWS carries on
    assert result.state == "INTERRUPTED"
    assert result.reasons == [f"stopped waiting while {STACK} was CREATE_IN_PROGRESS; "
                              "CloudFormation carries on without us: see `stackgen status`"]
    out = capsys.readouterr().out
    assert "interrupted: no new stack starts" in out
    assert "interrupted again: no longer waiting for CloudFormation" in out
    assert f"network  {STACK}  … CREATE_IN_PROGRESS" in out


def test_a_second_ctrl_c_while_the_first_is_reported_is_caught(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    """The second Ctrl-C landing while "interrupted: no new stack starts" was printed
    escaped the engine, and the run then waited for CloudFormation to finish."""
    fake = FakeCloudFormation(polls_to_create=0, polls_to_finish=NEVER)
    clock = FakeClock()
    main = threading.get_ident()
    abandoned: list[bool] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if not abandoned:
            abandoned.append(False)
            signal.pthread_kill(main, signal.SIGINT)  # the first press, while it creates
            return
        abandoned.append(cfn.abandon.wait(10))  # the second press abandons every wait
        if not abandoned[-1]:
            raise RuntimeError("the wait was not abandoned")

    cfn = CloudFormation(fake, waits=Waits(clock=clock.clock, sleep=sleep))

    class PressedAgain(Console):  # the second press lands as the first is reported
        def line(self, text: str = "") -> None:
            super().line(text)
            if text.startswith("interrupted: no new stack starts"):
                raise KeyboardInterrupt

    deployer = Deployer(rendered, cfn, Lookups(None), PressedAgain(color=False),
                        lambda q: True, DeployOptions(frozenset({"network"})))
    try:
        [result] = deployer.run()
    except KeyboardInterrupt:
        pytest.fail("the second Ctrl-C escaped the engine")
    # Every wait was abandoned: one in progress when the second press landed, or none
    # begun after it (the stack's poll sees the abandon before it sleeps again).
    assert cfn.abandon.is_set() and all(abandoned[1:])
    assert result.state == "INTERRUPTED"
    assert "interrupted again: no longer waiting for CloudFormation" in capsys.readouterr().out


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
    fake = FakeCloudFormation()
    deployer = _on_fake(rendered, fake, [])
    deployer.confirm = lambda question: False
    results = deployer.run()
    # The worker either saw the interrupt or was declined; either way, nothing ran.
    assert [r.stack for r in results] == ["network"]
    assert results[0].state in ("INTERRUPTED", "DECLINED")
    assert "ExecuteChangeSet" not in fake.calls


def test_a_change_set_that_never_finishes_is_given_up_and_removed(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    fake, clock = FakeCloudFormation(polls_to_create=NEVER), FakeClock()
    deployer = Deployer(rendered, CloudFormation(fake, waits=clock.waits(
                            change_set_seconds=4, progress_every=3)), Lookups(None),
                        Console(color=False), lambda q: True, DeployOptions(frozenset({"network"})))
    [result] = deployer.run()
    assert result.state == "TIMED_OUT"
    assert result.reasons[0].startswith(
        f"change set on {STACK} still CREATE_IN_PROGRESS after 4.0s (deadline 4.0s)")
    assert clock.now == pytest.approx(4.0)  # polls at 0, 0.5, 1.25, 2.375 and 4.0 s
    # The change set and the empty REVIEW_IN_PROGRESS shell it made are removed.
    assert fake.change_sets == {} and fake.stacks == {}
    out = capsys.readouterr().out
    assert "[network] … CREATE_IN_PROGRESS for 4.0s (deadline 4.0s); no event yet" in out
    assert f"network  {STACK}  · NOT_DEPLOYED" in out  # the empty shell went with it


def test_a_tag_only_change_aws_finds_empty_is_applied_with_update_stack(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    """On AWS a change set holds only the resources that take the stack's tags; with none
    it FAILs as holding no changes. The tags are then set by UpdateStack with the
    previous template and values, instead of the change being reported as none."""
    network = rendered.stacks["network"]
    fake = FakeCloudFormation()
    fake.existing(STACK, network.template, "UPDATE_COMPLETE", parameters=network.parameters,
                  tags={**network.tags, "owner": "old-team"})
    asked: list[str] = []
    deployer = Deployer(rendered, CloudFormation(fake, waits=FakeClock().waits()),
                        Lookups(None), Console(color=False), recorder(asked),
                        DeployOptions(frozenset({"network"})))
    [result] = deployer.run()
    assert fake.stacks[STACK].tags == deployer.tags("network")
    assert fake.stacks[STACK].parameters == network.parameters  # previous values kept
    assert fake.change_sets == {}  # the empty change set was deleted
    assert result.state == "UPDATED"
    assert asked == [f"update the tags of {STACK}?"]
    out = capsys.readouterr().out
    assert "owner: old-team → platform-team" in out


# --- 11: the nested form protects its stateful children ----------------------------


def _denied(policy: str) -> set[str]:
    return {r.split("/", 1)[1] for st in json.loads(policy)["Statement"]
            if st["Effect"] == "Deny" for r in st["Resource"]}


def test_nested_prod_protects_its_stateful_children_in_root_and_child_policies() -> None:
    """SetStackPolicy as AWS takes it (Stubber): moto stores policies but enforces none."""
    rendered = _render("prod")
    root = rendered.root.stack_name
    child = {n: f"arn:aws:cloudformation:us-east-1:222222222222:stack/{root}-{n}-X/1"
             for n in ("Network", "Alb", "Rds", "Ecs")}
    client = offline_client("cloudformation")
    sent: dict[str, str] = {}
    with Stubber(client) as stub:
        def expect_policy(name: str) -> None:
            stub.add_response("set_stack_policy", {},
                              {"StackName": name, "StackPolicyBody": ANY})

        expect_policy(root)
        stub.add_response("list_stack_resources", {"StackResourceSummaries": [
            {"LogicalResourceId": n, "PhysicalResourceId": arn,
             "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": "CREATE_COMPLETE",
             "LastUpdatedTimestamp": datetime(2026, 11, 28, tzinfo=UTC)}
            for n, arn in child.items()]}, {"StackName": root})
        # Children in render order. Issue 13: the audit trail (flow logs in network,
        # access logs in alb) is data too.
        for n in ("Network", "Alb", "Rds", "Ecs"):
            expect_policy(child[n])
        client.meta.events.register(
            "provide-client-params.cloudformation.SetStackPolicy",
            lambda params, **_: sent.update({params["StackName"]: params["StackPolicyBody"]}))
        deployer = Deployer(nested_view(rendered), CloudFormation(client), Lookups(None),
                            Console(color=False), lambda q: True,
                            DeployOptions(commit="x", nested=True, children=rendered))
        info = StackInfo(name=root, stack_id="x", status="CREATE_COMPLETE", parameters={},
                         outputs={}, tags={}, last_change=None, termination_protection=True)
        deployer.protect(root, info)
        stub.assert_no_pending_responses()
    # The root denies replacing or deleting the children holding data ...
    assert {"Network", "Alb", "Rds", "Ecs"} <= _denied(sent[root])
    assert "Dns" not in _denied(sent[root])
    # ... and each such child denies it for its own data stores.
    assert _denied(sent[child["Network"]]) == {"FlowLogGroup"}
    assert _denied(sent[child["Alb"]]) == {"AccessLogsBucket"}
    assert _denied(sent[child["Rds"]]) == {"DbInstance", "DbSecret", "AppDbSecret"}
    assert _denied(sent[child["Ecs"]]) == {"LogGroup"}
    doc = load_cfn(rendered.root.template)["Resources"]
    assert doc["Rds"]["DeletionPolicy"] == doc["Rds"]["UpdateReplacePolicy"] == "Retain"
    assert "DeletionPolicy" not in doc["Dns"]



def test_a_change_sets_validation_reads_go_side_by_side() -> None:
    """Issue 28: DescribeEvents and ListHookResults of a change set are independent round
    trips; each waits for the other here, so run one after the other they would not meet."""
    both = threading.Barrier(2, timeout=0.1)
    met: list[str] = []

    class Client:
        def describe_events(self, **params: Any) -> Any:
            both.wait()
            met.append("events")
            return {"OperationEvents": []}

        def list_hook_results(self, **params: Any) -> Any:
            both.wait()
            met.append("hooks")
            return {"HookResults": []}

    assert CloudFormation(Client()).validation_findings("cs-1") == []
    assert sorted(met) == ["events", "hooks"]
