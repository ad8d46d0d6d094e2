"""generator/local/waiting.py on a pipe: readable wakes on a line and on end of file, and
gives up at its deadline (the process half is tests/e2e/test_waiting.py)."""

from __future__ import annotations

import os
import time

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
