"""Start, stop and find the local endpoint (a moto server process on 127.0.0.1).

The same code serves ``stackgen local up|down|status`` and the pytest fixture.
State (pid, port) lives in a JSON file so any later command finds the server.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from generator.errors import StackgenError

HOST = "127.0.0.1"
DEFAULT_PORT = 4599
STATE_FILE = "local-endpoint.json"
LOG_FILE = "local-endpoint.log"


class LocalEndpointError(StackgenError):
    exit_code = 1


@dataclass(frozen=True)
class Endpoint:
    pid: int
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def _answers(port: int, timeout: float = 0.5) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", "/moto-api/")
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class LocalEndpoint:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.state_file = state_dir / STATE_FILE
        self.log_file = state_dir / LOG_FILE

    def _read(self) -> Endpoint | None:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            return Endpoint(int(data["pid"]), int(data["port"]))
        except (OSError, ValueError, KeyError):
            return None

    def status(self) -> Endpoint | None:
        """The running endpoint, or None; a stale state file is removed."""
        found = self._read()
        if found is None:
            return None
        if _alive(found.pid) and _answers(found.port):
            return found
        self.state_file.unlink(missing_ok=True)
        return None

    def up(self, port: int | None = None, timeout: float = 30.0) -> tuple[Endpoint, bool]:
        """Start the server unless it runs; returns it and whether it was started now."""
        running = self.status()
        if running:
            if port and port != running.port:
                raise LocalEndpointError(
                    f"the local endpoint already runs on port {running.port}; "
                    "run `stackgen local down` first to move it"
                )
            return running, False
        port = port or DEFAULT_PORT
        if _answers(port):
            raise LocalEndpointError(
                f"port {port} is taken by another server; pick one with --port"
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "generator.local.server", "--port", str(port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the command that started it
            )
        deadline = time.monotonic() + timeout
        while not _answers(port, timeout=0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                tail = self.log_file.read_text(errors="replace").strip().splitlines()[-1:]
                raise LocalEndpointError(
                    f"the local endpoint did not start on port {port}"
                    + (f": {tail[0]}" if tail else "") + f" (log: {self.log_file})"
                )
            time.sleep(0.05)
        endpoint = Endpoint(proc.pid, port)
        self.state_file.write_text(json.dumps({"pid": proc.pid, "port": port}), encoding="utf-8")
        return endpoint, True

    def down(self, timeout: float = 10.0) -> bool:
        """Stop the recorded server; False when none was running."""
        found = self._read()
        self.state_file.unlink(missing_ok=True)
        if found is None or not _alive(found.pid):
            return False
        os.kill(found.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(found.pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(found.pid, os.WNOHANG)
            time.sleep(0.05)
        if _alive(found.pid):
            os.kill(found.pid, signal.SIGKILL)
        return True
