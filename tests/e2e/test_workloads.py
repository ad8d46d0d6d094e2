"""Several workloads per env through the `stackgen` command (issue 14)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_stackgen
from tests.helpers.workloads import API


def test_the_shipped_envs_and_a_web_service_lint_clean(project: Path) -> None:
    result = run_stackgen(["--no-color", "lint", "--env", "dev", "--strict", "--no-cache",
                           *[a for o in API for a in ("--set", o)]], cwd=project, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

