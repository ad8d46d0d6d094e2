"""tests/helpers/inprocess.py: `stackgen` in process sees what a child would (exactly the
env given, the cwd, stdin; stdout and stderr apart; the real group's exit codes), and what
a child would drop at its exit and this process keeps fails the run by name."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

import click
import pytest

from tests.helpers.inprocess import Leaked, invoke, stackgen


def _group(body: click.Command) -> click.Group:
    group = click.Group("stackgen")
    group.add_command(body, "cmd")
    return group


@click.command()
def _show() -> None:
    """What the command sees: its environment, its directory, its stdin."""
    click.echo(",".join(sorted(os.environ)))
    click.echo(os.getcwd())
    click.echo(f"in:{sys.stdin.read()}", err=True)
    sys.exit(3)


def test_the_command_sees_exactly_the_env_the_cwd_and_the_input(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKGEN_TEST_OUTSIDE", "1")
    before = os.getcwd()
    result = invoke(_group(_show), ["cmd"], tmp_path, env={"ONLY": "x"}, input="typed")
    assert result.returncode == 3
    assert result.stdout.splitlines() == ["ONLY", str(tmp_path)]
    assert result.stderr == "in:typed\n"
    assert os.getcwd() == before and os.environ["STACKGEN_TEST_OUTSIDE"] == "1"
    assert "ONLY" not in os.environ


def test_without_env_the_command_inherits_this_process_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKGEN_TEST_OUTSIDE", "1")
    assert "STACKGEN_TEST_OUTSIDE" in invoke(_group(_show), ["cmd"], tmp_path).stdout


def test_an_uncaught_exception_is_exit_1_and_its_traceback_on_stderr(tmp_path: Path) -> None:
    @click.command()
    def boom() -> None:
        raise RuntimeError("kaput")

    result = invoke(_group(boom), ["cmd"], tmp_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: kaput" in result.stderr


def test_the_real_group_decides_the_exit_code_of_bad_input(tmp_path: Path) -> None:
    result = stackgen(["--no-color", "render", "--env", "nosuch"], cwd=tmp_path, env={})
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_thread_left_running_is_named(tmp_path: Path) -> None:
    stop = threading.Event()

    @click.command()
    def starts() -> None:
        threading.Thread(target=stop.wait, name="left-behind", daemon=True).start()

    try:
        with pytest.raises(Leaked, match="thread left-behind still running"):
            invoke(_group(starts), ["cmd"], tmp_path, grace=0)
    finally:
        stop.set()


def test_an_environment_change_is_named_and_undone(tmp_path: Path) -> None:
    @click.command()
    def sets() -> None:
        os.environ["STACKGEN_TEST_SET"] = "1"

    with pytest.raises(Leaked, match=r"changed os\.environ: STACKGEN_TEST_SET"):
        invoke(_group(sets), ["cmd"], tmp_path, env={})
    assert "STACKGEN_TEST_SET" not in os.environ


def test_a_signal_or_logging_handler_left_is_named_and_put_back(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)

    @click.command()
    def installs() -> None:
        signal.signal(signal.SIGTERM, lambda *_: None)
        logging.getLogger("stackgen.test").addHandler(logging.NullHandler())

    with pytest.raises(Leaked, match=r"signal handler for SIGTERM.*logging handlers on "
                                     r"stackgen\.test"):
        invoke(_group(installs), ["cmd"], tmp_path)
    assert signal.getsignal(signal.SIGTERM) == before
    assert logging.getLogger("stackgen.test").handlers == []
