"""What the stubbed tests share: clients for botocore's Stubber that never reach a
network, a recording confirm prompt, and a throwaway HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

REGION = "us-east-1"


def offline_client(service: str, region: str = REGION, **kwargs: Any) -> Any:
    """A boto3 client with dummy credentials: for a Stubber, or an endpoint_url on
    127.0.0.1 (kwargs), never AWS."""
    return boto3.client(service, region_name=region, aws_access_key_id="x",
                        aws_secret_access_key="x", **kwargs)


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
