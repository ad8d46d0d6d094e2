"""The local endpoint's state snapshots (generator/local/persist.py).

A snapshot holds the GIL (0.1-0.4 s for a deployed env): it waits for the endpoint to be
quiet (no request for QUIET seconds), or INTERVAL after the change at the latest, instead
of stalling the deploy that made the change. Persister.flush is a blocking wait for the
next background snapshot, which also ends the wait between snapshots, so nobody watches
the file in a loop."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.aws.polling import POLL_HOLD, backoff
from generator.local import persist
from generator.local.persist import INTERVAL, QUIET, Persister


@pytest.fixture
def persister(tmp_path: Path) -> Iterator[persist.Persister]:
    p = persist.Persister(tmp_path)
    p.start()
    yield p
    p.stopped.set()
    p.wake.set()


def test_flush_answers_once_a_snapshot_begun_after_it_is_written(
        persister: persist.Persister) -> None:
    persister.dirty.set()  # a change: the background thread snapshots it, then waits
    assert persister.flush(30) and persister.file.is_file()
    first = persister.done
    started = time.monotonic()
    # in the wait between snapshots now: the flush ends it instead of waiting INTERVAL
    assert persister.flush(30) and persister.done > first
    assert time.monotonic() - started < persist.INTERVAL


def test_flush_gives_up_at_its_timeout_when_nothing_snapshots(tmp_path: Path) -> None:
    p = persist.Persister(tmp_path)  # no background thread
    assert not p.flush(0.01)
    assert not p.file.exists()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _persister(tmp_path: Path) -> tuple[Persister, Clock]:
    persister, clock = Persister(tmp_path), Clock()
    persister.clock = clock
    return persister, clock


def _request(persister: Persister, method: str = "POST", target: str = "") -> Any:
    """A request through the watching wrapper; the app answers with the persister's view
    of whether a snapshot is due meanwhile (a change made just before)."""
    seen: list[bool] = []

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        seen.append(persister.due(changed_at=persister.clock() - 0.01))
        return [b""]

    def start_response(*args: Any) -> Any:
        return lambda body: None

    persister.watching(app)({"REQUEST_METHOD": method, "HTTP_X_AMZ_TARGET": target},
                            start_response)
    return seen[0]


def test_no_snapshot_while_a_request_is_answered_nor_right_after_it(tmp_path: Path) -> None:
    persister, clock = _persister(tmp_path)
    assert _request(persister) is False  # in flight: never
    assert persister.dirty.is_set()  # a POST that is not a read: a change
    changed = clock.now
    clock.now += QUIET / 2
    assert not persister.due(changed)  # the next request of the deploy may come
    clock.now += QUIET
    assert persister.due(changed)  # quiet: the snapshot stalls no one


def test_a_deploys_gaps_between_polls_are_not_quiet() -> None:
    # A snapshot taken between two polls of a create stalled the rest of it (issue 28).
    assert max(itertools.islice(backoff(), 20)) == POLL_HOLD  # the first minute's delays
    assert QUIET > POLL_HOLD


def test_requests_that_never_pause_get_a_snapshot_after_the_interval(tmp_path: Path) -> None:
    persister, clock = _persister(tmp_path)
    changed = clock.now
    for _ in range(int(INTERVAL / (QUIET / 2))):
        _request(persister, "GET")
        clock.now += QUIET / 2
        if clock.now - changed < INTERVAL:
            assert not persister.due(changed)
    clock.now = changed + INTERVAL
    assert persister.due(changed)


def test_reads_mark_nothing_changed(tmp_path: Path) -> None:
    persister, _ = _persister(tmp_path)
    _request(persister, "POST", "CloudFormation_20100515.DescribeStacks")
    assert not persister.dirty.is_set()
