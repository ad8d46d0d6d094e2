"""Waiting on a pipe or a process without sleeping: the kernel wakes the waiter.

``stackgen local up`` waits for the endpoint's readiness line on a pipe (``readable``),
``local down`` for the process to exit (``exited``, on a pidfd), and the tests wait the
same way. A poll loop (``while not done: sleep(0.05)``) costs up to one period after each
event and hides how long a wait really is; a blocking wait on the fd returns the moment
the pipe has a line, closes (the writer died) or the process exits.

This module's room: blocking waits with a deadline; what is waited for is the caller's.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import time
from collections.abc import Callable

# Only where the OS has no pidfd (not Linux >= 5.3) and the pid is not a child of ours:
# no event to block on, so the process is looked at this often.
FALLBACK_PERIOD = 0.05


def readable(fd: int, timeout: float) -> bool:
    """True as soon as ``fd`` is readable (data, end of file or an error), False when
    ``timeout`` seconds pass first."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(max(0.0, timeout) * 1000))


def open_pidfd(pid: int) -> int | None:
    """A pidfd for ``pid`` (closed by the caller), or None: no such process, or no
    pidfd on this OS. Held from before a check to the signal, a pid cannot be reused."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _reap(pid: int) -> bool:
    """Reap ``pid`` when it is an exited child of ours; True when it is gone."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False  # not our child (or already reaped)
    return done == pid


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs: it exists and is not a zombie (in a container whose
    pid 1 does not reap, an exited process stays one); one of another user's counts."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
        return text[text.rindex(")") + 2] != "Z"
    return True


def exited(pid: int, timeout: float, pidfd: int | None = None,
           sleep: Callable[[float], None] = time.sleep) -> bool:
    """Whether process ``pid`` exits within ``timeout`` seconds (reaped when it is a
    child of ours). Blocks on its pidfd (``pidfd``, or one opened here); without pidfds
    it looks every FALLBACK_PERIOD with ``sleep``."""
    own = open_pidfd(pid) if pidfd is None else None
    fd = pidfd if pidfd is not None else own
    try:
        if fd is not None:
            done = readable(fd, timeout)
            _reap(pid)
            return done
        if _reap(pid) or not alive(pid):
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sleep(min(FALLBACK_PERIOD, max(0.0, deadline - time.monotonic())))
            if _reap(pid) or not alive(pid):
                return True
        return False
    finally:
        if own is not None:
            os.close(own)


def finished(proc: subprocess.Popen[bytes] | subprocess.Popen[str],
             timeout: float) -> int | None:
    """``proc``'s exit code once it exits within ``timeout`` seconds, else None. Blocks
    on its pidfd and leaves the reaping to ``proc`` (which keeps the exit code)."""
    if proc.returncode is not None:
        return proc.returncode
    fd = open_pidfd(proc.pid)
    if fd is None:  # no pidfds (or already gone): Popen's own wait
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
    try:
        if not readable(fd, timeout):
            return None
    finally:
        os.close(fd)
    return proc.wait()  # exited: reaps at once
