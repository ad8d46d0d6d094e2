"""The local and e2e tiers may open sockets and start processes: the guard is the
in-process tiers' alone."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests import tiers
from tests.helpers.tiers import _open_socket


def test_the_other_tiers_may() -> None:
    refused, _ = tiers.guarded(False, _open_socket)
    assert refused == []


@pytest.fixture(scope="session")
def _shared_and_slow_to_start() -> Iterator[None]:
    time.sleep(0.01)  # a shared endpoint waiting for its process, in small
    yield


def test_a_shared_fixtures_setup_is_not_the_tests_sleep(_shared_and_slow_to_start: None) -> None:
    """The session's endpoint starting was charged to the first test that asked for it."""
    assert tiers.guard().slept == 0.0
