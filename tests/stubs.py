"""What the stubbed tests share: clients for botocore's Stubber that never reach a
network, a recording confirm prompt, and a throwaway HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

REGION = "us-east-1"
# A CloudFormation stack and change set of the real API's shape, for stubbed answers.
STACK = "kubenews-local-network"
STACK_ID = f"arn:aws:cloudformation:us-east-1:123456789012:stack/{STACK}/1a2b3c4d"
CS_ID = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/stackgen-x/5e6f7a8b"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# Nothing listens on port 9 (discard) here: a call that escapes its Stubber (a worker
# still running after the stubbed block) must not reach, nor even look up, a public name.
LOOPBACK = "http://127.0.0.1:9"


def offline_client(service: str, region: str = REGION, **kwargs: Any) -> Any:
    """A boto3 client with dummy credentials: for a Stubber, or an endpoint_url on
    127.0.0.1 (kwargs), never AWS."""
    return boto3.client(service, region_name=region, aws_access_key_id="x",
                        aws_secret_access_key="x", **kwargs)


def stubbed_cfn() -> Any:
    """A CloudFormation client for a Stubber, pointed at the loopback."""
    return offline_client("cloudformation", endpoint_url=LOOPBACK)


def recorder(asked: list[str]) -> Callable[[str], bool]:
    """A confirm prompt that says yes and remembers each question."""
    def confirm(question: str) -> bool:
        asked.append(question)
        return True

    return confirm


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """``handler`` answering on 127.0.0.1, on a free port (yielded), until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
