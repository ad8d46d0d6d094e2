"""ECS operations against the local endpoint, reading what moto returns.

moto runs tasks as data: RunTask returns a task that never runs, no container
writes a log line, and nothing registers the instances with the cluster. Each test
does what the ECS agent would do — registers the instance, writes the container's
log lines into the awslogs stream the task definition names, stops the task — and
checks what stackgen makes of it.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import aws_env, run_stackgen

CLUSTER = "kubenews-local"


def _with_migrate_task(project: Path, run_before: bool = False) -> None:
    path = project / "params" / "local.yaml"
    text = path.read_text()
    if run_before:
        text = text.replace("    verify:\n", "    run_before: [migrate]\n    verify:\n", 1)
    text = text.replace("  log_retention_days: 7", "  log_retention_days: 7\n  tasks:\n"
                        "    migrate:\n      command: [\"node\", \"-e\",\n"
                        "                \"require('./models/post').initDatabase()\"]\n", 1)
    path.write_text(text)


def _deploy(project: Path, endpoint: Endpoint, *extra: str) -> Any:
    return run_stackgen(["--no-color", "deploy", "--env", "local", "--yes", *extra],
                        cwd=project, env=aws_env(endpoint))


def _register_instances(aws: Any) -> None:
    """What the ECS agent does at boot with ECS_CLUSTER from user data."""
    for group in aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]:
        for instance in group["Instances"]:
            aws.ecs.register_container_instance(cluster=CLUSTER, instanceIdentityDocument=json.dumps(
                {"instanceId": instance["InstanceId"], "region": "us-east-1"}))


class _Lines:
    """A process's stdout, line by line, as it comes (a reader thread and a queue): the
    test waits on the queue (a blocking wait, no sleep) for the line it needs."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def until(self, text: str, timeout: float = 60.0) -> str:
        while True:
            line = self._queue.get(timeout=timeout)
            assert line is not None, f"the process ended before {text!r}: {''.join(self.seen)}"
            self.seen.append(line)
            if text in line:
                return line

    def rest(self, timeout: float = 60.0) -> str:
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.seen.append(line)
        return "".join(self.seen)


def _play_the_container(aws: Any, lines: list[str]) -> tuple[dict[str, Any], str]:
    """What the container of the task stackgen started does: its log lines, written where
    the task definition's awslogs options say. (The task, the log stream.)"""
    arns = aws.ecs.list_tasks(cluster=CLUSTER, startedBy="stackgen run-task")["taskArns"]
    assert len(arns) == 1, arns
    task: dict[str, Any] = aws.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"][0]
    td = aws.ecs.describe_task_definition(
        taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
    container = td["containerDefinitions"][0]
    opts = container["logConfiguration"]["options"]
    stream = f"{opts['awslogs-stream-prefix']}/{container['name']}/" \
             f"{task['taskArn'].rsplit('/', 1)[-1]}"
    aws.logs.create_log_stream(logGroupName=opts["awslogs-group"], logStreamName=stream)
    now = int(time.time() * 1000)
    aws.logs.put_log_events(logGroupName=opts["awslogs-group"], logStreamName=stream,
                            logEvents=[{"timestamp": now + i, "message": m}
                                       for i, m in enumerate(lines)])
    return task, stream


def test_run_task_runs_where_the_service_runs_streams_logs_and_exits_with_the_code(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    deployed = _deploy(project, endpoint)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    # The summary says what verification did (local turns the steady wait off).
    assert "verify: nothing to verify (ecs.service.verify: wait_steady false, no probe_path)" \
        in deployed.stdout
    _register_instances(aws)
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "--no-color", "run-task", "--env", "local", "web",
         "--timeout", "60", "--", "npm", "run", "migrate"],
        cwd=project, env=aws_env(endpoint), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        lines = _Lines(proc)
        lines.until("started in cluster")  # RunTask answered: the task exists
        task, _ = _play_the_container(aws, ["migrating 0001_init", "migrated 1 of 1"])
        task_id = task["taskArn"].rsplit("/", 1)[-1]
        # Streamed while the task runs (not only read after it stopped), then it exits.
        lines.until(f"web/{task_id[:12]} migrated 1 of 1")
        aws.ecs.stop_task(cluster=CLUSTER, task=task["taskArn"],
                          reason="Essential container in task exited")
        out = lines.rest()
        stderr = proc.stderr.read() if proc.stderr else ""
        assert proc.wait(60) == 0, out + stderr  # moto's exitCode: 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert f"web/{task_id[:12]} migrating 0001_init" in out
    assert out.index("migrated 1 of 1") < out.index("task web: STOPPED")
    assert "task web: STOPPED" in out and "stoppedReason: Essential container in task exited" in out
    # The command override, and the service's own launch type (read from the service).
    assert task["overrides"]["containerOverrides"] == [
        {"name": "web", "command": ["npm", "run", "migrate"]}]
    service = aws.ecs.describe_services(cluster=CLUSTER, services=aws.ecs.list_services(
        cluster=CLUSTER)["serviceArns"])["services"][0]
    assert task["launchType"] == service["launchType"] == "EC2"

    logs = run_stackgen(["--no-color", "logs", "--env", "local", "web", "--since", "1h"],
                        cwd=project, env=aws_env(endpoint))
    assert logs.returncode == 0, logs.stderr
    lines_out = logs.stdout.splitlines()
    assert len(lines_out) == 2 and lines_out[0].endswith(f"web/{task_id[:12]} migrating 0001_init")
    assert lines_out[0][:4].isdigit() and lines_out[0][23] == "Z"  # 2026-11-28T22:48:27.409Z

    unknown = run_stackgen(["run-task", "--env", "local", "nosuch"], cwd=project,
                           env=aws_env(endpoint))
    assert unknown.returncode == 2
    assert "'nosuch' is not a workload of this env; choose one of web" in unknown.stderr


def test_a_failing_before_task_stops_the_deploy_and_the_service_keeps_its_revision(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    """The before-task's revision is registered from the rendered template (the new
    image) and run before the change set executes; here it asks for more memory than
    any registered instance has, no instance can take it, and the deploy stops: the change set
    is not executed, the one-off revision is retired."""
    _with_migrate_task(project, run_before=True)
    # The first create has no older revision to keep: before-tasks run after it, so
    # create without them, then update.
    plain = project / "params" / "local.yaml"
    text = plain.read_text()
    plain.write_text(text.replace("    run_before: [migrate]\n", ""))
    assert _deploy(project, endpoint).returncode == 0
    plain.write_text(text)
    _register_instances(aws)
    # The forecast (F103) would refuse the task first: skip it to reach the endpoint.
    result = _deploy(project, endpoint, "--no-forecast", "--set",
                     "ecs.container.image=acme/kube-news:v3",
                     "--set", "ecs.tasks.migrate.memory_mib=65536")
    assert result.returncode == 1, result.stdout + result.stderr
    # ECS's reason, as RunTask's failures give it on AWS (issue 25: was "no task started").
    assert "root cause:\n  ecs (kubenews-local-ecs): before task migrate: task migrate did not " \
        "start: RESOURCE:MEMORY (not enough memory left) on container instance" \
        in result.stdout, result.stdout
    stack = aws.cloudformation.describe_stacks(StackName="kubenews-local-ecs")["Stacks"][0]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params["Image"] != "acme/kube-news:v3"  # the service did not move
    retired = aws.ecs.list_task_definitions(familyPrefix="kubenews-local-migrate",
                                            status="INACTIVE")["taskDefinitionArns"]
    assert len(retired) == 1  # the one-off revision, deregistered after its run
    registered = aws.ecs.describe_task_definition(taskDefinition=retired[0])["taskDefinition"]
    assert registered["containerDefinitions"][0]["image"] == "acme/kube-news:v3"


def test_bad_since_is_refused_before_any_aws_call(project: Path) -> None:
    result = run_stackgen(["logs", "--env", "local", "--since", "ten minutes"], cwd=project)
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: --since ten minutes: use a number and s, m, h or "
                                     "d (10m, 2h, 1d)")


def test_run_before_naming_an_unknown_task_is_a_params_error(project: Path) -> None:
    path = project / "params" / "local.yaml"
    path.write_text(path.read_text().replace("    verify:\n", "    run_before: [migrat]\n"
                                             "    verify:\n", 1))
    result = run_stackgen(["render", "--env", "local"], cwd=project)
    assert result.returncode == 2
    assert "run_before: 'migrat' is not in ecs.tasks (none defined)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_failed_ecs_stack_is_diagnosed_from_what_the_endpoint_returns(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    """The diagnosis reads the ecs stack's service from the endpoint, the tasks it
    lists as stopped, their containers, and the failed container's log lines."""
    from generator.aws.cfn import CloudFormation
    from generator.aws.endpoint import local_route, session
    from generator.aws.session import Aws
    from generator.ecs.deploy_hooks import EcsHooks
    from generator.params import load_env
    from generator.render import render
    from generator.ui import Console

    assert _deploy(project, endpoint).returncode == 0
    service = aws.ecs.describe_services(cluster=CLUSTER, services=aws.ecs.list_services(
        cluster=CLUSTER)["serviceArns"])["services"][0]
    # One of the service's own tasks (the local endpoint places them) crashes.
    task = {"taskArn": aws.ecs.list_tasks(cluster=CLUSTER,
                                          serviceName=service["serviceName"])["taskArns"][0]}
    tid = task["taskArn"].rsplit("/", 1)[-1]
    td = aws.ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    opts = td["taskDefinition"]["containerDefinitions"][0]["logConfiguration"]["options"]
    stream = f"{opts['awslogs-stream-prefix']}/web/{tid}"
    aws.logs.create_log_stream(logGroupName=opts["awslogs-group"], logStreamName=stream)
    aws.logs.put_log_events(logGroupName=opts["awslogs-group"], logStreamName=stream, logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "Error: connect ECONNREFUSED"}])
    aws.ecs.stop_task(cluster=CLUSTER, task=task["taskArn"],
                      reason="Essential container in task exited")

    rendered = render(load_env(project / "params", "local"), project / "templates")
    sess = session("us-east-1", local_route(endpoint.url))
    opened = Aws(sess, CloudFormation(sess.client("cloudformation")), "123456789012",
                 local_route(endpoint.url))
    notes = EcsHooks(rendered, opened, Console(color=False)).diagnose(
        "ecs", "kubenews-local-ecs")
    assert f"diagnosis: stopped task {tid}: Essential container in task exited" in notes
    assert "diagnosis:   container web: exit code 0" in notes  # moto's, for every container
    assert "diagnosis:   last log lines of web: Error: connect ECONNREFUSED" in notes


DEV_LIKE = """  tasks:
    migrate:
      command: ["node", "-e", "require('./models/post').initDatabase()"]
      db_login: master
      memory_mib: 256
  services:
    worker:
      command: ["node", "-e", "setInterval(() => {}, 1000)"]
      cpu: 128
      memory_mib: 128
      min_healthy_percent: 0
  jobs:
    nightly:
      command: ["npm", "test"]
      schedule: cron(0 3 * * ? *)
      memory_mib: 256
"""


def test_a_dev_like_env_deploys_web_worker_and_job_and_migrates_before_each_revision(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    """dev's shape on the local endpoint: the web service, a worker and a nightly job
    deploy; the migration runs after the first create (no older revision to keep), then
    before the web service's new revision on each update, and succeeds (the endpoint
    places it by its task-level memory)."""
    path = project / "params" / "local.yaml"
    text = path.read_text().replace("    verify:\n", "    run_before: [migrate]\n    verify:\n", 1)
    path.write_text(text.replace("  log_retention_days: 7", "  log_retention_days: 7\n" + DEV_LIKE, 1))
    created = _deploy(project, endpoint)
    out = created.stdout
    assert created.returncode == 0, out + created.stderr
    assert "first create: migrate run after the stack" in out
    assert "before task migrate: exit code 0" in out
    services = aws.ecs.describe_services(cluster=CLUSTER, services=aws.ecs.list_services(
        cluster=CLUSTER)["serviceArns"])["services"]
    families = sorted(s["taskDefinition"].rsplit("/", 1)[-1].split(":")[0] for s in services)
    assert families == ["kubenews-local-app", "kubenews-local-worker"]
    worker = next(s for s in services if "worker" in s["taskDefinition"])
    assert worker["runningCount"] == 1 and not worker.get("loadBalancers")
    (schedule,) = aws.scheduler.list_schedules()["Schedules"]
    got = aws.scheduler.get_schedule(Name=schedule["Name"])
    assert got["Name"] == "kubenews-local-nightly"
    assert got["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert got["Target"]["EcsParameters"]["TaskDefinitionArn"].split("/")[-1].startswith(
        "kubenews-local-nightly:")
    assert got["Target"]["Arn"].endswith(":cluster/kubenews-local")

    updated = _deploy(project, endpoint, "--set", "ecs.container.image=acme/kube-news:v3")
    out = updated.stdout
    assert updated.returncode == 0, out + updated.stderr
    # Before the change set executes: the service still runs the old revision.
    assert out.index("before task migrate: exit code 0") < out.index("UPDATE_IN_PROGRESS")
    stack = aws.cloudformation.describe_stacks(StackName="kubenews-local-ecs")["Stacks"][0]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params["Image"] == "acme/kube-news:v3"

    # Every workload is runnable and readable by name.
    unknown = run_stackgen(["run-task", "--env", "local", "nosuch"], cwd=project,
                           env=aws_env(endpoint))
    assert "choose one of migrate, nightly, web, worker" in unknown.stderr
    # The command: the named one-off task runs and its exit code is ours.
    ran = run_stackgen(["--no-color", "run-task", "--env", "local", "migrate", "--timeout", "60"],
                       cwd=project, env=aws_env(endpoint))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "task migrate: STOPPED" in ran.stdout
