"""Issue 22, 9: a lock object is data from whoever can write the bucket. Its TTL is
clamped to MAX_TTL on read and write (TTL 1e308 overflowed datetime in deploy and
unlock), an absurd or unreadable one is reported in one line and `unlock --yes` clears
it, and no field reaches the terminal with control characters or escape sequences."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from generator.deploy.lock import MAX_TTL, EnvLock, Holder, LockHeld, ci_job, printable
from tests.fakes.s3 import FakeS3
from tests.helpers.lock import BUCKET

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


def test_the_owner_names_the_ci_job() -> None:
    github = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/infra",
              "GITHUB_RUN_ID": "42", "GITHUB_JOB": "deploy"}
    assert ci_job(github) == ("GitHub Actions job deploy, "
                              "https://github.com/acme/infra/actions/runs/42")
    assert ci_job({"GITLAB_CI": "true", "CI_JOB_URL": "https://gitlab/x/-/jobs/7"}) == \
        "GitLab CI job https://gitlab/x/-/jobs/7"
    assert ci_job({}) is None

