"""Helpers shared by the tests split from test_secret_forms.py."""

from __future__ import annotations

SECRET = "hunter2"


PLANTED = "Pl4ntedTagV4lue"
