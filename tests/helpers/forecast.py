"""Helpers shared by the tests split from test_forecast.py."""

from __future__ import annotations

# dev with three service tasks on its one t3.micro: F101 and F102 errors, two F103 warnings.
_CROWDED = ("ecs.service.autoscaling.min_tasks=3", "ecs.service.desired_count=3")
