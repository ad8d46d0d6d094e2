"""The pyramid's tiers hold: a unit (or cli) test is refused sockets and processes, a
refusal it swallows still fails it, every test's real sleep is counted, and every test
has exactly one tier."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from tests import tiers
from tests.helpers.tiers import _open_socket


def _connect_loopback() -> None:
    socket.create_connection(("127.0.0.1", 9), timeout=0.1)


def _start_process() -> None:
    subprocess.run([sys.executable, "-c", "pass"], check=False)


def test_this_unit_test_runs_under_the_guard(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None
    assert tiers.guard().unit  # so every test of the tier does


@pytest.mark.parametrize(("body", "refusal"), [
    (_open_socket, "open an inet socket"),
    (_connect_loopback, "look up a host name (socket.getaddrinfo)"),
    (_start_process, "start a process (subprocess.Popen)"),
])
def test_a_unit_test_may_not_open_a_socket_or_start_a_process(body: object,
                                                              refusal: str) -> None:
    refused, _ = tiers.guarded(True, body)  # type: ignore[arg-type]
    assert refused[:1] == [refusal]
    # The test fails even when the code under test swallowed the PermissionError.
    assert tiers.verdict("unit", refused, 0.0) == (
        f"a unit test may not {refusal}: mark it local or e2e, or give the code a seam "
        "(a fake client, an injected clock)")


def test_a_unix_socket_is_no_network() -> None:
    refused, _ = tiers.guarded(True, lambda: socket.socketpair(socket.AF_UNIX)[0].close())
    assert refused == []


def test_real_sleep_over_the_limit_fails_a_test_of_any_tier(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiers, "REAL_SLEEP", lambda seconds: None)  # counted, not slept
    _, slept = tiers.guarded(False, lambda: [time.sleep(0.15), time.sleep(0.1)])
    assert slept == pytest.approx(0.25)
    assert tiers.verdict("local", [], slept) == (
        "the test slept 0.25 s for real (at most 0.2 s): give the code under test a fake "
        "clock and sleep")
    _, brief = tiers.guarded(False, lambda: time.sleep(0.05))
    assert tiers.verdict("unit", [], brief) is None


@pytest.fixture(scope="session")
def shared_slow_start() -> str:
    """A shared fixture that waits as a session endpoint's start does (counted, not slept)."""
    real = tiers.REAL_SLEEP
    tiers.REAL_SLEEP = lambda seconds: None
    try:
        time.sleep(0.25)
    finally:
        tiers.REAL_SLEEP = real
    return "started"


def test_a_shared_fixtures_wait_is_not_the_sleep_of_the_test_that_sets_it_up(
        shared_slow_start: str) -> None:
    # A session fixture's node is the session, which tests/conftest.py's hooks are not
    # asked about: the guard's plugin is registered for the whole session instead.
    assert shared_slow_start == "started" and tiers.guard().slept == 0.0


def test_every_test_file_has_a_tier() -> None:
    """Every test file under tests/ is in a tier's directory; FILE_TIERS names the rest."""
    files = sorted(tiers.TESTS.rglob("test_*.py"))
    assert files, "no test file found under tests/"
    outside = {p.name for p in files if tiers.directory_tier(p) is None}
    assert outside - set(tiers.FILE_TIERS) == set(), (
        "move them to tests/unit/, tests/local/, tests/cli/ or tests/e2e/")
    assert set(tiers.FILE_TIERS.values()) <= set(tiers.TIERS)
    assert set(tiers.FILE_TIERS) - outside == set(), "FILE_TIERS names a file that is gone"
    assert {tiers.directory_tier(p) for p in files} - {None} <= set(tiers.DIRECTORIES)


def test_the_first_directory_below_tests_gives_the_tier() -> None:
    assert tiers.directory_tier(tiers.TESTS / "unit" / "local" / "test_server.py") == "unit"
    assert tiers.directory_tier(tiers.TESTS / "local" / "test_compat.py") == "local"
    assert tiers.directory_tier(tiers.TESTS / "e2e" / "test_nested.py") == "e2e"
    assert tiers.directory_tier(tiers.TESTS / "test_new.py") is None
    assert tiers.directory_tier(tiers.TESTS / "helpers" / "test_like.py") is None


