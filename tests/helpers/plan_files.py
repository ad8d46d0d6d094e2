"""Helpers shared by the tests split from test_plan_files.py."""

from __future__ import annotations

from pathlib import Path

from generator.review.plan import Plan
from generator.review.plan_file import sign_plan, write_private

KEY = b"0123456789abcdef0123456789abcdef"


def _saved(tmp_path: Path, key: bytes | None) -> Path:
    text = Plan(env="local", created_at="2024-01-01T00:00:00Z").to_json()
    path = tmp_path / "p.json"
    write_private(path, sign_plan(text, key) if key else text)
    return path
