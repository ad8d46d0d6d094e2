"""`stackgen` refactoring an env deployed in the old layout, as a process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint

# --- an env: plan says "move", deploy refactors first, nothing is replaced ---------------

MARKER = ("  Marker:\n    Type: AWS::Logs::LogGroup\n    DeletionPolicy: Delete\n"
          "    UpdateReplacePolicy: Delete\n    Properties:\n      RetentionInDays: 1\n\n")


def _put_marker(project: Path, stack: str, present: bool) -> None:
    path = project / "templates" / f"{stack}.yaml.j2"
    text = path.read_text().replace(MARKER, "")
    path.write_text(text.replace("Resources:\n", "Resources:\n" + MARKER, 1) if present
                    else text)


def test_an_env_whose_resource_moved_stack_plans_a_move_and_deploys_it_unreplaced(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    from tests.conftest import aws_env, run_stackgen

    env = aws_env(endpoint)
    _put_marker(project, "dns", True)
    first = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes"], cwd=project,
                         env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    [before] = [r["PhysicalResourceId"] for r in aws.cloudformation.list_stack_resources(
        StackName="kubenews-local-dns")["StackResourceSummaries"]
        if r["LogicalResourceId"] == "Marker"]

    _put_marker(project, "dns", False)
    _put_marker(project, "cluster", True)  # the same resource, now in the cluster stack
    planned = run_stackgen(["--no-color", "plan", "--env", "local", "--format", "json"],
                           cwd=project, env=env)
    assert planned.returncode == 0, planned.stderr
    assert __import__("json").loads(planned.stdout)["moves"] == [
        "move dns.Marker → cluster.Marker"]

    moved = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes"], cwd=project,
                         env=env)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "move dns.Marker → cluster.Marker" in moved.stdout
    after = {r["LogicalResourceId"]: r["PhysicalResourceId"]
             for r in aws.cloudformation.list_stack_resources(
                 StackName="kubenews-local-cluster")["StackResourceSummaries"]}
    assert after["Marker"] == before  # the same log group: moved, not replaced
    groups = [g["logGroupName"] for g in aws.logs.describe_log_groups()["logGroups"]]
    assert before in groups and not [g for g in groups if "Marker" in g and g != before]
    dns = aws.cloudformation.list_stack_resources(StackName="kubenews-local-dns")
    assert "Marker" not in {r["LogicalResourceId"] for r in dns["StackResourceSummaries"]}

