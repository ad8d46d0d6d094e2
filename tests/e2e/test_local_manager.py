"""`stackgen local up|down|status`: idempotent, stale state handled, seeds the account."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.local import waiting
from generator.local.manager import (
    Endpoint,
    LocalEndpoint,
    LocalEndpointError,
    UnsafeState,
    answers,
    free_port,
    identify,
)
from tests.conftest import ROOT, clients, run_stackgen


def test_up_down_status_are_idempotent(tmp_path: Path) -> None:
    manager = LocalEndpoint(tmp_path)
    assert manager.status() is None
    port = free_port()
    first, started = manager.up(port=port)
    try:
        assert started and first.port == port and first.url == f"http://127.0.0.1:{port}"
        again, started_again = manager.up()
        assert again == first and not started_again
        assert manager.status() == first
    finally:
        assert manager.down()
    assert manager.status() is None
    assert not manager.down()


def test_stale_state_file_is_cleaned(tmp_path: Path) -> None:
    manager = LocalEndpoint(tmp_path)
    manager.state_file.write_text(json.dumps({"pid": 999_999_999, "port": free_port()}))
    assert manager.status() is None
    assert not manager.state_file.exists()


def test_cli_up_seeds_the_zone_and_prints_the_url(tmp_path: Path) -> None:
    for name in ("params", "templates"):
        (tmp_path / name).symlink_to(ROOT / name)
    port = str(free_port())
    up = run_stackgen(["local", "up", "--port", port], cwd=tmp_path)
    try:
        assert up.returncode == 0, up.stderr
        url = f"http://127.0.0.1:{port}"
        assert f"export AWS_ENDPOINT_URL={url}" in up.stdout
        assert "seeded hosted zone stackgen.test." in up.stdout
        zones = clients(url).route53.list_hosted_zones()["HostedZones"]
        assert [z["Name"] for z in zones] == ["stackgen.test."]
        printed = run_stackgen(["local", "up", "--print-url"], cwd=tmp_path)
        assert printed.stdout.strip() == url  # already running: same endpoint, seeded once
        assert len(clients(url).route53.list_hosted_zones()["HostedZones"]) == 1
        status = run_stackgen(["local", "status"], cwd=tmp_path)
        assert status.returncode == 0 and url in status.stdout
    finally:
        down = run_stackgen(["local", "down"], cwd=tmp_path)
    assert "stopped" in down.stdout
    assert run_stackgen(["local", "status"], cwd=tmp_path).returncode == 1


# --- issue 11, defect 1: only the endpoint we started is ever signalled ------------

def _server_pids(state_dir: Path) -> list[int]:
    """Live processes running our server module for ``state_dir`` (from /proc)."""
    from generator.local.manager import cmdline, server_args

    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            argv = cmdline(int(entry.name))
            args = server_args(argv) if argv else None
            if args and args[1] == str(state_dir.resolve()):
                pids.append(int(entry.name))
    return pids


def _kill_servers(state_dir: Path) -> None:
    """Test cleanup: stop servers this test started, should the code under test not."""
    for pid in _server_pids(state_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process (a `sleep`) whose pid a bad state file may name."""
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def no_stray_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard: fail instead of signalling init, every process, a group or ourselves."""
    real_kill = os.kill
    ours = (os.getpid(), os.getpgrp())

    def guarded(pid: int, sig: int) -> None:
        assert sig == 0 or (pid > 1 and pid not in ours), f"refused signal {sig} to pid {pid}"
        real_kill(pid, sig)

    monkeypatch.setattr(os, "kill", guarded)


def test_down_refuses_a_state_file_naming_another_process(
        tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    (tmp_path / ".stackgen").mkdir()
    (tmp_path / ".stackgen" / "local-endpoint.json").write_text(
        json.dumps({"pid": sleeper.pid, "port": free_port(), "token": "x"}))
    down = run_stackgen(["local", "down"], cwd=tmp_path)
    assert down.returncode == 2, down.stdout + down.stderr
    assert down.stderr.count("\n") == 1 and "Traceback" not in down.stderr
    assert f"names pid {sleeper.pid}, which is not the local endpoint" in down.stderr
    assert "`sleep 300`" in down.stderr and "nothing was signalled" in down.stderr
    # the sleep survives: a signal `down` sent would have ended it by now (its pidfd
    # wakes the wait at once), so 0.2 s pass with no exit
    assert waiting.finished(sleeper, 0.2) is None


@pytest.mark.parametrize("pid", [-1, 0, 1])
def test_down_refuses_pids_that_signal_init_or_a_group(
        tmp_path: Path, pid: int, no_stray_signals: None) -> None:
    manager = LocalEndpoint(tmp_path)
    manager.state_file.write_text(json.dumps({"pid": pid, "port": free_port(), "token": "x"}))
    with pytest.raises(UnsafeState, match=f"names pid {pid}, which is not the local endpoint"):
        manager.down()
    assert manager.state_file.exists()  # left for the user to look at


def test_down_refuses_its_own_pid_and_group(tmp_path: Path, no_stray_signals: None) -> None:
    manager = LocalEndpoint(tmp_path)
    for pid in (os.getpid(), os.getpgrp()):
        manager.state_file.write_text(json.dumps({"pid": pid, "port": 1, "token": "x"}))
        with pytest.raises(UnsafeState, match="this command, its parent or its process group"):
            manager.down()


def test_down_refuses_another_state_dirs_endpoint_and_a_wrong_token(tmp_path: Path) -> None:
    ours, other = LocalEndpoint(tmp_path / "a"), LocalEndpoint(tmp_path / "b")
    running, _ = ours.up(port=free_port())
    try:
        # Another state dir's file naming our server: its command line names dir a.
        other.state_dir.mkdir()
        other.state_file.write_text(json.dumps(
            {"pid": running.pid, "port": running.port, "token": running.token}))
        with pytest.raises(UnsafeState, match="not the local endpoint of"):
            other.down()
        # The right pid and command line, but not the token written at start.
        ours.state_file.write_text(json.dumps(
            {"pid": running.pid, "port": running.port, "token": "forged"}))
        with pytest.raises(UnsafeState, match="does not answer with the token recorded"):
            ours.down()
        assert identify(running.port) is not None  # still serving
        ours.state_file.write_text(json.dumps(
            {"pid": running.pid, "port": running.port, "token": running.token}))
        assert ours.down()
        assert identify(running.port) is None and _server_pids(ours.state_dir) == []
    finally:
        _kill_servers(ours.state_dir)


@pytest.mark.parametrize("damage", ["garbage", "deleted", "stale pid"])
def test_lost_state_does_not_orphan_the_endpoint(tmp_path: Path, damage: str) -> None:
    manager = LocalEndpoint(tmp_path)
    running, _ = manager.up(port=free_port())  # not the default port: found by /proc
    try:
        def spoil() -> None:
            if damage == "garbage":
                manager.state_file.write_text("{not json")
            elif damage == "deleted":
                manager.state_file.unlink()
            else:
                manager.state_file.write_text(
                    json.dumps({"pid": 999_999_999, "port": free_port(), "token": "x"}))

        spoil()
        assert manager.status() == running  # found again...
        assert json.loads(manager.state_file.read_text())["pid"] == running.pid  # ...recorded
        spoil()
        assert manager.down()
        assert identify(running.port) is None and _server_pids(tmp_path) == []
        assert not manager.state_file.exists()
    finally:
        _kill_servers(tmp_path)


def test_cli_status_and_down_find_an_endpoint_whose_state_was_lost(tmp_path: Path) -> None:
    for name in ("params", "templates"):
        (tmp_path / name).symlink_to(ROOT / name)
    port = str(free_port())
    try:
        assert run_stackgen(["local", "up", "--port", port], cwd=tmp_path).returncode == 0
        (tmp_path / ".stackgen" / "local-endpoint.json").write_text("garbage")
        status = run_stackgen(["local", "status"], cwd=tmp_path)
        assert status.returncode == 0 and f"127.0.0.1:{port}" in status.stdout
        (tmp_path / ".stackgen" / "local-endpoint.json").unlink()
        down = run_stackgen(["local", "down"], cwd=tmp_path)
        assert down.returncode == 0 and "stopped" in down.stdout
        assert _server_pids(tmp_path / ".stackgen") == []
    finally:
        _kill_servers(tmp_path / ".stackgen")


@pytest.mark.parametrize("blocked", ["state file is a directory", "state dir is a file"])
def test_a_bad_state_path_starts_nothing(tmp_path: Path, blocked: str) -> None:
    for name in ("params", "templates"):
        (tmp_path / name).symlink_to(ROOT / name)
    state_dir = tmp_path / ".stackgen"
    if blocked == "state file is a directory":
        (state_dir / "local-endpoint.json").mkdir(parents=True)
    else:
        state_dir.write_text("")
    port = free_port()
    try:
        up = run_stackgen(["local", "up", "--port", str(port)], cwd=tmp_path)
        assert up.returncode == 2, up.stdout + up.stderr
        assert up.stderr.count("\n") == 1 and "Traceback" not in up.stderr
        assert "local-endpoint.json" in up.stderr
        assert not answers(port) and _server_pids(state_dir) == []
    finally:
        _kill_servers(state_dir)


def test_a_failure_after_the_start_stops_the_server(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    manager = LocalEndpoint(tmp_path)

    def unwritable(self: LocalEndpoint, endpoint: Endpoint) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(LocalEndpoint, "_write", unwritable)
    port = free_port()
    try:
        with pytest.raises(OSError, match="No space left"):
            manager.up(port=port)
        assert not answers(port) and _server_pids(tmp_path) == []
    finally:
        _kill_servers(tmp_path)


def test_cli_up_stops_the_server_it_started_when_seeding_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from generator import cli
    from generator.local import seed

    def failing_seed(*args: object) -> list[str]:
        raise RuntimeError("seeding failed")

    monkeypatch.setattr(seed, "seed", failing_seed)
    monkeypatch.chdir(tmp_path)
    for name in ("params", "templates"):
        (tmp_path / name).symlink_to(ROOT / name)
    port = free_port()
    try:
        result = CliRunner().invoke(cli.cli, ["local", "up", "--port", str(port)])
        assert isinstance(result.exception, RuntimeError)
        assert not answers(port) and _server_pids(tmp_path / ".stackgen") == []
    finally:
        _kill_servers(tmp_path / ".stackgen")


def test_the_identity_route_answers_loopback_callers_only() -> None:
    from generator.local.server import IDENTITY_PATH, with_identity

    def moto(environ: dict[str, object], start_response: object) -> list[bytes]:
        return [b"moto"]

    app = with_identity(moto, {"pid": 1}, "secret-ish")  # type: ignore[arg-type]
    statuses: list[str] = []

    def call(path: str, addr: str) -> bytes:
        env = {"PATH_INFO": path, "REMOTE_ADDR": addr}
        return b"".join(app(env, lambda status, headers, exc=None: statuses.append(status)))  # type: ignore[arg-type,misc]

    assert b'"pid": 1' in call(IDENTITY_PATH, "127.0.0.1") and statuses[-1] == "200 OK"
    assert call(IDENTITY_PATH, "10.0.0.5") == b"" and statuses[-1] == "403 Forbidden"
    assert call("/", "10.0.0.5") == b"moto"  # everything else is moto's


def test_up_reports_a_server_that_dies_at_start_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's exit closes its readiness pipe: up fails then, with the log's last
    line, not at its deadline."""
    from generator.local import manager as manager_module

    monkeypatch.setattr(manager_module, "SERVER_MODULE", "generator.local.no_such_server")
    manager = LocalEndpoint(tmp_path)
    started = time.monotonic()
    with pytest.raises(LocalEndpointError,
                       match=r"did not start on port .*No module named generator\.local\.no_such"):
        manager.up(port=free_port(), timeout=600)
    assert time.monotonic() - started < 60
    assert manager.state_file.exists() is False


def test_up_gives_up_on_a_server_that_never_says_ready_and_stops_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.local import manager as manager_module

    monkeypatch.setattr(manager_module, "SERVER_MODULE", "tests.helpers.silent_server")
    manager = LocalEndpoint(tmp_path)
    before = _silent_pids()
    with pytest.raises(LocalEndpointError, match=r"did not start on port .*no answer within 1 s"):
        manager.up(port=free_port(), timeout=1)
    assert _silent_pids() == before  # killed and reaped, not left running
    assert not manager.state_file.exists()


def _silent_pids() -> list[int]:
    from generator.local.manager import cmdline

    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
            and "tests.helpers.silent_server" in (cmdline(int(p.name)) or [])]
