"""Helpers shared by the tests split from test_workloads.py."""

from __future__ import annotations

API = ("ecs.services.api.kind=web", "ecs.services.api.rule.priority=10",
       'ecs.services.api.rule.paths=["/api/*"]', "ecs.services.api.memory_mib=128",
       "ecs.services.api.cpu=128")
