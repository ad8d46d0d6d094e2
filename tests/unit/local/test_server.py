"""Issue 22, 10: the local endpoint proves it holds its control token (an HMAC of a
fresh nonce) instead of handing the token to any local caller who asks."""

from __future__ import annotations

import json
import secrets
from typing import Any

from generator.local.server import IDENTITY_PATH, identity_proof, with_identity

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
