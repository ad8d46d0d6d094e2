"""Several workloads per env (issue 14): what ecs.services and ecs.jobs render to, and
the ecs view (issue 17) that the template reads."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_stackgen
from tests.helpers.workloads import API


def test_the_shipped_envs_and_a_web_service_lint_clean(project: Path) -> None:
    result = run_stackgen(["--no-color", "lint", "--env", "dev", "--strict", "--no-cache",
                           *[a for o in API for a in ("--set", o)]], cwd=project, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

