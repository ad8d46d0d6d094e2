"""`stackgen deploy` as a process asks again when a downstream change set goes beyond
what was approved (issue 11, defect 12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.local.manager import Endpoint
from tests.conftest import aws_env, run_stackgen
from tests.helpers.approval import Person, _deploy


def test_a_downstream_change_beyond_the_approval_asks_again(
        project: Path, endpoint: Endpoint, aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The review shows network changing and alb unchanged; the local endpoint then gives
    the changed security group a new id (moto does, on any rule change), moving an output
    alb reads: alb's change set was never approved, so it asks."""
    made = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes"], cwd=project,
                        env=aws_env(endpoint))
    assert made.returncode == 0, made.stdout + made.stderr
    person = Person(True, False)
    results = _deploy(project, endpoint, monkeypatch, person, 'alb.ingress_cidrs=["10.0.0.0/8"]')
    assert person.asked == ["execute the changes to network (env 'local')?",
                            "execute this change set on kubenews-local-alb?"]
    assert results["network"].state == "UPDATED"
    assert results["alb"].state == "DECLINED"
    assert {results[s].state for s in ("dns", "cluster", "cert", "rds")} == {"UNCHANGED"}

