"""Turning termination protection off is shown (issue 25): it is no change set's change,
so a plan whose env's termination_protection went from true to false said "no changes"
and the deploy turned it off silently under "is up to date"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import aws_env, run_stackgen


def _run(project: Path, endpoint: Endpoint, *args: str) -> Any:
    return run_stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint))


def test_protection_turned_off_shows_in_the_review_the_summary_and_the_deploy(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    on = _run(project, endpoint, "deploy", "--env", "local", "--yes", "--no-forecast")
    assert on.returncode == 0, on.stdout + on.stderr
    # Protected while the env said termination_protection: true (its templates are the
    # same either way for what this test reads); the env now says false.
    stacks = [s["StackName"] for s in aws.cloudformation.describe_stacks()["Stacks"]]
    for name in stacks:
        aws.cloudformation.update_termination_protection(StackName=name,
                                                         EnableTerminationProtection=True)
    network = "kubenews-local-network"

    plan = _run(project, endpoint, "plan", "--env", "local", "--no-forecast")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    lines = plan.stdout.splitlines()
    assert any(line.startswith("= UNCHANGED network: no changes; termination protection turns off: "
                               "the stack can then be deleted") for line in lines), plan.stdout
    summary = next(line for line in lines if line.startswith("plan for env 'local'"))
    assert "termination protection turns off for 8 stacks (" in summary, summary
    assert "nothing to apply" not in summary
    # The plan made no change: protection is still on.
    assert aws.cloudformation.describe_stacks(StackName=network)["Stacks"][0][
        "EnableTerminationProtection"] is True

    off = _run(project, endpoint, "deploy", "--env", "local", "--yes", "--no-forecast")
    assert off.returncode == 0, off.stdout + off.stderr
    assert f"  {network}: termination protection turned off" in off.stdout.splitlines(), \
        off.stdout
    assert aws.cloudformation.describe_stacks(StackName=network)["Stacks"][0][
        "EnableTerminationProtection"] is False
