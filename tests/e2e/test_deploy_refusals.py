"""What `stackgen render`, `deploy` and `plan` refuse before any AWS call: an engine that
accepts plaintext, a created zone nothing delegates, the nested form of dev."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from generator.local.manager import Endpoint
from tests.conftest import aws_env, run_stackgen


def test_an_engine_that_accepts_plaintext_by_default_is_refused(project: Path) -> None:
    result = run_stackgen(["render", "--env", "local", "--set", "rds.engine_version=14"],
                          cwd=project)
    assert result.returncode == 2 and "rds.engine_version" in result.stderr
    assert "Traceback" not in result.stderr


def test_deploy_refuses_before_any_stack_when_the_created_zone_is_not_delegated(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    zone = ["--set", "dns.zone.name=sub.stackgen.test", "--set",
            "dns.domain=kubenews.sub.stackgen.test", "--set", "dns.zone.create=true"]
    result = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes", *zone],
                          cwd=project, env=aws_env(endpoint))
    assert result.returncode == 1, result.stdout + result.stderr
    parent = aws.route53.list_hosted_zones_by_name(DNSName="stackgen.test")["HostedZones"][0]
    parent_id = parent["Id"].rsplit("/", 1)[-1]
    assert f"set dns.zone.parent_zone_id: {parent_id}" in result.stderr
    assert aws.cloudformation.describe_stacks()["Stacks"] == []
    # The zone alone may go first: no certificate starts.
    alone = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes", "--stack", "dns",
                          *zone], cwd=project, env=aws_env(endpoint))
    assert alone.returncode == 0, alone.stdout + alone.stderr


@pytest.mark.parametrize("command", [["deploy", "--yes"], ["plan"]])
def test_nested_deploy_and_plan_of_dev_are_refused_before_any_aws_call(
        project: Path, command: list[str]) -> None:
    # No credentials and no endpoint: the refusal comes before any AWS call.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = run_stackgen(["--no-color", command[0], "--env", "dev", "--nested", *command[1:]],
                          cwd=project, env={**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "a root deployed after the zone alone would create a second zone" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "build" / "dev").exists()

