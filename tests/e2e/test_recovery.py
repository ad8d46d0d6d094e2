"""Issue 25's "done when" for recovery: `kill -9` of a deploy in the middle of a create on
the latency model, then a plain rerun of the same command: exit 0, every stack complete,
no `unlock`. The endpoint's clock runs SCALE times faster than AWS's (and the deploy's
polls and deadlines with it, STACKGEN_TIME_SCALE), so a whole env takes seconds."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.local import waiting
from generator.local.manager import Endpoint, set_latency
from tests.conftest import aws_env, run_stackgen

SCALE = 60.0  # RDS's 10-minute create in 10 s
STACKS = ("network", "dns", "cluster", "cert", "alb", "asg", "rds", "ecs")


@pytest.fixture
def latency_on(aws: Any, endpoint: Endpoint) -> Iterator[Any]:
    """The clean, seeded local account with the latency model on at SCALE."""
    set_latency(endpoint, True, SCALE)
    try:
        yield aws
    finally:
        set_latency(endpoint, False, 1.0)


def _read_until(proc: subprocess.Popen[bytes], marker: str, timeout: float) -> str:
    """The child's output until ``marker`` shows (select on its pipe: no sleeping)."""
    assert proc.stdout is not None
    fd, seen, end = proc.stdout.fileno(), "", time.monotonic() + timeout
    while marker not in seen and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk.decode(errors="replace")
    return seen


def test_kill_9_mid_create_then_a_plain_rerun_finishes_the_env(
        project: Path, endpoint: Endpoint, latency_on: Any) -> None:
    env = {**aws_env(endpoint), "STACKGEN_TIME_SCALE": str(SCALE)}
    command = ["--no-color", "deploy", "--env", "local", "--yes", "--no-lint"]
    first = subprocess.Popen([sys.executable, "-m", "generator", *command], cwd=project,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        # The database's create has begun (CloudFormation carries it on alone).
        seen = _read_until(first, "[rds] … CREATE_IN_PROGRESS", 120)
        assert "[rds] … CREATE_IN_PROGRESS" in seen, seen
    finally:
        first.kill()  # SIGKILL: no lock release, no cleanup, nothing
        waiting.finished(first, 10)
    cfn = latency_on.cloudformation
    left = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}
    assert left["kubenews-local-rds"] == "CREATE_IN_PROGRESS", left
    started = time.monotonic()
    again = run_stackgen(command, cwd=project, env=env, timeout=180)
    took = time.monotonic() - started
    out = again.stdout + again.stderr
    assert again.returncode == 0, out
    assert "took over the lock of " in out and "no longer runs on this host" in out
    assert "kubenews-local-rds is CREATE_IN_PROGRESS, left by an earlier run; waiting" in out, out
    final = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]
             if s["StackStatus"] != "DELETE_COMPLETE"}
    assert final == {f"kubenews-local-{s}": "CREATE_COMPLETE" for s in STACKS}, final
    assert took < 60, took
