"""Issue 22, 2: a map key that becomes a name in a template is data, never YAML.

Each key kind (environment and secret names of the app, its tasks, services and jobs;
stack tags) is checked at params time against its pattern, with the one-line params
error; and every emitted name is quoted by the same filter as the values."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.errors import ParamsError
from generator.params import load_env
from generator.render import render
from tests.conftest import ROOT

# A newline, then YAML that would make the web container privileged (the key sits in
# `- Name: <key>` at the environment list's indentation in ecs.yaml.j2).
INJECTION = "A\n              Value: x\n          Privileged: true\n          DockerLabels:\n            B"

WORKLOADS: dict[str, Any] = {
    "tasks": {"migrate": {"command": ["true"]}},
    "services": {"worker": {"kind": "worker"}},
    "jobs": {"nightly": {"command": ["true"], "schedule": "rate(1 day)"}},
}

# Where the key goes, and the value a key there takes.
PLACES: list[tuple[tuple[str, ...], Any]] = [
    (("ecs", "container", "environment"), "v"),
    (("ecs", "container", "secrets"), {"db_password": True}),
    *[((("ecs", kind, name, field)), value)
      for kind, items in WORKLOADS.items() for name in items
      for field, value in (("environment", "v"), ("secrets", {"db_password": True}))],
]


def _with_key(project: Path, place: tuple[str, ...], key: str, value: Any) -> None:
    path = project / "params" / "local.yaml"
    data = yaml.safe_load(path.read_text())
    ecs = data.setdefault("ecs", {})
    if place[0] == "ecs" and place[1] in WORKLOADS:
        ecs[place[1]] = copy.deepcopy(WORKLOADS[place[1]])
    node = data
    for part in place:
        node = node.setdefault(part, {})
    node[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(("place", "value"), PLACES, ids=[".".join(p) for p, _ in PLACES])
def test_an_injected_name_is_refused_at_params_time(project: Path, place: tuple[str, ...],
                                                    value: Any) -> None:
    _with_key(project, place, INJECTION, value)
    with pytest.raises(ParamsError) as err:
        load_env(project / "params", "local")
    message = str(err.value)
    assert "\n" not in message  # one line, the key escaped
    assert message.startswith(f"{project / 'params' / 'local.yaml'}:")
    assert re.search(r"local\.yaml:\d+: ", message), message  # the key's line
    assert f"'{'.'.join(place)}.A\\n " in message and "the key is not a name" in message
    assert "letters, digits and '_'" in message and "rename it" in message


@pytest.mark.parametrize("key", ["1ABC", "A-B", "A B", "A\n", "A=B", "ÄB", ""])
def test_environment_names_follow_the_portable_pattern(project: Path, key: str) -> None:
    _with_key(project, ("ecs", "container", "environment"), key, "v")
    with pytest.raises(ParamsError, match="an environment variable name is letters"):
        load_env(project / "params", "local")


def test_a_trailing_newline_in_a_workload_name_is_refused(project: Path) -> None:
    # msgspec's pattern `^...$` matched "migrate\n" (Python's `$` before a final newline).
    _with_key(project, ("ecs", "tasks"), "migrate\n", {"command": ["true"]})
    with pytest.raises(ParamsError, match=r"'ecs\.tasks\.migrate\\n': the key is not a name: a name is"):
        load_env(project / "params", "local")


def test_a_tag_key_with_yaml_is_refused(project: Path) -> None:
    _with_key(project, ("tags",), "a\nPrivileged: true", "x")
    with pytest.raises(ParamsError, match="cannot be in a tag"):
        load_env(project / "params", "local")


def test_every_emitted_name_is_quoted_like_a_value() -> None:
    cfg_args = ["ecs.tasks={migrate: {command: ['true'], environment: {MODE: x}}}",
                "ecs.container.environment={NODE_ENV: production}"]
    rendered = render(load_env(ROOT / "params", "local", cfg_args), ROOT / "templates")
    text = rendered.stacks["ecs"].template
    names = re.findall(r"^\s*- Name: (.*)$", text, re.M)
    assert names, text
    unquoted = [n for n in names if not re.fullmatch(r'"[^"\\]*"', n)]
    assert unquoted == []
    assert '- Name: "NODE_ENV"' in text and '- Name: "MODE"' in text
