"""An RDS DB instance of engine postgres on the local endpoint is a real PostgreSQL with
RDS's rules (generator/local/emulation/rds_engine.py, rds_postgres.py); bare moto has no
server, deletes a protected DB and keeps no snapshot.

Every server a test starts is stopped by the endpoint's reset (the ``target`` fixture of
the next test, and the session's endpoint going down).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from generator.local.emulation.rds_postgres import CA_BUNDLE_PATH, port_free
from generator.local.manager import Endpoint
from tests.conftest import clients, reset

BROKEN = (ClientError, BotoCoreError, ResponseParserError)


@pytest.fixture
def fixed(endpoint: Endpoint) -> Any:
    reset(endpoint.url)
    yield clients(endpoint.url)
    reset(endpoint.url)  # stops the servers this test started


@pytest.fixture(params=["fixed", "bare"])
def target(request: pytest.FixtureRequest, endpoint: Endpoint, bare_endpoint: str) -> Any:
    url = endpoint.url if request.param == "fixed" else bare_endpoint
    reset(url)
    yield clients(url), request.param == "fixed"
    reset(url)


def db_template(deletion_protection: bool = False, policy: str = "Delete",
                snapshot: str | None = None) -> dict[str, Any]:
    """The rds stack's shape: a generated secret, the DB reading its password from it."""
    props: dict[str, Any] = {
        "Engine": "postgres", "EngineVersion": "16", "DBInstanceClass": "db.t3.micro",
        "AllocatedStorage": "20", "DBName": "kubenews", "Port": "5432",
        "DeletionProtection": deletion_protection}
    if snapshot:
        props["DBSnapshotIdentifier"] = snapshot
    else:
        props["MasterUsername"] = "kubenews"
        props["MasterUserPassword"] = {"Fn::Sub": "{{resolve:secretsmanager:${DbSecret}:"
                                                  "SecretString:password}}"}
    return {"Resources": {
        "DbSecret": {"Type": "AWS::SecretsManager::Secret", "Properties": {
            "GenerateSecretString": {"SecretStringTemplate": '{"username": "kubenews"}',
                                     "GenerateStringKey": "password", "PasswordLength": 32,
                                     "ExcludeCharacters": "\"@/\\'"}}},
        "DbInstance": {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": policy,
                       "Properties": props}},
        "Outputs": {"DbEndpoint": {"Value": {"Fn::GetAtt": ["DbInstance", "Endpoint.Address"]}},
                    "DbPort": {"Value": {"Fn::GetAtt": ["DbInstance", "Endpoint.Port"]}},
                    "DbSecretArn": {"Value": {"Ref": "DbSecret"}}}}


def deploy(c: Any, name: str, template: dict[str, Any]) -> str:
    try:
        cs = c.cloudformation.create_change_set(
            StackName=name, ChangeSetName=f"cs{time.monotonic_ns()}", ChangeSetType="CREATE",
            TemplateBody=json.dumps(template))
        c.cloudformation.execute_change_set(ChangeSetName=cs["Id"])
    except BROKEN:
        pass
    return str(c.cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def outputs(c: Any, name: str) -> dict[str, str]:
    stack = c.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def ca_bundle(endpoint: Endpoint, tmp_path: Path) -> Path:
    """The CA bundle as a client gets it: downloaded from the endpoint, as from RDS."""
    path = tmp_path / "global-bundle.pem"
    with urllib.request.urlopen(endpoint.url + CA_BUNDLE_PATH, timeout=10) as response:
        path.write_bytes(response.read())
    return path


def psql(host: str, port: str | int, user: str, password: str, sql: str, *,
         sslmode: str = "verify-full", root_cert: Path | None = None,
         database: str = "kubenews") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PGHOST": host, "PGPORT": str(port), "PGUSER": user,
           "PGPASSWORD": password, "PGDATABASE": database, "PGSSLMODE": sslmode,
           "PGCONNECT_TIMEOUT": "10"}
    if root_cert:
        env["PGSSLROOTCERT"] = str(root_cert)
    return subprocess.run(["psql", "--no-psqlrc", "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          env=env, capture_output=True, text=True, timeout=60,
                          start_new_session=True)


def master(c: Any, name: str) -> tuple[str, str, str, str]:
    out = outputs(c, name)
    secret = json.loads(c.secretsmanager.get_secret_value(
        SecretId=out["DbSecretArn"])["SecretString"])
    return out["DbEndpoint"], out["DbPort"], secret["username"], secret["password"]


def test_db_instance_is_a_postgres_with_rds_roles_tls_only(fixed: Any, endpoint: Endpoint,
                                                           tmp_path: Path) -> None:
    assert deploy(fixed, "rds", db_template()) == "CREATE_COMPLETE"
    host, port, user, password = master(fixed, "rds")
    described = fixed.rds.describe_db_instances()["DBInstances"][0]["Endpoint"]
    assert (described["Address"], str(described["Port"])) == (host, port)
    ca = ca_bundle(endpoint, tmp_path)
    roles = psql(host, port, user, password,
                 "SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, "
                 "pg_has_role(current_user, 'rds_superuser', 'MEMBER'), "
                 "(SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'kubenews'), "
                 "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) "
                 "FROM pg_roles r WHERE r.rolname = current_user", root_cert=ca)
    assert roles.returncode == 0, roles.stderr
    # not a superuser; CREATEROLE, CREATEDB, member of rds_superuser; owns DBName; over TLS
    assert roles.stdout.strip() == "f|t|t|t|kubenews|t"
    plaintext = psql(host, port, user, password, "SELECT 1", sslmode="disable")
    assert plaintext.returncode != 0 and "no encryption" in plaintext.stderr
    wrong_ca = psql(host, port, user, password, "SELECT 1", root_cert=Path("/dev/null"))
    assert wrong_ca.returncode != 0


def test_the_master_is_refused_superuser_changes(fixed: Any, endpoint: Endpoint,
                                                 tmp_path: Path) -> None:
    """What the shipped bootstrap ran into: RDS's master cannot name SUPERUSER."""
    deploy(fixed, "rds", db_template())
    host, port, user, password = master(fixed, "rds")
    out = psql(host, port, user, password, "CREATE ROLE x LOGIN; ALTER ROLE x NOSUPERUSER",
               root_cert=ca_bundle(endpoint, tmp_path))
    assert out.returncode != 0 and "must be superuser" in out.stderr


def test_deletion_protection_refuses_the_delete(target: tuple[Any, bool]) -> None:
    c, fixed = target
    deploy(c, "rds", db_template(deletion_protection=True))
    with pytest.raises(BROKEN) if fixed else _nothing():
        c.rds.delete_db_instance(
            DBInstanceIdentifier=c.rds.describe_db_instances()["DBInstances"][0][
                "DBInstanceIdentifier"], SkipFinalSnapshot=True)
    with contextlib.suppress(*BROKEN):
        c.cloudformation.delete_stack(StackName="rds")
    left = c.rds.describe_db_instances()["DBInstances"]
    assert (len(left) == 1) is fixed
    if fixed:
        stack = c.cloudformation.describe_stacks(StackName="rds")["Stacks"][0]
        assert stack["StackStatus"] == "DELETE_FAILED"
        assert "deletion protection" in stack.get("StackStatusReason", "") + json.dumps(
            c.cloudformation.describe_stack_events(StackName="rds")["StackEvents"],
            default=str)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_deletion_policy_snapshot_keeps_the_data_for_a_restore(target: tuple[Any, bool],
                                                               endpoint: Endpoint,
                                                               tmp_path: Path) -> None:
    c, fixed = target
    deploy(c, "rds", db_template(policy="Snapshot"))
    if fixed:
        host, port, user, password = master(c, "rds")
        ca = ca_bundle(endpoint, tmp_path)
        wrote = psql(host, port, user, password,
                     "CREATE TABLE news (title text); INSERT INTO news VALUES ('kept')",
                     root_cert=ca)
        assert wrote.returncode == 0, wrote.stderr
    c.cloudformation.delete_stack(StackName="rds")
    snapshots = c.rds.describe_db_snapshots()["DBSnapshots"]
    assert bool(snapshots) is fixed
    if not fixed:
        return
    snapshot_id = snapshots[0]["DBSnapshotIdentifier"]
    assert deploy(c, "restored", db_template(snapshot=snapshot_id)) == "CREATE_COMPLETE"
    out = outputs(c, "restored")
    # the snapshot's logins: the first stack's master password still opens it
    read = psql(out["DbEndpoint"], out["DbPort"], user, password, "SELECT title FROM news",
                root_cert=ca)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "kept"


# --- the shipped bootstrap against RDS's role model --------------------------------------


def bootstrap_container() -> dict[str, Any]:
    from generator.params import load_env
    from generator.render import render
    from generator.yamlsrc import load_cfn
    from tests.conftest import ROOT

    r = render(load_env(ROOT / "params", "local"), ROOT / "templates")
    task = load_cfn(r.stacks["ecs"].template)["Resources"]["TaskDefinition"]
    containers = {c["Name"]: c for c in task["Properties"]["ContainerDefinitions"]}
    return dict(containers["db-bootstrap"])


def run_bootstrap(container: dict[str, Any], db: tuple[str, str, str, str],
                  ca_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The init container's own command with its environment, the secrets ECS would
    inject, and the DB's outputs for !Ref DbEndpoint / DbPort; no terminal, as in ECS."""
    host, port, user, password = db
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    refs = {"DbEndpoint": host, "DbPort": port}
    for var in container["Environment"]:
        value = var["Value"]
        env[var["Name"]] = refs[value["Ref"]] if isinstance(value, dict) else str(value)
    env.update({"RDS_CA_BUNDLE_URL": ca_url, "TMPDIR": str(tmp_path), "PGUSER": user,
                "PGPASSWORD": password, "APP_DB_USERNAME": "kubenews_app",
                "APP_DB_PASSWORD": "app pass'word; DROP"})
    return subprocess.run(container["Command"], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, start_new_session=True)


def test_shipped_bootstrap_runs_as_rds_master_verified_and_idempotent(
        fixed: Any, endpoint: Endpoint, tmp_path: Path) -> None:
    deploy(fixed, "rds", db_template())
    db = master(fixed, "rds")
    container = bootstrap_container()
    ca_url = endpoint.url + CA_BUNDLE_PATH
    for attempt in (1, 2):  # a second task runs it again: idempotent
        out = run_bootstrap(container, db, ca_url, tmp_path)
        assert out.returncode == 0, f"run {attempt}: {out.stderr}"
    env = {v["Name"]: v["Value"] for v in container["Environment"]}
    assert env["PGSSLMODE"] == "verify-full"  # `require` verifies nothing
    # no password literal reaches the server: \password sends a SCRAM verifier
    assert "PASSWORD" not in env["BOOTSTRAP_SQL"].upper().replace("APP_DB_PASSWORD", "")
    host, port, user, _ = db
    ca = ca_bundle(endpoint, tmp_path)
    app = psql(host, port, "kubenews_app", "app pass'word; DROP",
               "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
               "WHERE rolname = current_user", root_cert=ca)
    assert app.returncode == 0, app.stderr
    assert app.stdout.strip() == "f|f|f"
    stored = psql(host, port, user, db[3],
                  "SELECT rolpassword FROM pg_authid WHERE rolname = 'kubenews_app'",
                  root_cert=ca)
    # the master may not read pg_authid (no superuser) ...
    assert stored.returncode != 0 and "permission denied" in stored.stderr


def test_missing_postgres_binaries_say_how_to_install_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.local.emulation.rds_postgres import PostgresMissing, bindir

    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_config
    monkeypatch.delenv("STACKGEN_PG_BINDIR", raising=False)
    with pytest.raises(PostgresMissing, match="apt-get install postgresql"):
        bindir(search_root=tmp_path)
    assert PostgresMissing.exit_code == 2


def test_the_binaries_are_found_once_not_on_every_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 28: bindir() ran `pg_config` each time, three times in each DB's create."""
    from generator.local.emulation.rds_postgres import bindir

    real = shutil.which("pg_config")
    assert real is not None
    asked = tmp_path / "asked"
    wrapper = tmp_path / "pg_config"
    wrapper.write_text(f'#!/bin/sh\necho asked >> "{asked}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("STACKGEN_PG_BINDIR", raising=False)
    found = [bindir() for _ in range(3)]
    assert found[0] == found[1] == found[2] and (found[0] / "postgres").is_file()
    assert asked.read_text().splitlines() == ["asked"]


def test_a_port_left_in_time_wait_by_the_last_run_is_free() -> None:
    """After `local down` a DB's server closed its clients' connections first: they sit in
    TIME_WAIT on its port, and `local up` must still start it there (PostgreSQL binds with
    SO_REUSEADDR); found when the containers' connections kept a DB from its port."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        accepted, _ = listener.accept()
        accepted.close()  # the server side closes first: its end goes to TIME_WAIT
        client.recv(1)
        client.close()
    assert port_free(port)
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert not port_free(port)  # a listener is still refused
