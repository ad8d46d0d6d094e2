"""An env declares its target (issue 11, defect 11): `target: local` uses the running local
endpoint with throw-away credentials, an env targeting AWS never picks it up."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.aws.endpoint import AWS, LOCAL_CREDENTIALS, session
from generator.aws.session import (
    RouteMismatch,
    resolve_route,
)
from generator.local.manager import Endpoint, LocalEndpoint, free_port
from tests.conftest import ROOT, clients, run_stackgen
from tests.helpers.env_target import _config


def _bare_env(**extra: str) -> dict[str, str]:
    """The user's shell with no AWS setup at all: no keys, no endpoint, no profile
    files, no instance metadata (so nothing is ever looked up off this machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true", **extra}


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Endpoint]]:
    """A project whose own `stackgen local up` runs, as after `make deploy`."""
    project = tmp_path_factory.mktemp("project")
    for name in ("params", "templates"):
        (project / name).symlink_to(ROOT / name)
    up = run_stackgen(["local", "up", "--port", str(free_port())], cwd=project, env=_bare_env())
    assert up.returncode == 0, up.stderr
    running = LocalEndpoint(project / ".stackgen").find()
    assert running is not None
    yield project, running
    run_stackgen(["local", "down"], cwd=project, env=_bare_env())


def test_local_env_works_from_the_command_line_without_aws_variables(
        started: tuple[Path, Endpoint]) -> None:
    project, running = started
    # A profile that does not exist here must not matter to the local env either.
    env = _bare_env(AWS_PROFILE="no-such-profile")
    deploy = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes"], cwd=project,
                          env=env)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    plan = run_stackgen(["--no-color", "plan", "--env", "local"], cwd=project, env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "no AWS credentials" not in plan.stderr
    stacks = clients(running.url).cloudformation.describe_stacks()["Stacks"]
    assert "kubenews-local-ecs" in {s["StackName"] for s in stacks}
    assert run_stackgen(["delete", "--env", "local", "--yes"], cwd=project,
                        env=env).returncode == 0


def test_local_env_without_a_running_endpoint_says_how_to_start_it(project: Path) -> None:
    result = run_stackgen(["plan", "--env", "local"], cwd=project, env=_bare_env())
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "local endpoint is not running" in result.stderr
    assert "`stackgen local up`" in result.stderr and "`make local-up`" in result.stderr


def test_local_env_refuses_another_server_named_by_aws_endpoint_url(
        project: Path, bare_endpoint: str) -> None:
    """moto without our fixes answers on 127.0.0.1 too, but it is not our endpoint."""
    before = clients(bare_endpoint).cloudformation.list_stacks()["StackSummaries"]
    result = run_stackgen(["plan", "--env", "local"], cwd=project,
                          env=_bare_env(AWS_ENDPOINT_URL=bare_endpoint,
                                        AWS_ACCESS_KEY_ID="testing",
                                        AWS_SECRET_ACCESS_KEY="testing"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1
    assert f"AWS_ENDPOINT_URL={bare_endpoint} is not a running stackgen local endpoint" \
        in result.stderr
    assert clients(bare_endpoint).cloudformation.list_stacks()["StackSummaries"] == before


def test_local_target_pins_every_client_to_the_endpoint_with_throwaway_keys(
        started: tuple[Path, Endpoint], monkeypatch: pytest.MonkeyPatch) -> None:
    project, running = started
    for key, value in {"AWS_PROFILE": "no-such-profile",
                       "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                       "AWS_SECRET_ACCESS_KEY": "not-for-the-local-endpoint",
                       "AWS_ENDPOINT_URL_S3": "https://s3.example.invalid"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    target = resolve_route(_config("local"), project / ".stackgen", {})
    assert target.endpoint_url == running.url
    sess = session("us-east-1", target)
    for service in ("sts", "cloudformation", "s3", "route53"):
        client: Any = sess.client(service)
        assert client.meta.endpoint_url == running.url, service
    creds = sess.get_credentials()
    assert (creds.access_key, creds.secret_key) == (LOCAL_CREDENTIALS["aws_access_key_id"],
                                                    LOCAL_CREDENTIALS["aws_secret_access_key"])


def test_aws_env_never_picks_up_the_local_endpoint(
        started: tuple[Path, Endpoint], monkeypatch: pytest.MonkeyPatch) -> None:
    project, running = started
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(key)
    # The local endpoint runs for this directory, yet an AWS env does not look for it.
    target = resolve_route(_config("dev"), project / ".stackgen", {})
    assert target == AWS and target.credentials is None
    assert session("us-east-1", target).client("sts").meta.endpoint_url.startswith("https://")
    # Nor does it follow an endpoint variable left pointing at it.
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDFORMATION"):
        with pytest.raises(RouteMismatch, match=f"target: aws, but {key}="):
            resolve_route(_config("dev"), project / ".stackgen", {key: running.url})


def test_aws_env_with_the_local_endpoint_exported_is_refused(
        started: tuple[Path, Endpoint]) -> None:
    project, running = started
    result = run_stackgen(["plan", "--env", "dev"], cwd=project,
                          env=_bare_env(AWS_ENDPOINT_URL=running.url, AWS_ACCESS_KEY_ID="x",
                                        AWS_SECRET_ACCESS_KEY="x"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"the env has target: aws, but AWS_ENDPOINT_URL={running.url} is the stackgen " \
        "local endpoint" in result.stderr
