"""A DB instance of engine postgres is a real PostgreSQL server, set up as RDS sets one up.

What RDS does, and so what this module does (the sources are cited where each is done):

- the master login is not a superuser: it is a member of ``rds_superuser`` and has
  CREATEROLE and CREATEDB (RDS user guide, "Understanding PostgreSQL roles and
  permissions": "The master user ... is granted the rds_superuser role"; "rds_superuser
  ... isn't a superuser"); the real superuser is ``rdsadmin``, which the customer never
  gets (same page);
- ``rds.force_ssl`` is 1 in the default parameter group of PostgreSQL 15 and later (RDS
  user guide, "Using SSL/TLS with a PostgreSQL DB instance", "Requiring an SSL/TLS
  connection"): a plaintext connection is refused with "no pg_hba.conf entry ... no
  encryption"; here pg_hba.conf holds ``hostssl`` entries only and rejects the rest;
- the server's certificate is signed by a CA the client can fetch, as RDS hands out its
  certificate bundle (RDS user guide, "Using SSL/TLS to encrypt a connection to a DB
  instance or cluster", "Certificate bundles"): here a CA the endpoint makes once per state
  dir, at ``ca_bundle_path()`` and on the endpoint at ``CA_BUNDLE_PATH``;
- ``DBName`` is created and owned by the master login (RDS API reference,
  CreateDBInstance, DBName: "The name of the database to create when the DB instance is
  created");
- a snapshot keeps the data; a DB restored from it has the snapshot's data and logins
  (RDS user guide, "Restoring to a DB instance").

The server runs from the machine's binaries (Debian's ``postgresql`` package, found by
``pg_config --bindir`` or under /usr/lib/postgresql/*/bin). PostgreSQL refuses to run as
root; as root it runs in a user namespace (``unshare``) as a mapped non-root uid, so its
files stay root's and need no chown or wider permissions on the state dir.

This module's room: the PostgreSQL servers (data directories, start and stop, the RDS role
model); the binaries are rds_binaries.py's, their keys and certificates rds_ca.py's.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from generator.errors import StackgenError
from generator.local import waiting

# The binaries (rds_binaries.py), also reached from here as before the split.
from generator.local.emulation.rds_binaries import BINDIR_ENV as BINDIR_ENV
from generator.local.emulation.rds_binaries import SEARCH_ROOT as SEARCH_ROOT
from generator.local.emulation.rds_binaries import PostgresMissing as PostgresMissing
from generator.local.emulation.rds_binaries import as_db_user, bindir
from generator.local.emulation.rds_ca import CERT_NAMES, Authority, write_private
from generator.local.emulation.rds_spare import make_spare, take_spare

ADMIN_USER = "rdsadmin"  # RDS's own superuser; the customer's master login is not one
RDS_SUPERUSER = "rds_superuser"
# Granted to rds_superuser on RDS (RDS user guide, "Understanding the rds_superuser role").
RDS_SUPERUSER_GRANTS = ("pg_monitor", "pg_signal_backend", "pg_read_all_settings",
                        "pg_read_all_stats", "pg_stat_scan_tables")
LISTEN = "127.0.0.1"
ADDRESS = "127.0.0.1"  # Endpoint.Address: no DNS on this machine's loopback


class Network:
    """Where the DBs answer besides loopback. With containers on, the gateway address of
    the endpoint's Docker network (a host interface): as on AWS, where Endpoint.Address is
    an address every task in the VPC reaches (RDS user guide, "Scenarios for accessing a DB
    instance in a VPC": "A DB instance in a VPC accessed by an EC2 instance in the same
    VPC"), and this machine reaches it too. None: loopback only (containers off)."""

    gateway: str | None = None


NETWORK = Network()


def configure_network(gateway: str | None) -> None:
    NETWORK.gateway = gateway


def endpoint_address() -> str:
    """Endpoint.Address: the network's gateway with containers on, else 127.0.0.1."""
    return NETWORK.gateway or ADDRESS


def listen_addresses() -> tuple[str, ...]:
    return (LISTEN, NETWORK.gateway) if NETWORK.gateway else (LISTEN,)


def cert_names() -> tuple[str, ...]:
    """The server certificate's names: loopback's, plus the gateway address (verify-full
    checks the address the client dialled, PGHOST = Endpoint.Address)."""
    return (*CERT_NAMES, NETWORK.gateway) if NETWORK.gateway else CERT_NAMES
CA_BUNDLE_PATH = "/_stackgen/rds/global-bundle.pem"  # on the local endpoint
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


class PostgresFailed(StackgenError):
    """A PostgreSQL command failed (initdb, start, the RDS role setup)."""

    exit_code = 1


def _run(argv: list[str], what: str, env: dict[str, str] | None = None,
         input: str | None = None, timeout: float = 120) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, env=env, input=input,
                             timeout=timeout, check=False, start_new_session=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PostgresFailed(f"{what} failed: {exc}") from None
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise PostgresFailed(f"{what} failed (exit {out.returncode}): {tail[0]}")
    return out.stdout


# --- SCRAM-SHA-256 (RFC 5802, RFC 7677; PostgreSQL's verifier format) ------------------


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The verifier PostgreSQL stores for ``password`` (what libpq's PQencryptPasswordConn
    makes): a role's password set from it never travels or is logged in plaintext."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    b64 = base64.b64encode
    return (f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
            f"${b64(stored_key).decode()}:{b64(server_key).decode()}")


# --- one DB instance's server ------------------------------------------------------------

# rds.force_ssl = 1: TLS or nothing, from any address (RDS user guide, "Requiring an SSL/TLS
# connection to a PostgreSQL DB instance").
PG_HBA = """\
# stackgen local endpoint: rds.force_ssl = 1 (TLS only), SCRAM passwords
hostssl all all all scram-sha-256
hostnossl all all all reject
"""


def _free_port() -> int:
    for _ in range(50):  # free on every address the server listens on
        with socket.socket() as s:
            s.bind((LISTEN, 0))
            port = int(s.getsockname()[1])
        if port_free(port):
            return port
    raise PostgresFailed(f"no port is free on {', '.join(listen_addresses())}")


# A database every template holds, made from template1 as CREATE DATABASE makes DBName: a
# DB's create renames it to DBName (a catalog update) instead of copying template1 (most
# of the 0.1-0.6 s its setup took; issue 28), or drops it when there is no DBName. Its
# name is no PostgreSQL identifier RDS accepts (the hyphen), so no DBName is ever it.
NEW_DATABASE = "new-db"
# What a template holds beyond initdb's cluster; a template made before (another layout)
# is not used: its directory's name says the layout.
TEMPLATE_LAYOUT = "rds2"


def template_sql() -> str:
    """What every DB of this machine starts with, made once in the template: the
    rds_superuser role and its grants (the same on every RDS DB) and the database a
    create renames to DBName."""
    return "\n".join([f"CREATE ROLE {RDS_SUPERUSER} NOLOGIN;",
                      f'GRANT {", ".join(RDS_SUPERUSER_GRANTS)} TO {RDS_SUPERUSER};',
                      f'CREATE DATABASE "{NEW_DATABASE}";'])


def setup_sql(master: str, password: str, db_name: str | None) -> str:
    """RDS's roles for a new DB, one statement a line, on a template that holds
    template_sql(): the master login (CREATEROLE, CREATEDB, rds_superuser WITH ADMIN
    OPTION, its password as a SCRAM verifier) and DBName owned by it."""
    sql = [f'CREATE ROLE "{master}" LOGIN CREATEROLE CREATEDB '
           f"PASSWORD '{scram_verifier(password)}';",
           f'GRANT {RDS_SUPERUSER} TO "{master}" WITH ADMIN OPTION;']
    if db_name:
        sql += [f'ALTER DATABASE "{NEW_DATABASE}" RENAME TO "{db_name}";',
                f'ALTER DATABASE "{db_name}" OWNER TO "{master}";']
    else:
        sql.append(f'DROP DATABASE "{NEW_DATABASE}";')
    return "\n".join(sql)


@dataclass(frozen=True)
class Server:
    """The PostgreSQL server of one DB instance: its data dir and how to reach it."""

    directory: Path  # <state dir>/rds/instances/<identifier>
    authority: Authority

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def meta_file(self) -> Path:
        return self.directory / "instance.json"

    def meta(self) -> dict[str, str | int]:
        try:
            data = json.loads(self.meta_file.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    @property
    def port(self) -> int:
        return int(self.meta().get("port", 0))

    def _admin_env(self) -> dict[str, str]:
        return {**os.environ, "PGHOST": ADDRESS, "PGPORT": str(self.port),
                "PGUSER": ADMIN_USER, "PGPASSWORD": str(self.meta()["admin_password"]),
                "PGDATABASE": "postgres", "PGSSLMODE": "verify-full",
                "PGSSLROOTCERT": str(self.authority.bundle), "PGCONNECT_TIMEOUT": "10"}

    def psql_admin(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as rdsadmin (the emulated control plane's own login), over TLS."""
        env = {**self._admin_env(), "PGDATABASE": database}
        return _run([str(bindir() / "psql"), "--no-psqlrc", "-qAt", "-v", "ON_ERROR_STOP=1"],
                    "the RDS setup of the local PostgreSQL", env=env, input=sql)

    def single_user(self, sql: str) -> None:
        """Run ``sql`` (one statement a line) in PostgreSQL's single-user mode on the
        stopped server's data dir, as its bootstrap superuser (rdsadmin); the first
        statement that fails stops it (exit_on_error) and raises PostgresFailed with
        PostgreSQL's message."""
        argv = as_db_user([str(bindir() / "postgres"), "--single", "-D", str(self.data),
                            "-c", "exit_on_error=on", "-c", "fsync=off", "postgres"])
        try:
            out = subprocess.run(argv, capture_output=True, text=True, input=sql + "\n",
                                 timeout=120, check=False, start_new_session=True)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresFailed(f"the RDS setup of the local PostgreSQL failed: {exc}") from None
        if out.returncode != 0:
            said = [line.split("ERROR:", 1)[-1].split("FATAL:", 1)[-1].strip()
                    for line in (out.stderr + out.stdout).splitlines()
                    if "ERROR:" in line or "FATAL:" in line] or ["(no output)"]
            raise PostgresFailed(f"the RDS setup of the local PostgreSQL failed (exit "
                                 f"{out.returncode}): {said[0]}")

    def create(self, master_username: str, master_password: str, db_name: str | None) -> None:
        """A copy of the template (initdb'd, with rds_superuser), the master login and
        DBName written into it, then started with TLS."""
        for name in (master_username, db_name or "postgres"):
            if not _IDENT.match(name):
                raise PostgresFailed(f"{name!r} is not a PostgreSQL identifier RDS accepts")
        t0 = time.monotonic()
        if self.directory.exists():
            shutil.rmtree(self.directory)
        # A copy of a cluster initdb made once per state dir: initdb takes seconds, a
        # copy a fraction (measured in docs/local-endpoint.md); the copy made ahead of
        # this create (the spare) is only renamed, and the next one copied meanwhile.
        root = self.authority.directory.parent
        template = _template(template_dir(root))
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        if not take_spare(template, root, self.directory):
            shutil.copytree(template, self.directory, symlinks=True)
        threading.Thread(target=make_spare, args=(template, root),
                         name="rds-spare-cluster", daemon=True).start()
        t1 = time.monotonic()
        # The master login and DBName, written before the server listens: one single-user
        # backend on the data dir (no psql, no TLS handshake, no login), rds_superuser and
        # DBName's database already in the template (template_sql); issue 28, on a
        # deploy's critical path. The catalog it leaves is the same as CREATE ROLE and
        # CREATE DATABASE in a psql session as rdsadmin left.
        self.single_user(setup_sql(master_username, master_password, db_name))
        t2 = time.monotonic()
        self.start()
        t3 = time.monotonic()
        print(f"rds: PostgreSQL of {self.directory.name} up in {t3 - t0:.2f} s (template and "
              f"copy {t1 - t0:.2f}, RDS roles {t2 - t1:.2f}, start {t3 - t2:.2f})",
              file=sys.stderr, flush=True)

    def _save_meta(self, update: dict[str, str | int]) -> None:
        meta = {**self.meta(), **update}
        tmp = self.meta_file.with_suffix(".tmp")
        write_private(tmp, json.dumps(meta).encode())
        os.replace(tmp, self.meta_file)

    def running(self) -> bool:
        pid = self.pid()
        return pid is not None and waiting.alive(pid)

    def pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        return None

    def start(self) -> int:
        """Start on a free loopback port, or again (after the endpoint's restart) on the
        port it had: Endpoint.Port never changes on AWS, and the stacks' outputs hold it."""
        if self.running():
            return self.port
        port = self.port
        if port and not port_free(port):
            raise PostgresFailed(f"the DB's port {port} on {', '.join(listen_addresses())} is "
                                 "taken by another process; stop it and run `stackgen local "
                                 "up` again")
        port = port or _free_port()
        self.authority.ensure().issue(self.data / "server.crt", self.data / "server.key",
                                      cert_names())
        (self.data / "postmaster.pid").unlink(missing_ok=True)  # left by a crash
        options = ["-p", str(port), "-c", f"listen_addresses={','.join(listen_addresses())}",
                   "-c", "unix_socket_directories=", "-c", "ssl=on",
                   "-c", "ssl_cert_file=server.crt", "-c", "ssl_key_file=server.key",
                   "-c", "password_encryption=scram-sha-256", "-c", "fsync=off",
                   "-c", "shared_buffers=16MB", "-c", "max_connections=40"]
        log = self.directory / "postgres.log"
        what = f"starting the local PostgreSQL (log: {log})"
        # The server itself, not pg_ctl -w, which looks at postmaster.pid every 100 ms
        # (0.13 s against the server's 0.05 to ready, on the rds stack's create, issue 28):
        # in a session of its own, as pg_ctl starts it: a Ctrl-C at the endpoint is not its.
        try:
            with log.open("ab") as out:
                server = subprocess.Popen(
                    as_db_user([str(bindir() / "postgres"), "-D", str(self.data), *options]),
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)
        except OSError as exc:
            raise PostgresFailed(f"{what} failed: {exc}") from None
        if not waiting.written(self.data / "postmaster.pid", partial(_ready, server.pid),
                               START_TIMEOUT, server.pid):
            if server.poll() is None:  # not ready in time: no server left behind
                server.kill()
                server.wait()
                raise PostgresFailed(f"{what} failed: not ready in {START_TIMEOUT:.0f} s")
            raise PostgresFailed(f"{what} failed (exit {server.wait()}): {_said(log)}")
        self._save_meta({"port": port})
        return port

    def stop(self, timeout: float = 20.0) -> None:
        """A fast shutdown (clean: the data survives), then SIGKILL after ``timeout``."""
        pid = self.pid()
        if pid is None or not self.running():
            return
        pidfd = waiting.open_pidfd(pid)  # held from here: the pid cannot be reused
        try:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
            if not waiting.exited(pid, timeout, pidfd) and self.running():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def snapshot_to(self, target: Path) -> None:
        """A snapshot of the stopped server: its data dir, copied whole."""
        was_running = self.running()
        self.stop()
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self.directory, target, symlinks=True,
                        ignore=shutil.ignore_patterns("postmaster.pid", "postgres.log"))
        if was_running:
            self.start()

    def restore_from(self, snapshot: Path) -> None:
        """A new instance with a snapshot's data and logins (RDS: restore from snapshot)."""
        if self.directory.exists():
            shutil.rmtree(self.directory)
        shutil.copytree(snapshot, self.directory, symlinks=True)
        self._save_meta({"port": 0})
        self.start()

    def destroy(self) -> None:
        t0 = time.monotonic()
        self.stop()
        t1 = time.monotonic()
        shutil.rmtree(self.directory, ignore_errors=True)
        print(f"rds: PostgreSQL of {self.directory.name} gone in {time.monotonic() - t0:.2f} s "
              f"(stop {t1 - t0:.2f})", file=sys.stderr, flush=True)


_TEMPLATE_LOCK = threading.Lock()


def prepare_template(root: Path) -> None:
    """Make the cluster template ahead of the first DB (in a thread; errors wait for
    the create that needs it)."""
    with contextlib.suppress(StackgenError, OSError):
        Authority(root / "ca").ensure()
        make_spare(_template(template_dir(root)), root)


def template_dir(root: Path) -> Path:
    """The cluster template: one per machine and PostgreSQL major (in the user's cache,
    as initdb's output depends on nothing else), else in the endpoint's state dir."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stackgen"
    with contextlib.suppress(OSError, StackgenError):
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.access(cache, os.W_OK):
            return cache / f"postgres-{bindir().parent.name}-{TEMPLATE_LAYOUT}-template"
    return root / f"{TEMPLATE_LAYOUT}-template"


def _template(directory: Path) -> Path:
    """A fresh cluster (initdb, rdsadmin its only superuser, pg_hba TLS only) to copy;
    made in a temporary dir and renamed, so a concurrent endpoint never copies half."""
    with _TEMPLATE_LOCK:
        server = Server(directory, Authority(directory.parent / "ca"))
        if server.meta().get("admin_password") and (server.data / "PG_VERSION").is_file():
            return directory
        directory.parent.mkdir(parents=True, exist_ok=True)
        final, directory = directory, Path(tempfile.mkdtemp(dir=directory.parent,
                                                            prefix=".template-"))
        server = Server(directory, server.authority)
        admin_password = secrets.token_urlsafe(24)
        pwfile = directory / ".pw"
        write_private(pwfile, admin_password.encode())
        try:
            _run(as_db_user([str(bindir() / "initdb"), "--no-sync", "-D", str(server.data),
                              "-U", ADMIN_USER, "--auth=scram-sha-256", f"--pwfile={pwfile}",
                              "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions",
                              "--wal-segsize=1"]),
                 "initdb of the local PostgreSQL")
        finally:
            pwfile.unlink(missing_ok=True)
        (server.data / "pg_hba.conf").write_text(PG_HBA, encoding="utf-8")
        server.single_user(template_sql())
        server._save_meta({"admin_password": admin_password})
        try:
            os.rename(directory, final)
        except OSError:  # another endpoint made it meanwhile: use theirs
            shutil.rmtree(directory, ignore_errors=True)
        return final


# How long a server gets from its start to accepting connections (pg_ctl -w's default).
START_TIMEOUT = 60.0


def _ready(pid: int, lock_file: str) -> bool:
    """Whether postmaster.pid says server ``pid`` accepts connections: its first line is
    the pid, its eighth the postmaster's status, "ready" once it does (PostgreSQL's
    pidfile.h, LOCK_FILE_LINE_PM_STATUS; what pg_ctl -w reads)."""
    lines = lock_file.splitlines()
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"


def _said(log: Path) -> str:
    """What a server that failed to start said last in its log: its last FATAL (or
    PANIC) message, else its last line."""
    with contextlib.suppress(OSError):
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        for line in reversed(lines):
            for level in ("FATAL:", "PANIC:"):
                if level in line:
                    return line.split(level, 1)[1].strip()
        if lines:
            return lines[-1].strip()
    return "(no output)"


def port_free(port: int) -> bool:
    """No one listens on ``port`` on any of the server's addresses. SO_REUSEADDR, as
    PostgreSQL binds (StreamServerPort): connections of the server's last run left in
    TIME_WAIT (it closed them at its shutdown) do not keep it from its port."""
    for address in listen_addresses():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((address, port))
            except OSError:
                return False
    return True
