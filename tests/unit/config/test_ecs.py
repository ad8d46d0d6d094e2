"""The shipped envs run what their images have (issue 21 item 5): every workload of the
app's image runs a command that image has, and Fargate's CPU architecture is the image's.
Both are refused at params time, with the one-line error of every params error."""

from __future__ import annotations

from typing import Any

import pytest

from generator.params import load_env
from generator.render import render
from generator.yamlsrc import load_cfn
from tests.conftest import ENVS, ROOT

# KubeDev/kube-news, src/package.json: "scripts": {"test": ..., "start": "node server.js"}
KUBE_NEWS_SCRIPTS = {"start", "test"}
APP_IMAGE = "docker.io/pedroheeger/curso116_kube-news:v2"  # an x86 build


def _containers(env: str) -> list[dict[str, Any]]:
    r = render(load_env(ROOT / "params", env), ROOT / "templates")
    out = []
    for stack in r.stacks.values():
        for res in load_cfn(stack.template).get("Resources", {}).values():
            if res["Type"] == "AWS::ECS::TaskDefinition":
                out += [{**c, "_task": res["Properties"]}
                        for c in res["Properties"]["ContainerDefinitions"]]
    return out


@pytest.mark.parametrize("env", ENVS)
def test_every_workload_of_the_app_image_runs_a_command_it_has(env: str) -> None:
    for c in _containers(env):
        command = c.get("Command") or []
        if c["Image"] != APP_IMAGE and "Ref" not in str(c["Image"]):
            continue
        if command[:2] == ["npm", "run"]:
            assert command[2] in KUBE_NEWS_SCRIPTS, f"{env}: {c['Name']} runs {command}"


@pytest.mark.parametrize("env", ENVS)
def test_task_architecture_is_the_image_architecture(env: str) -> None:
    for c in _containers(env):
        platform = c["_task"].get("RuntimePlatform") or {}
        assert platform.get("CpuArchitecture", "X86_64") == "X86_64", env
