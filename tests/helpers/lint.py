"""Helpers shared by the tests split from test_lint.py."""

from __future__ import annotations

import pytest

from generator.lint.engine import Linter, Target
from generator.lint.targets import targets_for
from generator.params import load_env
from generator.render import render
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def linter() -> Linter:
    return Linter(cache_dir=None)


def _targets(env: str) -> list[Target]:
    rendered = render(load_env(ROOT / "params", env), ROOT / "templates")
    return targets_for(rendered, ROOT / "build" / env)
