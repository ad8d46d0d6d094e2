"""Helpers shared by the tests split from test_refactor.py."""

from __future__ import annotations

from generator.deploy.refactor import (
    Move,
)

MOVE = Move("alb", "AlbSecurityGroup", "network", "AlbSecurityGroup")
