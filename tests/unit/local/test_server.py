"""Issue 22, 10: the local endpoint proves it holds its control token (an HMAC of a
fresh nonce) instead of handing the token to any local caller who asks."""

from __future__ import annotations

import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from generator.local.server import (
    CLOCK_PATH,
    IDENTITY_PATH,
    identity_proof,
    with_identity,
    with_latency_control,
)

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


def _post(app: Any, path: str, body: bytes, addr: str = "127.0.0.1",
          token: str | None = TOKEN) -> tuple[str, dict[str, Any]]:
    env: dict[str, Any] = {"PATH_INFO": path, "REMOTE_ADDR": addr, "REQUEST_METHOD": "POST",
                           "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    if token is not None:
        env["HTTP_X_STACKGEN_TOKEN"] = token
    said: list[str] = []
    answer = b"".join(app(env, lambda status, headers, exc=None: said.append(status)))
    return said[0], dict(json.loads(answer))


def test_the_clock_moves_on_for_a_loopback_caller_with_the_token_only() -> None:
    """CLOCK_PATH moves the latency model's clock (tests drive modelled time with it); a
    caller from another address, or without the token, moves nothing."""
    from generator.local.emulation import latency

    app = with_latency_control(lambda e, s: [b"moto"], TOKEN)
    before = latency.CLOCK.offset.total_seconds()
    assert _post(app, CLOCK_PATH, b'{"advance": 60}', addr="10.1.2.3")[0] == "403 Forbidden"
    assert _post(app, CLOCK_PATH, b'{"advance": 60}', token=None)[0] == "403 Forbidden"
    assert _post(app, CLOCK_PATH, b'{"advance": 60}', token="f" * 32)[0] == "403 Forbidden"
    assert _post(app, CLOCK_PATH, b'{"advance": -1}')[0] == "400 Bad Request"
    assert _post(app, CLOCK_PATH, b'{"advance": NaN}')[0] == "400 Bad Request"
    assert latency.CLOCK.offset.total_seconds() == before
    status, answer = _post(app, CLOCK_PATH, b'{"advance": 60}')
    assert status == "200 OK" and answer["offset"] == before + 60
    model_now = datetime.fromisoformat(answer["now"])
    assert model_now - datetime.now(UTC) > timedelta(seconds=59)
    assert latency.CLOCK.offset.total_seconds() == before + 60
