"""ECS operations fed responses of the real APIs' shapes (what moto does not show):
stopped tasks with reasons and exit codes, placement failures in service events,
failed rollouts, RDS events, failed scaling activities, a task that exits non-zero
or never stops, target health, and a new task revision registered from the
rendered template."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from generator.ecs import diagnose as diag
from generator.ecs.run_task import Runner, TaskFailed
from tests.helpers.ecs_responses import (
    ACCOUNT,
    CLUSTER,
    GROUP,
    LAUNCH,
    MIGRATE_ARN,
    SERVICE_ARN,
    TASK_ARN,
    TASK_ID,
    TD_ARN,
    _client,
    _service,
    _stopped_task,
    _task_definition,
)


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
        with pytest.raises(TaskFailed) as failed:
            _runner(ecs, logs, []).run("migrate", MIGRATE_ARN, {"launchType": "EC2"})
    assert str(failed.value) == ("task migrate did not start: RESOURCE:MEMORY (not enough "
                                 "memory left) on container instance 5f3b")


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
