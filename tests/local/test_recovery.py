"""Recovery, against the local endpoint: `plan --out` that cannot be written leaves no
change set behind (issue 25)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.local.manager import Endpoint
from tests.conftest import aws_env


def test_plan_out_that_cannot_be_written_leaves_no_change_set(
        project: Path, endpoint: Endpoint, aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The output checks pass (a writable directory), then the write fails: the change
    sets (and review shells) the plan made were left, named by no plan file."""
    for key, value in aws_env(endpoint).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(project)
    # write_private writes .plan.json.<pid>.tmp, then renames it: something is in its way.
    (project / f".plan.json.{os.getpid()}.tmp").mkdir()
    result = CliRunner().invoke(cli, ["--no-color", "plan", "--env", "local", "--no-forecast",
                                      "--out", "plan.json"])
    assert result.exit_code == 2, result.output
    assert "error: cannot write plan.json" in result.output
    cfn = aws.cloudformation
    left = [s for s in cfn.describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"]
    assert left == []  # the review shells of new stacks went with their change sets
    assert not (project / "plan.json").exists()
