"""Why a task did not start or a service's tasks could not be placed, as ECS says it
(issue 25): RunTask's ``failures`` and its refusal of a cluster without instances, and a
service that failed to place its tasks still readable (INACTIVE) with its event. Each
seen on our endpoint and missing on bare moto."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.test_emulation import target

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
