"""`apply` executes exactly the change sets the plan reviewed (issue 22, item 1).

The plan records each change set's ARN, its stack and digests of the template,
parameters and tags it held; `apply` reads the change set back from AWS and refuses,
before executing anything, one that differs: the tamper cases of the issue, reproduced
on the local endpoint. Also: the local endpoint reads a change set back as AWS does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.local.manager import Endpoint
from tests.conftest import aws_env, clients, reset
from tests.helpers.inprocess import stackgen

FOREIGN_ROLE = {"Type": "AWS::IAM::Role", "Properties": {
    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "sts:AssumeRole"}]},
    "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}}


def _run(project: Path, endpoint: Endpoint, *args: str) -> Any:
    return stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint))


def _planned(project: Path, endpoint: Endpoint) -> dict[str, Any]:
    deployed = _run(project, endpoint, "deploy", "--env", "local", "--yes")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    made = _run(project, endpoint, "plan", "--env", "local", "--set",
                "ecs.log_retention_days=14", "--out", "p.json")
    assert made.returncode == 0, made.stdout + made.stderr
    plan: dict[str, Any] = json.loads((project / "p.json").read_text())
    return plan


def _hand_made_change_set(aws: Any, stack_name: str) -> str:
    """What an attacker with CreateChangeSet makes: the stack's template plus a role
    that trusts a foreign account, everything else as deployed."""
    cfn = aws.cloudformation
    body = cfn.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    from generator.yamlsrc import load_cfn
    template = load_cfn(body)
    template["Resources"]["Backdoor"] = FOREIGN_ROLE
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    made = cfn.create_change_set(
        StackName=stack_name, ChangeSetName="handmade", ChangeSetType="UPDATE",
        TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
                    for p in stack.get("Parameters", [])],
        Tags=stack.get("Tags", []))
    return str(made["Id"])


def _roles(aws: Any) -> set[str]:
    return {r["RoleName"] for r in aws.iam.list_roles()["Roles"]}


def _retention(aws: Any) -> set[int]:
    return {g.get("retentionInDays", 0) for g in aws.logs.describe_log_groups()["logGroups"]}


def _tamper(project: Path, plan: dict[str, Any], stack: str, arn: str,
            record_too: bool) -> None:
    entry = next(s for s in plan["stacks"] if s["stack"] == stack)
    entry["change_set_id"] = arn
    if record_too:  # the attacker also rewrites what the plan says it reviewed
        entry.setdefault("reviewed", {})["arn"] = arn
    for s in plan["stacks"]:  # and hides the change from every guard the file holds
        s["resources"] = [r for r in s["resources"] if r["resource_type"] != "AWS::IAM::Role"]
    (project / "p.json").write_text(json.dumps(plan, indent=2))


@pytest.mark.parametrize("record_too", [False, True])
def test_apply_refuses_a_change_set_of_another_stack(project: Path, endpoint: Endpoint,
                                                     aws: Any, record_too: bool) -> None:
    plan = _planned(project, endpoint)
    network = next(s for s in plan["stacks"] if s["stack"] == "network")["stack_name"]
    before_roles, before_retention = _roles(aws), _retention(aws)
    _tamper(project, plan, "ecs", _hand_made_change_set(aws, network), record_too)

    applied = _run(project, endpoint, "apply", "p.json", "--yes")

    out = applied.stdout + applied.stderr
    assert applied.returncode != 0, out
    assert "ecs" in out and "is not the one reviewed" in out
    assert f"belongs to stack {network}" in out
    assert "nothing was executed" in out
    assert _roles(aws) == before_roles  # the backdoor role was never created
    assert _retention(aws) == before_retention  # nor the reviewed change executed


def test_apply_refuses_a_swapped_change_set_on_the_same_stack(project: Path,
                                                              endpoint: Endpoint,
                                                              aws: Any) -> None:
    plan = _planned(project, endpoint)
    ecs = next(s for s in plan["stacks"] if s["stack"] == "ecs")
    before_roles, before_retention = _roles(aws), _retention(aws)
    _tamper(project, plan, "ecs", _hand_made_change_set(aws, ecs["stack_name"]),
            record_too=True)

    applied = _run(project, endpoint, "apply", "p.json", "--yes")

    out = applied.stdout + applied.stderr
    assert applied.returncode != 0, out
    assert "ecs" in out and "is not the one reviewed" in out
    assert "template body differ" in out
    assert _roles(aws) == before_roles
    assert _retention(aws) == before_retention


def test_apply_refuses_a_plan_whose_review_was_edited(project: Path, endpoint: Endpoint,
                                                      aws: Any) -> None:
    """The guards read the live change set: a plan file whose review drops the log
    group's change cannot make the apply do more than it shows."""
    plan = _planned(project, endpoint)
    ecs = next(s for s in plan["stacks"] if s["stack"] == "ecs")
    assert ecs["resources"], "the change must show in the review"
    ecs["resources"] = []
    (project / "p.json").write_text(json.dumps(plan, indent=2))
    before = _retention(aws)

    applied = _run(project, endpoint, "apply", "p.json", "--yes")

    assert applied.returncode != 0, applied.stdout
    assert "review does not show" in applied.stdout
    assert _retention(aws) == before


# --- the endpoint reads a change set back as AWS does -------------------------------


@pytest.fixture(params=["fixed", "bare"])
def target(request: pytest.FixtureRequest, endpoint: Endpoint,
           bare_endpoint: str) -> tuple[Any, bool]:
    url = endpoint.url if request.param == "fixed" else bare_endpoint
    reset(url)
    return clients(url), request.param == "fixed"


def test_get_template_reads_the_named_change_set(target: tuple[Any, bool]) -> None:
    c, fixed = target
    deployed = json.dumps({"Resources": {"A": {"Type": "AWS::SNS::Topic"}}})
    proposed = json.dumps({"Resources": {"B": {"Type": "AWS::SNS::Topic"}}})
    c.cloudformation.create_stack(StackName="readback", TemplateBody=deployed)
    made = c.cloudformation.create_change_set(
        StackName="readback", ChangeSetName="cs", ChangeSetType="UPDATE",
        TemplateBody=proposed, Tags=[{"Key": "team", "Value": "web"}])
    body = c.cloudformation.get_template(StackName="readback", ChangeSetName=made["Id"],
                                         TemplateStage="Original")["TemplateBody"]
    as_text = body if isinstance(body, str) else json.dumps(body)
    assert (json.loads(as_text) == json.loads(proposed)) is fixed
    described = c.cloudformation.describe_change_set(ChangeSetName=made["Id"])
    assert (described.get("Tags") == [{"Key": "team", "Value": "web"}]) is fixed
