"""The fixtures the lint unit tests share with the lint command's (tests/helpers/lint.py)."""

from tests.helpers.lint import linter  # noqa: F401
