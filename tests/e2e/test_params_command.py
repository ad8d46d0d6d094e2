"""Params through `stackgen` as a process: `schema` prints JSON, a billion-laughs file fails
fast, a file that is not UTF-8 is named with its line and the fix."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import run_stackgen
from tests.helpers.params import _bomb


def test_schema_command_prints_json(project: Path) -> None:
    result = run_stackgen(["schema"], cwd=project)
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert "asg" in schema["properties"] and schema["title"] == "stackgen params"


def test_billion_laughs_file_fails_fast_in_little_memory(project: Path) -> None:
    """The 1 KB file that was killed at 23 GB: one line, in a process capped at 1 GiB."""
    bomb = _bomb(10)
    assert len(bomb) < 1100
    (project / "params" / "local.yaml").write_text(bomb)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "generator", "render", "--env", "local"],
                            cwd=project, capture_output=True, text=True, timeout=60,
                            preexec_fn=cap)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: params/local.yaml:5: 'a4.0': aliases expand")
    assert len(result.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 20
    assert not (project / "build").exists()


def test_non_utf8_names_file_line_and_fix_in_a_real_process(project: Path) -> None:
    path = project / "params" / "local.yaml"
    path.write_bytes(path.read_bytes() + b"# caf\xe9\n")
    lines = path.read_bytes().count(b"\n")
    result = run_stackgen(["render", "--env", "local"], cwd=project)
    assert result.returncode == 2
    assert result.stderr == (f"error: params/local.yaml:{lines}: not UTF-8: byte 0xe9 at "
                             "column 6; save the file as UTF-8\n")

