"""The local endpoint's state survives a stop and a crash: moto's backends, pickled.

moto 5.2.5 has no persistence of its own: its server keeps every service's state in
memory, in one ``BackendDict`` per service (``BackendDict._instances`` lists those in
use), and ``/moto-api/reset`` empties them. Its recorder (``MOTO_ENABLE_RECORDING``)
replays *requests*, which would make new ids and new generated passwords, so stacks
would no longer match the secrets their DBs were made with. Here the backends
themselves are pickled: every account's and region's backend object of every service in
use, in one ``pickle.dumps`` so objects shared between services stay shared.

- while the endpoint runs, a snapshot is written (atomically) at most every
  ``INTERVAL`` seconds after a request that may have changed something, so a crashed
  endpoint restarts from its last snapshot; taken once no request has been in flight
  for ``QUIET`` seconds (a snapshot holds the GIL, so one taken mid-deploy stalls every
  request behind it), or ``INTERVAL`` after the change when requests never pause;
- at a clean stop (``local down``: SIGTERM) a last snapshot is written;
- ``POST SNAPSHOT_PATH`` (loopback) ends the wait between snapshots and answers once a
  snapshot taken after the request is written: what a crash from then on restarts from
  (a blocking wait for the next snapshot instead of watching the file);
- at start, a snapshot in the state dir is loaded into the empty backends, the DBs'
  PostgreSQL servers are started again on their data dirs, and ``local up`` says what
  was restored (``restored_summary``) and whether the last stop was clean.

A reset (``/moto-api/reset``, the tests' clean account) empties the backends, and the
next snapshot records that.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import io
import json
import marshal
import os
import pickle
import sys
import threading
import time
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from moto.core.base_backend import BackendDict

from generator.atomic import replace_atomically

SNAPSHOT_FILE = "local-endpoint-state.pickle"
SUMMARY_FILE = "local-endpoint-restored.json"
CLEAN_MARK = "local-endpoint-stopped-cleanly"
# Seconds between snapshots while requests change state: a snapshot of a deployed env
# (~3 MB) holds the GIL for ~0.1-0.4 s, so one a second slowed a deploy by a third.
INTERVAL = 5.0
# Seconds without any request before a snapshot is taken: longer than the gaps between a
# deploy's polls in its first minute (up to generator/aws/polling.py's POLL_HOLD, 2 s),
# so a snapshot waits for the deploy's end instead of stalling it (at 0.3 s one was
# taken in mid-create, ~0.3 s of CPU with the GIL held: a third of the endpoint's busy
# time). A crash loses at most the last QUIET + INTERVAL seconds; `local down` loses none.
QUIET = 2.5
_READS = ("Describe", "List", "Get")
SNAPSHOT_PATH = "/_stackgen/snapshot"
FLUSH_TIMEOUT = 120.0  # seconds a flush waits for its snapshot (a deployed env: < 1 s)
_LOOPBACK = frozenset({"127.0.0.1", "::1"})


def _locate(bd: BackendDict[Any]) -> tuple[str, str] | None:
    """(module, attribute) of a live BackendDict, to find it again in a new process."""
    module = importlib.import_module(bd.backend.__module__)
    for name, value in vars(module).items():
        if value is bd:
            return bd.backend.__module__, name
    return None


def _function(code: bytes, module: str, name: str, defaults: tuple[Any, ...] | None,
              cells: tuple[Any, ...]) -> types.FunctionType:
    closure = tuple(types.CellType(c) for c in cells) or None
    return types.FunctionType(marshal.loads(code), vars(importlib.import_module(module)),
                              name, defaults, closure)


def _new_dict(cls: type[dict[Any, Any]], factory: Any) -> dict[Any, Any]:
    obj = cls.__new__(cls)
    if isinstance(obj, collections.defaultdict):
        collections.defaultdict.__init__(obj, factory)
    return obj


def _fill_dict(obj: dict[Any, Any], state: tuple[dict[str, Any], dict[Any, Any]]) -> None:
    vars(obj).update(state[0])
    dict.update(obj, state[1])


def _pem(kind: str, data: bytes) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if kind == "certificate":
        return x509.load_pem_x509_certificate(data)
    if kind == "private":
        return serialization.load_pem_private_key(data, None)
    return serialization.load_pem_public_key(data)


class _Pickler(pickle.Pickler):
    """Pickles the closures our fixes keep in moto's objects (a resource's delete, as
    ``lambda: backend.delete_x(arn)``) by code and captured values, as cloudpickle does;
    everything else as pickle does. The code is this process's: a snapshot is read by
    the same installation (an unreadable one is set aside, see ``Persister.restore``)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.FunctionType) and "<locals>" in obj.__qualname__:
            cells = tuple(c.cell_contents for c in obj.__closure__ or ())
            return _function, (marshal.dumps(obj.__code__), obj.__module__, obj.__name__,
                               obj.__defaults__, cells)
        if isinstance(obj, dict) and type(obj).__module__.startswith("moto."):
            # moto's dict subclasses take arguments of their own (SSM's ParameterDict is a
            # defaultdict with a region): rebuilt empty, then filled as plain dicts.
            return (_new_dict, (type(obj), getattr(obj, "default_factory", None)),
                    (dict(vars(obj)), dict(obj)), None, None, _fill_dict)
        # cryptography's keys and certificates (ACM, IAM) have no pickle of their own.
        module = type(obj).__module__ or ""
        if module.startswith("cryptography."):
            from cryptography import x509
            from cryptography.hazmat.primitives import serialization

            if isinstance(obj, x509.Certificate):
                return _pem, ("certificate", obj.public_bytes(serialization.Encoding.PEM))
            if hasattr(obj, "private_bytes"):
                return _pem, ("private", obj.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption()))
            if hasattr(obj, "public_bytes"):
                return _pem, ("public", obj.public_bytes(
                    serialization.Encoding.PEM,
                    serialization.PublicFormat.SubjectPublicKeyInfo))
        return NotImplemented


def capture() -> bytes:
    """Every backend in use, pickled."""
    state: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for bd in list(BackendDict._instances):  # type: ignore[misc]
        where = _locate(bd)
        if where is None:
            continue
        state[where] = {account: dict(regions.items()) for account, regions in list(bd.items())}
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    return buffer.getvalue()


def load(blob: bytes) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """Put a captured state into this process's (empty) backends."""
    # Our own file (0600, in our state dir), written by this installation.
    state: dict[tuple[str, str], dict[str, dict[str, Any]]] = pickle.loads(blob)
    for (module_name, attribute), accounts in state.items():
        live = getattr(importlib.import_module(module_name), attribute)
        for account, regions in accounts.items():
            for region, backend in regions.items():
                dict.__setitem__(live[account], region, backend)
    return state


def summary(state: dict[tuple[str, str], dict[str, dict[str, Any]]]) -> dict[str, int]:
    """What a state holds, counted as a user thinks of it."""
    counts = {"stacks": 0, "secrets": 0, "db_instances": 0, "db_snapshots": 0}
    for (module_name, _), accounts in state.items():
        for regions in accounts.values():
            for backend in regions.values():
                if module_name == "moto.cloudformation.models":
                    counts["stacks"] += sum(1 for s in backend.stacks.values()
                                            if not str(s.status).startswith("DELETE_COMPLETE"))
                elif module_name == "moto.secretsmanager.models":
                    counts["secrets"] += len(backend.secrets)
                elif module_name == "moto.rds.models":
                    counts["db_instances"] += len(backend.databases)
                    counts["db_snapshots"] += len(backend.database_snapshots)
    return counts


def describe(counts: dict[str, int]) -> str:
    parts = [f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n]
    return ", ".join(parts) if parts else "nothing"


class Persister:
    """Snapshots of this endpoint's state in its state dir."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.file = state_dir / SNAPSHOT_FILE
        self.dirty = threading.Event()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.wake = threading.Event()  # ends the wait between snapshots (flush, close)
        self.written = threading.Condition()
        self.begun = self.done = 0  # snapshots begun, and the last one written
        self.last_capture = (0.0, 0)  # seconds, bytes: the cost of the last snapshot
        self.clock = time.monotonic
        self.in_flight = 0  # requests being answered now
        self.last_request = 0.0  # when the last request ended (self.clock)
        self._requests = threading.Lock()

    def save(self) -> None:
        with self.lock:
            with self.written:
                self.begun += 1
                this = self.begun
            for _ in range(5):  # a request may change a dict while it is pickled
                try:
                    started = time.monotonic()
                    blob = capture()
                    self.last_capture = (time.monotonic() - started, len(blob))
                    break
                except RuntimeError:
                    time.sleep(0.05)
            else:
                return
            replace_atomically(self.file, blob, prefix=".state.")
            with self.written:
                self.done = this
                self.written.notify_all()

    def flush(self, timeout: float) -> bool:
        """Until a snapshot begun after this call is written (True), or ``timeout``."""
        with self.written:
            wanted = self.begun + 1
            self.dirty.set()
            self.wake.set()
            return self.written.wait_for(lambda: self.done >= wanted, timeout)

    def restore(self) -> dict[str, Any]:
        """Load the last snapshot (if any) and restart its DBs; what was restored."""
        from generator.local.emulation import rds_engine

        clean = (self.state_dir / CLEAN_MARK).exists()
        with contextlib.suppress(FileNotFoundError):
            (self.state_dir / CLEAN_MARK).unlink()
        if not self.file.is_file():
            result: dict[str, Any] = {"restored": False}
        else:
            try:
                state = load(self.file.read_bytes())
                started, failed = rds_engine.resume_all()
                result = {"restored": True, "clean": clean, "counts": summary(state),
                          "databases_started": started, "databases_failed": failed}
            except Exception as exc:
                aside = self.file.with_suffix(".unreadable")
                os.replace(self.file, aside)
                result = {"restored": False, "error": f"{type(exc).__name__}: {exc}",
                          "kept_as": str(aside)}
        (self.state_dir / SUMMARY_FILE).write_text(json.dumps(result), encoding="utf-8")
        return result

    def due(self, changed_at: float) -> bool:
        """Whether to snapshot now a change made at ``changed_at``: no request in flight
        for QUIET seconds, or INTERVAL passed since the change (requests never pause)."""
        now = self.clock()
        with self._requests:
            quiet = self.in_flight == 0 and now - self.last_request >= QUIET
        return quiet or now - changed_at >= INTERVAL

    def run(self) -> None:
        """Background: snapshot at most every INTERVAL while something changed, when
        the endpoint is quiet."""
        while not self.stopped.is_set():
            if self.dirty.wait(INTERVAL):
                changed_at = self.clock()
                while not self.due(changed_at) and not self.stopped.wait(QUIET / 3):
                    pass
                if self.stopped.is_set():
                    return  # close() takes the last snapshot
                self.dirty.clear()
                with contextlib.suppress(Exception):  # the next change retries
                    self.save()
                self.wake.wait(INTERVAL)
                self.wake.clear()

    def start(self) -> None:
        threading.Thread(target=self.run, name="state-snapshots", daemon=True).start()

    def close(self) -> None:
        """A clean stop: the last snapshot, and a mark that says it was clean."""
        self.stopped.set()
        self.wake.set()
        self.save()
        seconds, size = self.last_capture
        print(f"state: last snapshot {size / 1e6:.1f} MB in {seconds:.2f} s", file=sys.stderr,
              flush=True)
        (self.state_dir / CLEAN_MARK).touch()

    def watching(self, app: WSGIApplication) -> WSGIApplication:
        """``app``, marking the state dirty after any request that is not a read."""

        def wrapped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == SNAPSHOT_PATH:
                # not a request in flight: the snapshot it waits for waits for quiet
                return self._flush_route(environ, start_response)
            with self._requests:
                self.in_flight += 1
            try:
                return app(environ, start_response)
            finally:
                with self._requests:
                    self.in_flight -= 1
                    self.last_request = self.clock()
                target = environ.get("HTTP_X_AMZ_TARGET", "") + environ.get("QUERY_STRING", "")
                if environ.get("REQUEST_METHOD") != "GET" and not any(
                        f"Action={r}" in target or f".{r}" in target for r in _READS):
                    self.dirty.set()

        return wrapped

    def _flush_route(self, environ: WSGIEnvironment,
                     start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REMOTE_ADDR") not in _LOOPBACK or \
                environ.get("REQUEST_METHOD") != "POST":
            status = "403 Forbidden"
        else:
            status = "200 OK" if self.flush(FLUSH_TIMEOUT) else "503 Service Unavailable"
        body = json.dumps({"written": self.done}).encode()
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body)))])
        return [body]


def restored_summary(state_dir: Path) -> dict[str, Any] | None:
    """What the endpoint of ``state_dir`` restored at its start (``local up`` prints it)."""
    try:
        data = json.loads((state_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def restored_message(state_dir: Path) -> str:
    """One line for `local up`: what the endpoint found of its last run."""
    data = restored_summary(state_dir) or {}
    if data.get("error"):
        return (f"its saved state could not be read ({data['error']}); started empty, the "
                f"file is kept as {data.get('kept_as')}")
    if not data.get("restored"):
        return "no saved state: started empty"
    what = describe({k: int(v) for k, v in (data.get("counts") or {}).items()})
    failed = "".join(f"; DB not started: {why}" for why in data.get("databases_failed") or [])
    if data.get("clean"):
        return f"restored the state of its last run: {what}{failed}"
    return (f"it had not stopped cleanly (a crash or a kill): restored its last snapshot: "
            f"{what}{failed}")


def forget(state_dir: Path) -> str:
    """Delete the saved state (call with the endpoint stopped)."""
    import shutil

    removed = False
    for name in (SNAPSHOT_FILE, SUMMARY_FILE, CLEAN_MARK):
        with contextlib.suppress(FileNotFoundError):
            (state_dir / name).unlink()
            removed = True
    if (state_dir / "rds").is_dir():
        shutil.rmtree(state_dir / "rds")
        removed = True
    return "its saved state is deleted" if removed else "it had no saved state"
