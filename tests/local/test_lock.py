"""The env lock (issue 11, defect 3): S3 conditional writes on the local endpoint, the
refusal a second run sees, expiry and take-over, the heartbeat, Ctrl-C, `unlock`, and
two real deploys of one env at once."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from generator.deploy.lock import EnvLock, LockHeld
from generator.local.manager import Endpoint
from tests.conftest import clients
from tests.helpers.lock import BUCKET, KEY, Beats, _holder, _lock


def test_a_second_taker_is_refused_naming_the_holder(endpoint: Endpoint, aws: Any) -> None:
    first = _lock(endpoint.url)
    first.acquire()
    try:
        second = _lock(endpoint.url, reason="delete")
        started = time.monotonic()
        with pytest.raises(LockHeld) as refused:
            second.acquire()
        assert time.monotonic() - started < 2.0  # three S3 calls, no waiting
        message = str(refused.value)
        holder = refused.value.holder
        assert holder.reason == "deploy" and holder.pid == os.getpid()
        assert message.startswith(f"env local is locked by {holder.owner} (pid {os.getpid()}")
        assert "(deploy), expires " in message
        assert message.endswith("wait, or `stackgen unlock --env local` if that process is dead")
        assert "\n" not in message
    finally:
        first.release()
    assert _holder(aws) is None
    second = _lock(endpoint.url)
    second.acquire()  # free again
    second.release()


def test_release_on_ctrl_c_and_never_of_another_runs_lock(endpoint: Endpoint,
                                                         aws: Any) -> None:
    lock = _lock(endpoint.url)
    with pytest.raises(KeyboardInterrupt), lock.held():
        assert _holder(aws) is not None
        raise KeyboardInterrupt
    assert _holder(aws) is None
    # A run whose lock was taken from it (unlock, then another run) leaves the new one.
    stale = _lock(endpoint.url)
    stale.acquire()
    current = stale.read()
    assert current is not None and stale.force_release(current.etag)
    other = _lock(endpoint.url, reason="apply")
    other.acquire()
    stale.release()
    assert (_holder(aws) or {}).get("reason") == "apply"
    other.release()


def test_the_heartbeat_renews_and_reports_a_lost_lock(endpoint: Endpoint, aws: Any) -> None:
    """Each beat renews the lock (a new write of it, conditional on our ETag: S3 gives it a
    new LastModified, so its expiry moves on); a beat that finds it gone reports the loss.
    The beats are the test's (Beats), not the wall clock's."""
    lost: list[str] = []
    noticed = threading.Event()
    beats = Beats()
    lock = _lock(endpoint.url, ttl=timedelta(seconds=90), pause=beats.pause,
                 on_lost=lambda why: (lost.append(why), noticed.set()))
    lock.acquire()
    try:
        beats.waiting(1)
        assert beats.asked == [30.0]  # a third of the ttl
        before = aws.s3.head_object(Bucket=BUCKET, Key=KEY)
        for beat in (1, 2):
            beats.tick()
            beats.waiting(beat + 1)  # the beat is done: the heartbeat waits again
            after = aws.s3.head_object(Bucket=BUCKET, Key=KEY)
            assert after["VersionId"] != before["VersionId"]  # written again
            assert after["LastModified"] >= before["LastModified"]
            before = after
        versions = aws.s3.list_object_versions(Bucket=BUCKET, Prefix=KEY)["Versions"]
        assert len(versions) == 3  # taken, then renewed once a beat
        current = lock.read()
        assert current is not None and not current.expired and current.etag == lock.etag
        assert not lost
        # `stackgen unlock` from elsewhere: the next beat finds the lock gone.
        assert lock.force_release(current.etag)
        beats.tick()
        assert noticed.wait(10)
        assert lost == ["the lock on env local was taken over or removed (`stackgen unlock`?) "
                        "while this run held it"]
    finally:
        beats.close()
        lock.release()


def test_a_lock_that_does_not_check_the_bucket_makes_one_call_to_take_it(
        endpoint: Endpoint, aws: Any) -> None:
    """Delete's lock (issue 28): the bucket's four settings are deploy's to check; taking
    the lock is one PutObject when the bucket exists, and a missing bucket is still
    created with its settings before the lock is written."""
    calls: list[str] = []
    c = clients(endpoint.url)
    s3 = c.s3
    s3.meta.events.register("before-call.s3.*",
                            lambda model, **_: calls.append(model.name))
    first = EnvLock(s3, BUCKET, "us-east-1", "local", "kubenews-local", "delete",
                    environ={}, check_bucket=False)
    first.acquire()  # no bucket yet: created, hardened, then the lock
    assert "CreateBucket" in calls and "PutPublicAccessBlock" in calls
    assert _holder(aws) is not None
    first.release()
    calls.clear()
    again = EnvLock(s3, BUCKET, "us-east-1", "local", "kubenews-local", "delete",
                    environ={}, check_bucket=False)
    again.acquire()
    assert calls == ["PutObject"]
    again.release()
