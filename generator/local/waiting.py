"""Waiting on a pipe, a process or a file without sleeping: the kernel wakes the waiter.

``stackgen local up`` waits for the endpoint's readiness line on a pipe (``readable``),
``local down`` for the process to exit (``exited``, on a pidfd), a local DB for its
server's "ready" in its lock file (``written``, on inotify), and the tests wait the
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
from pathlib import Path

# Only where the OS has no pidfd (not Linux >= 5.3) and the pid is not a child of ours,
# or no inotify for a file: no event to block on, so it is looked at this often.
FALLBACK_PERIOD = 0.05

# inotify(7): a file opened for writing was closed; a name created or moved in.
_IN_CLOSE_WRITE, _IN_MOVED_TO, _IN_CREATE = 0x8, 0x80, 0x100


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


def _watch(directory: Path) -> int | None:
    """An inotify fd (non-blocking; closed by the caller) woken when a file in
    ``directory`` is written and closed, created or moved in; None where the OS has no
    inotify (not Linux) or the directory cannot be watched."""
    import ctypes  # here: the deploy path imports this module, and never watches a file
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
    except (OSError, AttributeError):
        return None
    if fd < 0:
        return None
    mask = _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE
    if int(libc.inotify_add_watch(fd, os.fsencode(directory), mask)) < 0:
        os.close(fd)
        return None
    return fd


def _holds(path: Path, done: Callable[[str], bool]) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return done(text)


def written(path: Path, done: Callable[[str], bool], timeout: float, pid: int | None = None,
            sleep: Callable[[float], None] = time.sleep) -> bool:
    """True as soon as ``done`` holds of the text of ``path`` (in a directory that exists),
    read again each time a file there is written and closed; False when ``timeout``
    seconds pass first, or when process ``pid`` (the writer; a child of ours is left to
    its caller to reap, whose exit code it is) exits without it. Where the OS has no
    inotify or no pidfd, it looks every FALLBACK_PERIOD with ``sleep``."""
    deadline = time.monotonic() + timeout
    watch = _watch(path.parent)
    pidfd = open_pidfd(pid) if pid is not None else None
    try:
        poller = select.poll()
        for fd in (watch, pidfd):
            if fd is not None:
                poller.register(fd, select.POLLIN)
        while True:
            if _holds(path, done):  # read after the watch began: no write is missed
                return True
            if pid is not None and pidfd is None and not alive(pid):  # a zombie too
                return _holds(path, done)
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if watch is None or (pid is not None and pidfd is None):
                left = min(FALLBACK_PERIOD, left)  # no event for one of them: look again
            if watch is None and pidfd is None:
                sleep(left)
                continue
            # Without inotify the writer's exit still wakes us (on its pidfd); the file
            # is read again every FALLBACK_PERIOD.
            woke = {fd for fd, _ in poller.poll(left * 1000)}
            if pidfd is not None and pidfd in woke:  # the writer exited
                return _holds(path, done)
            if watch in woke:
                with contextlib.suppress(BlockingIOError):
                    while os.read(watch, 65536):
                        pass
    finally:
        for fd in (watch, pidfd):
            if fd is not None:
                os.close(fd)
