"""generator/local/waiting.py on a pipe and a file: readable wakes on a line and on end of
file, written on the write that makes a file say so, and both give up at their deadline
(the process half is tests/e2e/test_waiting.py)."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from pathlib import Path

import pytest

from generator.local import waiting


def test_readable_wakes_on_a_line_and_on_end_of_file() -> None:
    r, w = os.pipe()
    try:
        assert not waiting.readable(r, 0)  # nothing yet
        os.write(w, b"READY=1\n")
        assert waiting.readable(r, 5) and os.read(r, 64) == b"READY=1\n"
        os.close(w)
        w = -1
        assert waiting.readable(r, 5) and os.read(r, 64) == b""  # the writer is gone
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_readable_gives_up_at_its_deadline_without_sleeping() -> None:
    r, w = os.pipe()
    try:
        started = time.monotonic()
        assert not waiting.readable(r, 0.05)
        assert 0.04 < time.monotonic() - started < 2
    finally:
        os.close(r)
        os.close(w)


def _write_later(path: Path, text: str, delay: float) -> threading.Thread:
    def write() -> None:
        time.sleep(delay)
        path.write_text(text, encoding="utf-8")  # opened, written, closed: one event

    writer = threading.Thread(target=write)
    writer.start()
    return writer


def test_written_wakes_when_a_write_makes_the_file_say_so(tmp_path: Path) -> None:
    lock = tmp_path / "postmaster.pid"
    lock.write_text("123\nstarting\n", encoding="utf-8")
    assert not waiting.written(lock, lambda text: "ready" in text, 0.05)  # not yet
    first = _write_later(tmp_path / "other", "ready", 0.02)  # another file: no answer
    second = _write_later(lock, "123\nready\n", 0.06)
    started = time.monotonic()
    try:
        assert waiting.written(lock, lambda text: "ready" in text, 30)
        assert time.monotonic() - started < 10  # woken by the write, not the deadline
    finally:
        first.join()
        second.join()


def test_written_answers_at_once_when_the_file_already_says_so(tmp_path: Path) -> None:
    lock = tmp_path / "postmaster.pid"
    lock.write_text("ready", encoding="utf-8")
    assert waiting.written(lock, lambda text: text == "ready", 0)
    assert not waiting.written(tmp_path / "absent", lambda text: True, 0)  # no file: no


def test_without_inotify_written_looks_with_the_given_sleep(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_inotify(name: object, use_errno: bool = False) -> object:
        raise OSError("no inotify here")

    monkeypatch.setattr(ctypes, "CDLL", no_inotify)
    lock = tmp_path / "postmaster.pid"
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the file is written while "sleeping"
        slept.append(seconds)
        if len(slept) == 3:
            lock.write_text("ready", encoding="utf-8")

    assert waiting.written(lock, lambda text: text == "ready", 3600, sleep=sleep)
    assert len(slept) == 3 and all(0 < s <= waiting.FALLBACK_PERIOD for s in slept)
