"""A command or an architecture the image lacks is refused by `stackgen` (issue 21 item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_stackgen


@pytest.mark.parametrize("setting", [
    "ecs.cpu_architecture=ARM64",
    'ecs.tasks.migrate.command=["npm","run","migrate"]',
])
def test_a_command_or_architecture_the_image_lacks_is_refused(project: Path,
                                                              setting: str) -> None:
    out = run_stackgen(["render", "--env", "fargate", "--set", setting], cwd=project)
    assert out.returncode == 2
    key = setting.split("=")[0]
    line = out.stderr.strip()
    assert len(line.splitlines()) == 1 and f"'{key}'" in line and "Traceback" not in line
    assert not (project / "build").exists()


def test_an_arm64_image_may_run_arm64_tasks(project: Path) -> None:
    out = run_stackgen(["render", "--env", "fargate", "--set", "ecs.cpu_architecture=ARM64",
                        "--set", "ecs.container.image_architecture=ARM64"], cwd=project)
    assert out.returncode == 0, out.stderr

