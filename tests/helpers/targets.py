"""Helpers shared by the tests split from test_targets.py."""

from __future__ import annotations

OTHER = "111111111111"
ROLE = f"arn:aws:iam::{OTHER}:role/stackgen-deployer"
