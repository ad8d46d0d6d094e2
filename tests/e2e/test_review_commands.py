"""`stackgen drift`, `prices update` and `graph --resources` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import ROOT, aws_env, run_stackgen
from tests.helpers.hand_changes import open_load_balancer_group

FIXTURES = ROOT / "tests" / "fixtures" / "prices"


def test_prices_update_refreshes_one_region_from_offer_files(project: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "prices.json"
    result = run_stackgen(["prices", "update", "--region", "eu-central-1", "--from",
                           str(FIXTURES), "--out", str(out)], cwd=project)
    assert result.returncode == 0, result.stderr
    assert "as of 2025-10-15" in result.stdout
    book = json.loads(out.read_text())
    assert book["regions"]["eu-central-1"]["ec2_instance_hour"] == {"t3.micro": 0.012}
    assert "us-east-1" in book["regions"]  # the shipped regions stay


def test_prices_update_from_a_folder_without_offer_files_is_one_line_exit_2(
        project: Path, tmp_path: Path) -> None:
    result = run_stackgen(["prices", "update", "--region", "eu-central-1", "--from",
                           str(tmp_path), "--out", str(tmp_path / "p.json")], cwd=project)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no price list files" in result.stderr
    assert "Traceback" not in result.stderr


def test_graph_resources_draws_every_stack_as_a_group(project: Path) -> None:
    result = run_stackgen(["graph", "--env", "prod", "--resources"], cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("flowchart LR")
    assert 'subgraph rds["rds"]' in result.stdout and "DbInstance" in result.stdout


def test_drift_reports_a_rule_added_by_hand(project: Path, endpoint: Endpoint,
                                            aws: Any) -> None:
    env = aws_env(endpoint)
    deployed = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes"], cwd=project,
                            env=env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    clean = run_stackgen(["--no-color", "drift", "--env", "local", "--fail"], cwd=project,
                         env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    group = open_load_balancer_group(aws)
    found = run_stackgen(["--no-color", "drift", "--env", "local", "--fail", "--format",
                          "json"], cwd=project, env=env)
    assert found.returncode == 1
    drifted = [r for r in json.loads(found.stdout) if r["status"] == "DRIFTED"]
    assert len(drifted) == 1
    (resource,) = drifted[0]["resources"]
    assert resource["physical_id"] == group and resource["status"] == "MODIFIED"
    assert any('"FromPort": 22' in p["actual"] for p in resource["properties"])
