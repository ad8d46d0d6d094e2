"""The exit status and the thread check the fast exit decides with (generator/cli/leave.py);
the exit itself is a process's: tests/e2e/test_leave.py."""

from __future__ import annotations

import threading

import pytest

from generator.cli.leave import exit_status, waits_for_threads


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (2, 2), (130, 130)])
def test_the_status_is_what_sys_exit_would_end_with(code: int | None, status: int) -> None:
    assert exit_status(code) == status


def test_a_message_is_printed_and_ends_with_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_status("no such env") == 1
    assert capsys.readouterr().err == "no such env\n"


def test_a_running_non_daemon_thread_is_waited_for_and_a_daemon_one_is_not() -> None:
    assert not waits_for_threads()
    release = threading.Event()
    for daemon in (True, False):
        thread = threading.Thread(target=release.wait, daemon=daemon)
        thread.start()
        try:
            assert waits_for_threads() is not daemon
        finally:
            release.set()
            thread.join()
            release.clear()
    assert not waits_for_threads()
