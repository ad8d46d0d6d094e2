"""`stackgen deploy` and `delete` against the local endpoint, as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import aws_env
from tests.helpers.inprocess import stackgen


def _deploy(project: Path, endpoint: Endpoint, *extra: str) -> Any:
    return stackgen(["--no-color", "deploy", "--env", "local", "--yes", *extra],
                        cwd=project, env=aws_env(endpoint))


def _stacks(c: Any) -> dict[str, dict[str, Any]]:
    return {s["StackName"]: s for s in c.cloudformation.describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"}


def _change_sets(c: Any) -> dict[str, str]:
    """Every change set the endpoint has seen: id -> stack name."""
    summaries = c.cloudformation.list_change_sets(StackName="any")["Summaries"]
    return {s["ChangeSetId"]: s["StackName"] for s in summaries}


def test_fresh_deploy_chains_outputs_into_parameters(project: Path, endpoint: Endpoint,
                                                     aws: Any) -> None:
    result = _deploy(project, endpoint)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((project / "build" / "local" / "manifest.json").read_text())
    stacks = _stacks(aws)
    assert set(stacks) == {f"kubenews-local-{s}" for s in manifest["order"]}
    outputs = {name: {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])}
               for name, s in stacks.items()}
    checked = 0
    for stack, entry in manifest["stacks"].items():
        params = {p["ParameterKey"]: p["ParameterValue"]
                  for p in stacks[entry["stack_name"]]["Parameters"]}
        for param, ref in entry["inputs"].items():
            up, out = ref.split(".")
            assert params[param] == outputs[f"kubenews-local-{up}"][out], (stack, param)
            checked += 1
    assert checked >= 14
    tags = {t["Key"]: t["Value"] for t in stacks["kubenews-local-alb"]["Tags"]}
    assert tags["stackgen:env"] == "local" and tags["stackgen:stack"] == "alb"
    assert tags["stackgen:project"] == "kubenews" and tags["stackgen:version"]


def test_noop_then_one_stack_update(project: Path, endpoint: Endpoint, aws: Any) -> None:
    assert _deploy(project, endpoint).returncode == 0
    before = _change_sets(aws)
    noop = _deploy(project, endpoint)
    assert noop.returncode == 0
    assert _change_sets(aws) == before, "a no-op deploy must create no change set"
    assert noop.stdout.count("is up to date") == 8
    update = _deploy(project, endpoint, "--set", "asg.max_size=4")
    assert update.returncode == 0, update.stdout + update.stderr
    after = _change_sets(aws)
    assert {after[i] for i in set(after) - set(before)} == {"kubenews-local-asg"}
    group = aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]
    assert group["MaxSize"] == 4


def test_failure_in_the_middle(project: Path, endpoint: Endpoint, aws: Any) -> None:
    # rds reads network alone, so alb, asg and rds are independent branches;
    # rds gets a resource the endpoint refuses.
    rds = project / "templates" / "rds.yaml.j2"
    rds.write_text(rds.read_text().replace("Resources:\n", (
        "Resources:\n  Broken:\n    Type: AWS::EC2::SecurityGroupIngress\n    Properties:\n"
        "      GroupId: sg-0000000000000000f\n      IpProtocol: tcp\n      FromPort: 1\n"
        "      ToPort: 1\n      CidrIp: 10.0.0.0/8\n\n"), 1))
    result = _deploy(project, endpoint, "--no-lint")
    assert result.returncode == 1
    rows = dict(re.findall(r"^  (\w+)\s+\S ([A-Z]+)\s+[\d.]+$", result.stdout, re.M))
    assert rows == {"network": "CREATED", "dns": "CREATED", "cluster": "CREATED",
                    "cert": "CREATED", "alb": "CREATED", "asg": "CREATED", "rds": "FAILED",
                    "ecs": "BLOCKED"}
    root_cause = result.stdout.split("root cause:")[1]
    assert "rds (kubenews-local-rds)" in root_cause
    assert "sg-0000000000000000f" in root_cause and "does not exist" in root_cause
    assert "ecs (kubenews-local-ecs): upstream rds did not deploy" in root_cause
    assert "Traceback" not in result.stdout + result.stderr
    assert "kubenews-local-ecs" not in _stacks(aws)


def test_delete_leaves_no_stack(project: Path, endpoint: Endpoint, aws: Any) -> None:
    assert _deploy(project, endpoint).returncode == 0
    result = stackgen(["--no-color", "delete", "--env", "local", "--yes"], cwd=project,
                          env=aws_env(endpoint))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _stacks(aws) == {}
    # Reverse graph order: the service, then the instances, then their cluster
    # (DeleteCluster is refused while instances are registered).
    order = re.findall(r"^  - kubenews-local-(\w+) \(", result.stdout, re.M)
    assert order == ["ecs", "rds", "asg", "alb", "cert", "cluster", "dns", "network"]
    assert "LogGroup (AWS::Logs::LogGroup) is kept" in result.stdout
    assert "hosted zone stackgen.test is not this env's and stays" in result.stdout
    assert len(aws.route53.list_hosted_zones()["HostedZones"]) == 1


def test_delete_refuses_a_stack_others_still_read(project: Path, endpoint: Endpoint,
                                                  aws: Any) -> None:
    assert _deploy(project, endpoint).returncode == 0
    result = stackgen(["delete", "--env", "local", "--stack", "cluster", "--yes"],
                          cwd=project, env=aws_env(endpoint))
    assert result.returncode == 2
    assert "feeds kubenews-local-asg, which stays deployed" in result.stderr
    assert "kubenews-local-cluster" in _stacks(aws)


def test_without_a_terminal_and_without_yes_it_refuses_at_once(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    result = stackgen(["deploy", "--env", "local"], cwd=project, env=aws_env(endpoint),
                          input="")
    assert result.returncode == 2
    assert "no terminal to ask in; rerun with --yes" in result.stderr
    assert _stacks(aws) == {}


def test_wrong_account_is_refused_before_any_change(project: Path, endpoint: Endpoint,
                                                    aws: Any) -> None:
    result = stackgen(["deploy", "--env", "local", "--yes", "--set",
                           "account_id=999999999999"], cwd=project, env=aws_env(endpoint))
    assert result.returncode == 2
    assert "account 123456789012" in result.stderr and "account_id 999999999999" in result.stderr
    assert _stacks(aws) == {}


def test_prod_like_env_gets_termination_protection_and_a_stack_policy(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    protect = ("--set", "termination_protection=true")
    # The local env made prod-like breaks the prod-like lint rules (public subnets, no DB
    # deletion protection: E9113, E9114); this test is about the protection itself.
    assert _deploy(project, endpoint, *protect, "--no-lint").returncode == 0
    rds = aws.cloudformation.describe_stacks(StackName="kubenews-local-rds")["Stacks"][0]
    assert rds["EnableTerminationProtection"] is True
    policy = json.loads(aws.cloudformation.get_stack_policy(
        StackName="kubenews-local-rds")["StackPolicyBody"])
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert deny["Action"] == ["Update:Replace", "Update:Delete"]
    # The app's own login secret is data too (issue 13, gap 3).
    assert deny["Resource"] == ["LogicalResourceId/AppDbSecret", "LogicalResourceId/DbInstance",
                                "LogicalResourceId/DbSecret"]
    refused = stackgen(["delete", "--env", "local", "--yes", *protect], cwd=project,
                           env=aws_env(endpoint))
    assert refused.returncode == 2 and "termination protection" in refused.stderr
    # Turning it off would also drop the audit trail it defaults on (issue 13): the
    # guard stops before the flow logs go.
    dropped = _deploy(project, endpoint)
    assert dropped.returncode == 1
    assert "--allow-replace FlowLogGroup" in dropped.stdout
    # Turning it off in params and deploying lifts it; then delete works.
    keep_trail = ("--set", "network.flow_logs.enabled=true", "--set", "alb.access_logs.enabled=true")
    assert _deploy(project, endpoint, *keep_trail).returncode == 0
    assert stackgen(["delete", "--env", "local", "--yes", *keep_trail], cwd=project,
                        env=aws_env(endpoint)).returncode == 0


def test_ctrl_c_stops_scheduling_and_leaves_no_change_set(
        project: Path, endpoint: Endpoint, aws: Any, monkeypatch: Any) -> None:
    """An interrupt while network, dns and cluster run: they finish, nothing else starts."""
    from generator.aws.session import connect
    from generator.deploy import engine, scheduler
    from generator.deploy.stack_work import DeployOptions
    from generator.params import load_env
    from generator.references import Lookups
    from generator.render import render
    from generator.ui import Console

    for key, value in aws_env(endpoint).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    rendered = render(load_env(project / "params", "local"), project / "templates")
    session = connect(rendered.env.config)
    calls = {"n": 0}
    real_wait = scheduler.wait

    def interrupting_wait(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(scheduler, "wait", interrupting_wait)
    deployer = engine.Deployer(rendered, session.cfn, Lookups(session.client("route53")),
                               Console(color=False), lambda q: True, DeployOptions())
    results = {r.stack: r.state for r in deployer.run()}
    assert results["alb"] == results["asg"] == results["rds"] == results["ecs"] == "INTERRUPTED"
    assert {results["network"], results["dns"], results["cluster"]} <= {"CREATED", "INTERRUPTED"}
    stacks = {s["StackName"]: s["StackStatus"] for s in aws.cloudformation.describe_stacks()[
        "Stacks"]}
    assert not any(status == "REVIEW_IN_PROGRESS" for status in stacks.values())
    assert set(stacks) <= {"kubenews-local-network", "kubenews-local-dns",
                           "kubenews-local-cluster"}
