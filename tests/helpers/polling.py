"""Helpers shared by the tests split from test_polling.py."""

from __future__ import annotations

STACK = "kubenews-local-network"
