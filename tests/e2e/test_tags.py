"""Stack tags are desired state (issue 11, defect 4): a tag-only change is planned,
diffed and applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.aws.cfn import CloudFormation
from generator.deploy.engine import Deployer
from generator.deploy.stack_work import DeployOptions
from generator.local.manager import Endpoint
from generator.references import Lookups
from generator.render import Rendered
from generator.ui import Console
from tests.conftest import aws_env, run_stackgen
from tests.fakes.clock import FakeClock
from tests.fakes.cloudformation import FakeCloudFormation
from tests.stubs import STACK, recorder

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


def test_a_tag_only_change_aws_finds_empty_is_applied_with_update_stack(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    """On AWS a change set holds only the resources that take the stack's tags; with none
    it FAILs as holding no changes. The tags are then set by UpdateStack with the
    previous template and values, instead of the change being reported as none."""
    network = rendered.stacks["network"]
    fake = FakeCloudFormation()
    fake.existing(STACK, network.template, "UPDATE_COMPLETE", parameters=network.parameters,
                  tags={**network.tags, "owner": "old-team"})
    asked: list[str] = []
    deployer = Deployer(rendered, CloudFormation(fake, waits=FakeClock().waits()),
                        Lookups(None), Console(color=False), recorder(asked),
                        DeployOptions(frozenset({"network"})))
    [result] = deployer.run()
    assert fake.stacks[STACK].tags == deployer.tags("network")
    assert fake.stacks[STACK].parameters == network.parameters  # previous values kept
    assert fake.change_sets == {}  # the empty change set was deleted
    assert result.state == "UPDATED"
    assert asked == [f"update the tags of {STACK}?"]
    out = capsys.readouterr().out
    assert "owner: old-team → platform-team" in out
