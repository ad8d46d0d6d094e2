"""A shipped env rendered in process and a stack's resources read back: the helpers of
the tests that check what the templates render to (tests/unit/views/ and beside)."""

from __future__ import annotations

from typing import Any

from generator.render import Rendered
from generator.yamlsrc import load_cfn
from tests.helpers.renders import shipped

EC2_ENVS = ("local", "dev", "prod")
NS = ["ns-1.awsdns-01.org", "ns-2.awsdns-02.com"]


def _render(env: str, *overrides: str) -> Rendered:
    """One render per env and overrides per process (tests/helpers/renders.py): these
    tests only read it, and a test that changed it would fail loudly."""
    return shipped(env, overrides)


def _resources(r: Rendered, stack: str) -> dict[str, Any]:
    resources: dict[str, Any] = load_cfn(r.stacks[stack].template)["Resources"]
    return resources


def _env_vars(container: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}
