"""The CloudFormation layer on the wire, against loopback servers of the tests' own:
throttling and an answer that is not CloudFormation's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from generator.aws.cfn import CloudFormation, UnreadableAnswer
from generator.aws.endpoint import RETRY_CONFIG
from tests.fakes.clock import FakeClock
from tests.stubs import (
    offline_client,
    serving,
)


class _ThrottlingCloudFormation(BaseHTTPRequestHandler):
    """Answers like CloudFormation under load: Throttling twice, then the result."""

    hits = 0
    THROTTLED = (b'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
                 b"<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
                 b"</Message></Error><RequestId>r1</RequestId></ErrorResponse>")
    OK = (b'<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
          b"<DescribeStacksResult><Stacks><member><StackName>s</StackName><StackId>id</StackId>"
          b"<StackStatus>CREATE_COMPLETE</StackStatus>"
          b"<CreationTime>2026-11-28T12:00:00Z</CreationTime></member></Stacks>"
          b"</DescribeStacksResult><ResponseMetadata><RequestId>r2</RequestId>"
          b"</ResponseMetadata></DescribeStacksResponse>")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).hits += 1
        body = self.THROTTLED if type(self).hits <= 2 else self.OK
        self.send_response(400 if type(self).hits <= 2 else 200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def throttling_server() -> Iterator[str]:
    _ThrottlingCloudFormation.hits = 0
    with serving(_ThrottlingCloudFormation) as port:
        yield f"http://127.0.0.1:{port}"


def test_throttling_is_absorbed_by_adaptive_retries(
        throttling_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore backs off with time.sleep: recorded here, not slept (seconds per retry).
    backoffs: list[float] = []
    monkeypatch.setattr(time, "sleep", backoffs.append)
    client = offline_client("cloudformation", endpoint_url=throttling_server, config=RETRY_CONFIG)
    assert client.meta.config.retries["mode"] == "adaptive"
    found = CloudFormation(client, waits=FakeClock().waits()).describe_many(["s", "other"])
    assert list(found) == ["s"] and found["s"].status == "CREATE_COMPLETE"
    assert _ThrottlingCloudFormation.hits == 3
    assert len([b for b in backoffs if b > 0]) >= 1  # a retry after Throttling backs off


def test_an_html_answer_is_one_line_naming_the_endpoint(failing_endpoint: str) -> None:
    client = offline_client("cloudformation", endpoint_url=failing_endpoint, config=RETRY_CONFIG)
    with pytest.raises(UnreadableAnswer) as caught:
        CloudFormation(client).describe("s")
    assert str(caught.value) == (
        f"describe_stacks: {failing_endpoint} answered an HTML page ('500 Internal Server "
        "Error'), not an AWS response; that endpoint (or a proxy in front of it) is failing")

