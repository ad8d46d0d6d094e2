"""`stackgen forecast` with account checks, run as a process."""

from __future__ import annotations

import json
from typing import Any

from generator.local.manager import Endpoint


def test_cli_runs_the_account_checks_on_the_env_endpoint(project: Any, endpoint: Endpoint,
                                                         aws: Any) -> None:
    from tests.conftest import aws_env, run_stackgen

    clean = run_stackgen(["--no-color", "forecast", "--env", "local", "--format", "json"],
                         cwd=project, env=aws_env(endpoint))
    assert clean.returncode == 0, clean.stderr  # what the endpoint cannot answer is info
    doc = json.loads(clean.stdout)
    assert doc["skipped"] == [] and "F405" in doc["checks"]
    assert {f["id"] for f in doc["findings"]} == {"F301", "F403", "F404", "F407", "F501"}
    assert {f["severity"] for f in doc["findings"]} == {"info", "warning"}
    result = run_stackgen(["--no-color", "forecast", "--env", "local", "--format", "json",
                           "--set", "ecs.service.deployment.min_healthy_percent=100"],
                          cwd=project, env=aws_env(endpoint))
    assert result.returncode == 1, result.stderr  # F102 is an error
    assert {f["id"] for f in json.loads(result.stdout)["findings"]} >= {"F102", "F301", "F501"}

