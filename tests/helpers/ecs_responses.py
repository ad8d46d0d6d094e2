"""Helpers shared by the tests split from test_ecs_stubbed.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from generator.aws.cfn import CloudFormation
from generator.params import load_env
from generator.render import Rendered, render
from tests.conftest import ROOT
from tests.stubs import offline_client

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
CLUSTER = "kubenews-dev"
SERVICE = "kubenews-dev-ecs-Service-7QX2LQ5T0JZ1"
SERVICE_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/{CLUSTER}/{SERVICE}"
TD_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/kubenews-dev-app:7"
MIGRATE_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/kubenews-dev-migrate:3"
TASK_ID = "0f4a9d3e8b6c4a51a1e2d3c4b5a69788"
TASK_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/{CLUSTER}/{TASK_ID}"
GROUP = "kubenews-dev-ecs-LogGroup-1HQ2W3E4R5T6"
TG_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/kubenews-dev-app/0123456789abcdef"


def _client(service: str) -> Any:
    return offline_client(service)


def _task_definition(name: str = "web", family: str = "kubenews-dev-app",
                     arn: str = TD_ARN) -> dict[str, Any]:
    return {"taskDefinition": {
        "taskDefinitionArn": arn, "family": family, "revision": 7, "status": "ACTIVE",
        "networkMode": "bridge",
        "containerDefinitions": [{
            "name": name, "image": "docker.io/pedroheeger/curso116_kube-news:v2",
            "cpu": 128, "memory": 256, "essential": True,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": GROUP, "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": name}}}]}}


def _stopped_task(exit_code: int | None, reason: str, container_reason: str = "",
                  task_arn: str = TASK_ARN, name: str = "web") -> dict[str, Any]:
    container: dict[str, Any] = {
        "containerArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:container/{CLUSTER}/{TASK_ID}/c1",
        "taskArn": task_arn, "name": name, "lastStatus": "STOPPED"}
    if exit_code is not None:
        container["exitCode"] = exit_code
    if container_reason:
        container["reason"] = container_reason
    return {"taskArn": task_arn, "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{CLUSTER}",
            "taskDefinitionArn": TD_ARN, "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
            "stopCode": "EssentialContainerExited", "stoppedReason": reason,
            "createdAt": T0, "stoppedAt": T0 + timedelta(seconds=40),
            "containers": [container]}


# --- item 4: failures diagnosed to the task ------------------------------------------


def _service(rollout: str = "FAILED", running: int = 0, events: list[str] | None = None,
             load_balancers: bool = False) -> dict[str, Any]:
    svc: dict[str, Any] = {
        "serviceArn": SERVICE_ARN, "serviceName": SERVICE,
        "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{CLUSTER}",
        "status": "ACTIVE", "desiredCount": 1, "runningCount": running, "pendingCount": 0,
        "launchType": "EC2", "taskDefinition": TD_ARN,
        "deployments": [{
            "id": "ecs-svc/8273645190283746512", "status": "PRIMARY", "taskDefinition": TD_ARN,
            "desiredCount": 1, "pendingCount": 0, "runningCount": running, "failedTasks": 3,
            "createdAt": T0, "updatedAt": T0, "launchType": "EC2", "rolloutState": rollout,
            "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start."
            if rollout == "FAILED" else "ECS deployment ecs-svc/8273645190283746512 completed."}],
        "events": [{"id": f"ev{i}", "createdAt": T0 - timedelta(seconds=i), "message": m}
                   for i, m in enumerate(events or [])],
    }
    if load_balancers:
        svc["loadBalancers"] = [{"targetGroupArn": TG_ARN, "containerName": "web",
                                 "containerPort": 8080}]
    return svc


@pytest.fixture(scope="module")
def dev() -> Rendered:
    return render(load_env(ROOT / "params", "dev"), ROOT / "templates")


class _Aws:
    """The parts of ``Aws`` the hooks use, with stubbed clients."""

    def __init__(self, cfn: Any, clients: Mapping[str, Any]) -> None:
        self.cfn = CloudFormation(cfn, sleep=lambda _: None)
        self._clients = clients
        self.account = ACCOUNT

        class _Route:
            endpoint_url = None
        self.route = _Route()

    def client(self, service: str) -> Any:
        return self._clients[service]


LAUNCH = {"launchType": "FARGATE", "networkConfiguration": {"awsvpcConfiguration": {
    "subnets": ["subnet-0a1b2c3d4e5f60718"], "securityGroups": ["sg-0123456789abcdef0"],
    "assignPublicIp": "DISABLED"}}}
