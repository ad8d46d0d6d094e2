"""Time that passes only when the code under test sleeps: polls, back-off, deadlines and
the poll budget run in no real time, and a test can say how long they waited."""

from __future__ import annotations

import threading
from typing import Any

from generator.aws.cfn import Waits


class FakeClock:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds

    def waits(self, **overrides: Any) -> Waits:
        """Waits on this clock (the rest of Waits as in production unless overridden)."""
        return Waits(clock=self.clock, sleep=self.sleep, **overrides)
