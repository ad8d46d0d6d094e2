"""Helpers shared by the tests split from test_target.py."""

from __future__ import annotations

from generator.config import Environment
from generator.params import load_env
from tests.conftest import ROOT


def _config(env: str) -> Environment:
    return load_env(ROOT / "params", env).config
