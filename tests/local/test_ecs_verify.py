"""The verification probe against a loopback server: it asks the domain and compares the
status."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from generator.config import Verify
from generator.ecs.verify import NotSteady, verify
from tests.helpers.ecs_responses import (
    CLUSTER,
    SERVICE,
)
from tests.stubs import serving


class _Status(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503 if self.path == "/down" else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def app_server() -> Iterator[int]:
    with serving(_Status) as port:
        yield port


def test_the_probe_asks_the_domain_and_compares_the_status(app_server: int) -> None:
    """The probe's HTTPS connection is replaced by one to a loopback server: only the
    request and the status check are under test, and no traffic leaves the machine."""
    hosts: list[str] = []

    def connect(host: str, timeout: float) -> http.client.HTTPConnection:
        hosts.append(host)
        return http.client.HTTPConnection("127.0.0.1", app_server, timeout=timeout)

    ok = verify(None, None, CLUSTER, SERVICE, "app.example.com",
                Verify(wait_steady=False, probe_path="/health"), None, lambda _: None,
                connect=connect)
    assert ok.checks == ["GET https://app.example.com/health answered 200"]
    with pytest.raises(NotSteady, match="status 503, expected 200"):
        verify(None, None, CLUSTER, SERVICE, "app.example.com",
               Verify(wait_steady=False, probe_path="/down"), None, lambda _: None,
               connect=connect)
    assert hosts == ["app.example.com", "app.example.com"]  # the env's domain, nothing else

