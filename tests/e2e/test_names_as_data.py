"""`stackgen --set` with a name that would be YAML exits 2 on one line (issue 22, 2)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_stackgen


def test_set_with_an_injected_name_exits_2_on_one_line(project: Path) -> None:
    expr = 'ecs.container.environment={"A\\n          Privileged: true\\n          X": "v"}'
    result = run_stackgen(["render", "--env", "local", "--set", expr], project)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "'ecs.container.environment.A\\n " in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "build").exists() or "Privileged" not in "".join(
        p.read_text() for p in (project / "build").rglob("*.yaml"))

