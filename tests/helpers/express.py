"""Helpers shared by the tests split from test_express.py."""

from __future__ import annotations

STACK = "kubenews-dev-network"
