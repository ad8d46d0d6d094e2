"""An env deployed in one form is not planned in the other (issue 25): a nested plan of
an env deployed as separate stacks proposed a parallel root stack, creating every
resource again beside the live ones, and left it in REVIEW_IN_PROGRESS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import aws_env, run_stackgen


def _run(project: Path, endpoint: Endpoint, *args: str) -> Any:
    return run_stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint))


def _stacks(aws: Any) -> dict[str, str]:
    return {s["StackName"]: s["StackStatus"] for s in aws.cloudformation.describe_stacks()["Stacks"]}


def test_nested_plan_of_a_flat_env_is_refused_and_leaves_no_stack(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    deployed = _run(project, endpoint, "deploy", "--env", "local", "--no-nested", "--yes")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    before = _stacks(aws)
    for command in ("plan", "deploy"):
        refused = _run(project, endpoint, command, "--env", "local", "--nested",
                       *(("--yes",) if command == "deploy" else ()))
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.strip().splitlines()[-1].startswith(
            "error: env local is deployed as separate stacks (kubenews-local-"), refused.stderr
        assert refused.stderr.strip().endswith(
            f"; {command} it with --no-nested, or delete it first"), refused.stderr
        assert "Traceback" not in refused.stderr
        assert _stacks(aws) == before  # no root stack, no review shell
        assert "kubenews-local-root" not in _stacks(aws)


def test_flat_plan_of_a_nested_env_is_refused_and_leaves_no_stack(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    deployed = _run(project, endpoint, "deploy", "--env", "local", "--nested", "--yes")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    before = _stacks(aws)
    refused = _run(project, endpoint, "plan", "--env", "local", "--no-nested")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: env local is deployed as one nested stack (kubenews-local-root); plan it "
        "with --nested, or delete it first")
    assert _stacks(aws) == before  # no separate stack made beside the root's children
