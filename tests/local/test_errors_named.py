"""Errors that name the cause, on the local endpoint (issue 25)."""

from __future__ import annotations

from typing import Any

import pytest

# --- status: a rolled-back update is usable, and why it rolled back -------------------

def test_status_shows_a_rolled_back_update_as_usable_with_its_root_cause(
        endpoint: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """UPDATE_ROLLBACK_COMPLETE is a stack that works as before the update (AWS's "last
    known stable state"): not ✗, and the failed update's cause from DescribeEvents."""
    import contextlib
    import json
    import time

    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError

    from generator import run_report
    from generator.aws.cfn import CloudFormation
    from generator.ui import Console
    from tests.conftest import clients, reset

    reset(endpoint.url)
    c = clients(endpoint.url)
    cluster = {"Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "app"}}}
    c.cloudformation.create_stack(StackName="app-ecs",
                                  TemplateBody=json.dumps({"Resources": cluster}))
    # An update adding a service whose capacity provider the cluster lacks: ECS refuses it.
    cs = c.cloudformation.create_change_set(
        StackName="app-ecs", ChangeSetName="add-service", ChangeSetType="UPDATE",
        TemplateBody=json.dumps({"Resources": {
        **cluster,
        "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "web", "Cpu": "256", "Memory": "512",
            "ContainerDefinitions": [{"Name": "web", "Image": "nginx:1", "Essential": True}]}},
        "Service": {"Type": "AWS::ECS::Service", "DependsOn": "Cluster", "Properties": {
            "Cluster": "app", "TaskDefinition": {"Ref": "TaskDef"}, "DesiredCount": 1,
            "CapacityProviderStrategy": [{"CapacityProvider": "nope", "Weight": 1}]}}}}))
    with contextlib.suppress(ClientError, ResponseParserError):
        c.cloudformation.execute_change_set(ChangeSetName=cs["Id"])
    for _ in range(50):
        status = c.cloudformation.describe_stacks(StackName="app-ecs")["Stacks"][0]["StackStatus"]
        if not status.endswith("IN_PROGRESS"):
            break
        time.sleep(0.1)
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    cfn = CloudFormation(c.cloudformation, sleep=lambda s: None)
    names = {"ecs": "app-ecs"}
    deployed = cfn.describe_many(list(names.values()))
    console = Console(color=False)
    run_report.status_table(console, names, deployed)
    run_report.rollbacks(console, cfn, names, deployed)
    out = capsys.readouterr().out
    assert "✗" not in out and "↺ UPDATE_ROLLBACK_COMPLETE (usable)" in out
    assert "ecs: the last update was rolled back; the stack works as it did before it" in out
    assert "Why: Service (AWS::ECS::Service): The specified capacity provider" in out, out

