"""The local and e2e tiers may open sockets and start processes: the guard is the
in-process tiers' alone."""

from __future__ import annotations

from tests import tiers
from tests.helpers.tiers import _open_socket


def test_the_other_tiers_may() -> None:
    refused, _ = tiers.guarded(False, _open_socket)
    assert refused == []

