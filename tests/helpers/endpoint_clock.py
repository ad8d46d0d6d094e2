"""The local endpoint's clock, driven by a test: modelled minutes pass at once.

The latency model (generator/local/emulation/latency.py) reads its "now" from a clock the
endpoint's token holder can move forward (server.CLOCK_PATH). A test advances it instead of
sleeping, and hands ``sleep``/``monotonic`` to the code under test as its clock (Waits,
CloudFormation), so that a wait of the deploy path advances the endpoint's time by what it
would have slept, and the delays it chose are recorded for the test to assert.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from generator.local.manager import Endpoint
from generator.local.server import CLOCK_PATH, HOST, TOKEN_HEADER


def post_clock(port: int, token: str | None, body: Any) -> tuple[int, dict[str, Any]]:
    """POST ``body`` to the clock route: (HTTP status, the JSON answered)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers[TOKEN_HEADER] = token
        conn.request("POST", CLOCK_PATH, body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        return response.status, dict(json.loads(response.read() or b"{}"))
    finally:
        conn.close()


class EndpointClock:
    """One test's hold on the endpoint's clock (it only moves forward, so tests that share
    the endpoint never see time go back)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.advanced = 0.0  # seconds this test moved the endpoint on
        self.offset = timedelta()  # the endpoint's whole offset, as last answered
        self.slept: list[float] = []  # what the code under test asked to sleep, in order
        self._lock = threading.Lock()
        self.advance(0)  # the offset earlier tests left

    def advance(self, seconds: float) -> None:
        status, answer = post_clock(self.endpoint.port, self.endpoint.token,
                                    {"advance": seconds})
        assert status == 200, f"the endpoint refused to advance its clock (HTTP {status})"
        with self._lock:
            self.advanced += seconds
            self.offset = timedelta(seconds=answer["offset"])

    def sleep(self, seconds: float) -> None:
        """A sleep for the code under test: the endpoint's time moves on, ours does not."""
        with self._lock:
            self.slept.append(seconds)
        self.advance(seconds)

    def monotonic(self) -> float:
        """A monotonic clock that counts the advanced seconds as passed."""
        return time.monotonic() + self.advanced

    def now(self) -> datetime:
        """The endpoint's model time (UTC), as its clock reads it now."""
        return datetime.now(UTC) + self.offset


@pytest.fixture
def endpoint_clock(endpoint: Endpoint) -> EndpointClock:
    """The shared endpoint's clock, for one test to move on."""
    return EndpointClock(endpoint)
