"""DescribeEvents on the local endpoint (generator/local/emulation/events.py): operations,
FailedEvents, and the deploy's root-cause line taken from it; bare moto has no such API."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from generator.local.manager import Endpoint
from tests.conftest import aws_env, clients, reset
from tests.helpers.inprocess import stackgen

# A service whose capacity provider is not associated with its cluster: ECS refuses it at
# create (CreateService), so the stack fails fast and rolls back.
FAILING = {"Resources": {
    "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "app"}},
    "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "Family": "web", "Cpu": "256", "Memory": "512",
        "ContainerDefinitions": [{"Name": "web", "Image": "nginx:1", "Essential": True}]}},
    "Service": {"Type": "AWS::ECS::Service", "DependsOn": "Cluster", "Properties": {
        "Cluster": "app", "TaskDefinition": {"Ref": "TaskDef"}, "DesiredCount": 1,
        "CapacityProviderStrategy": [{"CapacityProvider": "nope", "Weight": 1}]}}}}


def _create(c: Any, name: str) -> None:
    cs = c.cloudformation.create_change_set(StackName=name, ChangeSetName=f"cs{time.monotonic_ns()}",
                                            ChangeSetType="CREATE", TemplateBody=json.dumps(FAILING))
    with contextlib.suppress(ClientError, ResponseParserError):  # bare moto: HTTP 500 mid-operation
        c.cloudformation.execute_change_set(ChangeSetName=cs["Id"])


def test_failed_events_of_the_failed_operation(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    _create(c, "app")
    events = c.cloudformation.describe_events(StackName="app")["OperationEvents"]
    kinds = [e["OperationType"] for e in reversed(events) if e["EventType"] == "STACK_EVENT"]
    assert kinds[:2] == ["CREATE_CHANGESET", "CREATE_STACK"] and kinds[-1] == "ROLLBACK"
    by_op = {e["OperationType"]: e["OperationStatus"] for e in events}
    assert by_op["CREATE_STACK"] == "FAILED" and by_op["ROLLBACK"] == "SUCCEEDED"
    failed = c.cloudformation.describe_events(StackName="app", Filters={"FailedEvents": True})
    assert [(e["LogicalResourceId"], e["EventType"]) for e in failed["OperationEvents"]] == [
        ("Service", "PROVISIONING_ERROR")]
    op = failed["OperationEvents"][0]["OperationId"]
    same = c.cloudformation.describe_events(OperationId=op)["OperationEvents"]
    assert {e["OperationId"] for e in same} == {op} and len(same) >= 2


def test_bare_moto_has_no_describe_events(bare_endpoint: str) -> None:
    reset(bare_endpoint)
    c = clients(bare_endpoint)
    _create(c, "app")
    with pytest.raises((ClientError, ResponseParserError)):
        c.cloudformation.describe_events(StackName="app", Filters={"FailedEvents": True})


def test_the_deploys_root_cause_is_what_describe_events_returns(project: Path, endpoint: Endpoint,
                                                                aws: Any) -> None:
    # --no-forecast: the forecast would refuse this before the endpoint sees it.
    result = stackgen(["--no-color", "deploy", "--env", "local", "--yes", "--no-forecast",
                           "--set", "ecs.memory_mib=4096"], cwd=project, env=aws_env(endpoint))
    assert result.returncode == 1, result.stdout + result.stderr
    c = aws
    ecs = next(s["StackName"] for s in c.cloudformation.describe_stacks()["Stacks"]
               if s["StackName"].endswith("-ecs"))
    failed = c.cloudformation.describe_events(StackName=ecs, Filters={"FailedEvents": True})
    causes = [e for e in failed["OperationEvents"] if e["EventType"] == "PROVISIONING_ERROR"]
    assert causes, failed
    root = result.stdout[result.stdout.index("root cause"):]
    for cause in causes:
        assert cause["ResourceStatusReason"] in root, (cause, root)
