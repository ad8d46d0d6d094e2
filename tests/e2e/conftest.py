"""Fixtures shared with tests of other tiers (defined in tests/helpers/)."""

from tests.helpers.engine import failing_endpoint  # noqa: F401
from tests.helpers.lint import linter  # noqa: F401
