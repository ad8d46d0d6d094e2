"""The env lock (issue 11, defect 3): S3 conditional writes on the local endpoint, the
refusal a second run sees, expiry and take-over, the heartbeat, Ctrl-C, `unlock`, and
two real deploys of one env at once."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from generator.deploy.lock import EnvLock, LockHeld, ci_job, lock_key
from generator.local.manager import Endpoint
from tests.conftest import aws_env, clients, run_stackgen
from tests.fakes.s3 import FakeS3

BUCKET = "stackgen-artifacts-123456789012-us-east-1"
KEY = lock_key("kubenews-local")


def _lock(url: str, reason: str = "deploy", **kwargs: Any) -> EnvLock:
    return EnvLock(clients(url).s3, BUCKET, "us-east-1", "local", "kubenews-local", reason,
                   environ={}, **kwargs)


def _holder(c: Any) -> dict[str, Any] | None:
    try:
        body = c.s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    except c.s3.exceptions.NoSuchKey:
        return None
    except Exception as exc:  # no bucket yet
        if "NoSuchBucket" in str(exc):
            return None
        raise
    return dict(json.loads(body))


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


def test_an_expired_lock_is_taken_over_once() -> None:
    s3 = FakeS3()

    def lock(**kwargs: Any) -> EnvLock:
        return EnvLock(s3, BUCKET, "us-east-1", "local", "kubenews-local", "deploy",
                       environ={}, heartbeat=3600, **kwargs)

    dead = lock(ttl=timedelta(seconds=1))
    dead.acquire()
    dead.stop_heartbeat()  # the process died: no heartbeat, no release
    s3.advance(0.9)  # not yet expired (S3's clock, which keeps whole seconds)
    with pytest.raises(LockHeld):
        lock().acquire()
    s3.advance(0.2)
    taker = lock()
    taker.acquire()
    assert taker.took_over is not None and taker.took_over.token == dead.mine.token  # type: ignore[union-attr]
    # The dead process's ETag no longer matches: its late release leaves the new lock.
    dead.release()
    current = taker.read()
    assert current is not None and current.holder.token == taker.mine.token  # type: ignore[union-attr]
    # Three losers of the same expired lock: the If-Match take-over lets only one win.
    late = lock()
    with pytest.raises(LockHeld):
        late.acquire()
    taker.release()
    assert taker.read() is None


def test_the_heartbeat_renews_and_reports_a_lost_lock(endpoint: Endpoint, aws: Any) -> None:
    lost: list[str] = []
    lock = _lock(endpoint.url, ttl=timedelta(seconds=3), heartbeat=0.2, on_lost=lost.append)
    lock.acquire()
    try:
        before = aws.s3.head_object(Bucket=BUCKET, Key=KEY)["LastModified"]
        time.sleep(1.5)
        after = aws.s3.head_object(Bucket=BUCKET, Key=KEY)["LastModified"]
        assert after > before  # renewed: its expiry moved on
        current = lock.read()
        assert current is not None and not current.expired
        # `stackgen unlock` from elsewhere: the next beat finds the lock gone.
        assert lock.force_release(current.etag)
        time.sleep(0.6)
        assert lost and "taken over or removed" in lost[0]
    finally:
        lock.release()


def test_the_owner_names_the_ci_job() -> None:
    github = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/infra",
              "GITHUB_RUN_ID": "42", "GITHUB_JOB": "deploy"}
    assert ci_job(github) == ("GitHub Actions job deploy, "
                              "https://github.com/acme/infra/actions/runs/42")
    assert ci_job({"GITLAB_CI": "true", "CI_JOB_URL": "https://gitlab/x/-/jobs/7"}) == \
        "GitLab CI job https://gitlab/x/-/jobs/7"
    assert ci_job({}) is None


def test_unlock_shows_the_holder_and_asks(project: Path, endpoint: Endpoint, aws: Any) -> None:
    env = aws_env(endpoint)
    free = run_stackgen(["unlock", "--env", "local"], cwd=project, env=env)
    assert free.returncode == 0 and "env local is not locked" in free.stdout
    dead = _lock(endpoint.url)
    dead.acquire()
    dead.stop_heartbeat()
    refused = run_stackgen(["unlock", "--env", "local"], cwd=project, env=env)
    assert refused.returncode == 2  # no terminal to ask in: the hint is unlock's own
    assert refused.stderr.strip().endswith(
        "if that process is dead, release the lock with `stackgen unlock --env local --yes`")
    assert f"locked by {dead.mine.owner} (pid {os.getpid()})" in refused.stdout  # type: ignore[union-attr]
    assert _holder(aws) is not None
    done = run_stackgen(["unlock", "--env", "local", "--yes"], cwd=project, env=env)
    assert done.returncode == 0 and "env local unlocked" in done.stdout
    assert _holder(aws) is None
    # Deploy takes the lock and gives it back on exit.
    deployed = run_stackgen(["deploy", "--env", "local", "--yes", "--no-lint"], cwd=project,
                            env=env)
    assert deployed.returncode == 0, deployed.stderr
    assert _holder(aws) is None


def _read_until(fd: int, marker: str, timeout: float) -> str:
    seen = ""
    end = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536).decode(errors="replace")
            except OSError:
                break
    return seen


def test_two_deploys_of_one_env_one_proceeds_the_other_is_refused(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    """A deploy that waits at its prompt holds the env; a second is refused within 2 s
    naming it; Ctrl-C at the prompt releases the lock, leaves no change set and exits
    130; then the second goes through."""
    env = aws_env(endpoint)
    assert run_stackgen(["render", "--env", "local"], cwd=project, env=env).returncode == 0
    master, slave = pty.openpty()
    first = subprocess.Popen([sys.executable, "-m", "generator", "deploy", "--env", "local",
                              "--no-lint"], cwd=project, env=env, stdin=slave, stdout=slave,
                             stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        seen = _read_until(master, "[y/N]", 60)
        assert "[y/N]" in seen, seen
        holder = _holder(aws)
        assert holder is not None and holder["pid"] == first.pid
        assert holder["reason"] == "deploy"
        started = time.monotonic()
        second = run_stackgen(["deploy", "--env", "local", "--yes", "--no-lint"], cwd=project,
                              env=env)
        took = time.monotonic() - started
        assert second.returncode == 1
        # ", CI" follows the pid when the run is a CI job (CI=true)
        assert f"error: env local is locked by {holder['owner']} (pid {first.pid}" in \
            second.stderr
        assert "`stackgen unlock --env local` if that process is dead" in second.stderr
        # The whole process, start-up and render included, on a shared 2-core machine;
        # the refusal itself (connect to LockHeld) is timed in-process below and above.
        assert took < 10.0, took
        assert "change set" not in second.stdout and "CREATE" not in second.stdout
        # Ctrl-C at the prompt: exit 130, the lock released, and no change set nor
        # review stack of the run left (was: exit 1, "Aborted!", change sets AVAILABLE).
        first.send_signal(signal.SIGINT)
        assert first.wait(30) == 130
        assert _holder(aws) is None
        left = [s["StackName"] for s in aws.cloudformation.describe_stacks()["Stacks"]
                if s["StackStatus"] != "DELETE_COMPLETE"]
        assert left == []
    finally:
        os.close(master)  # a prompt still reading gets EOF
        if first.poll() is None:
            first.kill()
        first.wait(15)
    again = run_stackgen(["deploy", "--env", "local", "--yes", "--no-lint"], cwd=project,
                         env=env)
    assert again.returncode == 0, again.stderr
    assert _holder(aws) is None
