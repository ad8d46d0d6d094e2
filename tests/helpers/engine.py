"""Helpers shared by the tests split from test_deploy_stubbed.py."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.stubs import (
    serving,
)


class _FailingEndpoint(BaseHTTPRequestHandler):
    """What a broken endpoint (or a proxy before it) answers: an HTML error page."""

    PAGE = (b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
            b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and "
            b"was unable to complete your request.</p>\n")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(500)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.PAGE)))
        self.end_headers()
        self.wfile.write(self.PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def failing_endpoint() -> Iterator[str]:
    with serving(_FailingEndpoint) as port:
        yield f"http://127.0.0.1:{port}"
