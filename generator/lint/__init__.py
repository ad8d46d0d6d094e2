"""Linting rendered templates with cfn-lint and stackgen's own policy rules."""
