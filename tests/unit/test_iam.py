"""Least privilege around the service roles (issues 22 and 27): the confused-deputy keys
on every documented service trust, iam:PassedToService on every PassRole, the flow-log
role's permissions, and the DB master secret readable only by the execution roles of
task definitions whose containers are given it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from generator.iam import SERVICE_TRUSTS
from generator.lint.engine import Linter, Target
from generator.params import load_env
from generator.render import render
from generator.yamlsrc import load_cfn
from tests.conftest import ENVS, ROOT

MASTER, APP = "DbSecretArn", "AppDbSecretArn"


def _stacks(env: str, *overrides: str) -> dict[str, dict[str, Any]]:
    rendered = render(load_env(ROOT / "params", env, overrides), ROOT / "templates")
    return {name: load_cfn(stack.template) for name, stack in rendered.stacks.items()}


def _roles(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in doc.get("Resources", {}).items()
            if r["Type"] == "AWS::IAM::Role"}


def _trust(role: dict[str, Any]) -> dict[str, Any]:
    [stmt] = role["AssumeRolePolicyDocument"]["Statement"]
    return dict(stmt)


def _allows(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


@pytest.fixture(scope="module")
def envs() -> dict[str, dict[str, dict[str, Any]]]:
    return {env: _stacks(env) for env in ENVS}


@pytest.mark.parametrize("env", ENVS)
def test_every_documented_service_trust_names_this_account_and_its_sources(
        envs: dict[str, dict[str, dict[str, Any]]], env: str) -> None:
    seen = set()
    for stack, doc in envs[env].items():
        for name, role in _roles(doc).items():
            stmt = _trust(role)
            service = stmt["Principal"]["Service"]
            if service not in SERVICE_TRUSTS:
                assert service in ("ec2.amazonaws.com", "ecs.amazonaws.com"), (stack, name)
                continue
            seen.add(service)
            cond = stmt["Condition"]
            assert cond["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
            arn = cond["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
            assert arn == SERVICE_TRUSTS[service].source_arn
            assert "${AWS::AccountId}" in arn, (stack, name)
    # dev has tasks, a scheduled job and flow logs off; prod has flow logs.
    assert "ecs-tasks.amazonaws.com" in seen
    if env == "dev":
        assert "scheduler.amazonaws.com" in seen
    if env == "prod":
        assert "vpc-flow-logs.amazonaws.com" in seen


def test_the_trusts_name_each_service_s_own_resources() -> None:
    assert SERVICE_TRUSTS["ecs-tasks.amazonaws.com"].source_arn.endswith(
        ":ecs:${AWS::Region}:${AWS::AccountId}:*")
    # a schedule without GroupName is in the group `default`
    assert SERVICE_TRUSTS["scheduler.amazonaws.com"].source_arn.endswith(
        ":schedule-group/default")
    assert SERVICE_TRUSTS["vpc-flow-logs.amazonaws.com"].source_arn.endswith(":vpc-flow-log/*")


def test_the_job_passes_its_roles_to_ecs_tasks_only(
        envs: dict[str, dict[str, dict[str, Any]]]) -> None:
    role = _roles(envs["dev"]["ecs"])["NightlySchedulerRole"]
    passrole = next(s for s in _allows(role) if s["Action"] == ["iam:PassRole"])
    assert passrole["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert passrole["Resource"] == [{"Fn::GetAtt": ["NightlyExecutionRole", "Arn"]},
                                    {"Fn::GetAtt": ["NightlyTaskRole", "Arn"]}]


def test_the_flow_log_role_may_describe_log_groups() -> None:
    """VPC user guide, "IAM role for publishing flow logs to CloudWatch Logs"."""
    role = _roles(_stacks("prod")["network"])["FlowLogRole"]
    actions = {a for s in _allows(role) for a in s["Action"]}
    assert {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
            "logs:DescribeLogGroups"} <= actions


def _secret_params(value: Any) -> set[str]:
    """The login secrets (template parameters) a container's ValueFrom reads."""
    sub = value.get("Fn::Sub", "") if isinstance(value, dict) else ""
    return set(re.findall(r"\$\{(\w+)\}", sub)) & {MASTER, APP}


def _readable(role: dict[str, Any]) -> set[str]:
    found = set()
    for stmt in _allows(role):
        if "secretsmanager:GetSecretValue" in stmt["Action"]:
            found |= {r["Ref"] for r in stmt["Resource"] if isinstance(r, dict) and "Ref" in r}
    return found


@pytest.mark.parametrize("env", ENVS)
def test_each_execution_role_reads_the_logins_its_own_containers_get(
        envs: dict[str, dict[str, dict[str, Any]]], env: str) -> None:
    """One execution role per task definition: the master login's secret only where a
    container of that task is given it (db-bootstrap, `db_login: master` workloads)."""
    resources = envs[env]["ecs"]["Resources"]
    roles = _roles(envs[env]["ecs"])
    definitions = {k: r["Properties"] for k, r in resources.items()
                   if r["Type"] == "AWS::ECS::TaskDefinition"}
    used: dict[str, str] = {}
    for name, td in definitions.items():
        role = td["ExecutionRoleArn"]["Fn::GetAtt"][0]
        assert role not in used, f"{name} shares {role} with {used.get(role)}"
        used[role] = name
        given = {p for c in td["ContainerDefinitions"] for s in c.get("Secrets", [])
                 for p in _secret_params(s["ValueFrom"])}
        assert _readable(roles[role]) == given, (name, role)
    # The app's own workloads that log in as the app cannot read the master secret.
    if env == "dev":
        assert MASTER not in _readable(roles["WorkerExecutionRole"])
        assert MASTER in _readable(roles["MigrateExecutionRole"])  # db_login: master


def test_a_workload_reads_the_login_it_is_given_and_nothing_else() -> None:
    """A task without the DB reads no secret; one with `db_login: master` the master's
    only; the web task (db-bootstrap) both logins."""
    roles = _roles(_stacks(
        "dev", 'ecs.tasks.audit.command=["true"]', "ecs.tasks.audit.database=false",
        'ecs.tasks.admin.command=["true"]', "ecs.tasks.admin.db_login=master")["ecs"])
    assert _readable(roles["AuditExecutionRole"]) == set()
    assert "Policies" not in roles["AuditExecutionRole"]
    assert _readable(roles["AdminExecutionRole"]) == {MASTER}
    assert _readable(roles["ExecutionRole"]) == {MASTER, APP}


@pytest.mark.parametrize("env", ENVS)
def test_the_rendered_envs_pass_the_confused_deputy_rule(env: str) -> None:
    rendered = render(load_env(ROOT / "params", env), ROOT / "templates")
    targets = [Target(env, name, Path(f"{name}.yaml"), stack.template, {}, "us-east-1")
               for name, stack in rendered.stacks.items()]
    found = [f for f in Linter(cache_dir=None, jobs=1).lint(targets) if f.rule_id == "E9117"]
    assert found == []
