"""Recovery without manual steps (issue 25, "Operator on a bad day"), on the fakes: a lock
left by a killed run on this host is taken over, a rerun waits for the stacks a dead run
left in progress, `n` and Ctrl-C leave no change set behind, and the guards say which
flag overrides them."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import pytest

from generator.aws.polling import Waits
from generator.deploy.connect import takeover_notice, waits_from
from generator.deploy.lock import EnvLock, Here, LockHeld, lock_key, pid_alive
from generator.errors import UsageError
from generator.render import Rendered
from tests.fakes.s3 import FakeS3

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
