"""`deploy` on a terminal asks once for the whole graph (issue 11, defect 12): the whole
review up front, one question, nothing left when declined."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from generator.aws.status import StackResult
from generator.deploy import connect, workflow
from generator.deploy.units import Unit
from generator.local.manager import Endpoint
from generator.params import load_env
from generator.render import render
from generator.ui import Console
from tests.conftest import aws_env
from tests.helpers.approval import Person, _deploy

STACKS = ("network", "dns", "cluster", "cert", "alb", "asg", "rds", "ecs")


def _states(results: dict[str, StackResult]) -> dict[str, str]:
    return {s: r.state for s, r in results.items()}


def test_a_fresh_env_is_reviewed_whole_and_asked_once(
        project: Path, endpoint: Endpoint, aws: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    person = Person(True)
    results = _deploy(project, endpoint, monkeypatch, person)
    assert _states(results) == dict.fromkeys(STACKS, "CREATED")
    assert person.asked == [f"execute the changes to {', '.join(STACKS)} (env 'local')?"]
    out = capsys.readouterr().out
    # The whole graph's review came before the question: every stack, waits shown.
    assert out.index("ecs (kubenews-local-ecs): created after upstream") < \
        out.index("executing the approved change set on kubenews-local-network")
    assert "stays within the approved review" in out


def test_declined_once_leaves_nothing(project: Path, endpoint: Endpoint, aws: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    person = Person(False)
    results = _deploy(project, endpoint, monkeypatch, person)
    assert _states(results) == dict.fromkeys(STACKS, "DECLINED")
    assert len(person.asked) == 1
    stacks = [s for s in aws.cloudformation.describe_stacks()["Stacks"]
              if s["StackStatus"] != "DELETE_COMPLETE"]
    assert stacks == []


def test_two_envs_are_reviewed_whole_asked_once_and_deleted_with_one_question(
        project: Path, endpoint: Endpoint, aws: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`deploy --env local --env local2` on a terminal (issue 24): both envs planned and
    shown, one question for both, both deployed; several envs used to ask about each
    change set in turn. `delete` asks once too, and purges each env's artifacts."""
    for key, value in aws_env(endpoint).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    units = [Unit(name, None, render(load_env(project / "params", name), project / "templates"))
             for name in ("local", "local2")]
    person = Person(True)
    opened = connect.open_units(units, Console(color=False), nested=False)
    results = workflow.deploy(opened, person, (), False, 4, (), ask_once=True)
    assert person.asked == [f"execute the changes to local: {', '.join(STACKS)}; "
                            f"local2: {', '.join(STACKS)}?"]
    assert {env: {r.stack: r.state for r in rows} for env, rows in results.items()} == \
        {env: dict.fromkeys(STACKS, "CREATED") for env in ("local", "local2")}
    out = capsys.readouterr().out
    # both reviews, whole, before anything executed
    assert out.index("== env local2 ==") < out.index("executing the approved change set")
    deployed = {s["StackName"] for s in aws.cloudformation.describe_stacks()["Stacks"]}
    assert {f"kubenews-{env}-{s}" for env in ("local", "local2") for s in STACKS} <= deployed

    person = Person(True)
    gone = workflow.delete(connect.open_units(units, Console(color=False), nested=False,
                                              upload=False),
                           person, (), False, purge_artifacts=True)
    assert person.asked == [f"delete {2 * len(STACKS)} stacks of 2 envs?"]
    assert {env: {r.state for r in rows} for env, rows in gone.items()} == \
        {"local": {"DELETED"}, "local2": {"DELETED"}}
    out = capsys.readouterr().out
    for env in ("local", "local2"):  # each env's own artifacts, purged after its delete
        assert re.search(rf"^\[{env}\] artifacts: (deleted \d+ object versions of env "
                         rf"'{env}'|nothing purged)", out, re.M)
