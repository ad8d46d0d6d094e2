"""`plan`, `apply`, guards and ripple on the local endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import aws_env, run_stackgen


def _run(project: Path, endpoint: Endpoint, *args: str) -> Any:
    return run_stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint))


def _deployed(project: Path, endpoint: Endpoint) -> None:
    result = _run(project, endpoint, "deploy", "--env", "local", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr


def _plan(project: Path, endpoint: Endpoint, *extra: str) -> dict[str, dict[str, Any]]:
    result = _run(project, endpoint, "plan", "--env", "local", "--format", "json", *extra)
    assert result.returncode == 0, result.stderr
    return {s["stack"]: s for s in json.loads(result.stdout)["stacks"]}


def test_create_only_db_change_is_predicted_guarded_then_allowed(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    _deployed(project, endpoint)
    change = ("--set", "rds.database_name=kubenews2")
    plans = _plan(project, endpoint, *change)
    [db] = plans["rds"]["resources"]
    assert (db["logical_id"], db["action"], db["predicted"]) == ("DbInstance", "Modify", "DBName")
    assert db["properties"] == [{"name": "DBName", "before": "kubenews", "after": "kubenews2"}]
    # ecs reads the DB's outputs, and its own template changes (DB_DATABASE).
    assert "DbEndpoint ← rds.DbEndpoint" in plans["ecs"]["ripple"]

    refused = _run(project, endpoint, "deploy", "--env", "local", "--yes", *change)
    assert refused.returncode == 1
    assert "guard: DbInstance (AWS::RDS::DBInstance) would be replaced" in refused.stdout
    assert "--allow-replace DbInstance" in refused.stdout
    assert aws.rds.describe_db_instances()["DBInstances"][0]["DBName"] == "kubenews"

    allowed = _run(project, endpoint, "deploy", "--env", "local", "--yes", *change,
                   "--allow-replace", "DbInstance")
    assert allowed.returncode == 0, allowed.stdout
    assert aws.rds.describe_db_instances()["DBInstances"][0]["DBName"] == "kubenews2"


def test_load_balancer_output_change_ripples_downstream(project: Path, endpoint: Endpoint,
                                                        aws: Any) -> None:
    _deployed(project, endpoint)
    plans = _plan(project, endpoint, "--set", "alb.target_group.port=8080")
    tg = next(r for r in plans["alb"]["resources"] if r["logical_id"] == "TargetGroup")
    assert tg["predicted"] == "Port"
    assert "TargetGroupArn" in plans["alb"]["changed_outputs"]
    assert plans["ecs"]["state"] == "changes after upstream apply"
    assert plans["ecs"]["ripple"] == ["TargetGroupArn ← alb.TargetGroupArn"]
    # The instances read nothing of alb (the service alone registers targets).
    assert plans["asg"]["state"] == plans["cluster"]["state"] == "unchanged"
    assert plans["network"]["state"] == plans["dns"]["state"] == "unchanged"


def test_apply_executes_the_plan_and_refuses_a_stale_one(project: Path, endpoint: Endpoint,
                                                          aws: Any) -> None:
    _deployed(project, endpoint)
    plan = _run(project, endpoint, "plan", "--env", "local", "--set", "asg.max_size=4",
                "--out", "p.json")
    assert plan.returncode == 0, plan.stderr
    applied = _run(project, endpoint, "apply", "p.json", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    group = aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]
    assert group["MaxSize"] == 4

    again = _run(project, endpoint, "plan", "--env", "local", "--set", "asg.max_size=5",
                 "--out", "p2.json")
    assert again.returncode == 0
    moved = _run(project, endpoint, "deploy", "--env", "local", "--yes", "--set",
                 "asg.max_size=6")
    assert moved.returncode == 0
    stale = _run(project, endpoint, "apply", "p2.json", "--yes")
    assert stale.returncode == 1
    assert "stale plan" in stale.stdout and "run `stackgen plan` again" in stale.stdout
    group = aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]
    assert group["MaxSize"] == 6


def test_detailed_exitcode_and_markdown(project: Path, endpoint: Endpoint, aws: Any) -> None:
    _deployed(project, endpoint)
    same = _run(project, endpoint, "plan", "--env", "local", "--detailed-exitcode")
    assert same.returncode == 0, same.stdout + same.stderr
    changed = _run(project, endpoint, "plan", "--env", "local", "--detailed-exitcode",
                   "--set", "asg.instance_type=t3.small", "--markdown", "review.md")
    assert changed.returncode == 2
    review = (project / "review.md").read_text()
    assert "## stackgen plan: env `local`" in review
    assert "| `InstanceType` | t3.micro | t3.small |" in review
    bad = _run(project, endpoint, "plan", "--env", "nope", "--detailed-exitcode")
    assert bad.returncode == 1


def test_diff_shows_template_and_parameter_changes_without_a_change_set(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    _deployed(project, endpoint)
    before = aws.cloudformation.list_change_sets(StackName="any")["Summaries"]
    result = _run(project, endpoint, "diff", "--env", "local", "--stack", "ecs", "--set",
                  "ecs.log_retention_days=14")
    assert result.returncode == 0, result.stderr
    assert "-      RetentionInDays: 7" in result.stdout
    assert "+      RetentionInDays: 14" in result.stdout
    assert aws.cloudformation.list_change_sets(StackName="any")["Summaries"] == before
