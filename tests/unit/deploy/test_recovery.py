"""Recovery without manual steps (issue 25, "Operator on a bad day"), on the fakes: a lock
left by a killed run on this host is taken over, a rerun waits for the stacks a dead run
left in progress, `n` and Ctrl-C leave no change set behind, and the guards say which
flag overrides them."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from generator.aws.cfn import CloudFormation
from generator.aws.polling import Waits, WaitTimedOut
from generator.aws.session import Aws
from generator.cli.common import report_results
from generator.deploy import connect, preflight, workflow
from generator.deploy.connect import Connection, takeover_notice, waits_from
from generator.deploy.engine import Deployer
from generator.deploy.lock import EnvLock, Here, LockHeld, lock_key, pid_alive
from generator.deploy.stack_work import DeployOptions
from generator.deploy.units import Unit
from generator.errors import UsageError
from generator.references import Lookups
from generator.render import Rendered
from generator.ui import Console, confirmer
from generator.yamlsrc import load_cfn
from tests.fakes.clock import FakeClock
from tests.fakes.cloudformation import ACCOUNT, FakeCloudFormation
from tests.fakes.s3 import FakeS3
from tests.stubs import STACK

BUCKET = "stackgen-artifacts-123456789012-us-east-1"


# --- the lock of a dead process on this host -------------------------------------------


def _lock(s3: FakeS3, here: Here, **kwargs: Any) -> EnvLock:
    return EnvLock(s3, BUCKET, "us-east-1", "local", "kubenews-local", "deploy",
                   environ={}, heartbeat=3600, here=here, **kwargs)


def _killed(s3: FakeS3, here: Here) -> EnvLock:
    """A run that took the lock and was killed (kill -9): no heartbeat, no release."""
    dead = _lock(s3, here)
    dead.acquire()
    dead.stop_heartbeat()
    return dead


def test_the_lock_of_a_dead_process_on_this_host_is_taken_over_at_once() -> None:
    s3 = FakeS3()
    box = Here(host="box", space="boot1/4026531836", alive=lambda pid: True)
    dead = _killed(s3, box)
    # Within its TTL, while the process runs: refused, as before.
    with pytest.raises(LockHeld):
        _lock(s3, box).acquire()
    # The process is gone (its pid runs no more here): the next run takes over, no TTL.
    gone = Here(host="box", space="boot1/4026531836", alive=lambda pid: False)
    taker = _lock(s3, gone)
    taker.acquire()
    try:
        assert taker.took_over is not None and taker.took_over_dead
        assert taker.took_over.token == dead.mine.token  # type: ignore[union-attr]
        notice = takeover_notice(taker)
        assert "\n" not in notice
        assert notice.startswith(f"took over the lock of {taker.took_over.who} (deploy, since ")
        assert notice.endswith("that process no longer runs on this host")
    finally:
        taker.release()
    assert taker.read() is None


@pytest.mark.parametrize("taker", [
    Here(host="other", space="boot1/4026531836", alive=lambda pid: False),  # another host
    Here(host="box", space="boot2/4026531836", alive=lambda pid: False),  # rebooted, or a
    Here(host="box", space="boot1/4026532000", alive=lambda pid: False),  # twin / container
], ids=["another-host", "another-boot", "another-pid-namespace"])
def test_a_lock_held_elsewhere_still_needs_unlock(taker: Here) -> None:
    s3 = FakeS3()
    _killed(s3, Here(host="box", space="boot1/4026531836", alive=lambda pid: True))
    with pytest.raises(LockHeld) as refused:
        _lock(s3, taker).acquire()
    assert "`stackgen unlock --env local` if that process is dead" in str(refused.value)


def test_an_older_lock_object_names_its_host_in_its_owner() -> None:
    """Lock objects written before the host was recorded: the host is the owner's."""
    s3 = FakeS3()
    old = _lock(s3, Here(host="box", space="", alive=lambda pid: True))
    old.ensure_bucket()
    body = {"owner": "ops@box", "pid": 4242, "reason": "deploy",
            "acquired": "2026-11-28T12:00:00+00:00", "ttl_seconds": 600, "token": "t",
            "ci": None, "tool": "0.1"}
    s3.put_object(Bucket=BUCKET, Key=lock_key("kubenews-local"), Body=json.dumps(body).encode())
    asked: list[int] = []

    def alive(pid: int) -> bool:
        asked.append(pid)
        return False

    taker = _lock(s3, Here(host="box", space="boot1/1", alive=alive))
    taker.acquire()
    assert asked == [4242] and taker.took_over_dead
    taker.release()


def test_pid_alive_asks_the_system() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(2**22 + 1)  # above Linux's largest pid_max: no such process


def test_an_expired_lock_is_still_taken_over_as_expired() -> None:
    s3 = FakeS3()
    box = Here(host="box", space="b/1", alive=lambda pid: True)
    dead = _lock(s3, box, ttl=timedelta(seconds=1))
    dead.acquire()
    dead.stop_heartbeat()
    s3.advance(2)
    taker = _lock(s3, box)
    taker.acquire()
    assert taker.took_over is not None and not taker.took_over_dead
    assert "expired" in takeover_notice(taker)
    taker.release()


# --- --wait-timeout sets the deadline, shorter or longer ---------------------------------


def test_wait_timeout_shortens_and_lengthens_every_deadline(rendered: Rendered) -> None:
    network, rds = rendered.stacks["network"].template, rendered.stacks["rds"].template
    assert Waits().for_stack(rds) == 60 * 60  # the default RDS deadline
    shorter = waits_from(["10"])
    assert shorter.for_stack(network) == 10 * 60
    assert shorter.for_stack(rds) == 10 * 60  # was 60 minutes: it could only lengthen
    longer = waits_from(["120"])
    assert (longer.for_stack(network), longer.for_stack(rds)) == (120 * 60, 120 * 60)
    # A type's own value wins over the plain one, in either order.
    for args in (["5", "AWS::RDS::DBInstance=90"], ["AWS::RDS::DBInstance=90", "5"]):
        both = waits_from(args)
        assert (both.for_stack(network), both.for_stack(rds)) == (5 * 60, 90 * 60)
    # A stack waits as long as its slowest type: the rds stack's others keep 30 minutes.
    assert waits_from(["AWS::RDS::DBInstance=20"]).for_stack(rds) == 30 * 60
    assert waits_from(["20", "AWS::RDS::DBInstance=20"]).for_stack(rds) == 20 * 60
    for bad in ("0", "-3", "inf", "nan", "soon", "Rds=5"):
        with pytest.raises(UsageError, match=f"--wait-timeout {bad}: give minutes"):
            waits_from([bad])


# --- a deploy on the fakes, as the CLI runs it (workflow + report) -----------------------


class FakeSession:
    """The session a unit's lock and artifacts use: S3 in memory."""

    def __init__(self, s3: FakeS3) -> None:
        self.s3 = s3

    def client(self, service: str, **_: Any) -> Any:
        assert service == "s3", service
        return self.s3


def _opened(rendered: Rendered, fake: FakeCloudFormation, clock: FakeClock,
            monkeypatch: pytest.MonkeyPatch, s3: FakeS3 | None = None) -> Connection:
    monkeypatch.setattr(connect, "git_commit", lambda: None)  # no git process here
    aws = Aws(FakeSession(s3 or FakeS3()), CloudFormation(fake, waits=clock.waits()), ACCOUNT)
    return Connection(Unit("local", None, rendered), rendered, aws, Console(color=False),
                      Lookups(None), nested=False)


def _no_change_sets_nor_shells(fake: FakeCloudFormation) -> None:
    fake.describe_stacks()  # a look: a deleted review shell (it holds nothing) is gone
    assert fake.change_sets == {}
    assert "REVIEW_IN_PROGRESS" not in fake.statuses().values()


def test_no_at_the_prompt_changes_nothing_exits_0_and_leaves_no_change_set(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    fake, clock = FakeCloudFormation(), FakeClock()
    old = rendered.stacks["network"].template.replace("10.0.0.0/16", "10.9.0.0/16")
    # Deployed, and about to change: an UPDATE change set (and rds's CREATE after it).
    fake.existing(STACK, old, outputs={k: f"{k.lower()}-fake" for k in
                                       load_cfn(old).get("Outputs") or {}})
    conn = _opened(rendered, fake, clock, monkeypatch)
    asked: list[str] = []

    def no(question: str) -> bool:
        asked.append(question)
        return False

    results = workflow.deploy([conn], no, ("network", "rds"), False, 4, (), ask_once=True,
                              waits=clock.waits())
    assert asked == ["execute the changes to network, rds (env 'local')?"]
    assert "CreateChangeSet" in fake.calls  # the review made them; the "no" deleted them
    _no_change_sets_nor_shells(fake)
    assert fake.statuses() == {STACK: "CREATE_COMPLETE"} and fake.stacks[STACK].template == old
    capsys.readouterr()
    assert report_results([conn], results, "deploy", False) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["nothing changed: the changes were not approved"]


def test_ctrl_c_at_the_prompt_leaves_no_change_set_nor_review_shell_nor_lock(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, clock, s3 = FakeCloudFormation(), FakeClock(), FakeS3()
    conn = _opened(rendered, fake, clock, monkeypatch, s3)

    def ctrl_c(question: str) -> bool:
        assert fake.change_sets and "REVIEW_IN_PROGRESS" in fake.statuses().values()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        workflow.deploy([conn], ctrl_c, ("network", "rds"), False, 4, (), ask_once=True,
                        waits=clock.waits())
    _no_change_sets_nor_shells(fake)
    assert fake.statuses() == {}  # the new stack's review shell went with its change set
    assert not [k for k in s3.objects if k[1].startswith("locks/")]  # the lock released


def test_ctrl_c_at_a_terminal_prompt_is_an_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    """click turns Ctrl-C at its prompt into Abort (which exited 1, "Aborted!")."""
    import click

    def aborted(*_: Any, **__: Any) -> bool:
        raise click.Abort

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(click, "confirm", aborted)
    with pytest.raises(KeyboardInterrupt):
        confirmer(False)("execute?")


def test_ctrl_c_during_a_run_stops_it_and_exits_130(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, clock = FakeCloudFormation(polls_to_finish=3), FakeClock()
    conn = _opened(rendered, fake, clock, monkeypatch)
    pressed: list[float] = []
    sleep = clock.sleep

    def press_ctrl_c_once(seconds: float) -> None:
        if not pressed and fake.statuses().get(STACK) == "CREATE_IN_PROGRESS":
            pressed.append(seconds)
            os.kill(os.getpid(), signal.SIGINT)  # lands in the main thread: the scheduler
            time.sleep(0.05)
        sleep(seconds)

    waits = msgspec.structs.replace(clock.waits(), sleep=press_ctrl_c_once)
    results = workflow.deploy([conn], lambda q: True, ("network", "rds"), False, 4, (),
                              ask_once=False, waits=waits)
    states = {r.stack: r.state for r in results["local"]}
    assert pressed and states == {"network": "CREATED", "rds": "INTERRUPTED"}
    _no_change_sets_nor_shells(fake)
    assert conn.interrupted.is_set()
    assert report_results([conn], results, "deploy", False) == 130


# --- a rerun waits for the stacks a dead run left in progress ----------------------------


def _left_running(fake: FakeCloudFormation, rendered: Rendered, status: str,
                  final: str, polls: int) -> None:
    """network as a killed run left it: an operation CloudFormation carries on."""
    template = rendered.stacks["network"].template
    outputs = {k: f"{k.lower()}-fake" for k in load_cfn(template).get("Outputs") or {}}
    stack = fake.existing(STACK, template, status, outputs=outputs)
    stack.final, stack.polls_left = final, polls


def test_a_rerun_waits_for_a_create_left_in_progress_then_goes_on(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Was: "network is busy (CREATE_IN_PROGRESS); try again later", rds blocked."""
    fake, clock = FakeCloudFormation(), FakeClock()
    _left_running(fake, rendered, "CREATE_IN_PROGRESS", "CREATE_COMPLETE", polls=40)
    conn = _opened(rendered, fake, clock, monkeypatch)
    results = workflow.deploy([conn], lambda q: True, ("network", "rds"), False, 4, (),
                              ask_once=False, waits=clock.waits(progress_every=10))
    states = {r.stack: r.state for r in results["local"]}
    assert states["network"] in ("UNCHANGED", "UPDATED") and states["rds"] == "CREATED", \
        results
    out = capsys.readouterr().out
    assert (f"network: {STACK} is CREATE_IN_PROGRESS, left by an earlier run; waiting for "
            "it (deadline 30m00s)") in out
    assert "[network] … CREATE_IN_PROGRESS for " in out  # progress while it waits
    assert f"network: {STACK} is CREATE_COMPLETE; going on" in out
    assert 10 < clock.now < 30 * 60  # waited, within the deadline


def test_a_rerun_that_waits_past_the_deadline_stops_with_the_flag_to_use(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, clock = FakeCloudFormation(), FakeClock()
    _left_running(fake, rendered, "CREATE_IN_PROGRESS", "CREATE_COMPLETE", polls=10**9)
    conn = _opened(rendered, fake, clock, monkeypatch)
    with pytest.raises(WaitTimedOut, match="allow longer with --wait-timeout"):
        workflow.deploy([conn], lambda q: True, ("network",), False, 4, (), ask_once=False,
                        waits=clock.waits(default_seconds=120))
    assert clock.now == pytest.approx(120)
    assert "CreateChangeSet" not in fake.calls


def test_a_delete_waits_for_an_update_left_in_progress(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """AWS refuses to delete a stack while an update runs; the rerun waits for it."""
    fake, clock = FakeCloudFormation(), FakeClock()
    _left_running(fake, rendered, "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", polls=5)
    conn = _opened(rendered, fake, clock, monkeypatch)
    results = workflow.delete([conn], lambda q: True, ("network",), True,
                              waits=clock.waits())
    assert [(r.stack, r.state) for r in results["local"]] == [("network", "DELETED")]
    assert f"network: {STACK} is UPDATE_COMPLETE; going on" in capsys.readouterr().out
    fake.describe_stacks()
    assert fake.statuses() == {}


# --- refusals name their guard and the flag that overrides it ---------------------------


def test_apply_without_allow_replace_names_the_replacement_guard_not_a_stale_plan(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Was: "the plan is refused ... 1 of 8 stacks moved since it was made" when nothing
    moved: the replacement guard had stopped the database."""
    fake, clock = FakeCloudFormation(), FakeClock()
    network = rendered.stacks["network"]
    outputs = {k: f"{k.lower()}-fake" for k in load_cfn(network.template).get("Outputs") or {}}
    fake.existing(STACK, network.template, parameters=network.parameters, outputs=outputs,
                  tags={**network.tags})
    rds = load_cfn(rendered.stacks["rds"].template)
    rds["Resources"]["DbInstance"]["Properties"]["DBName"] = "before"
    fake.existing("kubenews-local-rds", json.dumps(rds))
    fake.replacement[("kubenews-local-rds", "DbInstance")] = "True"
    conn = _opened(rendered, fake, clock, monkeypatch)
    [plan] = workflow.plan([conn], ("rds",), (), drift=False).values()
    assert [s.stack for s in plan.stacks if s.change_set_id] == ["rds"]
    capsys.readouterr()
    results = workflow.apply(conn, lambda q: True, plan, ())
    out = capsys.readouterr().out
    assert "ExecuteChangeSet" not in fake.calls
    assert [r.reasons for r in results] == [[
        "replacement guard: DbInstance (AWS::RDS::DBInstance) would be replaced, losing its "
        "data; rerun with --allow-replace DbInstance if that is intended"]]
    assert ("the plan is refused; nothing was executed: the replacement guard stops rds "
            "(override: --allow-replace DbInstance)") in out
    assert "moved" not in out and "stale" not in out


# --- plan --out that cannot be written ----------------------------------------------------


def test_ctrl_c_at_a_question_asked_during_the_run_discards_its_change_set(
        rendered: Rendered) -> None:
    """A change set that goes beyond the approval is asked about from a worker thread:
    Ctrl-C there escaped the scheduler twice and left the change set AVAILABLE."""
    fake = FakeCloudFormation()

    def ctrl_c(question: str) -> bool:
        raise KeyboardInterrupt

    deployer = Deployer(rendered, CloudFormation(fake, waits=FakeClock().waits()),
                        Lookups(None), Console(color=False), ctrl_c,
                        DeployOptions(frozenset({"network"})))
    [result] = deployer.run()
    assert result.state == "INTERRUPTED" and deployer.interrupted.is_set()
    _no_change_sets_nor_shells(fake)
    assert "ExecuteChangeSet" not in fake.calls


def test_a_delete_lists_the_envs_stacks_once_when_none_is_in_progress(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 28: the look for stacks left in progress is the delete's plan's listing too;
    a second DescribeStacks before the first DeleteStack was a call for nothing."""
    fake, clock = FakeCloudFormation(), FakeClock()
    template = rendered.stacks["network"].template
    fake.existing(STACK, template, outputs={k: f"{k.lower()}-fake" for k in
                                            load_cfn(template).get("Outputs") or {}})
    conn = _opened(rendered, fake, clock, monkeypatch)
    results = workflow.delete([conn], lambda q: True, ("network",), True,
                              waits=clock.waits())
    assert [(r.stack, r.state) for r in results["local"]] == [("network", "DELETED")]
    before_delete = fake.calls[:fake.calls.index("DeleteStack")]
    assert before_delete.count("DescribeStacks") == 1, before_delete


def test_a_deploy_yes_lists_the_envs_stacks_once_under_the_lock(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 28: with none in progress, the look for stacks left by an earlier run is the
    run's own listing; a second DescribeStacks before the first change set was a call for
    nothing (preflight's two reads before the lock are another matter)."""
    fake, clock = FakeCloudFormation(), FakeClock()
    conn = _opened(rendered, fake, clock, monkeypatch)
    results = workflow.deploy([conn], lambda q: True, ("network",), False, 4, (),
                              ask_once=False, waits=clock.waits())
    assert [(r.stack, r.state) for r in results["local"]] == [("network", "CREATED")]
    before = fake.calls[:fake.calls.index("CreateChangeSet")]
    listings_before_the_lock = 1  # preflight.listed: the form, zone and refactor checks
    assert before.count("DescribeStacks") == listings_before_the_lock + 1, before


def test_a_whole_env_deploy_lists_its_stacks_once_before_the_lock(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 28: the form check, the zone check and the refactor detection read one
    listing before the lock (each listed the stacks itself: a round trip each on the
    way to the first change set); the run lists once more under the lock."""
    fake, clock = FakeCloudFormation(), FakeClock()
    conn = msgspec.structs.replace(_opened(rendered, fake, clock, monkeypatch),
                                   lookups=Lookups(_OneZone()))
    results = workflow.deploy([conn], lambda q: True, (), False, 4, (), ask_once=False,
                              waits=clock.waits())
    assert all(r.ok for r in results["local"]), results
    before = fake.calls[:fake.calls.index("CreateChangeSet")]
    assert before.count("DescribeStacks") == 2, before


def test_the_zone_check_makes_no_route53_client_for_a_zone_the_env_does_not_create(
        rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 28: a client is made when a call needs it; the delegation check of a zone the
    env only looks up asks nothing, so it made the Route 53 client for nothing."""
    made: list[str] = []

    def client(service: str) -> Any:
        made.append(service)
        return _OneZone()

    conn = msgspec.structs.replace(
        _opened(rendered, FakeCloudFormation(), FakeClock(), monkeypatch),
        lookups=Lookups(None, clients=client))
    assert not rendered.env.config.dns.zone.create
    preflight.check_zone(conn, starts_certificate=True, live={})
    assert made == []


class _OneZone:
    """Route 53 with the one public zone the env looks up by name."""

    def list_hosted_zones_by_name(self, DNSName: str) -> dict[str, Any]:
        return {"HostedZones": [{"Id": "/hostedzone/Z1", "Name": DNSName}]}
