"""Persister.flush: a blocking wait for the next background snapshot, which also ends
the wait between snapshots (persist.INTERVAL), so nobody watches the file in a loop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.local import persist


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
