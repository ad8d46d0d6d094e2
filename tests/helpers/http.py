"""A GET to a local URL (a load balancer's port on 127.0.0.1), for the container tests."""

from __future__ import annotations

import http.client
import re


def get(url: str) -> tuple[int, str]:
    """Status and body of ``GET url``; ``url`` must be on 127.0.0.1."""
    match = re.match(r"http://127\.0\.0\.1:(\d+)(/.*)", url)
    assert match, url
    conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=10)
    try:
        conn.request("GET", match.group(2))
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()
