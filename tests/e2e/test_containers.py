"""ECS tasks run in Docker on the local endpoint (issue 21; emulation/containers.py,
emulation/albproxy.py, the service deployment in emulation/ecs_containers.py).

Tests marked `docker` need a daemon: skipped without one, FAILED under CI=true (conftest).
Their images are built offline (tests/images.py)."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.local.emulation import containers
from generator.local.emulation.containers_spec import create_args, dependency_state, order
from generator.local.emulation.ecs_containers import circuit_breaker_threshold
from generator.local.manager import Endpoint, LocalEndpoint, UnsafeState, containers_mode, free_port
from tests import images
from tests.conftest import clients, need_docker, run_stackgen
from tests.helpers.http import get

TMPFS = {"containerPath": "/tmp", "size": 64, "mountOptions": ["nosuid", "nodev", "mode=1777"]}
WEB = {
    "name": "web", "image": "app:1", "essential": True, "user": "1000:1000",
    "readonlyRootFilesystem": True, "memory": 256, "stopTimeout": 30,
    "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]},
                        "tmpfs": [TMPFS]},
    "portMappings": [{"containerPort": 8080, "hostPort": 80, "protocol": "tcp"}],
    "environment": [{"name": "DB_PORT", "value": "5432"}],
    "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:...:password::"}],
    "healthCheck": {"command": ["CMD-SHELL", "wget -q -O- localhost:8080/"], "interval": 10,
                    "timeout": 5, "retries": 3, "startPeriod": 20},
    "command": ["start"],
}


# --- the task definition as Docker arguments (no daemon needed) ----------------------------


def test_a_container_definition_becomes_docker_create_arguments() -> None:
    args, ports = create_args("n", WEB, {}, "net", {"l": "v"}, ["DB_PASSWORD"], time_scale=10)
    joined = " ".join(args)
    assert "--read-only" in args and args[args.index("--user") + 1] == "1000:1000"
    assert args[args.index("--cap-drop") + 1] == "ALL" and "--init" in args
    assert "--tmpfs /tmp:size=64m,nosuid,nodev,mode=1777" in joined
    assert f"-p 127.0.0.1:{ports[8080]}:8080/tcp" in joined and ports[8080] != 80
    assert "-e DB_PORT=5432" in joined
    # the secret by name only: its value comes from the docker process's environment
    assert args[args.index("DB_PASSWORD") - 1] == "-e" and "DB_PASSWORD=" not in joined
    assert "--health-cmd wget -q -O- localhost:8080/" in joined
    assert "--health-interval 1s" in joined and "--health-retries 3" in joined
    assert args[-2:] == ["app:1", "start"]
    assert "--stop-timeout 30" in joined and "--memory 256m" in joined


def test_scratch_volumes_and_entry_point() -> None:
    definition = {"name": "w", "image": "i", "entryPoint": ["sh", "-c"], "command": ["exit 7"],
                  "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/tmp"}]}
    args, _ = create_args("n", definition, {"scratch": {"name": "scratch"}}, "net", {}, [])
    assert "type=volume,target=/tmp" in args
    assert args[args.index("--entrypoint") + 1] == "sh" and args[-3:] == ["i", "-c", "exit 7"]


def test_depends_on_conditions() -> None:
    assert dependency_state("START", "RUNNING", None, "UNKNOWN") is True
    assert dependency_state("COMPLETE", "RUNNING", None, "UNKNOWN") is None
    assert dependency_state("SUCCESS", "STOPPED", 0, "UNKNOWN") is True
    assert dependency_state("SUCCESS", "STOPPED", 3, "UNKNOWN") is False
    assert dependency_state("HEALTHY", "RUNNING", None, "HEALTHY") is True
    assert dependency_state("HEALTHY", "RUNNING", None, "UNHEALTHY") is False
    started = order([{"name": "web", "dependsOn": [{"containerName": "init",
                                                    "condition": "SUCCESS"}]},
                     {"name": "init"}])
    assert [c["name"] for c in started] == ["init", "web"]


def test_circuit_breaker_threshold_is_ecs_formula() -> None:
    # API reference, ServiceDeploymentCircuitBreaker: 0.5 x desired, at least 3, at most 200
    assert [circuit_breaker_threshold(n) for n in (1, 6, 9, 1000)] == [3, 3, 5, 200]


def test_containers_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKGEN_LOCAL_CONTAINERS", "sometimes")
    with pytest.raises(UnsafeState, match="auto, on, off"):
        containers_mode(None)
    monkeypatch.setenv("STACKGEN_LOCAL_CONTAINERS", "off")
    assert containers_mode(None) == "off"
    monkeypatch.setattr(containers, "DOCKER", "/nonexistent/docker")
    assert containers_mode("auto") == "off"
    with pytest.raises(Exception, match="no Docker daemon answers"):
        containers_mode("on")


# --- tasks in Docker through the ECS API (RunTask) ---------------------------------------


@pytest.fixture(scope="module")
def docker_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    need_docker()
    manager = LocalEndpoint(tmp_path_factory.mktemp("containers-endpoint"))
    running, _ = manager.up(port=free_port(), containers="on")
    try:
        yield running
    finally:
        manager.down()


class Ecs:
    def __init__(self, url: str) -> None:
        c = clients(url)
        self.ecs, self.logs, self.sm, self.ec2 = c.ecs, c.logs, c.secretsmanager, c.ec2
        name = f"t{time.monotonic_ns()}"
        self.cluster = self.ecs.create_cluster(clusterName=name)["cluster"]["clusterName"]
        self.group = f"/test/{name}"
        self.logs.create_log_group(logGroupName=self.group)
        vpc = self.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        # bare moto gives an awsvpc task an interface only where DNS hostnames are on
        self.ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        self.network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": []}}
        # The cluster's stopped tasks as ECS tells them: EventBridge to a queue, whose
        # long poll blocks until one is there (no DescribeTasks loop, no sleeping).
        self.sqs, self.events = c.sqs, c.events
        self.queue = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        cluster_arn = self.ecs.describe_clusters(clusters=[name])["clusters"][0]["clusterArn"]
        rule = self.events.put_rule(Name=name, EventPattern=json.dumps({
            "source": ["aws.ecs"], "detail-type": ["ECS Task State Change"],
            "detail": {"clusterArn": [cluster_arn], "lastStatus": ["STOPPED"]}}))["RuleArn"]
        self.sqs.set_queue_attributes(QueueUrl=self.queue, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage", "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}]})})
        self.events.put_targets(Rule=name, Targets=[{"Id": "stopped", "Arn": queue_arn}])

    def run(self, containers_: list[dict[str, Any]], arch: str = "X86_64",
            network_mode: str = "awsvpc") -> dict[str, Any]:
        for c in containers_:
            c.setdefault("essential", True)
            c["logConfiguration"] = {"logDriver": "awslogs", "options": {
                "awslogs-group": self.group, "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "p"}}
        td = self.ecs.register_task_definition(
            family="f", containerDefinitions=containers_, networkMode=network_mode, cpu="256",
            memory="512", requiresCompatibilities=["FARGATE"],
            runtimePlatform={"cpuArchitecture": arch, "operatingSystemFamily": "LINUX"},
        )["taskDefinition"]["taskDefinitionArn"]
        network = {"networkConfiguration": self.network} if network_mode == "awsvpc" else {}
        task = self.ecs.run_task(cluster=self.cluster, taskDefinition=td, launchType="FARGATE",
                                 **network)["tasks"][0]
        return dict(task)

    def stop_events(self, wait_seconds: int = 20) -> list[dict[str, Any]]:
        """The ECS Task State Change events (STOPPED) that arrive within ``wait_seconds``."""
        got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=wait_seconds)
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]

    def stopped(self, task: dict[str, Any], seconds: float = 90) -> dict[str, Any]:
        """The task once ECS says it stopped (its event), as DescribeTasks shows it."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            events = self.stop_events()
            if any(e["detail"]["taskArn"] == task["taskArn"] for e in events):
                found = self.ecs.describe_tasks(cluster=self.cluster,
                                                tasks=[task["taskArn"]])["tasks"]
                assert found and found[0]["lastStatus"] == "STOPPED", found
                return dict(found[0])
        raise AssertionError(f"no ECS Task State Change (STOPPED) for {task['taskArn']}")

    def lines(self, task: dict[str, Any], container: str) -> list[str]:
        stream = f"p/{container}/{task['taskArn'].split('/')[-1]}"
        events = self.logs.get_log_events(logGroupName=self.group, logStreamName=stream)
        return [e["message"] for e in events["events"]]


@pytest.mark.docker
def test_run_task_runs_the_container_with_its_secret(docker_endpoint: Endpoint) -> None:
    api = Ecs(docker_endpoint.url)
    secret = api.sm.create_secret(Name=f"s{time.monotonic_ns()}",
                                  SecretString=json.dumps({"password": "s3cret"}))["ARN"]
    task = api.run([{
        "name": "main", "image": images.app(), "readonlyRootFilesystem": True,
        "command": ["sh", "-c", 'echo "hello from the task"; [ "$PW" = s3cret ] || exit 3'],
        "secrets": [{"name": "PW", "valueFrom": f"{secret}:password::"}]}])
    done = api.stopped(task)
    assert done["stoppedReason"] == "Essential container in task exited"
    assert done["stopCode"] == "EssentialContainerExited"
    assert [(c["name"], c["exitCode"]) for c in done["containers"]] == [("main", 0)]
    assert "hello from the task" in api.lines(task, "main")


@pytest.mark.docker
def test_an_init_container_that_fails_keeps_the_app_from_starting(docker_endpoint: Endpoint) -> None:
    api = Ecs(docker_endpoint.url)
    task = api.run([
        {"name": "web", "image": images.app(), "command": ["sh", "-c", "echo started; sleep 30"],
         "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
        {"name": "init", "image": images.app(), "essential": False,
         "command": ["sh", "-c", "exit 3"]}])
    done = api.stopped(task)
    codes = {c["name"]: c.get("exitCode") for c in done["containers"]}
    assert codes == {"init": 3, "web": None}  # web never started


@pytest.mark.docker
def test_an_image_not_here_fails_with_cannot_pull(docker_endpoint: Endpoint,
                                                  bare_endpoint: str) -> None:
    image = "registry.invalid/nothing:here"
    api = Ecs(docker_endpoint.url)
    done = api.stopped(api.run([{"name": "main", "image": image}]))
    assert done["stoppedReason"].startswith("CannotPullContainerError")
    assert image in done["stoppedReason"] and done["stopCode"] == "TaskFailedToStart"
    # bare moto: the task "runs" whatever its image
    bare = Ecs(bare_endpoint)
    task = bare.run([{"name": "main", "image": image, "memory": 128}])
    assert task["lastStatus"] == "RUNNING" and not task.get("stoppedReason")
    # and it sends no ECS Task State Change event, even for a task stopped by hand
    bare.ecs.stop_task(cluster=bare.cluster, task=task["taskArn"])
    assert bare.stop_events(wait_seconds=1) == []


@pytest.mark.docker
def test_an_image_of_another_architecture_fails_as_on_fargate(docker_endpoint: Endpoint) -> None:
    api = Ecs(docker_endpoint.url)
    done = api.stopped(api.run([{"name": "main", "image": images.app_arm64()}]))
    assert done["stoppedReason"].startswith("CannotPullContainerError")
    assert "descriptor matching platform 'linux/amd64'" in done["stoppedReason"]


# --- the done-when: deploy with containers, the URL, logs, a failing revision -----------------


@pytest.mark.docker
def test_deploy_runs_the_app_and_a_failing_revision_rolls_back(project: Path) -> None:
    app, exits_7, bootstrap = images.app(), images.app_exits_7(), images.psql_standin()
    port = free_port()
    env = {**os.environ, "STACKGEN_LOCAL_CONTAINERS": "on"}
    up = run_stackgen(["local", "up", "--port", str(port)], project, env=env)
    assert up.returncode == 0, up.stderr
    assert "containers: on" in up.stdout
    # The psql stand-in and DB_SSL_REQUIRE=false: this test is about the containers, not
    # the DB (tests/test_containers_db.py runs the real bootstrap against the real DB).
    sets = ["--set", f"rds.bootstrap_image={bootstrap}",
            "--set", "ecs.container.environment.DB_SSL_REQUIRE=false"]
    try:
        first = run_stackgen(["deploy", "--env", "local", "--yes", "--set",
                              f"ecs.container.image={app}", *sets], project, env=env,
                             timeout=300)
        assert first.returncode == 0, first.stdout + first.stderr
        urls = re.findall(r"local URL: (http://\S+) \(HTTPS:443", first.stdout)
        assert urls, first.stdout
        status, page = get(urls[0])
        assert status == 200 and images.PAGE in page
        logs = run_stackgen(["logs", "--env", "local", "--since", "10m"], project, env=env)
        assert images.START_LINE in logs.stdout, logs.stdout + logs.stderr

        bad = run_stackgen(["deploy", "--env", "local", "--yes", "--set",
                            f"ecs.container.image={exits_7}", *sets], project, env=env,
                           timeout=300)
        assert bad.returncode != 0, bad.stdout + bad.stderr
        assert "Circuit Breaker" in bad.stdout
        assert "container web exited with code 7" in bad.stdout
        status, page = get(urls[0])  # the previous revision, at the same URL
        assert status == 200 and images.PAGE in page
    finally:
        run_stackgen(["local", "down"], project, env=env)


def test_local_up_and_status_say_containers_are_off(project: Path) -> None:
    env = {**os.environ, "STACKGEN_LOCAL_CONTAINERS": "off"}
    up = run_stackgen(["local", "up", "--port", str(free_port())], project, env=env)
    try:
        assert up.returncode == 0, up.stderr
        assert "containers: off" in up.stdout
        status = run_stackgen(["local", "status"], project, env=env)
        assert "containers: off" in status.stdout
        # the running endpoint's setting is kept: asking for another one is refused
        again = run_stackgen(["local", "up", "--containers", "on"], project, env=env)
        assert again.returncode != 0 and "already runs with containers off" in again.stderr
    finally:
        run_stackgen(["local", "down"], project, env=env)
