"""The local endpoint's log stays bounded and holds real errors only (issue 25: it grew
across restarts to 8,810 lines, 39 of its 53 tracebacks moto's "not implemented")."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from generator.local import endpoint_log
from generator.local.manager import LocalEndpoint, free_port
from tests.conftest import REGION


def test_rotate_keeps_one_previous_file_under_the_limit(tmp_path: Path) -> None:
    log = tmp_path / "local-endpoint.log"
    assert endpoint_log.rotate(log, limit=10) is False  # nothing yet
    log.write_text("small\n")
    assert endpoint_log.rotate(log, limit=10) is False
    log.write_text("first run, long enough\n")
    assert endpoint_log.rotate(log, limit=10) is True
    assert not log.exists()
    assert endpoint_log.previous(log).read_text() == "first run, long enough\n"
    log.write_text("second run, long enough\n")
    assert endpoint_log.rotate(log, limit=10) is True
    assert endpoint_log.previous(log).read_text() == "second run, long enough\n"


def test_only_the_endpoints_own_failures_are_access_logged() -> None:
    assert [endpoint_log.logged(c) for c in (200, 302, 400, 404, "500", 503)] == [
        False, False, False, False, True, True]


def test_a_restarted_endpoint_starts_a_bounded_log_and_logs_errors_only(tmp_path: Path) -> None:
    manager = LocalEndpoint(tmp_path)
    manager.log_file.write_bytes(b"x" * (endpoint_log.LIMIT_BYTES + 1))
    running, _ = manager.up(port=free_port(), containers="off")
    try:
        c = boto3.session.Session(region_name=REGION, aws_access_key_id="testing",
                                  aws_secret_access_key="testing").client(
            "cloudformation", endpoint_url=running.url,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        c.describe_stacks()  # 200
        with pytest.raises(ClientError):
            c.describe_stacks(StackName="missing")  # 400
        with pytest.raises(ResponseParserError):  # moto's HTML 500
            c.describe_account_limits()  # moto has no such action: 500
    finally:
        manager.down()
    assert endpoint_log.previous(manager.log_file).stat().st_size > endpoint_log.LIMIT_BYTES
    text = manager.log_file.read_text(errors="replace")
    assert "Traceback" not in text, text
    assert f"{endpoint_log.NOT_IMPLEMENTED}The describe_account_limits action" in text, text
    requests = [line for line in text.splitlines() if "HTTP/1.1" in line]  # access lines
    assert len(requests) == 1 and '" 500 ' in requests[0], text
