"""Helpers shared by the tests split from test_lock.py."""

from __future__ import annotations

import json
import threading
from typing import Any

from generator.deploy.lock import EnvLock, lock_key
from tests.conftest import clients

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


class Beats:
    """An env lock's heartbeat timer driven by the test (EnvLock's ``pause``): the
    heartbeat waits here until ``tick`` lets one beat through; blocking waits, no sleep.
    ``close`` lets a waiting heartbeat end (before the lock's release joins it)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._granted = 0
        self._closed = False
        self.asked: list[float] = []  # the interval the heartbeat asked to wait, each time

    def pause(self, stop: threading.Event, seconds: float) -> bool:
        with self._cond:
            self.asked.append(seconds)
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._granted > 0 or self._closed)
            if self._granted:
                self._granted -= 1
            return stop.is_set() or self._closed

    def waiting(self, times: int, timeout: float = 10.0) -> None:
        """Until the heartbeat has come to wait ``times`` times in all."""
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.asked) >= times, timeout), \
                f"the heartbeat came to wait {len(self.asked)} times, not {times}"

    def tick(self) -> None:
        """One beat: the heartbeat's wait ends as if its interval had passed."""
        with self._cond:
            self._granted += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
