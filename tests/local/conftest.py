"""Fixtures shared with tests of other tiers (defined in tests/helpers/)."""

from tests.helpers.endpoint_clock import endpoint_clock  # noqa: F401
from tests.helpers.engine import failing_endpoint  # noqa: F401
