from __future__ import annotations

# First: the guards patch time.sleep before generator/ binds it anywhere.
from tests import tiers  # isort: split

import contextlib
import faulthandler
import http.client
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator.local import waiting
from generator.local.manager import Endpoint, LocalEndpoint, free_port, set_latency
from generator.params import load_env
from generator.render import Rendered, render

ROOT = Path(__file__).resolve().parent.parent
# Endpoints the tests start through the CLI run no containers unless a test asks (the
# `docker` marker's tests, tests/test_containers.py).
os.environ.setdefault("STACKGEN_LOCAL_CONTAINERS", "off")
ENVS = ("local", "dev", "prod", "fargate", "local2")


def run_stackgen(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None,
                 input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command in a child process: exit codes and stderr as a user sees them."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=cwd, capture_output=True, text=True, env=env, input=input, timeout=timeout,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shipped params and templates to modify freely."""
    shutil.copytree(ROOT / "params", tmp_path / "params")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    return tmp_path


@pytest.fixture(scope="module")
def rendered() -> Rendered:
    """The shipped `local` env rendered once per test module (stubbed deploys, plans)."""
    return render(load_env(ROOT / "params", "local"), ROOT / "templates")


# --- tiers and guards (tests/tiers.py) ---------------------------------------------

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tiers.mark(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """From the first fixture on: a test of an in-process tier (unit, cli) is refused
    sockets and processes; every test's real sleep is counted."""
    tiers.guard().start(unit=any(item.get_closest_marker(m) for m in tiers.IN_PROCESS))
    return (yield)


def pytest_configure(config: pytest.Config) -> None:
    # For the whole session, not as this conftest's hook: pytest asks a conftest only
    # about nodes below its directory, and a session fixture's node is the session.
    if not config.pluginmanager.has_plugin(tiers.SHARED_FIXTURES):
        config.pluginmanager.register(tiers.SharedFixtures(), tiers.SHARED_FIXTURES)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    try:
        result = yield
    finally:
        refused, slept = tiers.guard().stop()
    failure = tiers.verdict(tiers.tier_of(item), refused, slept)
    if failure:
        pytest.fail(failure, pytrace=False)
    return result


# --- the local endpoint ---------------------------------------------------------

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": REGION}


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """The real local endpoint (moto server + our fixes), shared by the session."""
    manager = LocalEndpoint(tmp_path_factory.mktemp("endpoint-state"))
    # Containers off: these tests are about the API; tests/test_containers.py runs Docker.
    running, _ = manager.up(port=free_port(), containers="off")
    yield running
    manager.down()


def _wait_listening(proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Until moto's server says it listens (werkzeug's " * Running on" line, written once
    its socket is bound): a blocking read, no polling of the port. Its output is drained
    after, so the server never blocks on a full pipe."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    said = b""
    while b" * Running on " not in said:
        if not waiting.readable(fd, deadline - time.monotonic()):
            raise TimeoutError(f"bare moto server did not listen: {said[-300:]!r}")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise RuntimeError(f"bare moto server died: {said[-300:]!r}")
        said += chunk

    def drain() -> None:
        with contextlib.suppress(OSError):
            while os.read(fd, 65536):
                pass

    threading.Thread(target=drain, name="bare-moto-output", daemon=True).start()


@pytest.fixture(scope="session")
def bare_endpoint() -> Iterator[str]:
    """moto's server as shipped, without our fixes: each fix must be seen missing here."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                             "-p", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_listening(proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        if waiting.finished(proc, 10) is None:
            proc.kill()
            proc.wait()


def reset(url: str) -> None:
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    conn.request("POST", "/moto-api/reset")
    assert conn.getresponse().status == 200
    conn.close()


def clients(url: str) -> Any:
    """boto3 clients on an endpoint: ``clients(url).cloudformation`` etc."""
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="testing",
                                    aws_secret_access_key="testing")

    class _Clients:
        def __getattr__(self, service: str) -> Any:
            return session.client(service.replace("_", "-"), endpoint_url=url)

    return _Clients()


@pytest.fixture
def aws(endpoint: Endpoint) -> Iterator[Any]:
    """A clean local account (reset between tests), seeded like `stackgen local up`."""
    reset(endpoint.url)
    c = clients(endpoint.url)
    c.route53.create_hosted_zone(Name="stackgen.test.", CallerReference=str(time.time()))
    yield c


def aws_env(endpoint: Endpoint) -> dict[str, str]:
    """The environment a user gets from `make deploy`: AWS_ENDPOINT_URL and throw-away keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, **CREDENTIALS, "AWS_ENDPOINT_URL": endpoint.url}


# --- the latency model (issue 16) -------------------------------------------------

# AWS's own figures (VPC 10 s, Subnet 5 s): the tests move the endpoint's clock on
# (tests/helpers/endpoint_clock.py) instead of waiting, so the figures cost no time, and
# the real time a loaded box takes between two calls is small beside each window.
LATENCY_SCALE = 1.0


@pytest.fixture
def slow(endpoint: Endpoint) -> Iterator[Any]:
    """Clients on the shared endpoint with the latency model on, at LATENCY_SCALE; a test
    moves time on with the ``endpoint_clock`` fixture."""
    reset(endpoint.url)
    set_latency(endpoint, True, LATENCY_SCALE)
    try:
        yield clients(endpoint.url)
    finally:
        set_latency(endpoint, False, 1.0)


# --- tests that need Docker (marker `docker`) ---------------------------------------


def need_docker() -> None:
    """Without a reachable Docker daemon: FAIL under CI=true (CI must have one, .ci/run starts
    it with scripts/ensure-docker.sh), skip with the reason elsewhere."""
    from generator.local.emulation.containers import docker_available

    if docker_available():
        return
    reason = "no Docker daemon answers (`docker info`); scripts/ensure-docker.sh starts one"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _docker_needed(request: pytest.FixtureRequest) -> None:
    """Tests marked `docker` need a daemon (need_docker)."""
    if request.node.get_closest_marker("docker") is not None:
        need_docker()


# A test that hangs (a deadlock under load, a wait on a server that died) would hold the
# suite until CI's 90 minutes run out and say nothing. Past this, every thread's stack is
# written to stderr and the worker exits: the run fails, naming where it hung.
WATCHDOG_SECONDS = 600  # the longest test took 177 s at load 9


@pytest.fixture(autouse=True)
def _watchdog() -> Iterator[None]:
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()
