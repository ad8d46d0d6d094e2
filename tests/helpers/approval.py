"""Helpers shared by the tests split from test_one_approval.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.aws.status import StackResult
from generator.deploy import connect, workflow
from generator.deploy.units import Unit
from generator.local.manager import Endpoint
from generator.params import load_env
from generator.render import render
from generator.ui import Console
from tests.conftest import aws_env


class Person:
    """Answers the questions a terminal would ask, and remembers them."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, question: str) -> bool:
        self.asked.append(question)
        return self.answers.pop(0) if self.answers else True


def _deploy(project: Path, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch,
            person: Person, *overrides: str) -> dict[str, StackResult]:
    for key, value in aws_env(endpoint).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    env = load_env(project / "params", "local", overrides)
    opened = connect.open_units([Unit("local", None, render(env, project / "templates"))],
                                Console(color=False), nested=False)
    results = workflow.deploy(opened, person, (), False, 4, (), ask_once=True)
    return {r.stack: r for r in results["local"]}
