"""ECS operations' shared settings (generator/ecs/ops.py)."""

from __future__ import annotations

from generator.ecs.ops import launch_settings
from tests.helpers.ecs_responses import (
    LAUNCH,
)


def test_the_service_settings_carry_over_to_run_task() -> None:
    strategy = [{"capacityProvider": "kubenews-dev-cp", "weight": 1, "base": 0}]
    net = LAUNCH["networkConfiguration"]
    assert launch_settings({"capacityProviderStrategy": strategy, "launchType": "EC2",
                            "networkConfiguration": net}) == {
        "capacityProviderStrategy": strategy, "networkConfiguration": net}
    assert launch_settings({"launchType": "FARGATE", "platformVersion": "LATEST",
                            "networkConfiguration": net}) == {**LAUNCH,
                                                              "platformVersion": "LATEST"}
    # bridge mode on EC2: moto (and AWS) report no network configuration
    assert launch_settings({"launchType": "EC2", "networkConfiguration": {}}) == \
        {"launchType": "EC2"}

