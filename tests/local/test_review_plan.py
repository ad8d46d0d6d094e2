"""The review's security tables, cost, drift and picture in a real plan on the local endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from generator.local.manager import Endpoint
from generator.review.plan import Plan
from tests.conftest import aws_env
from tests.helpers.hand_changes import open_load_balancer_group
from tests.helpers.inprocess import stackgen


def _run(project: Path, endpoint: Endpoint, *args: str) -> Any:
    return stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint))


def _deployed(project: Path, endpoint: Endpoint) -> None:
    result = _run(project, endpoint, "deploy", "--env", "local", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr


def _plan_json(project: Path, endpoint: Endpoint, *extra: str) -> dict[str, Any]:
    result = _run(project, endpoint, "plan", "--env", "local", "--format", "json", *extra)
    assert result.returncode == 0, result.stderr
    plan: dict[str, Any] = json.loads(result.stdout)
    # Every plan the tests make validates against the published schema.
    jsonschema.validate(plan, Plan.json_schema())
    return plan


ROLE = ('ecs.task_role_statements=[{"actions": ["s3:GetObject"], '
        '"resources": ["arn:aws:s3:::kubenews-local-assets/*"]}]')


def test_a_new_ingress_rule_and_task_role_action_show_in_the_tables_and_broaden(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    _deployed(project, endpoint)
    plan = _plan_json(project, endpoint, "--set", 'alb.ingress_cidrs=["0.0.0.0/0", "::/0"]',
                      "--set", ROLE)
    stacks = {s["stack"]: s for s in plan["stacks"]}
    rules = stacks["network"]["security"]["security_groups"]
    assert {(r["change"], r["direction"], r["peer"]) for r in rules} >= {
        ("+", "ingress", "::/0")}
    iam = stacks["ecs"]["security"]["iam"]
    added = [r for r in iam if r["change"] == "+" and r["resource"] == "TaskRole"]
    assert any("s3:GetObject" in r["actions"] for r in added)

    text = _run(project, endpoint, "plan", "--env", "local", "--set",
                'alb.ingress_cidrs=["0.0.0.0/0", "::/0"]', "--set", ROLE, "--markdown", "r.md")
    assert "widens access" in text.stdout and "IAM changes (broadens access):" in text.stdout
    assert "security group changes:" in text.stdout
    review = (project / "r.md").read_text()
    assert "**IAM statements** ⚠️ broadens access" in review
    assert "**Security group rules**" in review and "::/0" in review


def test_more_tasks_on_ec2_show_the_instances_and_the_cost_delta(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    _deployed(project, endpoint)
    same = _plan_json(project, endpoint)
    assert same["cost"]["before_usd"] == same["cost"]["after_usd"] > 0
    plan = _plan_json(project, endpoint, "--set", "ecs.service.desired_count=3",
                      "--set", "ecs.service.autoscaling.enabled=false")
    cost = plan["cost"]
    assert cost["after_usd"] > cost["before_usd"]
    ecs = next(s for s in cost["stacks"] if s["stack"] == "ecs")
    (extra,) = [line for line in ecs["lines"] if line["resource"] == "Service capacity"]
    assert "3 tasks need" in extra["after"] and extra["after_usd"] > 0
    assert cost["as_of"] and cost["source"]
    text = _run(project, endpoint, "plan", "--env", "local", "--set",
                "ecs.service.desired_count=3", "--set", "ecs.service.autoscaling.enabled=false")
    assert "monthly cost (USD):" in text.stdout and "prices:" in text.stdout


def test_a_hand_change_is_flagged_in_the_next_plan_and_the_markdown_has_the_picture(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    _deployed(project, endpoint)
    open_load_balancer_group(aws, 8443, "10.0.0.0/8")
    change = ("--set", 'alb.ingress_cidrs=["0.0.0.0/0", "::/0"]')
    plan = _plan_json(project, endpoint, *change)
    network = next(s for s in plan["stacks"] if s["stack"] == "network")
    sg = next(r for r in network["resources"] if r["logical_id"] == "AlbSecurityGroup")
    assert sg["drift"] and "8443" in sg["drift"][0]
    assert plan["picture"].startswith("flowchart LR")
    review = _run(project, endpoint, "plan", "--env", "local", *change, "--markdown", "r.md")
    assert review.returncode == 0
    markdown = (project / "r.md").read_text()
    assert "```mermaid" in markdown and "class network_AlbSecurityGroup modify" in markdown
    assert "overwrites changes made by hand to AlbSecurityGroup" in markdown


def test_the_plan_schema_is_published(project: Path) -> None:
    result = stackgen(["schema", "--plan"], cwd=project)
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert "schema_version" in json.dumps(schema)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_an_unattended_deploy_that_broadens_access_needs_approve_broadening(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    _deployed(project, endpoint)
    wider = ("--set", ROLE)
    refused = _run(project, endpoint, "deploy", "--env", "local", "--yes", *wider)
    assert refused.returncode == 1
    assert "guard: this change broadens access" in refused.stdout
    assert "--approve-broadening" in refused.stdout
    approved = _run(project, endpoint, "deploy", "--env", "local", "--yes", *wider,
                    "--approve-broadening", "--events", "ndjson")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    records = [json.loads(line) for line in approved.stdout.splitlines()]
    results = {r["stack"]: r["state"] for r in records if r["type"] == "result"}
    assert results["ecs"] == "UPDATED" and results["network"] == "UNCHANGED"
    assert any(r["type"] == "event" and r["stack"] == "ecs" for r in records)
