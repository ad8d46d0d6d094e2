"""An env's `targets` deployed by `stackgen` to each account and region (issue 16 item 6)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import boto3

from generator.aws.accounts import assume
from generator.local.manager import Endpoint
from tests.conftest import REGION, aws_env, run_stackgen
from tests.helpers.targets import OTHER, ROLE

LABELS = (f"tt@123456789012/{REGION}", f"tt@{OTHER}/{REGION}")


def _project_with_targets(project: Path, targets: str) -> None:
    local = (project / "params" / "local.yaml").read_text()
    (project / "params" / "tt.yaml").write_text(
        local.replace("domain: kubenews.stackgen.test", "domain: tt.stackgen.test")
        + "\ntargets:\n" + targets)


def _other_account(endpoint: Endpoint) -> Any:
    """A session in the other account, as the role gives it, with its zone seeded
    (`stackgen local up` seeds the default account only)."""
    creds = assume(boto3.client("sts", region_name=REGION, endpoint_url=endpoint.url,
                                aws_access_key_id="testing", aws_secret_access_key="testing"),
                   ROLE, "test")
    session = boto3.Session(region_name=REGION, **creds)
    session.client("route53", endpoint_url=endpoint.url).create_hosted_zone(
        Name="stackgen.test.", CallerReference=str(time.time()))
    return session


def _stacks(client: Any) -> dict[str, dict[str, Any]]:
    return {s["StackName"]: s for s in client.describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"}


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _params(stack: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def test_the_graph_goes_to_each_target_with_its_own_outputs_and_lock(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    _project_with_targets(project, f'  - account: "123456789012"\n    region: {REGION}\n'
                                   f'  - account: "{OTHER}"\n    region: {REGION}\n'
                                   f"    role_arn: {ROLE}\n")
    other = _other_account(endpoint)
    env = aws_env(endpoint)
    result = run_stackgen(["--no-color", "deploy", "--env", "tt", "--yes"], cwd=project,
                          env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line.split()[2::2] for line in result.stdout.splitlines()
            if line.strip().startswith("tt@")}
    assert set(rows) == set(LABELS)
    assert all(set(states) == {"CREATED"} for states in rows.values()), rows
    mine = _stacks(aws.cloudformation)
    theirs = _stacks(other.client("cloudformation", endpoint_url=endpoint.url))
    for stacks, account in ((mine, "123456789012"), (theirs, OTHER)):
        assert {f"kubenews-tt-{s}" for s in ("network", "alb", "ecs")} <= set(stacks)
        # outputs chained within the target: its alb reads its own network's VPC
        vpc = _outputs(stacks["kubenews-tt-network"])["VpcId"]
        assert _params(stacks["kubenews-tt-alb"])["VpcId"] == vpc
        assert f":{account}:" in stacks["kubenews-tt-ecs"]["StackId"]
    assert _outputs(mine["kubenews-tt-network"])["VpcId"] != \
        _outputs(theirs["kubenews-tt-network"])["VpcId"]
    # each target its own lock, in its own account's artifacts bucket
    for label in LABELS:
        assert re.search(rf"^\[{re.escape(label)}\] ", result.stdout, re.M)
    buckets = {b["Name"] for b in other.client("s3", endpoint_url=endpoint.url)
               .list_buckets()["Buckets"]}
    assert f"stackgen-artifacts-{OTHER}-{REGION}" in buckets

    # status, outputs and plan honour the env's targets: one section, file or key each
    status = run_stackgen(["--no-color", "status", "--env", "tt"], cwd=project, env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    for label in LABELS:
        section = status.stdout.split(f"== env {label} ==")[1].split("== env")[0]
        assert section.count("kubenews-tt-") == 8 and "NOT_DEPLOYED" not in section, label
    outputs = run_stackgen(["--no-color", "outputs", "--env", "tt", "--format", "json"],
                           cwd=project, env=env)
    assert outputs.returncode == 0, outputs.stdout + outputs.stderr
    found = json.loads(outputs.stdout)
    assert set(found) == set(LABELS)
    assert found[LABELS[0]]["network"]["VpcId"] == _outputs(mine["kubenews-tt-network"])["VpcId"]
    assert found[LABELS[1]]["network"]["VpcId"] == \
        _outputs(theirs["kubenews-tt-network"])["VpcId"]

    plan = run_stackgen(["--no-color", "plan", "--env", "tt", "--no-drift",
                         "--set", "asg.max_size=2", "--detailed-exitcode",
                         "--out", "plan.json", "--markdown", "review.md"],
                        cwd=project, env=env, timeout=600)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    review = (project / "review.md").read_text()
    for label, account in zip(LABELS, ("123456789012", OTHER), strict=True):
        assert f"== env {label} ==" in plan.stdout
        saved = json.loads((project / f"plan.tt@{account}-{REGION}.json").read_text())
        # what apply needs to render the target again and reach it
        assert saved["account"] == account and f"account_id={account}" in saved["overrides"]
        assert f"## stackgen plan: env `{label}`" in review

    gone = run_stackgen(["--no-color", "delete", "--env", "tt", "--yes"], cwd=project,
                        env=env, timeout=600)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not _stacks(aws.cloudformation)
    assert not _stacks(other.client("cloudformation", endpoint_url=endpoint.url))


def test_a_target_the_credentials_do_not_reach_deploys_nothing(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    """No role: the caller's credentials must be of the target's account; moto's default
    account is not 111111111111, so the run stops before any change, in every target."""
    _project_with_targets(project, f'  - account: "123456789012"\n    region: {REGION}\n'
                                   f'  - account: "{OTHER}"\n    region: {REGION}\n')
    result = run_stackgen(["--no-color", "deploy", "--env", "tt", "--yes"], cwd=project,
                          env=aws_env(endpoint), timeout=600)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"target tt@{OTHER}/{REGION}: with these credentials the calls reach account " \
           f"123456789012, not {OTHER}" in result.stderr
    assert not _stacks(aws.cloudformation)

