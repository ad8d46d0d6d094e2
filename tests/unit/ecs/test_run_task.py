"""ECS operations fed responses of the real APIs' shapes (what moto does not show):
stopped tasks with reasons and exit codes, placement failures in service events,
failed rollouts, RDS events, failed scaling activities, a task that exits non-zero
or never stops, target health, and a new task revision registered from the
rendered template."""

from __future__ import annotations

import http.client
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from generator.aws.cfn import CloudFormation
from generator.config import Verify
from generator.deploy.engine import Deployer
from generator.deploy.stack_work import DeployOptions
from generator.ecs import diagnose as diag
from generator.ecs.deploy_hooks import EcsHooks
from generator.ecs.logs import Line, follow
from generator.ecs.ops import launch_settings
from generator.ecs.register import Resolver, Unresolvable, rendered_task_definition
from generator.ecs.run_task import Runner, TaskFailed
from generator.ecs.verify import NotSteady, is_local, verify, wait_steady
from generator.params import load_env
from generator.references import Lookups
from generator.render import Rendered, render
from generator.ui import Console
from tests.conftest import ROOT
from tests.stubs import offline_client, serving

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


PLACEMENT = (f"(service {SERVICE}) was unable to place a task because no container instance "
             "met all of its requirements. The closest matching (container-instance "
             "5f3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d) has insufficient memory available. For more "
             "information, see the Troubleshooting section of the Amazon ECS Developer Guide.")


def test_a_service_that_fails_to_stabilize_is_diagnosed_to_the_stopped_task() -> None:
    ecs, logs = _client("ecs"), _client("logs")
    with Stubber(ecs) as s_ecs, Stubber(logs) as s_logs:
        s_ecs.add_response("describe_services", {"services": [_service(events=[PLACEMENT])],
                                                 "failures": []},
                           {"cluster": CLUSTER, "services": [SERVICE_ARN]})
        s_ecs.add_response("list_tasks", {"taskArns": [TASK_ARN]},
                           {"cluster": CLUSTER, "serviceName": SERVICE_ARN,
                            "desiredStatus": "STOPPED"})
        s_ecs.add_response("describe_tasks", {"tasks": [_stopped_task(
            1, "Essential container in task exited")], "failures": []},
            {"cluster": CLUSTER, "tasks": [TASK_ARN]})
        s_ecs.add_response("describe_task_definition", _task_definition(),
                           {"taskDefinition": TD_ARN})
        s_logs.add_response("get_log_events", {"events": [
            {"timestamp": 1796040000000, "message": "Error: connect ECONNREFUSED 10.0.3.17:5432",
             "ingestionTime": 1796040000100},
            {"timestamp": 1796040000001, "message": "npm ERR! code 1\n",
             "ingestionTime": 1796040000100}],
            "nextForwardToken": "f/1", "nextBackwardToken": "b/1"},
            {"logGroupName": GROUP, "logStreamName": f"web/web/{TASK_ID}", "limit": 5,
             "startFromHead": False})
        notes = diag.diagnose(lambda s: {"ecs": ecs, "logs": logs}[s],
                              {"Service": ("AWS::ECS::Service", SERVICE_ARN)})
        s_ecs.assert_no_pending_responses()
    assert notes == [
        "diagnosis: service kubenews-dev-ecs-Service-7QX2LQ5T0JZ1: deployment "
        "ecs-svc/8273645190283746512 FAILED: ECS deployment circuit breaker: tasks failed to start.",
        f"diagnosis: service event: {PLACEMENT}",
        f"diagnosis: stopped task {TASK_ID}: Essential container in task exited "
        "(EssentialContainerExited)",
        "diagnosis:   container web: exit code 1",
        "diagnosis:   last log lines of web: Error: connect ECONNREFUSED 10.0.3.17:5432 | "
        "npm ERR! code 1",
    ]


def test_an_image_that_cannot_be_pulled_names_the_reason_without_an_exit_code() -> None:
    ecs, logs = _client("ecs"), _client("logs")
    pull = ("CannotPullContainerError: pull image manifest has been retried 5 time(s): "
            "failed to resolve ref docker.io/acme/app:v9: not found")
    with Stubber(ecs) as s_ecs, Stubber(logs) as s_logs:
        s_ecs.add_response("describe_services", {"services": [_service()], "failures": []},
                           {"cluster": CLUSTER, "services": [SERVICE_ARN]})
        s_ecs.add_response("list_tasks", {"taskArns": [TASK_ARN]},
                           {"cluster": CLUSTER, "serviceName": SERVICE_ARN,
                            "desiredStatus": "STOPPED"})
        s_ecs.add_response("describe_tasks", {"tasks": [_stopped_task(
            None, f"CannotPullContainerError: {pull}", pull)]}, {"cluster": CLUSTER,
                                                                 "tasks": [TASK_ARN]})
        s_ecs.add_response("describe_task_definition", _task_definition(),
                           {"taskDefinition": TD_ARN})
        # The container never started: its stream does not exist.
        s_logs.add_client_error("get_log_events", "ResourceNotFoundException",
                                "The specified log stream does not exist.")
        notes = diag.diagnose(lambda s: {"ecs": ecs, "logs": logs}[s],
                              {"Service": ("AWS::ECS::Service", SERVICE_ARN)})
    assert f"diagnosis:   container web: exit code none, reason: {pull}" in notes
    assert not any("last log lines" in n for n in notes)


def test_db_events_and_failed_scaling_activities_are_named() -> None:
    rds, asg = _client("rds"), _client("autoscaling")
    with Stubber(rds) as s_rds, Stubber(asg) as s_asg:
        s_rds.add_response("describe_events", {"Events": [
            {"SourceIdentifier": "kubenews-dev-db", "SourceType": "db-instance",
             "Message": "DB instance restarted", "EventCategories": ["availability"],
             "Date": T0},
            {"SourceIdentifier": "kubenews-dev-db", "SourceType": "db-instance",
             "Message": "The parameter max_connections was set to a value incompatible with "
                        "the instance class, the instance is in incompatible-parameters.",
             "EventCategories": ["configuration change"], "Date": T0}]},
            {"SourceIdentifier": "kubenews-dev-db", "SourceType": "db-instance",
             "StartTime": ANY})
        s_asg.add_response("describe_scaling_activities", {"Activities": [
            {"ActivityId": "a1", "AutoScalingGroupName": "kubenews-dev-asg",
             "Description": "Launching a new EC2 instance.  Status Reason: ...",
             "Cause": "At 2026-11-28T12:00:00Z an instance was started in response to a "
                      "difference between desired and actual capacity.",
             "StartTime": T0, "StatusCode": "Failed",
             "StatusMessage": "We currently do not have sufficient t3.micro capacity in the "
                              "Availability Zone you requested (us-east-1e)."},
            {"ActivityId": "a0", "AutoScalingGroupName": "kubenews-dev-asg",
             "Description": "Launching a new EC2 instance: i-0abc", "Cause": "...",
             "StartTime": T0, "StatusCode": "Successful"}]},
            {"AutoScalingGroupName": "kubenews-dev-asg", "MaxRecords": 20})
        notes = diag.diagnose(lambda s: {"rds": rds, "autoscaling": asg}[s], {
            "DbInstance": ("AWS::RDS::DBInstance", "kubenews-dev-db"),
            "AutoScalingGroup": ("AWS::AutoScaling::AutoScalingGroup", "kubenews-dev-asg")})
    assert any("sufficient t3.micro capacity" in n and "Failed" in n for n in notes)
    assert not any("i-0abc" in n for n in notes)
    assert any("incompatible-parameters" in n for n in notes)


def test_a_diagnosis_that_cannot_be_made_is_a_note_not_an_error() -> None:
    ecs = _client("ecs")
    with Stubber(ecs) as s_ecs:
        s_ecs.add_client_error("describe_services", "AccessDeniedException",
                               "User is not authorized to perform: ecs:DescribeServices")
        notes = diag.diagnose(lambda s: ecs, {"Service": ("AWS::ECS::Service", SERVICE_ARN)})
    assert len(notes) == 1 and "could not diagnose" in notes[0] and "not authorized" in notes[0]


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


def test_the_engine_puts_the_diagnosis_in_the_root_cause(dev: Rendered) -> None:
    """The ecs stack's event says "did not stabilize"; the root cause gains the stopped
    task's reason and exit code (read through the hooks from the stack's resources)."""
    stack = dev.stacks["ecs"].stack_name
    stack_id = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{stack}/9f8e7d6c"
    cfn, ecs, logs = _client("cloudformation"), _client("ecs"), _client("logs")
    hooks = EcsHooks(dev, _Aws(cfn, {"ecs": ecs, "logs": logs}), Console(color=False))  # type: ignore[arg-type]
    with Stubber(cfn) as s_cfn, Stubber(ecs) as s_ecs, Stubber(logs) as s_logs:
        s_cfn.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack})
        s_cfn.add_response("execute_change_set", {}, {"ChangeSetName": "cs-1"})
        s_cfn.add_response("describe_stacks", {"Stacks": [{
            "StackName": stack, "StackId": stack_id, "CreationTime": T0,
            "StackStatus": "UPDATE_ROLLBACK_COMPLETE",
            "Parameters": [{"ParameterKey": "ClusterName", "ParameterValue": CLUSTER}]}]},
            {"StackName": stack})
        s_cfn.add_response("describe_stack_events", {"StackEvents": [{
            "StackId": stack_id, "EventId": "e2", "StackName": stack,
            "LogicalResourceId": "Service", "PhysicalResourceId": SERVICE_ARN,
            "ResourceType": "AWS::ECS::Service", "Timestamp": T0,
            "ResourceStatus": "UPDATE_FAILED",
            "ResourceStatusReason": "Resource handler returned message: \"Error occurred during "
                                    "operation 'ECS Deployment Circuit Breaker was triggered'.\""}]},
            {"StackName": stack})
        s_cfn.add_response("list_stack_resources", {"StackResourceSummaries": [
            {"LogicalResourceId": "Service", "PhysicalResourceId": SERVICE_ARN,
             "ResourceType": "AWS::ECS::Service", "LastUpdatedTimestamp": T0,
             "ResourceStatus": "UPDATE_COMPLETE"}]}, {"StackName": stack})
        s_cfn.add_response("describe_stacks", {"Stacks": [{
            "StackName": stack, "StackId": stack_id, "CreationTime": T0,
            "StackStatus": "UPDATE_ROLLBACK_COMPLETE",
            "Parameters": [{"ParameterKey": "ClusterName", "ParameterValue": CLUSTER}]}]},
            {"StackName": stack})
        s_ecs.add_response("describe_services", {"services": [_service()]},
                           {"cluster": CLUSTER, "services": [SERVICE_ARN]})
        s_ecs.add_response("list_tasks", {"taskArns": [TASK_ARN]},
                           {"cluster": CLUSTER, "serviceName": SERVICE_ARN,
                            "desiredStatus": "STOPPED"})
        s_ecs.add_response("describe_tasks", {"tasks": [_stopped_task(
            137, "Essential container in task exited", "OutOfMemoryError: Container killed due "
            "to memory usage")]}, {"cluster": CLUSTER, "tasks": [TASK_ARN]})
        s_ecs.add_response("describe_task_definition", _task_definition(),
                           {"taskDefinition": TD_ARN})
        s_logs.add_response("get_log_events", {"events": [
            {"timestamp": 1796040000000, "message": "FATAL heap out of memory"}]},
            {"logGroupName": GROUP, "logStreamName": f"web/web/{TASK_ID}", "limit": 5,
             "startFromHead": False})
        deployer = Deployer(dev, CloudFormation(cfn, sleep=lambda _: None), Lookups(None),
                            Console(color=False), lambda q: True, DeployOptions(hooks=hooks))
        with pytest.raises(Exception) as failed:
            deployer.execute("ecs", stack, "cs-1")
        s_ecs.assert_no_pending_responses()
    reasons = failed.value.reasons  # type: ignore[attr-defined]
    assert reasons[0].startswith("Service (AWS::ECS::Service): Resource handler returned")
    assert f"diagnosis: stopped task {TASK_ID}: Essential container in task exited " \
           "(EssentialContainerExited)" in reasons
    assert "diagnosis:   container web: exit code 137, reason: OutOfMemoryError: Container " \
           "killed due to memory usage" in reasons
    assert "diagnosis:   last log lines of web: FATAL heap out of memory" in reasons


# --- item 2: one-off tasks -----------------------------------------------------------


def _running(status: str, task_arn: str = TASK_ARN) -> dict[str, Any]:
    return {"tasks": [{"taskArn": task_arn, "lastStatus": status, "desiredStatus": "RUNNING",
                       "taskDefinitionArn": MIGRATE_ARN,
                       "containers": [{"name": "migrate", "lastStatus": status}]}]}


def _runner(ecs: Any, logs: Any, out: list[str], timeout: float = 60.0) -> Runner:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
    return Runner(ecs, logs, CLUSTER, out.append, timeout=timeout, poll=5.0,
                  clock=lambda: now[0], sleep=sleep)


LAUNCH = {"launchType": "FARGATE", "networkConfiguration": {"awsvpcConfiguration": {
    "subnets": ["subnet-0a1b2c3d4e5f60718"], "securityGroups": ["sg-0123456789abcdef0"],
    "assignPublicIp": "DISABLED"}}}


def test_a_task_that_exits_non_zero_returns_its_code_reason_and_output() -> None:
    ecs, logs = _client("ecs"), _client("logs")
    out: list[str] = []
    stream = f"migrate/migrate/{TASK_ID}"
    with Stubber(ecs) as s_ecs, Stubber(logs) as s_logs:
        s_ecs.add_response("describe_task_definition",
                           _task_definition("migrate", "kubenews-dev-migrate", MIGRATE_ARN),
                           {"taskDefinition": MIGRATE_ARN})
        s_ecs.add_response("run_task", {"tasks": [_running("PROVISIONING")["tasks"][0]],
                                        "failures": []}, {
            "cluster": CLUSTER, "taskDefinition": MIGRATE_ARN, "count": 1,
            "startedBy": "stackgen run-task", **LAUNCH,
            "overrides": {"containerOverrides": [{"name": "migrate",
                                                  "command": ["npm", "run", "migrate"]}]}})
        s_ecs.add_response("describe_tasks", _running("PENDING"),
                           {"cluster": CLUSTER, "tasks": [TASK_ARN]})
        s_logs.add_client_error("get_log_events", "ResourceNotFoundException",
                                "The specified log stream does not exist.")
        s_ecs.add_response("describe_tasks", _running("RUNNING"),
                           {"cluster": CLUSTER, "tasks": [TASK_ARN]})
        s_logs.add_response("get_log_events", {"events": [
            {"timestamp": 1796040000000, "message": "migrating 0042_add_index"}],
            "nextForwardToken": "f/2"}, {"logGroupName": GROUP, "logStreamName": stream,
                                         "startFromHead": True})
        s_logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/2"},
                            {"logGroupName": GROUP, "logStreamName": stream,
                             "startFromHead": True, "nextToken": "f/2"})
        s_ecs.add_response("describe_tasks", {"tasks": [_stopped_task(
            3, "Essential container in task exited", name="migrate")]},
            {"cluster": CLUSTER, "tasks": [TASK_ARN]})
        s_logs.add_response("get_log_events", {"events": [
            {"timestamp": 1796040001000, "message": "ERROR: relation \"posts\" already exists"}],
            "nextForwardToken": "f/3"}, {"logGroupName": GROUP, "logStreamName": stream,
                                         "startFromHead": True, "nextToken": "f/2"})
        s_logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/3"},
                            {"logGroupName": GROUP, "logStreamName": stream,
                             "startFromHead": True, "nextToken": "f/3"})
        s_logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/3"},
                            {"logGroupName": GROUP, "logStreamName": stream,
                             "startFromHead": True, "nextToken": "f/3"})
        run = _runner(ecs, logs, out).run("migrate", MIGRATE_ARN, LAUNCH,
                                          ["npm", "run", "migrate"])
        s_ecs.assert_no_pending_responses()
        s_logs.assert_no_pending_responses()
    assert run.exit_code == 3 and not run.ok
    assert [line.message for line in run.lines] == [
        "migrating 0042_add_index", "ERROR: relation \"posts\" already exists"]
    assert "task migrate: PENDING" in out and "task migrate: STOPPED" in out
    assert any(o.endswith(f"migrate/{TASK_ID[:12]} migrating 0042_add_index") for o in out)
    assert run.summary() == (
        f"task migrate ({TASK_ID}); exit code 3; stoppedReason: Essential container in task "
        "exited; last log lines: migrating 0042_add_index | ERROR: relation \"posts\" already "
        "exists")


def test_a_task_that_cannot_be_placed_fails_with_the_reason() -> None:
    ecs, logs = _client("ecs"), _client("logs")
    with Stubber(ecs) as s_ecs:
        s_ecs.add_response("describe_task_definition",
                           _task_definition("migrate", "kubenews-dev-migrate", MIGRATE_ARN),
                           {"taskDefinition": MIGRATE_ARN})
        s_ecs.add_response("run_task", {"tasks": [], "failures": [
            {"arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/{CLUSTER}/5f3b",
             "reason": "RESOURCE:MEMORY"}]}, {"cluster": CLUSTER, "taskDefinition": MIGRATE_ARN,
                                              "count": 1, "startedBy": "stackgen run-task",
                                              "launchType": "EC2"})
        with pytest.raises(TaskFailed, match=r"did not start: .*RESOURCE:MEMORY"):
            _runner(ecs, logs, []).run("migrate", MIGRATE_ARN, {"launchType": "EC2"})


def test_a_task_past_its_deadline_is_stopped_and_fails() -> None:
    ecs, logs = _client("ecs"), _client("logs")
    with Stubber(ecs) as s_ecs, Stubber(logs) as s_logs:
        td = _task_definition("migrate", "kubenews-dev-migrate", MIGRATE_ARN)
        del td["taskDefinition"]["containerDefinitions"][0]["logConfiguration"]
        s_ecs.add_response("describe_task_definition", td, {"taskDefinition": MIGRATE_ARN})
        s_ecs.add_response("run_task", {"tasks": [_running("PENDING")["tasks"][0]]}, None)
        for _ in range(3):  # t=0, 5, 10: the deadline (10 s) has passed at the third look
            s_ecs.add_response("describe_tasks", _running("RUNNING"), None)
        s_ecs.add_response("stop_task", {"task": _running("STOPPING")["tasks"][0]},
                           {"cluster": CLUSTER, "task": TASK_ARN,
                            "reason": "stackgen: deadline passed"})
        with pytest.raises(TaskFailed, match=r"ran past its deadline.*still RUNNING after 10 s"):
            _runner(ecs, logs, [], timeout=10).run("migrate", MIGRATE_ARN, {})
        s_ecs.assert_no_pending_responses()
        s_logs.assert_no_pending_responses()  # no awslogs: no log calls


def test_the_service_settings_carry_over_to_run_task() -> None:
    strategy = [{"capacityProvider": "kubenews-dev-cp", "weight": 1, "base": 0}]
    net = LAUNCH["networkConfiguration"]
    assert launch_settings({"capacityProviderStrategy": strategy, "launchType": "EC2",
                            "networkConfiguration": net}) == {
        "capacityProviderStrategy": strategy, "networkConfiguration": net}
    assert launch_settings({"launchType": "FARGATE", "platformVersion": "LATEST",
                            "networkConfiguration": net}) == {**LAUNCH,
                                                              "platformVersion": "LATEST"}
    # bridge mode on EC2: moto (and AWS) report no network configuration
    assert launch_settings({"launchType": "EC2", "networkConfiguration": {}}) == \
        {"launchType": "EC2"}


def test_the_new_revision_is_registered_from_the_rendered_template(dev: Rendered) -> None:
    iam = _client("iam")
    role = {"Path": "/", "RoleId": "AROAEXAMPLEID0000001", "CreateDate": T0,
            "AssumeRolePolicyDocument": "{}"}
    with Stubber(iam) as s_iam:
        s_iam.add_response("get_role", {"Role": {**role, "RoleName": "dev-exec",
                                                 "Arn": f"arn:aws:iam::{ACCOUNT}:role/dev-exec"}},
                           {"RoleName": "dev-exec"})
        s_iam.add_response("get_role", {"Role": {**role, "RoleName": "dev-migrate",
                                                 "Arn": f"arn:aws:iam::{ACCOUNT}:role/dev-migrate"}},
                           {"RoleName": "dev-migrate"})
        resolver = Resolver(
            {"Image": "acme/app:v10", "DbEndpoint": "db.internal", "DbPort": "5432",
             "DbSecretArn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf"},
            {"MigrateExecutionRole": "dev-exec", "MigrateTaskRole": "dev-migrate", "LogGroup": GROUP},
            {"AWS::Region": "us-east-1"}, iam)
        args = rendered_task_definition(dev.stacks["ecs"].template, "migrate", resolver)
    assert args["family"] == "kubenews-dev-migrate"
    assert args["executionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/dev-exec"
    assert args["taskRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/dev-migrate"
    [container] = args["containerDefinitions"]
    assert container["image"] == "acme/app:v10"  # the revision about to be deployed
    # what params/dev.yaml gives migrate: a command the app image has (issue 21)
    migrate = load_env(ROOT / "params", "dev").config.ecs.tasks["migrate"]
    assert container["command"] == list(migrate.command or [])
    assert {"name": "DB_HOST", "value": "db.internal"} in container["environment"]
    # migrate logs in as the master (db_login: master): user and password from its secret
    assert sorted(container["secrets"], key=lambda x: x["name"], reverse=True) == [
        {"name": "DB_USERNAME",
         "valueFrom": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf:username::"},
        {"name": "DB_PASSWORD",
         "valueFrom": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf:password::"}]
    assert container["logConfiguration"] == {"logDriver": "awslogs", "options": {
        "awslogs-group": GROUP, "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "migrate"}}
    # The botocore model accepts it as RegisterTaskDefinition input.
    ecs = _client("ecs")
    with Stubber(ecs) as s_ecs:
        s_ecs.add_response("register_task_definition", {"taskDefinition": {
            "taskDefinitionArn": MIGRATE_ARN}}, args)
        ecs.register_task_definition(**args)


def test_a_role_new_in_this_deploy_cannot_be_resolved(dev: Rendered) -> None:
    """The task's roles come with this deploy (no physical id yet): no revision can be
    made before the stack, so the task runs after it instead."""
    resolver = Resolver({"Image": "acme/app:v10"}, {"LogGroup": GROUP}, {}, None)
    with pytest.raises(Unresolvable, match=r"MigrateExecutionRole\.Arn is not deployed yet"):
        rendered_task_definition(dev.stacks["ecs"].template, "migrate", resolver)


class _Hooks:
    def __init__(self, fail_before: bool = False) -> None:
        self.fail_before = fail_before
        self.calls: list[str] = []

    def before_execute(self, stack: str, name: str, kind: str,
                       params: Mapping[str, str]) -> None:
        self.calls.append(f"before {stack} {kind}")
        if self.fail_before:
            raise TaskFailed("before task migrate failed: task migrate (abc); exit code 3")

    def after_execute(self, stack: str, name: str, kind: str) -> None:
        self.calls.append(f"after {stack}")

    def diagnose(self, stack: str, name: str) -> list[str]:
        return []


def test_a_failing_before_task_stops_the_stack_and_discards_its_change_set(
        dev: Rendered) -> None:
    from generator.review.plan import StackPlan

    cfn = _client("cloudformation")
    hooks = _Hooks(fail_before=True)
    stack = dev.stacks["ecs"].stack_name
    with Stubber(cfn) as s_cfn:
        s_cfn.add_response("delete_change_set", {}, {"ChangeSetName": "cs-1"})
        deployer = Deployer(dev, CloudFormation(cfn, sleep=lambda _: None), Lookups(None),
                            Console(color=False), lambda q: True, DeployOptions(hooks=hooks))
        deployer.outputs = {s: {} for s in dev.stacks}
        deployer.prepare_params = lambda stack: {}  # type: ignore[method-assign]
        result = deployer.execute_reviewed("ecs", stack, "UPDATE", "cs-1",
                                            StackPlan(stack="ecs", stack_name=stack,
                                                      state="update", template_sha256=""))
        s_cfn.assert_no_pending_responses()  # nothing executed; the change set is gone
    assert result.state == "FAILED"
    assert result.reasons == ["before task migrate failed: task migrate (abc); exit code 3"]
    assert hooks.calls == ["before ecs UPDATE"]


# --- item 5: verified after deploy ---------------------------------------------------


def _health(*states: str) -> dict[str, Any]:
    return {"TargetHealthDescriptions": [
        {"Target": {"Id": f"i-0{n}abcdef0123456", "Port": 32768 + n},
         "HealthCheckPort": str(32768 + n), "TargetHealth": {"State": s}}
        for n, s in enumerate(states)]}


def test_deploy_waits_until_running_equals_desired_and_targets_are_healthy() -> None:
    ecs, elbv2 = _client("ecs"), _client("elbv2")
    out: list[str] = []
    with Stubber(ecs) as s_ecs, Stubber(elbv2) as s_elb:
        s_ecs.add_response("describe_services", {"services": [_service(
            "IN_PROGRESS", running=0, load_balancers=True)]}, None)
        s_elb.add_response("describe_target_health", _health("initial"),
                           {"TargetGroupArn": TG_ARN})
        s_ecs.add_response("describe_services", {"services": [_service(
            "COMPLETED", running=1, load_balancers=True)]}, None)
        s_elb.add_response("describe_target_health", _health("healthy"),
                           {"TargetGroupArn": TG_ARN})
        checks = wait_steady(ecs, elbv2, CLUSTER, SERVICE, 60, out.append,
                             sleep=lambda _: None)
    assert checks == ["1 of 1 tasks running", "deployment COMPLETED",
                      "1 of 1 targets healthy in kubenews-dev-app"]
    assert out == ["verify: service kubenews-dev-ecs-Service-7QX2LQ5T0JZ1: waiting (0 of 1 "
                   "tasks running; deployment IN_PROGRESS; 0 of 1 targets healthy in "
                   "kubenews-dev-app)"]


def test_a_failed_rollout_fails_verification_at_once() -> None:
    ecs, elbv2 = _client("ecs"), _client("elbv2")
    with Stubber(ecs) as s_ecs:
        s_ecs.add_response("describe_services", {"services": [_service("FAILED")]}, None)
        with pytest.raises(NotSteady, match="circuit breaker"):
            wait_steady(ecs, elbv2, CLUSTER, SERVICE, 60, lambda _: None,
                        sleep=lambda _: None)


def test_a_service_that_never_gets_steady_fails_at_the_deadline() -> None:
    ecs, elbv2 = _client("ecs"), _client("elbv2")
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s
    with Stubber(ecs) as s_ecs:
        for _ in range(3):
            s_ecs.add_response("describe_services", {"services": [_service(
                "IN_PROGRESS")]}, None)
        with pytest.raises(NotSteady, match="not steady after 20 s: 0 of 1 tasks running"):
            wait_steady(ecs, elbv2, CLUSTER, SERVICE, 20, lambda _: None, poll=10,
                        clock=lambda: now[0], sleep=sleep)


class _Status(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503 if self.path == "/down" else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def app_server() -> Iterator[int]:
    with serving(_Status) as port:
        yield port


def test_the_probe_asks_the_domain_and_compares_the_status(app_server: int) -> None:
    """The probe's HTTPS connection is replaced by one to a loopback server: only the
    request and the status check are under test, and no traffic leaves the machine."""
    hosts: list[str] = []

    def connect(host: str, timeout: float) -> http.client.HTTPConnection:
        hosts.append(host)
        return http.client.HTTPConnection("127.0.0.1", app_server, timeout=timeout)

    ok = verify(None, None, CLUSTER, SERVICE, "app.example.com",
                Verify(wait_steady=False, probe_path="/health"), None, lambda _: None,
                connect=connect)
    assert ok.checks == ["GET https://app.example.com/health answered 200"]
    with pytest.raises(NotSteady, match="status 503, expected 200"):
        verify(None, None, CLUSTER, SERVICE, "app.example.com",
               Verify(wait_steady=False, probe_path="/down"), None, lambda _: None,
               connect=connect)
    assert hosts == ["app.example.com", "app.example.com"]  # the env's domain, nothing else


def test_the_probe_is_skipped_when_aws_calls_go_to_loopback() -> None:
    def connect(host: str, timeout: float) -> http.client.HTTPConnection:
        raise AssertionError("no probe may run against the local endpoint")

    checked = verify(None, None, CLUSTER, SERVICE, "kubenews.stackgen.test",
                     Verify(wait_steady=False, probe_path="/"), "http://127.0.0.1:4599",
                     lambda _: None, connect=connect)
    assert checked.checks == []
    assert any("skipped" in n and "127.0.0.1:4599" in n for n in checked.notes)
    assert is_local("http://localhost:4599") and is_local("http://[::1]:4599")
    assert not is_local(None) and not is_local("https://ecs.us-east-1.amazonaws.com")


# --- item 3: logs --------------------------------------------------------------------


def test_follow_asks_from_the_newest_line_and_prints_each_line_once() -> None:
    logs = _client("logs")
    web = f"web/web/{TASK_ID}"
    e1 = {"logStreamName": web, "timestamp": 1796040000000, "message": "GET / 200",
          "ingestionTime": 1796040000100, "eventId": "1"}
    e2 = {**e1, "timestamp": 1796040002000, "message": "GET /health 200", "eventId": "2"}
    sleeps: list[float] = []
    with Stubber(logs) as s_logs:
        s_logs.add_response("filter_log_events", {"events": [e1]}, {
            "logGroupName": GROUP, "startTime": 1796039999000, "logStreamNamePrefix": "web/web/"})
        s_logs.add_response("filter_log_events", {"events": [e1, e2]}, {
            "logGroupName": GROUP, "startTime": 1796040000000, "logStreamNamePrefix": "web/web/"})
        lines = list(follow(logs, GROUP, 1796039999000, "web/web/", sleep=sleeps.append,
                            polls=2))
    assert [line.message for line in lines] == ["GET / 200", "GET /health 200"]
    assert sleeps == [2.0]
    assert lines[0].format() == f"2026-11-30T12:00:00.000Z web/{TASK_ID[:12]} GET / 200"
    assert Line(0, "free-form", "x").task == "free-form"


def test_a_log_read_the_api_refuses_is_a_one_line_error() -> None:
    from generator.ecs.logs import StreamTail
    from generator.errors import AwsError

    logs = _client("logs")
    with Stubber(logs) as s_logs:
        s_logs.add_client_error("get_log_events", "AccessDeniedException",
                                "User is not authorized to perform: logs:GetLogEvents")
        with pytest.raises(AwsError, match=r"^logs GetLogEvents: AccessDeniedException: User is"):
            StreamTail(logs, GROUP, "web/web/x").poll()


def test_before_tasks_of_a_first_create_run_after_the_stack_then_after_tasks(
        dev: Rendered, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import msgspec

    cfg = dev.env.config
    service = msgspec.structs.replace(cfg.ecs.service, run_before=["migrate"],
                                      run_after=["report"])
    hooks = EcsHooks(dev, _Aws(_client("cloudformation"), {}), Console(color=False))  # type: ignore[arg-type]
    hooks.service = service
    ran: list[tuple[str, str, str]] = []
    hooks.run_hook = lambda name, task_definition, when: ran.append(  # type: ignore[method-assign]
        (name, task_definition, when))
    hooks.before_execute("ecs", "kubenews-dev-ecs", "CREATE", {})
    assert ran == []  # nothing to keep the old revision of: nothing runs before
    assert "first create: migrate run after the stack" in capsys.readouterr().out

    class _Deployed:
        def workload(self, name: str) -> Any:
            class _W:
                task_definition = f"arn:{name}"
            return _W()
    monkeypatch.setattr("generator.ecs.deploy_hooks.deployed", lambda rendered, cfn: _Deployed())
    hooks.after_execute("ecs", "kubenews-dev-ecs", "CREATE")
    assert ran == [("migrate", "arn:migrate", "before"), ("report", "arn:report", "after")]
    hooks.after_execute("network", "kubenews-dev-network", "UPDATE")  # other stacks: nothing
    assert len(ran) == 2
