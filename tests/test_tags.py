"""Stack tags are desired state (issue 11, defect 4): a tag-only change is planned,
diffed and applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from generator.aws.cfn import CloudFormation
from generator.deploy.engine import Deployer
from generator.deploy.stack_work import DeployOptions
from generator.local.manager import Endpoint
from generator.references import Lookups
from generator.render import Rendered
from generator.ui import Console
from tests.conftest import aws_env, run_stackgen
from tests.stubs import CS_ID, STACK, STACK_ID, T0, recorder, stubbed_cfn

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
    assert diff.returncode == 0, diff.stderr
    assert "tag owner: platform-team → new-team" in diff.stdout
    assert "no differences" not in diff.stdout


def _deployed(tags: dict[str, str], status: str = "UPDATE_COMPLETE") -> dict[str, Any]:
    return {"StackName": STACK, "StackId": STACK_ID, "StackStatus": status,
            "CreationTime": T0, "Parameters": [{"ParameterKey": "VpcCidr",
                                                "ParameterValue": "10.0.0.0/16"}],
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def test_a_tag_only_change_aws_finds_empty_is_applied_with_update_stack(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    """On AWS a change set holds only the resources that take the stack's tags; with none
    it FAILs as holding no changes. The tags are then set by UpdateStack with the
    previous template and values, instead of the change being reported as none."""
    wanted = dict(rendered.stacks["network"].tags)
    old = {**wanted, "owner": "old-team"}
    client = stubbed_cfn()
    asked: list[str] = []
    deployer = Deployer(rendered, CloudFormation(client, sleep=lambda _: None), Lookups(None),
                        Console(color=False), recorder(asked),
                        DeployOptions(frozenset({"network"})))
    sent = [{"Key": k, "Value": v} for k, v in deployer.tags("network").items()]
    with Stubber(client) as stub:
        stub.add_response("describe_stacks", {"Stacks": [_deployed(old)]}, {})
        stub.add_response("get_template", {"TemplateBody": rendered.stacks["network"].template},
                          {"StackName": STACK, "TemplateStage": "Original"})
        stub.add_response("list_change_sets", {"Summaries": []}, {"StackName": STACK})
        stub.add_response("create_change_set", {"Id": CS_ID, "StackId": STACK_ID}, None)
        stub.add_response("describe_change_set", {
            "ChangeSetId": CS_ID, "StackId": STACK_ID, "StackName": STACK, "Status": "FAILED",
            "ExecutionStatus": "UNAVAILABLE",
            "StatusReason": "The submitted information didn't contain changes. Submit "
                            "different information to create a change set."},
            {"ChangeSetName": CS_ID, "IncludePropertyValues": True})
        stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
        stub.add_response("describe_stacks", {"Stacks": [_deployed(old)]}, {"StackName": STACK})
        stub.add_response("update_stack", {"StackId": STACK_ID}, {
            "StackName": STACK, "UsePreviousTemplate": True,
            "Parameters": [{"ParameterKey": "VpcCidr", "UsePreviousValue": True}],
            "Capabilities": ANY, "Tags": sent})
        stub.add_response("describe_stacks", {"Stacks": [_deployed(wanted)]},
                          {"StackName": STACK})
        [result] = deployer.run()
        stub.assert_no_pending_responses()
    assert result.state == "UPDATED"
    assert asked == [f"update the tags of {STACK}?"]
    out = capsys.readouterr().out
    assert "owner: old-team → platform-team" in out
