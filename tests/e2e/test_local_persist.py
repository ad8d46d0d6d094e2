"""Nothing is lost across `local down` / `local up`, nor across a crash of the endpoint
(generator/local/persist.py): the stacks, the secrets and the rows of the DB are there
again, and `local up` says what it restored."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.local import waiting
from generator.local.emulation.rds_postgres import CA_BUNDLE_PATH
from generator.local.manager import LocalEndpoint, free_port
from generator.local.persist import SNAPSHOT_PATH
from tests.conftest import CREDENTIALS, clients, run_stackgen
from tests.local.test_rds import psql


def _env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, **CREDENTIALS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}


@pytest.fixture
def local_project(project: Path) -> Iterator[tuple[Path, int]]:
    """A project whose own endpoint (state in project/.stackgen) is stopped at the end."""
    port = free_port()
    yield project, port
    LocalEndpoint(project / ".stackgen").down()


def _up(project: Path, port: int) -> str:
    out = run_stackgen(["local", "up", "--port", str(port)], cwd=project, timeout=180)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _db(c: Any, tmp: Path, port: int) -> tuple[str, str, str, str, Path]:
    rds = {o["OutputKey"]: o["OutputValue"] for o in c.cloudformation.describe_stacks(
        StackName="kubenews-local-rds")["Stacks"][0]["Outputs"]}
    secret = json.loads(c.secretsmanager.get_secret_value(
        SecretId=rds["DbSecretArn"])["SecretString"])
    import urllib.request

    ca = tmp / "ca.pem"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{CA_BUNDLE_PATH}", timeout=10) as r:
        ca.write_bytes(r.read())
    return rds["DbEndpoint"], rds["DbPort"], secret["username"], secret["password"], ca


def _stacks(c: Any) -> list[tuple[str, str]]:
    return sorted((s["StackName"], s["StackStatus"])
                  for s in c.cloudformation.describe_stacks()["Stacks"])


def test_down_and_up_keep_stacks_secrets_and_rows(local_project: tuple[Path, int],
                                                   tmp_path: Path) -> None:
    project, port = local_project
    assert "no saved state" in _up(project, port)
    deployed = run_stackgen(["deploy", "--env", "local", "--yes"], cwd=project,
                            env=_env(port), timeout=900)
    assert deployed.returncode == 0, deployed.stderr
    c = clients(f"http://127.0.0.1:{port}")
    stacks, secrets = _stacks(c), c.secretsmanager.list_secrets()["SecretList"]
    host, db_port, user, password, ca = _db(c, tmp_path, port)
    wrote = psql(host, db_port, user, password,
                 "CREATE TABLE news (title text); INSERT INTO news VALUES ('survives')",
                 root_cert=ca)
    assert wrote.returncode == 0, wrote.stderr

    down = run_stackgen(["local", "down"], cwd=project)
    assert down.returncode == 0 and "kept" in down.stdout
    said = _up(project, port)
    assert "restored the state of its last run" in said and "1 db instance" in said, said

    assert _stacks(c) == stacks
    assert [s["ARN"] for s in c.secretsmanager.list_secrets()["SecretList"]] == \
        [s["ARN"] for s in secrets]
    host2, port2, _, _, ca = _db(c, tmp_path, port)
    described = c.rds.describe_db_instances()["DBInstances"][0]["Endpoint"]
    # the DB is back where the stacks' outputs (and so the ecs stack) say it is
    assert (host2, port2) == (host, db_port) == (described["Address"], str(described["Port"]))
    read = psql(host2, port2, user, password, "SELECT title FROM news", root_cert=ca)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "survives"
    # the restored stacks are the deployed ones: a second deploy changes nothing
    again = run_stackgen(["deploy", "--env", "local", "--yes"], cwd=project,
                         env=_env(port), timeout=900)
    assert again.returncode == 0, again.stderr


def test_a_crashed_endpoint_restarts_from_its_last_snapshot(local_project: tuple[Path, int]
                                                            ) -> None:
    project, port = local_project
    _up(project, port)
    c = clients(f"http://127.0.0.1:{port}")
    snapshot = project / ".stackgen" / "local-endpoint-state.pickle"

    def saved() -> bool:  # the secret's name is in the snapshot
        return snapshot.exists() and b"kept-through-a-crash" in snapshot.read_bytes()

    c.secretsmanager.create_secret(Name="kept-through-a-crash", SecretString="x")
    manager = LocalEndpoint(project / ".stackgen")
    endpoint = manager.status()
    assert endpoint is not None
    # The background snapshot, asked for now instead of within persist.INTERVAL: the
    # request answers once it is written.
    import urllib.request

    asked = urllib.request.Request(f"http://127.0.0.1:{port}{SNAPSHOT_PATH}", data=b"",
                                   method="POST")
    with urllib.request.urlopen(asked, timeout=120) as flushed:
        assert flushed.status == 200
    assert saved()
    os.kill(endpoint.pid, signal.SIGKILL)
    assert waiting.exited(endpoint.pid, 30)
    assert manager.status() is None
    said = _up(project, port)
    assert "had not stopped cleanly" in said and "1 secret" in said, said
    names = [s["Name"] for s in c.secretsmanager.list_secrets()["SecretList"]]
    assert names == ["kept-through-a-crash"]


def test_down_forget_starts_empty(local_project: tuple[Path, int]) -> None:
    project, port = local_project
    _up(project, port)
    clients(f"http://127.0.0.1:{port}").secretsmanager.create_secret(Name="gone",
                                                                     SecretString="x")
    out = run_stackgen(["local", "down", "--forget"], cwd=project)
    assert out.returncode == 0 and "deleted" in out.stdout
    assert "no saved state" in _up(project, port)
    assert clients(f"http://127.0.0.1:{port}").secretsmanager.list_secrets()["SecretList"] == []
