"""The secret forms refused or masked, seen from the `stackgen` process (issue 22, 8)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from generator.local.manager import Endpoint
from generator.params import load_env
from generator.render import render
from tests.conftest import aws_env, run_stackgen
from tests.helpers.secret_forms import PLANTED, SECRET


@pytest.mark.parametrize("arg", [
    "ecs.container.environment.DB_AUTH=[hunter2",
    "ecs.container.environment={DB_AUTH: [hunter2}",
    "ecs.container.environment.DB_AUTH: hunter2",
    "hunter2",
    "ecs.container.environment.DB_AUTH=hunter2",
    "ecs.container.environment.DB_AUTH=[hunter2]",
])
def test_a_set_never_echoes_a_secret(project: Path, arg: str) -> None:
    result = run_stackgen(["render", "--env", "local", "--set", arg], project)
    assert result.returncode == 2, result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_run_task_arguments_are_refused_like_params(project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing")  # nothing listens: an AWS call would exit 1
    for command in (["npm", "run", "seed", "--password", SECRET],
                    ["sh", "-c", f"mysql -p{SECRET} app"],
                    ["env", f"DB_AUTH={SECRET}", "npm", "start"]):
        result = run_stackgen(["run-task", "--env", "local", "migrate", "--", *command], project,
                              env=env)
        assert result.returncode == 2, result.stderr
        assert "holds a secret value" in result.stderr and SECRET not in result.stderr


def test_a_deployed_secret_tag_is_masked_by_diff_and_plan(project: Path, endpoint: Endpoint,
                                                          aws: Any) -> None:
    """On the local endpoint: a tag `api_token=…` put on a deployed stack by hand shows
    in `diff` and in every plan artefact by its key, its value masked."""
    env = aws_env(endpoint)
    # Created by hand with the rendered template and tags plus the secret one: stackgen
    # itself refuses a secret in params, and the local endpoint (like moto) refuses a
    # tag-only update.
    stack = render(load_env(project / "params", "local"), project / "templates").stacks["network"]
    aws.cloudformation.create_stack(
        StackName=stack.stack_name, TemplateBody=stack.template,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in stack.parameters.items()],
        Tags=[*({"Key": k, "Value": v} for k, v in stack.tags.items()),
              {"Key": "api_token", "Value": PLANTED}])
    for _ in range(300):
        status = aws.cloudformation.describe_stacks(StackName=stack.stack_name)["Stacks"][0]
        if not status["StackStatus"].endswith("IN_PROGRESS"):
            break
        time.sleep(0.1)
    assert status["StackStatus"] == "CREATE_COMPLETE", status["StackStatus"]
    diff = run_stackgen(["--no-color", "diff", "--env", "local", "--stack", "network"],
                        cwd=project, env=env)
    assert "tag api_token" in diff.stdout, diff.stdout + diff.stderr
    plan = run_stackgen(["--no-color", "plan", "--env", "local", "--stack", "network",
                         "--out", "plan.json", "--markdown", "review.md"], cwd=project, env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    for kind, text in {"diff": diff.stdout + diff.stderr, "plan": plan.stdout + plan.stderr,
                       "plan.json": (project / "plan.json").read_text(),
                       "review.md": (project / "review.md").read_text()}.items():
        assert "api_token" in text, kind
        assert PLANTED not in text, kind

