"""Helpers shared by the tests split from test_security_gaps.py."""

from __future__ import annotations

from typing import Any

from generator.render import Rendered
from tests.helpers.rendered import _resources

# --- gap 3: the app has a least-privilege login of its own ------------------------------


def _service_containers(r: Rendered) -> dict[str, dict[str, Any]]:
    task = _resources(r, "ecs")["TaskDefinition"]["Properties"]
    return {c["Name"]: c for c in task["ContainerDefinitions"]}


def _value_from(container: dict[str, Any]) -> dict[str, str]:
    return {s["Name"]: s["ValueFrom"]["Fn::Sub"] for s in container.get("Secrets", [])}


# --- gap 6: an ECR repository and deploying by digest ------------------------------------

DIGEST = "sha256:" + "ab" * 32
