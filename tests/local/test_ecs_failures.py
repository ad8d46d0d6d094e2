"""Why a task did not start or a service's tasks could not be placed, as ECS says it
(issue 25): RunTask's ``failures`` and its refusal of a cluster without instances, and a
service that failed to place its tasks still readable (INACTIVE) with its event. Each
seen on our endpoint and missing on bare moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.local.manager import Endpoint
from tests.conftest import aws_env
from tests.helpers.inprocess import stackgen
from tests.local.test_emulation import _change_set, _ec2_cluster, ecs_stack, target

__all__ = ["target"]  # the fixed/bare endpoint fixture, shared with test_emulation

TASK = [{"name": "web", "image": "nginx:1", "essential": True, "cpu": 256, "memory": 65536}]


def _cluster_with_one_instance(c: Any) -> str:
    """What the ECS agent does at boot: the instance registers with the cluster."""
    c.ecs.create_cluster(clusterName="app")
    instance = c.ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1,
                                   InstanceType="t3.micro")["Instances"][0]["InstanceId"]
    return str(c.ecs.register_container_instance(cluster="app", instanceIdentityDocument=json.dumps(
        {"instanceId": instance, "region": "us-east-1"}))["containerInstance"][
            "containerInstanceArn"])


def _register_td(c: Any) -> str:
    return str(c.ecs.register_task_definition(family="big", containerDefinitions=TASK)[
        "taskDefinition"]["taskDefinitionArn"])


def test_run_task_that_fits_no_instance_answers_failures_naming_the_resource(
        target: tuple[Any, bool]) -> None:
    c, fixed = target
    instance = _cluster_with_one_instance(c)  # a t3.micro: the task asks 64 GiB
    td = _register_td(c)
    answer = c.ecs.run_task(cluster="app", taskDefinition=td, count=1, launchType="EC2")
    assert answer["tasks"] == []
    if fixed:
        assert answer["failures"] == [{"arn": instance, "reason": "RESOURCE:MEMORY"}]
    else:
        assert answer["failures"] == []  # moto: neither tasks nor a reason


def test_run_task_in_a_cluster_without_instances_is_refused_as_ecs_does(
        target: tuple[Any, bool]) -> None:
    c, fixed = target
    c.ecs.create_cluster(clusterName="empty")
    td = _register_td(c)
    with pytest.raises(ClientError) as refused:
        c.ecs.run_task(cluster="empty", taskDefinition=td, count=1, launchType="EC2")
    error = refused.value.response["Error"]
    if fixed:
        assert error["Code"] == "InvalidParameterException"
        assert error["Message"] == "No Container Instances were found in your cluster."
    else:
        assert error["Code"] != "InvalidParameterException"  # moto: HTTP 500


def test_a_service_that_could_not_place_its_tasks_stays_readable_with_its_event(
        target: tuple[Any, bool]) -> None:
    """The create rolls back and the service is deleted; ECS still describes it, INACTIVE,
    with the event that says why, and the failed stack event names it (its ARN)."""
    c, fixed = target
    _ec2_cluster(c, "t3.micro")
    status = _change_set(c, "ecs", ecs_stack(memory=2048), params={"ClusterName": "app"})
    failed = [e for e in c.cloudformation.describe_stack_events(StackName="ecs")["StackEvents"]
              if e["LogicalResourceId"] == "Service" and e["ResourceStatus"] == "CREATE_FAILED"]
    if not fixed:  # moto places nothing: the create completes, no event says anything
        assert status == "CREATE_COMPLETE" and failed == []
        return
    assert status == "ROLLBACK_COMPLETE"
    arn = failed[0]["PhysicalResourceId"]
    assert arn.startswith("arn:aws:ecs:us-east-1:") and ":service/" in arn
    service = c.ecs.describe_services(cluster="app", services=[arn])["services"][0]
    assert service["status"] == "INACTIVE"
    message = service["events"][0]["message"]
    assert message.startswith(f"(service {service['serviceName']}) was unable to place a task "
                              "because no container instance met all of its requirements.")
    assert "has insufficient memory available" in message


def test_a_placement_failure_on_deploy_gets_the_diagnosis_lines(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    # --no-forecast: the forecast (F101) would refuse this before the endpoint sees it.
    result = stackgen(["--no-color", "deploy", "--env", "local", "--yes", "--no-forecast",
                           "--set", "ecs.memory_mib=4096"], cwd=project, env=aws_env(endpoint))
    assert result.returncode == 1, result.stdout + result.stderr
    root_cause = result.stdout[result.stdout.index("root cause"):]
    assert "diagnosis: service event: (service " in root_cause, root_cause
    assert "was unable to place a task because no container instance met all of its " \
        "requirements" in root_cause.split("diagnosis: service event:", 1)[1]
