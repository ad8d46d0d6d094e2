"""The pyramid's tiers hold: a unit (or cli) test is refused sockets and processes, a
refusal it swallows still fails it, every test's real sleep is counted, and every test
has exactly one tier."""

from __future__ import annotations

from tests import tiers
from tests.helpers.tiers import _open_socket


def test_the_other_tiers_may() -> None:
    refused, _ = tiers.guarded(False, _open_socket)
    assert refused == []

