"""Leaving the process once a command is done, without the interpreter's teardown.

At exit CPython frees every object of every imported module one by one. After a render
that is ~25 ms of a 0.2 s run; after a deploy that loaded botocore's service models,
0.2 s. The kernel frees a process's memory at once, so once everything exit would do
for others has been done (output flushed, atexit handlers run, no thread left to wait
for), the command ends with ``os._exit``. Instagram's engineering blog ("Dismissing
Python Garbage Collection at Instagram", 2017) describes the same exit.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

# Python's own exit status when flushing stdout or stderr fails at exit (Py_RunMain).
FLUSH_FAILED = 120
# The status of a command stopped by Ctrl-C (generator/cli/app.py).
INTERRUPTED = 130

# What SystemExit carries.
ExitCode = str | int | None


def exit_status(code: ExitCode) -> int:
    """The status ``sys.exit(code)`` ends the process with: None is 0, an integer itself,
    anything else is printed to stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def waits_for_threads() -> bool:
    """Whether a normal exit would wait here: a non-daemon thread still runs."""
    main = threading.main_thread()
    return any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate())


def leave(code: ExitCode) -> NoReturn:
    """End the process as ``sys.exit(code)`` would, less the teardown of the heap."""
    if waits_for_threads():
        sys.exit(code)  # the normal exit joins them (and pays the teardown)
    status = exit_status(code)
    try:
        # What a normal exit does for others, in its order: atexit handlers (logging's
        # flush, multiprocessing's pools, weakref finalizers such as temporary
        # directories'), then the standard streams. atexit has no public "run them now".
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):  # a closed pipe or stream: as Python reports it
                status = FLUSH_FAILED
    except KeyboardInterrupt:  # Ctrl-C while leaving: an interrupted command's status,
        status = INTERRUPTED  # never a traceback
    os._exit(status)
