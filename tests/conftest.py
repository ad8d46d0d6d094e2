from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENVS = ("local", "dev", "prod", "fargate")


def run_stackgen(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None,
                 input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command in a child process: exit codes and stderr as a user sees them."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=cwd, capture_output=True, text=True, env=env, input=input, timeout=timeout,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shipped params and templates to modify freely."""
    shutil.copytree(ROOT / "params", tmp_path / "params")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    return tmp_path
