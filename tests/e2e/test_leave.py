"""The ``stackgen`` process ends without the interpreter's teardown (generator/cli/leave.py),
and without losing anything a normal exit gives others: its status, buffered output,
atexit handlers, threads still running.

The teardown is what the exit skips: an object's ``__del__`` left for the teardown does
not run (under ``sys.exit`` it does; the first test shows both)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

PRELUDE = """
import atexit, sys, threading
from generator.cli.leave import leave
class Noisy:
    def __del__(self):
        sys.stderr.write("teardown ran\\n")
kept = Noisy()
"""


def run(body: str, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    # Output block-buffered, as a command's is into a pipe: what the exit must flush.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-c", PRELUDE + body], cwd=ROOT, text=True, env=env,
                          stdout=stdout, stderr=subprocess.PIPE, timeout=60, check=False)


def test_leave_skips_the_teardown_that_sys_exit_runs() -> None:
    assert "teardown ran" in run("sys.exit(0)").stderr
    done = run("leave(0)")
    assert (done.returncode, done.stderr) == (0, "")


def test_the_status_buffered_output_and_atexit_handlers_are_kept() -> None:
    done = run("atexit.register(print, 'atexit ran', file=sys.stderr)\n"
               "print('buffered', end='')\n"
               "leave(3)")
    assert (done.returncode, done.stdout, done.stderr) == (3, "buffered", "atexit ran\n")


def test_a_message_as_the_code_is_printed_and_ends_with_1() -> None:
    done = run("leave('error: no such env')")
    assert (done.returncode, done.stderr) == (1, "error: no such env\n")


def test_a_thread_still_running_is_waited_for_as_a_normal_exit_does() -> None:
    # The thread is still in its sleep when leave() is called: an exit that did not
    # wait would end the process before it prints.
    done = run("import time\n"
               "def work():\n"
               "    time.sleep(0.1)\n"
               "    print('thread finished')\n"
               "threading.Thread(target=work).start()\n"
               "leave(0)")
    assert (done.returncode, done.stdout) == (0, "thread finished\n")


def test_output_that_cannot_be_written_ends_with_pythons_status_for_it() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: the flush at exit fails with EPIPE
    try:
        done = run("print('lost')\nleave(0)", stdout=write_end)
    finally:
        os.close(write_end)
    assert done.returncode == 120


def test_ctrl_c_while_leaving_ends_as_interrupted_without_a_traceback() -> None:
    # The signal lands while the output is flushed: Python raises KeyboardInterrupt in
    # leave() itself (found in review).
    done = run("import os, signal\n"
               "class Interrupted:\n"
               "    def __init__(self, real): self.real = real\n"
               "    def write(self, text): return self.real.write(text)\n"
               "    def flush(self):\n"
               "        os.kill(os.getpid(), signal.SIGINT)\n"
               "        return self.real.flush()\n"
               "sys.stdout = Interrupted(sys.stdout)\n"
               "leave(0)")
    assert (done.returncode, done.stderr) == (130, "")
