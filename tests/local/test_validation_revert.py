"""Issue 26 end to end on the local endpoint: CloudFormation's pre-deployment validation in
the plan (a log group made by hand under the template's name), adoption with
--adopt-existing, and --revert-drift putting a hand-added ingress rule back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import aws_env
from tests.helpers.hand_changes import open_load_balancer_group
from tests.helpers.inprocess import stackgen

FLOW_LOGS = ("--set", "network.flow_logs.enabled=true")
TAKEN = "/stackgen-test/FlowLogGroup"


def _named_log_groups(project: Path) -> None:
    """The fixture: the log-group partial gives each group a static name."""
    partial = project / "templates" / "partials" / "log_group.j2"
    text = partial.read_text()
    partial.write_text(text.replace(
        "  Properties:\n", "  Properties:\n    LogGroupName: /stackgen-test/{{ id }}\n", 1))


def _run(project: Path, endpoint: Endpoint, *args: str) -> Any:
    return stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint))


def test_a_taken_log_group_name_is_a_validation_finding_then_adopted(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    _named_log_groups(project)
    aws.logs.create_log_group(logGroupName=TAKEN)  # by hand, outside any stack
    aws.logs.create_log_stream(logGroupName=TAKEN, logStreamName="kept")

    planned = _run(project, endpoint, "plan", "--env", "local", "--stack", "network",
                   "--format", "json", "--markdown", "review.md", *FLOW_LOGS)
    assert planned.returncode == 1, planned.stdout + planned.stderr
    [network] = json.loads(planned.stdout)["stacks"]
    [finding] = network["validation"]
    assert (finding["logical_id"], finding["mode"], finding["path"]) == (
        "FlowLogGroup", "FAIL", "/Resources/FlowLogGroup/Properties/LogGroupName")
    assert "--adopt-existing" in finding["fix"]
    [row] = [r for r in network["resources"] if r["logical_id"] == "FlowLogGroup"]
    assert row["validation"] and TAKEN in row["validation"][0]
    assert "pre-deployment validation failed" in planned.stderr
    assert "FlowLogGroup" in (project / "review.md").read_text()
    stacks = aws.cloudformation.list_stacks()["StackSummaries"]
    assert not [s for s in stacks if s["StackStatus"].endswith("_COMPLETE")
                and s["StackStatus"] != "DELETE_COMPLETE"]  # nothing executed

    text = _run(project, endpoint, "plan", "--env", "local", "--stack", "network", *FLOW_LOGS)
    assert "validation FlowLogGroup: FAIL NAME_CONFLICT_VALIDATION" in text.stdout

    refused = _run(project, endpoint, "deploy", "--env", "local", "--stack", "network",
                   "--yes", *FLOW_LOGS)
    assert refused.returncode == 1
    assert TAKEN in refused.stdout + refused.stderr

    adopted = _run(project, endpoint, "deploy", "--env", "local", "--stack", "network",
                   "--yes", "--adopt-existing", *FLOW_LOGS)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    resources = aws.cloudformation.describe_stack_resources(
        StackName="kubenews-local-network")["StackResources"]
    # (moto lists one resource of a flow-log stack without a logical id: .get)
    assert {r.get("LogicalResourceId"): r.get("PhysicalResourceId") for r in resources}[
        "FlowLogGroup"] == TAKEN
    streams = aws.logs.describe_log_streams(logGroupName=TAKEN)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["kept"]


def test_revert_drift_puts_a_hand_added_rule_back(project: Path, endpoint: Endpoint,
                                                  aws: Any) -> None:
    deployed = _run(project, endpoint, "deploy", "--env", "local", "--yes")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    open_load_balancer_group(aws)
    assert _run(project, endpoint, "drift", "--env", "local", "--fail").returncode == 1

    planned = _run(project, endpoint, "plan", "--env", "local", "--revert-drift",
                   "--no-drift", "--format", "json")
    assert planned.returncode == 0, planned.stderr
    plans = {s["stack"]: s for s in json.loads(planned.stdout)["stacks"]}
    [row] = plans["network"]["resources"]
    assert row["logical_id"] == "AlbSecurityGroup"
    assert any('"FromPort": 22' in d and "put back" in d for d in row["drift"])
    assert plans["dns"]["state"] == "unchanged"

    reverted = _run(project, endpoint, "deploy", "--env", "local", "--yes", "--revert-drift")
    assert reverted.returncode == 0, reverted.stdout + reverted.stderr
    clean = _run(project, endpoint, "drift", "--env", "local", "--fail")
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_revert_drift_is_refused_for_the_nested_form_before_any_call(project: Path) -> None:
    result = stackgen(["plan", "--env", "local", "--nested", "--revert-drift"],
                          cwd=project, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert result.returncode == 2
    assert "--revert-drift does not work with the nested form" in result.stderr
    assert "Traceback" not in result.stderr
