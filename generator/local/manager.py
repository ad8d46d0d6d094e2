"""Start, stop and find the local endpoint (a moto server process on 127.0.0.1).

The same code serves ``stackgen local up|down|status``, the CLI's local target
and the pytest fixture. State (pid, port, token) lives in a JSON file so any
later command finds the server. Nothing is signalled unless it is provably the
endpoint this state dir started: a pid > 1 that is not ours, whose command line
is our server module for this state dir, and which answers on its port with the
token written at start. A lost or garbage state file does not orphan a running
endpoint: it is found again by its command line (/proc) or on the default port.

This module's room: the endpoint's lifecycle and its state files; the HTTP questions it
asks (is it there, is it ours) are generator/local/probe.py's, re-exported here.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

from generator.atomic import replace_atomically
from generator.errors import StackgenError
from generator.local import endpoint_log, waiting
from generator.local.probe import Endpoint as Endpoint
from generator.local.probe import Identity as Identity
from generator.local.probe import answers as answers
from generator.local.probe import identify as identify
from generator.local.probe import identify_url as identify_url
from generator.local.probe import local_urls as local_urls
from generator.local.server import (
    HOST,
    LATENCY_PATH,
    READY_LINE,
    TOKEN_ENV,
    TOKEN_HEADER,
)

DEFAULT_PORT = 4599
DEFAULT_STATE_DIR = Path(".stackgen")  # relative to where a command runs, like build/
STATE_FILE = "local-endpoint.json"
# The token alone, 0600, written before the server starts: the endpoint never tells it,
# so an endpoint whose state file was lost is proven (and stopped) with this copy.
KEY_FILE = "local-endpoint.key"
LOG_FILE = "local-endpoint.log"
SERVER_MODULE = "generator.local.server"


class LocalEndpointError(StackgenError):
    exit_code = 1


class UnsafeState(LocalEndpointError):
    """The state file or state path is not something we may act on."""

    exit_code = 2


CONTAINERS_ENV = "STACKGEN_LOCAL_CONTAINERS"
CONTAINER_MODES = ("auto", "on", "off")


def containers_mode(wanted: str | None) -> str:
    """"on" or "off" for ``local up --containers`` (else $STACKGEN_LOCAL_CONTAINERS, else
    auto): auto is on when a Docker daemon answers; on without one is an error."""
    from generator.local.emulation.containers import docker_available

    chosen = (wanted or os.environ.get(CONTAINERS_ENV) or "auto").strip().lower()
    if chosen not in CONTAINER_MODES:
        raise UnsafeState(f"{CONTAINERS_ENV}={chosen!r} is not one of auto, on, off; set it "
                          "to one of them (or unset it for auto)")
    if chosen == "off":
        return "off"
    if docker_available():
        return "on"
    if chosen == "on":
        raise LocalEndpointError(
            "containers are on but no Docker daemon answers (`docker info` fails): start one "
            "(scripts/ensure-docker.sh) or run `stackgen local up --containers off`")
    return "off"


def set_latency(endpoint: Endpoint, real: bool, time_scale: float,
                timeout: float = 5.0) -> None:
    """Switch the running endpoint's latency model (``local up --latency``)."""
    body = json.dumps({"latency": "real" if real else "off", "time_scale": time_scale})
    conn = http.client.HTTPConnection(HOST, endpoint.port, timeout=timeout)
    try:
        conn.request("POST", LATENCY_PATH, body=body,
                     headers={TOKEN_HEADER: endpoint.token,
                              "Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise LocalEndpointError(f"the local endpoint refused the latency setting "
                                     f"(HTTP {response.status})")
    except (OSError, http.client.HTTPException) as exc:
        raise LocalEndpointError(f"the local endpoint did not take the latency setting: "
                                 f"{exc}") from None
    finally:
        conn.close()


def cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return None  # Linux: no such process
        # No /proc (macOS): ps prints the arguments space-joined; a path with spaces
        # then fails to match, which refuses rather than signals.
        out = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)],
                             capture_output=True, text=True, check=False)
        return out.stdout.split() if out.returncode == 0 else None
    except OSError:
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def server_args(argv: list[str]) -> tuple[int, str] | None:
    """(port, state dir) when ``argv`` runs our server module, else None."""
    if argv[1:3] != ["-m", SERVER_MODULE]:
        return None
    rest = argv[3:]
    try:
        port = int(rest[rest.index("--port") + 1])
        state_dir = rest[rest.index("--state-dir") + 1]
    except (ValueError, IndexError):
        return None
    return port, state_dir


def _scan_proc() -> list[tuple[int, int, str]]:
    """(pid, port, state dir) of every running server of ours (Linux; empty elsewhere)."""
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            argv = cmdline(int(entry.name))
            args = server_args(argv) if argv else None
            if args:
                found.append((int(entry.name), *args))
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _discard(path: Path) -> None:
    """Remove a state file; a directory or unwritable path is left for the user."""
    with contextlib.suppress(OSError):
        if not path.is_dir():
            path.unlink(missing_ok=True)


class LocalEndpoint:
    def __init__(self, state_dir: Path = DEFAULT_STATE_DIR) -> None:
        # Absolute: the server's command line and identity name it, and a command run
        # from elsewhere must not mistake another checkout's endpoint for this one.
        self.state_dir = state_dir.resolve()
        self.state_file = self.state_dir / STATE_FILE
        self.log_file = self.state_dir / LOG_FILE
        self.key_file = self.state_dir / KEY_FILE

    # --- the state file --------------------------------------------------------

    def _read(self) -> Endpoint | None:
        """The recorded endpoint; None for no file or one that is not ours to parse."""
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            return Endpoint(int(data["pid"]), int(data["port"]), str(data["token"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _read_key(self) -> str | None:
        try:
            key = self.key_file.read_text(encoding="utf-8").strip()
        except (OSError, ValueError):
            return None
        return key or None

    def _write_key(self, token: str) -> None:
        """The token, readable by this user alone, whole or not at all."""
        replace_atomically(self.key_file, token.encode(), prefix=".local-endpoint.")

    def _write(self, endpoint: Endpoint) -> None:
        """Atomically, so a reader never sees half a file."""
        body = json.dumps({"pid": endpoint.pid, "port": endpoint.port, "token": endpoint.token})
        replace_atomically(self.state_file, body.encode(), prefix=".local-endpoint.")

    def _check_state_path(self) -> None:
        """Before starting anything: the state dir, state file and log must be writable."""
        where = f"the local endpoint's state path {self.state_file}"
        if self.state_dir.exists() and not self.state_dir.is_dir():
            raise UnsafeState(f"{where} is inside {self.state_dir}, which is a file; remove "
                              "it (or run from another directory) and run `stackgen local up` "
                              "again")
        if self.state_file.is_dir():
            raise UnsafeState(f"{where} is a directory; remove it (or run from another "
                              "directory) and run `stackgen local up` again")
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".local-endpoint.")
            os.close(fd)
            os.unlink(tmp)
            with self.log_file.open("ab"):
                pass
        except OSError as exc:
            raise UnsafeState(f"{where} is not writable ({exc.strerror or exc}); fix "
                              f"{self.state_dir} and run `stackgen local up` again") from None
        if self.state_file.exists() and not self.state_file.is_file():
            raise UnsafeState(f"{where} is not a regular file; remove it and run "
                              "`stackgen local up` again")

    # --- is it ours? -----------------------------------------------------------

    def _not_ours(self, endpoint: Endpoint) -> str | None:
        """Why ``endpoint`` is not the endpoint this state dir started; None when it is."""
        pid = endpoint.pid
        if pid <= 1:
            return f"pid {pid} is never the endpoint (it would signal init or a whole group)"
        if pid in (os.getpid(), os.getppid()) or pid == os.getpgrp():
            return f"pid {pid} is this command, its parent or its process group"
        if not waiting.alive(pid):
            return f"no process has pid {pid}"
        argv = cmdline(pid)
        if argv is None:
            return f"the command line of pid {pid} cannot be read"
        if server_args(argv) != (endpoint.port, str(self.state_dir)):
            shown = " ".join(argv)[:80] or "(none)"
            return f"its command line is `{shown}`, not the local endpoint of {self.state_dir}"
        ident = identify(endpoint.port, token=endpoint.token)
        if ident is None or ident.pid != pid or not ident.proven:
            return f"the server on port {endpoint.port} does not answer with the token recorded"
        return None

    def _discover(self, hint_port: int | None) -> Endpoint | None:
        """The running endpoint of this state dir, found without (or despite) the state
        file: by its command line in /proc, then on the recorded or the default port."""
        token = self._read_key()
        if token is None:  # nothing to prove it with: never signal an unproven process
            return None
        ports = [port for _, port, d in _scan_proc() if d == str(self.state_dir)]
        ports += [p for p in (hint_port, DEFAULT_PORT) if p]
        for port in dict.fromkeys(ports):
            ident = identify(port)
            if ident is None or ident.state_dir != str(self.state_dir):
                continue
            candidate = Endpoint(ident.pid, port, token)
            if self._not_ours(candidate) is None:
                return candidate
        return None

    def find(self) -> Endpoint | None:
        """The running endpoint of this state dir, or None; writes nothing."""
        recorded = self._read()
        if recorded is not None and self._not_ours(recorded) is None:
            return recorded
        return self._discover(recorded.port if recorded else None)

    def status(self) -> Endpoint | None:
        """The running endpoint, or None. One found again is recorded again; a stale or
        garbage state file is removed (one naming a live foreign process is left for
        `down` to report)."""
        recorded = self._read()
        if recorded is not None and self._not_ours(recorded) is None:
            return recorded
        found = self._discover(recorded.port if recorded else None)
        if found is not None:
            with contextlib.suppress(OSError):
                self._write(found)
            return found
        if recorded is None or not waiting.alive(recorded.pid) or recorded.pid <= 1:
            _discard(self.state_file)
        return None

    # --- up and down -----------------------------------------------------------

    def containers(self, endpoint: Endpoint) -> str:
        """"on" or "off": whether the running endpoint runs tasks in Docker."""
        ident = identify(endpoint.port)
        return ident.containers if ident is not None else "off"

    def up(self, port: int | None = None, timeout: float = 30.0,
           containers: str | None = None) -> tuple[Endpoint, bool]:
        """Start the server unless it runs; returns it and whether it was started now.
        ``containers``: auto, on or off (None: $STACKGEN_LOCAL_CONTAINERS, else auto)."""
        running = self.status()
        if running:
            if port and port != running.port:
                raise LocalEndpointError(
                    f"the local endpoint already runs on port {running.port}; "
                    "run `stackgen local down` first to move it"
                )
            current = self.containers(running)
            if containers in ("on", "off") and containers != current:
                raise LocalEndpointError(
                    f"the local endpoint already runs with containers {current}; run "
                    "`stackgen local down` first to change it")
            return running, False
        mode = containers_mode(containers)
        port = port or DEFAULT_PORT
        self._check_state_path()  # a bad state path fails before anything starts
        if answers(port):
            raise LocalEndpointError(
                f"port {port} is taken by another server; pick one with --port"
            )
        token = secrets.token_hex(16)
        self._write_key(token)
        endpoint_log.rotate(self.log_file)  # bounded across restarts
        # The server says on this pipe when it listens (READY_LINE, like sd_notify): no
        # polling its port, and its death closes the pipe, which ends the wait at once.
        ready, ready_w = os.pipe()
        try:
            with self.log_file.open("ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", SERVER_MODULE, "--port", str(port),
                     "--state-dir", str(self.state_dir), "--containers", mode,
                     "--ready-fd", str(ready_w)],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env={**os.environ, TOKEN_ENV: token}, pass_fds=(ready_w,),
                    start_new_session=True,  # survives the command that started it
                )
        except BaseException:
            os.close(ready)
            raise
        finally:
            os.close(ready_w)  # the child's copy alone: its exit is our end of file
        try:
            endpoint = Endpoint(proc.pid, port, token)
            self._wait_started(proc, endpoint, ready, timeout)
            self._write(endpoint)
        except BaseException:
            # Whatever failed after the start (a state file that cannot be written,
            # Ctrl-C), the server must not be left running unrecorded.
            proc.kill()
            proc.wait()  # killed: returns as soon as the kernel has reaped it
            raise
        finally:
            os.close(ready)
        return endpoint, True

    def _wait_started(self, proc: subprocess.Popen[bytes], endpoint: Endpoint, ready: int,
                      timeout: float) -> None:
        """Until the server's readiness line on ``ready``, then its identity proven once;
        the log's last line when it exits first or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        said = b""
        while b"\n" not in said:
            if not waiting.readable(ready, deadline - time.monotonic()):
                self._not_started(endpoint, f"no answer within {timeout:g} s")
            chunk = os.read(ready, 256)
            if not chunk:  # closed unsaid: the server exited (its log says why)
                waiting.finished(proc, max(0.0, deadline - time.monotonic()))
                self._not_started(endpoint)
            said += chunk
        if said.split(b"\n", 1)[0] != READY_LINE:
            self._not_started(endpoint, f"it said {said[:80]!r}")
        ident = identify(endpoint.port, timeout=max(1.0, deadline - time.monotonic()),
                         token=endpoint.token)
        if ident is None or not ident.proven or ident.pid != proc.pid:
            self._not_started(endpoint, "it does not answer with the token it was given")

    def _not_started(self, endpoint: Endpoint, why: str = "") -> NoReturn:
        """Why (when the log cannot say it: a deadline, a wrong line) and the log's last
        line, which is the server's own word when it exited."""
        tail = self.log_file.read_text(errors="replace").strip().splitlines()[-1:]
        said = "; ".join([why, *tail] if why else tail)
        raise LocalEndpointError(
            f"the local endpoint did not start on port {endpoint.port}"
            + (f": {said}" if said else "") + f" (log: {self.log_file})"
        )

    def down(self, timeout: float = 10.0) -> bool:
        """Stop this state dir's server; False when none was running. Refuses (exit 2)
        when the state file names a live process that is not that server."""
        recorded = self._read()
        if recorded is not None:
            reason = self._not_ours(recorded)
            if reason is None:
                self.stop(recorded, timeout)
                _discard(self.state_file)
                return True
            # Our own group is refused even when its leader has exited (a job-control
            # shell's subshell): the state file naming it is never the endpoint's.
            own = recorded.pid in (os.getpid(), os.getppid(), os.getpgrp())
            if recorded.pid <= 1 or own or waiting.alive(recorded.pid):
                raise UnsafeState(
                    f"{self.state_file} names pid {recorded.pid}, which is not the local "
                    f"endpoint: {reason}; nothing was signalled. Remove the file if it is "
                    "stale and run `stackgen local down` again")
        found = self._discover(recorded.port if recorded else None)
        _discard(self.state_file)  # stale or garbage either way
        if found is None:
            return False
        self.stop(found, timeout)
        return True

    def stop(self, endpoint: Endpoint, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL, to ``endpoint`` once verified as ours (checked again
        here, through a pidfd where the OS has one so the pid cannot be reused between
        the check and the signal)."""
        pidfd = waiting.open_pidfd(endpoint.pid)
        try:
            reason = self._not_ours(endpoint)
            if reason is not None:
                raise UnsafeState(f"not stopping pid {endpoint.pid}: {reason}")
            self._signal(endpoint.pid, pidfd, signal.SIGTERM)
            if not waiting.exited(endpoint.pid, timeout, pidfd):
                self._signal(endpoint.pid, pidfd, signal.SIGKILL)
                waiting.exited(endpoint.pid, timeout, pidfd)
        finally:
            if pidfd is not None:
                os.close(pidfd)

    @staticmethod
    def _signal(pid: int, pidfd: int | None, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            if pidfd is not None:
                signal.pidfd_send_signal(pidfd, sig)
            else:
                os.kill(pid, sig)
