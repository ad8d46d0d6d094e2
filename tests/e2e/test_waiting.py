"""generator/local/waiting.exited: a process's exit wakes the waiter (on its pidfd), a
child of ours is reaped, and without pidfds it looks with the sleep it is given."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.local import waiting


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_exited_waits_for_the_exit_and_reaps_a_child(
        sleeper: subprocess.Popen[bytes]) -> None:
    assert not waiting.exited(sleeper.pid, 0.05)  # still running: the deadline answers
    pidfd = waiting.open_pidfd(sleeper.pid)
    assert pidfd is not None
    try:
        os.kill(sleeper.pid, signal.SIGTERM)
        assert waiting.exited(sleeper.pid, 30, pidfd)
    finally:
        os.close(pidfd)
    assert _reaped(sleeper.pid)  # no zombie left behind
    assert waiting.exited(sleeper.pid, 0)  # gone: at once, pidfd or not


def test_without_pidfds_exited_looks_with_the_given_sleep(
        sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "pidfd_open")
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the process exits while "sleeping"
        slept.append(seconds)
        if len(slept) == 3:
            os.kill(sleeper.pid, signal.SIGKILL)
            os.waitpid(sleeper.pid, 0)

    assert waiting.exited(sleeper.pid, 3600, sleep=sleep)
    assert len(slept) == 3 and all(0 < s <= waiting.FALLBACK_PERIOD for s in slept)


def test_finished_gives_the_exit_code_and_leaves_the_reaping_to_popen() -> None:
    proc = subprocess.Popen(["sh", "-c", "read line; exit 7"], stdin=subprocess.PIPE)
    try:
        assert waiting.finished(proc, 0.05) is None  # waiting for its line
        assert proc.stdin is not None
        proc.stdin.close()  # end of file: it exits
        assert waiting.finished(proc, 30) == 7 and proc.returncode == 7
        assert waiting.finished(proc, 0) == 7  # asked again: the same answer
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_written_gives_up_when_the_writer_exits_without_the_line(
        sleeper: subprocess.Popen[bytes], tmp_path: Path) -> None:
    lock = tmp_path / "postmaster.pid"
    lock.write_text(f"{sleeper.pid}\nstarting\n", encoding="utf-8")
    assert not waiting.written(lock, lambda text: "ready" in text, 0.05, sleeper.pid)
    os.kill(sleeper.pid, signal.SIGKILL)  # a server that died starting
    assert not waiting.written(lock, lambda text: "ready" in text, 60, sleeper.pid)
    assert sleeper.wait() == -signal.SIGKILL  # its exit code left to its Popen


def test_without_inotify_written_still_sees_the_writer_exit(
        sleeper: subprocess.Popen[bytes], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A server that dies starting, on a machine out of inotify instances: reported at
    # once, not after the whole timeout (it waited out all 60 s of a DB's start).
    def no_inotify(name: object, use_errno: bool = False) -> object:
        raise OSError("no inotify here")

    monkeypatch.setattr(ctypes, "CDLL", no_inotify)
    lock = tmp_path / "postmaster.pid"
    lock.write_text(f"{sleeper.pid}\nstarting\n", encoding="utf-8")
    os.kill(sleeper.pid, signal.SIGKILL)
    started = time.monotonic()
    assert not waiting.written(lock, lambda text: "ready" in text, 60, sleeper.pid,
                               sleep=lambda seconds: pytest.fail("slept instead of polling"))
    assert time.monotonic() - started < 5
    assert sleeper.wait() == -signal.SIGKILL
