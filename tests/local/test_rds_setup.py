"""Issue 28: a local DB's RDS role setup ran in a psql child logged in as rdsadmin over
TLS after the server started (0.3-0.7 s of the rds stack's create, on a deploy's critical
path). It is now written by one single-user backend before the server listens; the DB
is set up as RDS sets one up all the same (tests/local/test_rds.py checks it through
the endpoint)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.local.emulation import rds_postgres
from generator.local.emulation.rds_ca import Authority
from generator.local.emulation.rds_postgres import ADDRESS, PostgresFailed, Server


def _psql(server: Server, user: str, password: str, sql: str,
          database: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PGHOST": ADDRESS, "PGPORT": str(server.port), "PGUSER": user,
           "PGPASSWORD": password, "PGDATABASE": database, "PGSSLMODE": "verify-full",
           "PGSSLROOTCERT": str(server.authority.bundle), "PGCONNECT_TIMEOUT": "10"}
    return subprocess.run(["psql", "--no-psqlrc", "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          env=env, capture_output=True, text=True, timeout=60,
                          start_new_session=True)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "rds"
    made = Server(root / "instances" / "db1", Authority(root / "ca"))
    yield made
    made.stop()


def test_create_sets_up_rds_roles_without_a_session_as_rdsadmin(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_session(self: Server, sql: str, database: str = "postgres") -> str:
        raise AssertionError("create opened a psql session as rdsadmin")

    monkeypatch.setattr(Server, "psql_admin", no_session)
    server.create("master", "pw-0123456789", "appdb")
    assert server.running()
    out = _psql(server, "master", "pw-0123456789",
                "SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, "
                "pg_has_role(current_user, 'rds_superuser', 'MEMBER'), "
                "(SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'appdb'), "
                "(SELECT string_agg(b.rolname, ',' ORDER BY b.rolname) FROM pg_auth_members m "
                " JOIN pg_roles a ON a.oid = m.member JOIN pg_roles b ON b.oid = m.roleid "
                " WHERE a.rolname = 'rds_superuser'), "
                "(SELECT admin_option FROM pg_auth_members m JOIN pg_roles a ON "
                " a.oid = m.member WHERE a.rolname = current_user "
                " AND m.roleid = 'rds_superuser'::regrole), "
                "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) "
                "FROM pg_roles r WHERE r.rolname = current_user", "appdb")
    assert out.returncode == 0, out.stderr
    granted = ",".join(sorted(rds_postgres.RDS_SUPERUSER_GRANTS))
    assert out.stdout.strip() == f"f|t|t|t|master|{granted}|t|t"
    wrong = _psql(server, "master", "not-the-password", "SELECT 1", "appdb")
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr


def test_a_setup_statement_that_fails_is_refused_with_postgres_message(
        server: Server) -> None:
    # DBName "postgres" exists in every cluster: CREATE DATABASE fails; the create says so
    with pytest.raises(PostgresFailed, match='database "postgres" already exists'):
        server.create("master", "pw-0123456789", "postgres")
    assert not server.running()


def test_a_db_without_db_name_has_only_the_databases_rds_makes(server: Server) -> None:
    server.create("master", "pw-0123456789", None)
    out = _psql(server, "master", "pw-0123456789",
                "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database", "postgres")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "postgres,template0,template1"


def test_the_template_holds_rds_superuser_and_the_database_a_create_renames(
        tmp_path: Path) -> None:
    """So a create adds only the master login and renames a database (no copy of
    template1 per DB): what is the same on every DB is made once per machine."""
    template = rds_postgres.template_dir(tmp_path)
    rds_postgres.prepare_template(tmp_path)
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-pPR", str(template), str(copy)], check=True)
    sql = ("SELECT (SELECT string_agg(b.rolname, ',' ORDER BY b.rolname) FROM pg_auth_members m"
           " JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = 'rds_superuser'::regrole)"
           f" || '|' || (SELECT count(*) FROM pg_database WHERE datname = "
           f"'{rds_postgres.NEW_DATABASE}')\n")
    argv = rds_postgres.as_db_user([str(rds_postgres.bindir() / "postgres"), "--single",
                                    "-D", str(copy / "data"), "postgres"])
    out = subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=60)
    granted = ",".join(sorted(rds_postgres.RDS_SUPERUSER_GRANTS))
    assert f'"{granted}|1"' in out.stdout, out.stdout + out.stderr


def test_a_server_that_cannot_start_says_what_postgresql_said(server: Server) -> None:
    server.create("master", "pw-0123456789", None)
    server.stop()
    with (server.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("work_mem = 'plenty'\n")
    # What PostgreSQL said, not pg_ctl's "Examine the log output", and its exit code.
    with pytest.raises(PostgresFailed, match=r"starting the local PostgreSQL \(log: .*\) "
                       r"failed \(exit 1\): configuration file .*postgresql.conf\S* "
                       r"contains errors$"):
        server.start()
    assert not server.running()
