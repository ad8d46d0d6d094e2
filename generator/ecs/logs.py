"""CloudWatch Logs of the env's workloads: one task's stream, or a workload's streams.

Stream names carry the task: ``<prefix>/<container>/<task id>`` (ECS developer
guide, "Using the awslogs log driver"), so every line can name its task without
another call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
from botocore.exceptions import ClientError

from generator.ecs.ops import aws_call
from generator.errors import UsageError

# Between polls of --follow: often enough to feel live, bounded so a long follow
# never hammers the API (FilterLogEvents allows 5 requests/s per account and region).
FOLLOW_INTERVAL = 2.0


class Line(msgspec.Struct, frozen=True):
    timestamp: int  # ms since the epoch
    stream: str
    message: str
    event_id: str = ""

    @property
    def task(self) -> str:
        """``container/task-id`` from the stream name, short enough to read."""
        parts = self.stream.split("/")
        if len(parts) >= 3:
            return f"{parts[-2]}/{parts[-1][:12]}"
        return self.stream

    def format(self) -> str:
        when = datetime.fromtimestamp(self.timestamp / 1000, UTC)
        return f"{when.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z {self.task} {self.message.rstrip()}"


_SINCE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str) -> int:
    """'10m' -> seconds."""
    m = _SINCE.match(text.strip())
    if not m:
        raise UsageError(f"--since {text}: use a number and s, m, h or d (10m, 2h, 1d)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def start_ms(text: str, now: float) -> int:
    """The start of ``--since text`` as CloudWatch Logs takes it: milliseconds since
    1970-01-01 UTC, at least 0 (CloudWatch Logs API reference, FilterLogEvents and
    GetLogEvents, startTime: "Valid Range: Minimum value of 0"). Checked here, before any
    AWS call: a start before 1970 was a botocore validation error."""
    seconds = parse_since(text)
    if seconds > now:
        years = int(now // (365.25 * 86400))
        raise UsageError(f"--since {text} reaches back before 1970, where CloudWatch Logs' "
                         f"time starts; use at most about {years} years (e.g. 3650d)")
    return int((now - seconds) * 1000)


def since_text(start_ms: int, since: str) -> str:
    """A start time as `logs` says it: UTC, and how far back (``--since``)."""
    start = datetime.fromtimestamp(start_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{start} ({since} ago)"


def source_text(group: str, stream_prefix: str | None) -> str:
    """What `logs` reads: the group, and the workload's stream prefix."""
    return f"log group {group}" + (f", streams {stream_prefix}/*" if stream_prefix else "")


def _raise(exc: ClientError) -> Any:
    raise exc


def _missing(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException")


class StreamTail:
    """One stream, read forward; a stream not created yet (the task has not started
    logging) reads as empty."""

    def __init__(self, logs: Any, group: str, stream: str) -> None:
        self.logs, self.group, self.stream = logs, group, stream
        self._token: str | None = None

    def poll(self) -> list[Line]:
        lines: list[Line] = []
        while True:
            kwargs: dict[str, Any] = {"logGroupName": self.group, "logStreamName": self.stream,
                                      "startFromHead": True}
            if self._token:
                kwargs["nextToken"] = self._token
            try:
                page = self.logs.get_log_events(**kwargs)
            except ClientError as exc:
                if _missing(exc):
                    return lines
                page = aws_call("logs GetLogEvents", _raise, exc=exc)
            events = page.get("events") or []
            lines += [Line(e["timestamp"], self.stream, e["message"]) for e in events]
            token = page.get("nextForwardToken")
            done = not events or token == self._token
            self._token = token
            if done:
                return lines


def last_lines(logs: Any, group: str, stream: str, count: int = 10) -> list[Line]:
    """The last ``count`` lines of a stream (none when it does not exist)."""
    try:
        page = logs.get_log_events(logGroupName=group, logStreamName=stream,
                                   limit=count, startFromHead=False)
    except ClientError as exc:
        if _missing(exc):
            return []
        raise
    return [Line(e["timestamp"], stream, e["message"]) for e in page.get("events") or []]


def read_group(logs: Any, group: str, start_ms: int, stream_prefix: str | None = None,
               seen: dict[str, int] | None = None) -> list[Line]:
    """Every event of the group (or of the streams under a prefix) since ``start_ms``,
    oldest first; events in ``seen`` (id -> timestamp) are skipped, new ones added."""
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    if stream_prefix:
        kwargs["logStreamNamePrefix"] = stream_prefix
    found: list[Line] = []
    while True:
        page = aws_call("logs FilterLogEvents", logs.filter_log_events, **kwargs)
        for e in page.get("events") or []:
            eid = e.get("eventId") or f"{e['logStreamName']}:{e['timestamp']}:{e['message']}"
            if seen is not None:
                if eid in seen:
                    continue
                seen[eid] = e["timestamp"]
            found.append(Line(e["timestamp"], e["logStreamName"], e["message"], eid))
        token = page.get("nextToken")
        if not token:
            break
        kwargs["nextToken"] = token
    return sorted(found, key=lambda line: (line.timestamp, line.stream))


def follow(logs: Any, group: str, start_ms: int, stream_prefix: str | None,
           interval: float = FOLLOW_INTERVAL, sleep: Callable[[float], None] = time.sleep,
           polls: int | None = None) -> Iterator[Line]:
    """Lines as they arrive, until Ctrl-C (or ``polls`` polls, for tests). Each poll asks
    from the newest timestamp seen; ids already printed are skipped."""
    seen: dict[str, int] = {}
    since = start_ms
    count = 0
    while polls is None or count < polls:
        for line in read_group(logs, group, since, stream_prefix, seen):
            since = max(since, line.timestamp)
            yield line
        # Each poll starts at the newest timestamp seen, so only events at that very
        # millisecond can come back twice: older ids need not be kept.
        seen = {i: ts for i, ts in seen.items() if ts >= since}
        count += 1
        if polls is None or count < polls:
            sleep(interval)
