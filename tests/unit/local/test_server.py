"""Issue 22, 10: the local endpoint proves it holds its control token (an HMAC of a
fresh nonce) instead of handing the token to any local caller who asks."""

from __future__ import annotations

import http.client
import json
import secrets
from pathlib import Path
from typing import Any

from generator.local.manager import LocalEndpoint, free_port, identify
from generator.local.server import IDENTITY_PATH, LATENCY_PATH, TOKEN_HEADER, identity_proof, with_identity

TOKEN = "0123456789abcdef0123456789abcdef"
IDENTITY = {"kind": "stackgen-local-endpoint", "pid": 7, "port": 4599, "state_dir": "/s"}


def _ask(app: Any, query: str) -> dict[str, Any]:
    env = {"PATH_INFO": IDENTITY_PATH, "REMOTE_ADDR": "127.0.0.1", "QUERY_STRING": query}
    body = b"".join(app(env, lambda status, headers, exc=None: None))
    return dict(json.loads(body))


def test_the_identity_route_proves_the_token_without_telling_it() -> None:
    app = with_identity(lambda e, s: [b"moto"], IDENTITY, TOKEN)
    plain = _ask(app, "")
    assert TOKEN not in json.dumps(plain) and "proof" not in plain
    nonce, other = secrets.token_hex(16), secrets.token_hex(16)
    answer = _ask(app, f"nonce={nonce}")
    assert TOKEN not in json.dumps(answer)
    assert answer["proof"] == identity_proof(TOKEN, nonce, IDENTITY)
    # Not replayable: another nonce, another proof; a wrong token never matches.
    assert _ask(app, f"nonce={other}")["proof"] != answer["proof"]
    assert identity_proof("f" * 32, nonce, IDENTITY) != answer["proof"]


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
