"""Helpers shared by the tests split from test_secrets.py."""

from __future__ import annotations

# --- params -------------------------------------------------------------------------

PLANTED = "Pl4ntedS3cretZq9XvB7"


# --- plan and review: masked in every output -----------------------------------------

_SECRET_URL = f"postgres://app:{PLANTED}@db.internal/app"
