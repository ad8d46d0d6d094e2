"""Express mode through the `stackgen` command (issue 16, item 4)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_stackgen


def test_express_is_refused_for_a_prod_like_env(project: Path) -> None:
    result = run_stackgen(["render", "--env", "prod", "--set", "deployment_mode=express"],
                          cwd=project)
    assert result.returncode == 2
    assert "'deployment_mode': 'express' is for dev-like envs" in result.stderr
    assert "termination_protection" in result.stderr and "Traceback" not in result.stderr
    assert not (project / "build").exists()  # nothing written

