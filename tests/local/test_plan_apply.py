"""`plan`, `apply`, guards and ripple on the local endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import aws_env, clients
from tests.helpers.inprocess import stackgen


def _run(project: Path, endpoint: Endpoint, *args: str) -> Any:
    return stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint))


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
    assert result.returncode == 1, result.stderr  # differences: 1, as git diff --exit-code
    assert "-      RetentionInDays: 7" in result.stdout
    assert "+      RetentionInDays: 14" in result.stdout
    assert aws.cloudformation.list_change_sets(StackName="any")["Summaries"] == before
    same = _run(project, endpoint, "diff", "--env", "local", "--stack", "ecs")
    assert same.returncode == 0 and "ecs: no differences" in same.stdout, same.stderr
    # An error that exits 1 elsewhere (no local endpoint found) exits 2 here: never
    # read as "differs".
    unreached = {k: v for k, v in aws_env(endpoint).items() if k != "AWS_ENDPOINT_URL"}
    broken = stackgen(["diff", "--env", "local"], cwd=project, env=unreached)
    assert broken.returncode == 2 and "local endpoint is not running" in broken.stderr, \
        broken.stderr


def _group_max(aws: Any) -> int:
    return int(aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]["MaxSize"])


def _stack_template(aws: Any, stack: str) -> str:
    return str(aws.cloudformation.get_template(StackName=f"kubenews-local-{stack}",
                                               TemplateStage="Original")["TemplateBody"])


def test_apply_refuses_a_stack_the_plan_found_unchanged_that_moved_since(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    """Issue 11, defect 2: the plan changed only asg; another deploy then changed rds.
    apply used to update rds back (reverting that deploy) and ecs, and exit 0."""
    _deployed(project, endpoint)
    plan = _run(project, endpoint, "plan", "--env", "local", "--set", "asg.max_size=4",
                "--out", "p.json")
    assert plan.returncode == 0, plan.stderr
    other = _run(project, endpoint, "deploy", "--env", "local", "--yes", "--stack", "rds",
                 "--set", "rds.backup_retention_days=3")
    assert other.returncode == 0, other.stdout + other.stderr
    rds_after_other = _stack_template(aws, "rds")
    ecs_before = _stack_template(aws, "ecs")

    applied = _run(project, endpoint, "apply", "p.json", "--yes")
    assert applied.returncode == 1, applied.stdout + applied.stderr
    refused = [line for line in applied.stdout.splitlines() if "stale plan:" in line]
    assert all(line.endswith("run `stackgen plan` again") for line in refused)
    assert any("rds (kubenews-local-rds): stale plan: its deployed template, parameters or "
               "tags changed since the plan" in line for line in refused), applied.stdout
    assert "nothing was executed" in applied.stdout
    # Nothing ran: not the reviewed asg change, not a revert of rds, not ecs.
    assert _group_max(aws) == 3
    assert _stack_template(aws, "rds") == rds_after_other
    assert _stack_template(aws, "ecs") == ecs_before


def test_apply_does_not_recreate_a_stack_deleted_after_the_plan(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    _deployed(project, endpoint)
    plan = _run(project, endpoint, "plan", "--env", "local", "--set", "asg.max_size=4",
                "--out", "p.json")
    assert plan.returncode == 0, plan.stderr
    gone = _run(project, endpoint, "delete", "--env", "local", "--stack", "ecs", "--yes")
    assert gone.returncode == 0, gone.stdout + gone.stderr

    applied = _run(project, endpoint, "apply", "p.json", "--yes")
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert "ecs (kubenews-local-ecs): stale plan: the stack was deleted since the plan; " \
           "run `stackgen plan` again" in applied.stdout
    names = {s["StackName"] for s in aws.cloudformation.describe_stacks()["Stacks"]
             if s["StackStatus"] != "DELETE_COMPLETE"}
    assert "kubenews-local-ecs" not in names
    assert _group_max(aws) == 3


def test_apply_refuses_a_plan_made_against_another_endpoint(
        project: Path, endpoint: Endpoint, aws: Any, bare_endpoint: str) -> None:
    _deployed(project, endpoint)
    plan = _run(project, endpoint, "plan", "--env", "local", "--set", "asg.max_size=4",
                "--out", "p.json")
    assert plan.returncode == 0, plan.stderr
    elsewhere = {**aws_env(endpoint), "AWS_ENDPOINT_URL": bare_endpoint}
    other = clients(bare_endpoint)
    before = other.cloudformation.describe_stacks()["Stacks"]
    applied = stackgen(["--no-color", "apply", "p.json", "--yes"], cwd=project,
                           env=elsewhere)
    assert applied.returncode == 2, applied.stdout + applied.stderr
    assert applied.stderr.count("\n") == 1 and "Traceback" not in applied.stderr
    # A local env follows only a stackgen endpoint: bare moto is refused before the plan.
    assert "is not a running stackgen local endpoint" in applied.stderr
    assert other.cloudformation.describe_stacks()["Stacks"] == before
    # The plan itself is bound to where it was made: one recorded elsewhere is refused.
    saved = json.loads((project / "p.json").read_text())
    saved["endpoint"] = "http://127.0.0.1:1"
    (project / "p.json").write_text(json.dumps(saved))
    moved = _run(project, endpoint, "apply", "p.json", "--yes")
    assert moved.returncode == 2, moved.stdout + moved.stderr
    assert "the plan was made for endpoint http://127.0.0.1:1" in moved.stderr
    assert _group_max(aws) == 3


def test_apply_remakes_a_rippled_downstream_within_its_review(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    """A downstream whose inputs an upstream apply changes was reviewed with the change
    predicted; its change set, made with the real values, runs when it stays within."""
    _deployed(project, endpoint)
    change = ("--set", "rds.database_name=kubenews2")
    plans = _plan(project, endpoint, *change, "--out", "p.json")
    task = next(r for r in plans["ecs"]["resources"] if r["logical_id"] == "TaskDefinition")
    assert task["predicted"] == "ContainerDefinitions"
    applied = _run(project, endpoint, "apply", "p.json", "--yes", "--allow-replace", "DbInstance")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "ecs: its change set, made now with upstream outputs, stays within" in applied.stdout
    db = aws.rds.describe_db_instances()["DBInstances"][0]
    assert db["DBName"] == "kubenews2"
    ecs = aws.cloudformation.describe_stacks(StackName="kubenews-local-ecs")["Stacks"][0]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in ecs["Parameters"]}
    assert values["DbEndpoint"] == db["Endpoint"]["Address"]


def test_apply_refuses_a_downstream_change_the_plan_did_not_show(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    """The plan found alb unchanged; applying network then moved an output alb reads (moto
    gives a security group a new id on any rule change, where AWS changes it in place).
    alb is refused, not changed unreviewed."""
    _deployed(project, endpoint)
    plans = _plan(project, endpoint, "--set", 'alb.ingress_cidrs=["10.0.0.0/8"]',
                  "--out", "p.json")
    assert plans["alb"]["state"] == "unchanged"
    alb_before = aws.cloudformation.describe_stacks(StackName="kubenews-local-alb")["Stacks"][0]
    applied = _run(project, endpoint, "apply", "p.json", "--yes")
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert "alb (kubenews-local-alb): stale plan: an upstream this apply executed changed " \
           "outputs it reads, which the plan did not show; run `stackgen plan` again" \
           in applied.stdout
    alb_after = aws.cloudformation.describe_stacks(StackName="kubenews-local-alb")["Stacks"][0]
    assert alb_after["Parameters"] == alb_before["Parameters"]
    sets = aws.cloudformation.list_change_sets(StackName="kubenews-local-alb")["Summaries"]
    assert not [c for c in sets if c["StackName"] == "kubenews-local-alb"
                and c.get("ExecutionStatus") == "AVAILABLE"]
