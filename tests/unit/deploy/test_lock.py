"""Issue 22, 9: a lock object is data from whoever can write the bucket. Its TTL is
clamped to MAX_TTL on read and write (TTL 1e308 overflowed datetime in deploy and
unlock), an absurd or unreadable one is reported in one line and `unlock --yes` clears
it, and no field reaches the terminal with control characters or escape sequences."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from generator.deploy.lock import MAX_TTL, EnvLock, Holder, LockHeld, lock_key, printable
from generator.local.manager import Endpoint
from tests.conftest import aws_env, clients, run_stackgen

BUCKET = "stackgen-artifacts-123456789012-us-east-1"
KEY = lock_key("kubenews-local")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _body(**over: Any) -> bytes:
    raw = {"owner": "ana@box", "pid": 42, "reason": "deploy", "acquired": NOW.isoformat(),
           "ttl_seconds": 600, "token": "t", "ci": None, "tool": "1.0"}
    return json.dumps({**raw, **over}).encode()


@pytest.mark.parametrize("ttl", [1e308, "1e308", 10 ** 12, "inf", "Infinity", 86400 * 365 * 100])
def test_an_absurd_ttl_counts_as_the_maximum(ttl: Any) -> None:
    holder = Holder.parse(_body(ttl_seconds=ttl), NOW)
    assert holder.ttl_seconds == MAX_TTL.total_seconds()
    assert holder.expires == NOW + MAX_TTL
    assert "beyond 24 h" in holder.note
    message = str(LockHeld("local", holder))
    assert "\n" not in message and "beyond 24 h" in message and "stackgen unlock" in message


@pytest.mark.parametrize("body", [
    b"[]", b"not json", b'{"owner": "x"}', _body(pid=1e400), _body(ttl_seconds="nan"),
    _body(acquired="yesterday"), _body(acquired=12), b"{" * 100_000, b"x" * 100_000,
])
def test_an_unreadable_lock_is_held_by_an_unknown_owner_for_the_default_time(body: bytes) -> None:
    holder = Holder.parse(body, NOW)
    assert holder.owner == "an unreadable lock object"
    assert holder.expires == NOW + timedelta(minutes=10)
    assert "\n" not in str(LockHeld("local", holder))


def test_a_negative_ttl_has_already_expired() -> None:
    assert Holder.parse(_body(ttl_seconds=-5), NOW).expires == NOW


def test_a_lock_is_never_written_with_more_than_the_maximum() -> None:
    lock = EnvLock(None, BUCKET, "us-east-1", "local", "kubenews-local", "deploy",
                   ttl=timedelta(days=36500), environ={})
    assert lock.ttl == MAX_TTL and lock.heartbeat == MAX_TTL.total_seconds() / 3


EVIL = "\x1b[2J\x1b[1;1Hroot@prod\x1b]0;owned\x07\x07\r\n\x9b31m\u202e\x00x"


def test_control_characters_and_escapes_are_stripped_from_every_field() -> None:
    holder = Holder.parse(_body(owner=EVIL, reason=EVIL, ci=EVIL, tool=EVIL), NOW)
    for text in (holder.owner, holder.reason, holder.ci or "", holder.tool,
                 str(LockHeld("local", holder))):
        assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or c == "\u202e" for c in text), text
    assert holder.owner == "root@prodx"
    assert len(printable("a" * 5000)) <= 201


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
