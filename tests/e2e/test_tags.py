"""Stack tags are desired state (issue 11, defect 4): a tag-only change is planned,
diffed and applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import aws_env, run_stackgen

NEW_TEAM = ("--set", "tags.owner=new-team")


def _run(project: Path, endpoint: Endpoint, *args: str) -> Any:
    return run_stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint))


def test_plan_and_diff_show_a_tag_only_change(project: Path, endpoint: Endpoint,
                                              aws: Any) -> None:
    deployed = _run(project, endpoint, "deploy", "--env", "local", "--yes")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    plan = _run(project, endpoint, "plan", "--env", "local", "--format", "json", *NEW_TEAM)
    assert plan.returncode == 0, plan.stderr
    stacks = json.loads(plan.stdout)["stacks"]
    assert {s["state"] for s in stacks} == {"update"}
    assert all(s["tags"] == [{"key": "owner", "old": "platform-team", "new": "new-team"}]
               for s in stacks)
    diff = _run(project, endpoint, "diff", "--env", "local", "--stack", "dns", *NEW_TEAM)
    assert diff.returncode == 1, diff.stderr  # a tag differs
    assert "tag owner: platform-team → new-team" in diff.stdout
    assert "no differences" not in diff.stdout
