"""Several envs from one run (issue 16 item 5) on the local endpoint: one process, one
scheduler over (env, stack), each env's own lock and outputs, one matrix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import aws_env, run_stackgen

ENVS = ("blue", "green")


def add_envs(project: Path, names: tuple[str, ...] = ENVS) -> None:
    """Test-only envs: copies of local, each at its own domain (stack and resource
    names follow the env's name)."""
    local = (project / "params" / "local.yaml").read_text()
    assert "domain: kubenews.stackgen.test" in local
    for name in names:
        (project / "params" / f"{name}.yaml").write_text(
            local.replace("domain: kubenews.stackgen.test", f"domain: {name}.stackgen.test"))


def _run(project: Path, endpoint: Endpoint, *args: str) -> Any:
    return run_stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint),
                        timeout=600)


def _stacks(c: Any) -> dict[str, dict[str, Any]]:
    return {s["StackName"]: s for s in c.cloudformation.describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"}


def _matrix(stdout: str) -> dict[str, dict[str, str]]:
    """The env x stack matrix: {env: {stack: state}}."""
    lines = stdout[stdout.rindex("  env "):].splitlines()
    stacks = lines[0].split()[1:]
    rows = {}
    for line in lines[1:]:
        cells = line.split()
        if not cells or cells[0] not in ENVS:
            break
        rows[cells[0]] = dict(zip(stacks, cells[2::2], strict=True))
    return rows


def test_two_envs_deploy_in_one_run_chain_their_own_outputs_and_delete(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    add_envs(project)
    result = _run(project, endpoint, "deploy", "--env", "blue", "--env", "green", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    order = ["network", "dns", "cluster", "cert", "alb", "asg", "rds", "ecs"]
    assert _matrix(result.stdout) == {e: {s: "CREATED" for s in order} for e in ENVS}
    stacks = _stacks(aws)
    assert {f"kubenews-{e}-{s}" for e in ENVS for s in order} <= set(stacks)
    for env in ENVS:  # each env's alb reads its own network's outputs
        network = {o["OutputKey"]: o["OutputValue"]
                   for o in stacks[f"kubenews-{env}-network"]["Outputs"]}
        alb = {p["ParameterKey"]: p["ParameterValue"]
               for p in stacks[f"kubenews-{env}-alb"]["Parameters"]}
        assert alb["VpcId"] == network["VpcId"], env
        assert (project / "build" / env / "manifest.json").exists()
    assert stacks["kubenews-blue-network"]["Outputs"] != stacks["kubenews-green-network"][
        "Outputs"]
    # each env's lines say which env they are of
    assert re.search(r"^\[blue\] .*network: kubenews-blue-network", result.stdout, re.M)
    assert re.search(r"^\[green\] .*network: kubenews-green-network", result.stdout, re.M)

    noop = _run(project, endpoint, "deploy", "--env", "blue", "--env", "green", "--yes")
    assert noop.returncode == 0, noop.stdout + noop.stderr
    assert noop.stdout.count("is up to date") == 16
    assert _matrix(noop.stdout) == {e: {s: "UNCHANGED" for s in order} for e in ENVS}

    plan = _run(project, endpoint, "plan", "--env", "blue", "--env", "green",
                "--set", "asg.max_size=2", "--detailed-exitcode", "--no-drift")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "== env blue ==" in plan.stdout and "== env green ==" in plan.stdout

    gone = _run(project, endpoint, "delete", "--env", "blue", "--env", "green", "--yes")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not [n for n in _stacks(aws) if n.startswith(("kubenews-blue", "kubenews-green"))]
    assert _matrix(gone.stdout) == {e: {s: "DELETED" for s in order} for e in ENVS}
    # each env over the reverse graph: a stack goes only after every stack reading it
    reads = {"cert": ["dns"], "alb": ["cert", "dns", "network"], "asg": ["cluster", "network"],
             "rds": ["network"], "ecs": ["alb", "cluster", "rds", "asg"]}
    for env in ENVS:
        deleted = re.findall(rf"^\[{env}\] \S+ DELETE_COMPLETE (\w+): ", gone.stdout, re.M)
        assert sorted(deleted) == sorted(order)
        for reader, upstream in reads.items():
            for up in upstream:
                assert deleted.index(reader) < deleted.index(up), (env, reader, up)


def test_a_failure_blocks_only_its_own_envs_downstream(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    """green's rds gets a resource the endpoint refuses; blue deploys whole, green's
    other branches finish, green's ecs is blocked."""
    add_envs(project)
    rds = project / "templates" / "rds.yaml.j2"
    rds.write_text(rds.read_text().replace("Resources:\n", (
        "Resources:\n{% if names.prefix.endswith('green') %}  Broken:\n"
        "    Type: AWS::EC2::SecurityGroupIngress\n    Properties:\n"
        "      GroupId: sg-0000000000000000f\n      IpProtocol: tcp\n      FromPort: 1\n"
        "      ToPort: 1\n      CidrIp: 10.0.0.0/8\n{% endif %}\n"), 1))
    result = _run(project, endpoint, "deploy", "--env", "blue", "--env", "green", "--yes",
                  "--no-lint")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = _matrix(result.stdout)
    assert set(rows["blue"].values()) == {"CREATED"}
    assert rows["green"]["rds"] == "FAILED" and rows["green"]["ecs"] == "BLOCKED"
    assert {rows["green"][s] for s in ("network", "dns", "cluster", "cert", "alb", "asg")} \
        == {"CREATED"}
    root_cause = result.stdout.split("root cause:")[1]
    assert "green/rds (kubenews-green-rds)" in root_cause
    assert "green/ecs (kubenews-green-ecs): upstream rds did not deploy" in root_cause
    assert "blue/" not in root_cause
    assert "kubenews-blue-ecs" in _stacks(aws) and "kubenews-green-ecs" not in _stacks(aws)


def test_bad_input_in_one_env_deploys_nothing(project: Path, endpoint: Endpoint,
                                              aws: Any) -> None:
    add_envs(project)
    with (project / "params" / "green.yaml").open("a") as f:
        f.write("\nregoin: us-east-1\n")
    result = _run(project, endpoint, "deploy", "--env", "blue", "--env", "green", "--yes")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "params/green.yaml" in result.stderr and "regoin" in result.stderr
    assert not [n for n in _stacks(aws) if n.startswith("kubenews-blue")]
