"""Reading a task's logs (generator/ecs/logs.py)."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from generator.ecs.logs import Line, follow
from tests.helpers.ecs_responses import (
    GROUP,
    TASK_ID,
    _client,
)

# --- item 3: logs --------------------------------------------------------------------


def test_follow_asks_from_the_newest_line_and_prints_each_line_once() -> None:
    logs = _client("logs")
    web = f"web/web/{TASK_ID}"
    e1 = {"logStreamName": web, "timestamp": 1796040000000, "message": "GET / 200",
          "ingestionTime": 1796040000100, "eventId": "1"}
    e2 = {**e1, "timestamp": 1796040002000, "message": "GET /health 200", "eventId": "2"}
    sleeps: list[float] = []
    with Stubber(logs) as s_logs:
        s_logs.add_response("filter_log_events", {"events": [e1]}, {
            "logGroupName": GROUP, "startTime": 1796039999000, "logStreamNamePrefix": "web/web/"})
        s_logs.add_response("filter_log_events", {"events": [e1, e2]}, {
            "logGroupName": GROUP, "startTime": 1796040000000, "logStreamNamePrefix": "web/web/"})
        lines = list(follow(logs, GROUP, 1796039999000, "web/web/", sleep=sleeps.append,
                            polls=2))
    assert [line.message for line in lines] == ["GET / 200", "GET /health 200"]
    assert sleeps == [2.0]
    assert lines[0].format() == f"2026-11-30T12:00:00.000Z web/{TASK_ID[:12]} GET / 200"
    assert Line(0, "free-form", "x").task == "free-form"


def test_a_log_read_the_api_refuses_is_a_one_line_error() -> None:
    from generator.ecs.logs import StreamTail
    from generator.errors import AwsError

    logs = _client("logs")
    with Stubber(logs) as s_logs:
        s_logs.add_client_error("get_log_events", "AccessDeniedException",
                                "User is not authorized to perform: logs:GetLogEvents")
        with pytest.raises(AwsError, match=r"^logs GetLogEvents: AccessDeniedException: User is"):
            StreamTail(logs, GROUP, "web/web/x").poll()

