"""What answers on a local port, and whether it is a stackgen local endpoint.

Read by the manager (generator/local/manager.py) before it signals anything, by the
deploy path to recognise a local target, and by the CLI to list the load balancers'
local URLs. Nothing here starts or stops a process.

This module's room: the HTTP questions asked of 127.0.0.1 and the records they return
(``Endpoint``, ``Identity``); the lifecycle is the manager's.
"""

from __future__ import annotations

import hmac
import http.client
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from generator.local.server import (
    HOST,
    IDENTITY_KIND,
    IDENTITY_PATH,
    LISTENERS_PATH,
    identity_proof,
)

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

@dataclass(frozen=True)
class Endpoint:
    pid: int
    port: int
    token: str

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass(frozen=True)
class Identity:
    """What a stackgen local endpoint says about itself on IDENTITY_PATH; ``proven``
    when it answered a fresh nonce with the HMAC of the token it was asked to prove."""

    pid: int
    port: int
    state_dir: str
    proven: bool = False
    containers: str = "off"  # "on": ECS tasks run in Docker (emulation/containers.py)



def _get(port: int, path: str, timeout: float) -> bytes | None:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return body if response.status == 200 else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def answers(port: int, timeout: float = 0.5) -> bool:
    """Anything HTTP answers on the port (ours or another server)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", "/moto-api/")
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def identify(port: int, timeout: float = 0.5, token: str | None = None) -> Identity | None:
    """The stackgen local endpoint on 127.0.0.1:port, or None when none answers there.
    With ``token``: asked with a fresh nonce, and ``proven`` when its proof matches."""
    nonce = secrets.token_hex(16)
    body = _get(port, f"{IDENTITY_PATH}?nonce={nonce}", timeout)
    if body is None:
        return None
    try:
        data: Any = json.loads(body)
        if data.get("kind") != IDENTITY_KIND:
            return None
        claimed = {k: data.get(k) for k in ("kind", "pid", "port", "state_dir")}
        proven = (token is not None and data.get("nonce") == nonce
                  and hmac.compare_digest(str(data.get("proof", "")),
                                          identity_proof(token, nonce, claimed)))
        return Identity(int(data["pid"]), int(data["port"]), str(data["state_dir"]), proven,
                        str(data.get("containers", "off")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def identify_url(url: str) -> Identity | None:
    """The stackgen local endpoint at ``url``: only plain http on a loopback host counts."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK_HOSTS or port is None:
        return None
    return identify(port)


def local_urls(endpoint_url: str | None) -> list[str]:
    """Where the load balancers of the local endpoint at ``endpoint_url`` answer on this
    machine (containers on), one line each; empty for any other endpoint or none."""
    ident = identify_url(endpoint_url) if endpoint_url else None
    if ident is None or ident.containers != "on":
        return []
    body = _get(ident.port, LISTENERS_PATH, timeout=5.0)
    try:
        found: Any = json.loads(body or b"[]")
        lines = []
        for item in found:
            how = ("redirects as its listener does" if item["redirect"]
                   else "HTTP here" if item["protocol"] == "HTTPS" else "HTTP")
            lines.append(f"{item['url']} ({item['protocol']}:{item['port']} of "
                         f"{item['load_balancer']}; {how})")
        return lines
    except (ValueError, KeyError, TypeError):
        return []
