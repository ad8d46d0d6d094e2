"""A running `stackgen local up` endpoint proves it holds its control token (issue 22, 10)."""

from __future__ import annotations

import http.client
import json
import secrets
from pathlib import Path

from generator.local.manager import LocalEndpoint, free_port, identify
from generator.local.server import IDENTITY_PATH, LATENCY_PATH, TOKEN_HEADER


def test_a_running_endpoint_never_sends_its_token(tmp_path: Path) -> None:
    manager = LocalEndpoint(tmp_path)
    running, _ = manager.up(port=free_port())
    try:
        conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=5)
        conn.request("GET", f"{IDENTITY_PATH}?nonce={secrets.token_hex(16)}")
        body = conn.getresponse().read().decode()
        conn.close()
        assert running.token not in body and "token" not in json.loads(body)
        proven = identify(running.port, token=running.token)
        assert proven is not None and proven.proven
        forged = identify(running.port, token="0" * 32)
        assert forged is not None and not forged.proven
        # What a local caller learns does not switch the latency model.
        conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=5)
        conn.request("POST", LATENCY_PATH, body=b'{"latency": "off"}',
                     headers={TOKEN_HEADER: body})
        assert conn.getresponse().status == 403
        conn.close()
        assert (manager.key_file.stat().st_mode & 0o077) == 0  # the token's copy: 0600
        assert manager.status() == running
    finally:
        manager.down()

