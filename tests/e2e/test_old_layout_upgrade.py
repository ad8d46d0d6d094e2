"""An env deployed from the whole old stack layout (tests/fixtures/old_layout/env: the
security groups in alb and asg, the ECS cluster in ecs, no cluster stack) upgrades to
today's templates with no resource replaced: `plan` lists the moves, `apply` refuses a
plan that has them, and `stackgen refactor` moves the groups and the cluster (the
renamed instances' group by its mapping line) with every resource keeping its physical
id; the plan of today's templates after that replaces and removes nothing, and their
`deploy` completes every stack with every resource under its physical id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import ROOT, aws_env, run_stackgen

OLD = ROOT / "tests" / "fixtures" / "old_layout" / "env" / "templates"
STACKS = ("network", "dns", "cert", "cluster", "alb", "asg", "rds", "ecs")
# Where each moved resource was (old layout) and is (today).
MOVED = {("alb", "AlbSecurityGroup"): ("network", "AlbSecurityGroup"),
         ("asg", "InstanceSecurityGroup"): ("network", "AppSecurityGroup"),
         ("ecs", "Cluster"): ("cluster", "Cluster")}


def _physical(aws: Any) -> dict[tuple[str, str], str]:
    cfn = aws.cloudformation
    names = {s["StackName"]: s for s in cfn.describe_stacks()["Stacks"]}
    out = {}
    for stack in STACKS:
        name = f"kubenews-local-{stack}"
        if name not in names:
            continue
        for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]:
            out[(stack, r["LogicalResourceId"])] = r["PhysicalResourceId"]
    return out


def _replaces(change: dict[str, Any]) -> bool:
    """ResourceChange.replaces, read from the plan's JSON."""
    return bool(change["replacement"] == "True" or (
        change["replacement"] in ("", "Conditional") and change.get("predicted")))


def _stackgen(project: Path, env: dict[str, str], *args: str) -> Any:
    done = run_stackgen(["--no-color", *args], cwd=project, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_whole_old_layout_upgrades_with_nothing_replaced(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    env = aws_env(endpoint)
    (project / "templates" / "cluster.yaml.j2").unlink()
    for path in OLD.iterdir():
        shutil.copy(path, project / "templates" / path.name)
    # The forecast refuses the old layout for the defect that made it change (F201: the
    # instances boot before ecs creates their cluster; the endpoint's agent gives up as
    # AWS's does). Envs of that layout exist where the cluster won the race; here it is
    # made first, and ecs's Cluster takes it (CreateCluster of an existing name returns it).
    aws.ecs.create_cluster(clusterName="kubenews-local")
    _stackgen(project, env, "deploy", "--env", "local", "--yes", "--no-forecast")
    before = _physical(aws)
    assert "kubenews-local-cluster" not in {
        s["StackName"] for s in aws.cloudformation.describe_stacks()["Stacks"]}
    assert set(MOVED) <= set(before)

    shutil.copytree(ROOT / "templates", project / "templates", dirs_exist_ok=True)
    planned = _stackgen(project, env, "plan", "--env", "local", "--format", "json",
                        "--out", str(project / "plan.json"))
    moves = json.loads(planned.stdout)["moves"]
    assert "move alb.AlbSecurityGroup → network.AlbSecurityGroup" in moves
    assert "move ecs.Cluster → cluster.Cluster" in moves
    assert any(m.startswith("possible move asg.InstanceSecurityGroup → "
                            "network.AppSecurityGroup") for m in moves)

    # apply executes reviewed change sets only: these were made against the stacks before
    # the move (docs/design/validation.md), so it refuses and executes nothing.
    refused = run_stackgen(["--no-color", "apply", "--yes", str(project / "plan.json")],
                           cwd=project, env=env)
    assert refused.returncode != 0 and "stackgen refactor" in refused.stderr + refused.stdout
    assert _physical(aws) == before

    mapping = project / "moves.yaml"
    mapping.write_text("asg.InstanceSecurityGroup: network.AppSecurityGroup\n")
    moved = _stackgen(project, env, "refactor", "--env", "local", "--mapping", str(mapping),
                      "--yes")
    for (src, sid), (dst, did) in MOVED.items():
        assert f"move {src}.{sid} → {dst}.{did}" in moved.stdout
    [made] = aws.cloudformation.describe_stacks(StackName="kubenews-local-cluster")["Stacks"]
    # plan left a review shell of the new cluster stack (its create change set): the
    # refactor replaced it by the stack it creates, holding the moved cluster.
    assert made["StackStatus"] != "REVIEW_IN_PROGRESS", made["StackStatus"]

    after = _physical(aws)
    for old, new in MOVED.items():
        assert after.get(new) == before[old], f"{old} → {new} replaced"
        assert old not in after
    replaced = {k: (v, after.get(k)) for k, v in before.items()
                if k not in MOVED and after.get(k) != v}
    assert replaced == {}
    groups = {g["GroupId"] for g in aws.ec2.describe_security_groups()["SecurityGroups"]}
    assert {before[("alb", "AlbSecurityGroup")],
            before[("asg", "InstanceSecurityGroup")]} <= groups
    [cluster] = aws.ecs.describe_clusters(clusters=["kubenews-local"])["clusters"]
    assert cluster["status"] == "ACTIVE"

    # Today's templates, planned against the refactored stacks: nothing is replaced or
    # removed, only updated in place (the moved groups' references become parameters,
    # the instances' user data reads the cluster stack's output) and added.
    replanned = _stackgen(project, env, "plan", "--env", "local", "--format", "json")
    plan = json.loads(replanned.stdout)
    assert plan["moves"] == []
    unsafe = [f"{s['stack']}.{c['logical_id']} {c['action']} {c['replacement']} "
              f"{c.get('predicted')}" for s in plan["stacks"] for c in s["resources"]
              if c["action"] == "Remove" or _replaces(c)]
    assert unsafe == [], unsafe

    # network.AlbEgress1 (the load balancer's egress to the app's port) came after the
    # move: a real broadening, which the reviewer approves.
    _stackgen(project, env, "deploy", "--env", "local", "--yes", "--approve-broadening")
    statuses = {s["StackName"]: s["StackStatus"]
                for s in aws.cloudformation.describe_stacks()["Stacks"]}
    assert {f"kubenews-local-{s}" for s in STACKS} <= set(statuses)
    assert all(v in ("CREATE_COMPLETE", "UPDATE_COMPLETE") for v in statuses.values()), \
        statuses
    final = _physical(aws)
    kept = {k: final.get(MOVED.get(k, k)) for k in before}
    assert {k: (before[k], v) for k, v in kept.items() if v != before[k]} == {}
    for old, new in MOVED.items():
        assert final[new] == before[old]
