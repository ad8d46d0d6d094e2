"""Helpers shared by the tests split from test_views.py."""

from __future__ import annotations

from tests.conftest import ROOT

TEMPLATES = ROOT / "templates"
