"""`stackgen` run in this process: what tests/local/ uses instead of a child process.

A child costs ~1 s of CPU just to start (the interpreter and the deploy path's imports);
the local tier ran ~120 of them. Here the command is the real group (generator/cli/app.py's
StackgenGroup, so exit codes come from the same code path) through Click's runner, in
``cwd``, with exactly ``env`` as the environment it sees, ``input`` on stdin and stdout and
stderr apart: the shape the tests read from subprocess.CompletedProcess.

What a child would drop at its exit and this process keeps is checked, not swept away:
a thread the command started and left running, a signal handler, a logging handler or an
os.environ change it made (os.environ itself is the runner's to swap: that is the harness's
doing, and it is put back). Each fails the run naming what leaked, since a long-lived
process (or a library user calling the commands) would carry it to the next command.
Tests that need a process (a signal, an exit code of the interpreter, `ps`) stay in
tests/e2e/ with run_stackgen.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from click.testing import CliRunner

from generator.cli import cli

# Signals a command could take over (Ctrl-C, a terminal closing, a kill, a pipe).
WATCHED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE)
THREAD_GRACE = 5.0  # seconds a thread the command started gets to end after it returns


@dataclass(frozen=True)
class Result:
    """What a test reads of a finished command (subprocess.CompletedProcess's names)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


class Leaked(AssertionError):
    """The command left state behind in the process (see the module's docstring)."""


@contextmanager
def _environment(env: Mapping[str, str] | None) -> Iterator[None]:
    """Exactly ``env`` in os.environ for the block (None: this process's own, as a
    child inherits it); afterwards the environment from before."""
    saved = dict(os.environ)
    wanted = saved if env is None else dict(env)
    os.environ.clear()
    os.environ.update(wanted)
    try:
        yield
        changed = sorted(k for k in set(os.environ) | set(wanted)
                         if os.environ.get(k) != wanted.get(k))
        if changed:
            raise Leaked(f"the command changed os.environ: {', '.join(changed)}")
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _directory(cwd: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(cwd)
    try:
        yield
        if Path.cwd() != Path(cwd).resolve():
            raise Leaked(f"the command changed directory to {Path.cwd()}")
    finally:
        os.chdir(before)


def _handlers() -> dict[str, list[logging.Handler]]:
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)]
    return {logger.name: list(logger.handlers) for logger in loggers}  # root: "root"


def _left_running(before: set[threading.Thread], grace: float) -> list[str]:
    """The threads the command started that are still running after a grace (a join,
    not a sleep)."""
    left = [t for t in threading.enumerate() if t not in before]
    for thread in left:
        thread.join(grace)
    return sorted(t.name for t in left if t.is_alive())


def stackgen(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None,
             input: str | None = None) -> Result:
    """The real command in this process: exit code, stdout and stderr as a user sees
    them (an uncaught exception is its traceback on stderr and exit 1, as in a child)."""
    return invoke(cli, args, cwd, env, input)


def invoke(group: click.Command, args: Sequence[str], cwd: Path,
           env: Mapping[str, str] | None = None, input: str | None = None,
           grace: float = THREAD_GRACE) -> Result:
    """``group`` run as `stackgen` runs (see stackgen), leaks checked: a signal or
    logging handler it left is put back after it is named, so one leak fails one test."""
    threads = set(threading.enumerate())
    handlers = {sig: signal.getsignal(sig) for sig in WATCHED_SIGNALS}
    logs = _handlers()
    with _directory(cwd), _environment(env):
        # env=None: the runner sets nothing of its own; _environment made os.environ exact.
        result = CliRunner().invoke(group, list(args), input=input, prog_name="stackgen",
                                    catch_exceptions=True)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit) \
            and result.exc_info is not None:
        stderr += "".join(traceback.format_exception(*result.exc_info))
    leaks: list[str] = []
    for sig, handler in handlers.items():
        if signal.getsignal(sig) != handler:
            leaks.append(f"a signal handler for {sig.name}")
            if handler is not None:  # None: set outside Python, nothing to put back
                signal.signal(sig, handler)
    for name, now in _handlers().items():
        if now != logs.get(name, []):
            leaks.append(f"logging handlers on {name or 'root'}")
            logging.getLogger(name).handlers[:] = logs.get(name, [])
    leaks += [f"thread {name} still running" for name in _left_running(threads, grace)]
    if leaks:
        raise Leaked(f"`stackgen {' '.join(args)}` left {'; '.join(leaks)}")
    return Result(list(args), result.exit_code, result.stdout, stderr)
