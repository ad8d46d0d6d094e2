"""`stackgen render` and `graph` as a user runs them, and the params they refuse."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_stackgen


def test_render_writes_templates_params_and_manifest(project: Path) -> None:
    result = run_stackgen(["render", "--env", "local"], cwd=project)
    assert result.returncode == 0, result.stderr
    out = project / "build" / "local"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["order"] == ["network", "dns", "cluster", "cert", "alb", "asg", "rds",
                                 "ecs"]
    for name, entry in manifest["stacks"].items():
        assert (out / entry["template"]).is_file()
        params = json.loads((out / entry["parameters"]).read_text())
        assert params["StackName"] == f"kubenews-local-{name}"
        assert params["Tags"]["stackgen:env"] == "local"
        assert len(entry["sha256"]) == 64
    alb = json.loads((out / "alb.params.json").read_text())["Parameters"]
    assert alb["VpcId"] == {"From": "network.VpcId"}
    assert alb["DomainName"] == "kubenews.stackgen.test"
    dns = json.loads((out / "dns.params.json").read_text())["Parameters"]
    assert dns["HostedZoneId"] == {"Lookup": "HostedZoneIdByName", "Name": "stackgen.test"}
    assert (out / "nested" / "root.yaml").is_file()


def test_render_one_stack_to_a_chosen_dir(project: Path) -> None:
    result = run_stackgen(["render", "--env", "dev", "--stack", "rds", "--out", "x"], cwd=project)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (project / "x").iterdir()) == [
        "manifest.json", "rds.params.json", "rds.yaml"]


def test_graph_command_formats(project: Path) -> None:
    text = run_stackgen(["graph", "--env", "local"], cwd=project)
    assert text.returncode == 0 and "ecs  <- alb, asg, cluster, rds" in text.stdout
    mermaid = run_stackgen(["graph", "--env", "fargate", "--format", "mermaid"], cwd=project)
    assert mermaid.stdout.startswith("flowchart LR") and "asg" not in mermaid.stdout


def test_graph_command_shows_the_cluster_upstream_of_the_instances(project: Path) -> None:
    text = run_stackgen(["graph", "--env", "local"], cwd=project)
    assert text.returncode == 0, text.stderr
    assert "asg  <- cluster, network" in text.stdout
    assert "    ClusterName = cluster.ClusterName" in text.stdout
    assert "ecs  <- alb, asg, cluster, rds" in text.stdout and "    after asg" in text.stdout
    mermaid = run_stackgen(["graph", "--env", "prod", "--format", "mermaid"], cwd=project)
    assert 'cluster -- "ClusterName" --> asg' in mermaid.stdout
    assert 'network -- "AppSecurityGroupId, AppSubnetIds, VpcId" --> rds' in mermaid.stdout


def test_an_app_login_named_like_the_master_is_refused(project: Path) -> None:
    result = run_stackgen(["render", "--env", "local", "--set", "rds.app_username=kubenews"],
                          cwd=project)
    assert result.returncode == 2
    assert "app_username" in result.stderr and "Traceback" not in result.stderr
    assert not (project / "build").exists()


def test_a_malformed_digest_is_refused(project: Path) -> None:
    result = run_stackgen(["render", "--env", "prod", "--set",
                           "ecs.container.image_digest=sha256:latest"], cwd=project)
    assert result.returncode == 2 and "image_digest" in result.stderr

