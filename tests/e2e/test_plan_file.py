"""Plan files through `stackgen plan` and `apply`: signed, private (issue 22)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import run_stackgen
from tests.helpers.plan_files import KEY, _saved


def test_apply_refuses_an_unsigned_plan_before_any_aws_call(tmp_path: Path) -> None:
    path = _saved(tmp_path, None)
    env = {**os.environ, "STACKGEN_PLAN_KEY": KEY.decode(),
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing answers there
    result = run_stackgen(["apply", str(path), "--yes"], cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "not signed" in result.stderr and "Traceback" not in result.stderr


def test_plan_refuses_a_symlinked_out_before_any_aws_call(project: Path) -> None:
    (project / "victim").write_text("keep me")
    (project / "p.json").symlink_to(project / "victim")
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    result = run_stackgen(["plan", "--env", "local", "--out", "p.json"], cwd=project, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "symbolic link" in result.stderr
    assert (project / "victim").read_text() == "keep me"

