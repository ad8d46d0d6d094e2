"""The test pyramid's tiers, and the guards that keep the unit tier honest.

Tiers (pytest markers, registered in pyproject.toml):

- ``unit``: no network, no subprocess, no endpoint; `make test-fast` runs these alone.
- ``local``: needs the local endpoint (or bare moto's server).
- ``cli``: the command line through Click's runner, bad input, golden files (in process).
- ``e2e``: runs ``stackgen`` (or another program) as a process.
- ``docker``: needs Docker.

A test file lives in the directory of its tier: tests/unit/ (mirroring generator/'s
packages), tests/local/, tests/cli/ or tests/e2e/; the first directory below tests/ gives
its tests their marker (tests/unit/local/ is unit, tests/local/ is local). A test file
anywhere else (one a branch adds at tests/test_*.py) is ``unit`` unless FILE_TIERS names its
base tier, and a test in it is moved up a tier when it needs more: one that uses an endpoint
fixture is ``local``; one that calls a process-starting helper (directly or through the
module's own functions and fixtures) is ``e2e``; test_tiers fails until it moves to its
tier's directory. The unit guard makes a mistake loud: a ``unit`` test that opens an inet
socket or starts a process fails, whatever opened it.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

TIERS = ("unit", "local", "cli", "e2e", "docker")
DIRECTORIES = ("unit", "local", "cli", "e2e")
IN_PROCESS = ("unit", "cli")  # the guarded tiers, which `make test-fast` runs

# A test file outside the tier directories (a branch's, until it moves): its base tier, what
# its tests are unless they need more (see above). Empty when every file is in its directory.
FILE_TIERS: dict[str, str] = {}

# Fixtures (conftest's and any test module's) that reach a local endpoint.
LOCAL_FIXTURES = frozenset({"endpoint", "aws", "slow", "bare_endpoint"})
# Names whose use starts a process (a test reaching one is e2e) or uses the loopback
# network (a server of the test's own, a free port: local).
PROCESS_NAMES = frozenset({"run_stackgen", "subprocess", "Popen", "LocalEndpoint"})
NETWORK_NAMES = frozenset({"serving", "free_port", "HTTPServer", "ThreadingHTTPServer",
                           "socket"})
# Tests outside the tier directories the rules above cannot see into, by node id (file::test,
# parameters left off).
TEST_TIERS: dict[str, str] = {}


def _names(code: types.CodeType) -> set[str]:
    """Global and attribute names a function's code (and the code nested in it) uses."""
    out = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _names(const)
    return out


def _function_names(module: types.ModuleType) -> dict[str, set[str]]:
    uses: dict[str, set[str]] = {}
    for name, value in vars(module).items():
        func = getattr(value, "__wrapped__", value)
        func = (getattr(func, "__pytest_wrapped__", None) and func.__pytest_wrapped__.obj) or func
        code = getattr(func, "__code__", None)
        if code is not None and getattr(func, "__module__", None) == module.__name__:
            uses[name] = _names(code)
        elif isinstance(value, type) and value.__module__ == module.__name__:
            uses[name] = set().union(*(
                _names(v.__code__) for v in vars(value).values() if hasattr(v, "__code__")))
    return uses


_REACHES: dict[tuple[str, frozenset[str]], frozenset[str]] = {}


def reaching(module: types.ModuleType, names: frozenset[str]) -> frozenset[str]:
    """``names`` and the module's functions, classes and fixtures that use one of them,
    directly or through another, to a fixpoint."""
    key = (module.__name__, names)
    if key not in _REACHES:
        uses = _function_names(module)
        found = set(names)
        while True:
            more = {name for name, used in uses.items() if used & found} - found
            if not more:
                break
            found |= more
        _REACHES[key] = frozenset(found)
    return _REACHES[key]


TESTS = Path(__file__).resolve().parent


def directory_tier(path: Path) -> str | None:
    """The tier of the directory a test file is in: the first directory below tests/."""
    try:
        first = path.resolve().relative_to(TESTS).parts[0]
    except (ValueError, IndexError):
        return None
    return first if first in DIRECTORIES else None


def tier_of(item: pytest.Item) -> str:
    path = Path(str(item.fspath))
    tier = directory_tier(path)
    if tier is not None:
        return tier
    # A file not listed yet (one a branch adds) is unit, moved up by the rules below; the
    # unit guard fails what they miss, and test_tiers asks for the file to be listed.
    base = FILE_TIERS.get(path.name, "unit")
    explicit = TEST_TIERS.get(f"{path.name}::{item.name.split('[')[0]}")
    if explicit or base in ("e2e", "local"):
        return explicit or base
    fixtures = set(getattr(item, "fixturenames", ()))
    module = getattr(item, "module", None)
    function = getattr(item, "function", None)
    used = fixtures | (_names(function.__code__) if function is not None else set())
    if module is not None and used & reaching(module, PROCESS_NAMES):
        return "e2e"
    if fixtures & LOCAL_FIXTURES or (module is not None and
                                     used & reaching(module, NETWORK_NAMES)):
        return "local"
    return base


def mark(items: Iterable[pytest.Item]) -> None:
    for item in items:
        declared = {m.name for m in item.iter_markers() if m.name in TIERS}
        if not declared - {"docker"}:  # an explicit tier marker on a test wins
            item.add_marker(tier_of(item))


# --- guards -------------------------------------------------------------------------

SLEEP_LIMIT = 0.2  # seconds of real sleep one test may spend
# Every tier fails a test that sleeps longer: the in-process tiers have fakes; the local
# tier moves the latency model's clock (tests/helpers/endpoint_clock.py) and drives the env
# lock's heartbeat (tests/helpers/lock.py); e2e waits on events (a readiness pipe, a pidfd,
# a long poll: generator/local/waiting.py). A blocking wait on an fd, a process or a
# threading primitive is no sleep: only time.sleep is counted (Popen.wait with a timeout is
# a loop of time.sleep naps, so it counts).


class Guard:
    """One audit hook for the session (they cannot be removed): while a unit test runs it
    refuses inet sockets and processes; for every test it adds up real sleep."""

    def __init__(self) -> None:
        self.unit = False
        self.violations: list[str] = []
        self.slept = 0.0
        self._lock = threading.Lock()
        sys.addaudithook(self.hook)

    def sleep(self, seconds: float) -> None:
        """time.sleep, counted (Python 3.11 raises no audit event for it)."""
        with self._lock:
            self.slept += float(seconds)
        REAL_SLEEP(seconds)

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.unit:
            return
        refused = self._refused(event, args)
        if refused:
            self.violations.append(refused)
            raise PermissionError(f"a unit or cli test may not {refused} (mark it local or e2e)")

    @staticmethod
    def _refused(event: str, args: tuple[Any, ...]) -> str | None:
        import socket

        if event == "socket.__new__" and args[1] in (socket.AF_INET, socket.AF_INET6):
            return "open an inet socket"
        if event in ("socket.connect", "socket.bind") and args[0].family != socket.AF_UNIX:
            return f"use the network ({event})"
        if event in ("socket.getaddrinfo", "socket.gethostbyname"):
            return f"look up a host name ({event})"
        if event in ("subprocess.Popen", "os.posix_spawn", "os.fork", "os.system") or \
                event.startswith("os.exec"):
            return f"start a process ({event})"
        return None

    @contextlib.contextmanager
    def sleep_uncounted(self) -> Iterator[None]:
        """A shared fixture's setup (an endpoint starting for the session) waits on a real
        process: not the sleep of the test that happens to set it up first."""
        with self._lock:
            before = self.slept
        try:
            yield
        finally:
            with self._lock:
                self.slept = before

    def start(self, unit: bool) -> None:
        with self._lock:
            self.unit, self.violations, self.slept = unit, [], 0.0

    def stop(self) -> tuple[list[str], float]:
        with self._lock:
            self.unit = False
            return self.violations, self.slept


REAL_SLEEP = time.sleep
GUARD = Guard()
# Imported by conftest before anything of generator/, so that defaults bound at import
# (``sleep: Callable = time.sleep``) are the counted sleep too.
time.sleep = GUARD.sleep


def guard() -> Guard:
    return GUARD


SHARED_FIXTURES = "stackgen-shared-fixtures"


class SharedFixtures:
    """A pytest plugin: the setup of a fixture shared by several tests (module or session
    scope: an endpoint started once) is not the sleep of the test that sets it up first.
    Registered by tests/conftest.py for the whole session (see there why)."""

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> Iterator[Any]:
        if fixturedef.scope == "function":
            return (yield)
        with guard().sleep_uncounted():
            return (yield)


def verdict(tier: str, refused: list[str], slept: float) -> str | None:
    """Why a test fails after it ran, or None: what it was refused even if it swallowed the
    error, or its real sleep over SLEEP_LIMIT."""
    if refused:
        return (f"a {tier} test may not {refused[0]}: mark it local or e2e, or give the code "
                "a seam (a fake client, an injected clock)")
    if slept > SLEEP_LIMIT:
        return (f"the test slept {slept:.2f} s for real (at most {SLEEP_LIMIT} s): give the "
                "code under test a fake clock and sleep")
    return None


def guarded(unit: bool, body: Callable[[], Any]) -> tuple[list[str], float]:
    """Run ``body`` under the guard as a test of that tier would run: what it was refused,
    and how long it slept (for the test of the tiers themselves)."""
    g = guard()
    saved = (g.unit, g.violations, g.slept)
    g.start(unit)
    try:
        with contextlib.suppress(PermissionError):
            body()
        return g.stop()
    finally:
        g.unit, g.violations, g.slept = saved
