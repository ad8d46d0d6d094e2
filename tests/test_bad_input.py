"""Every bad input ends in one clear line on stderr, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import run_stackgen

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "bad_input" / "cases.yaml").read_text()
)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 15
    assert len({c["name"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_input(case: dict[str, Any], project: Path) -> None:
    for rel, text in (case.get("files") or {}).items():
        (project / rel).write_text(text)
    result = run_stackgen(case.get("args", ["render", "--env", "local"]), cwd=project)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in case["expect"]:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert not (project / "build").exists(), "nothing may be written on bad input"
