"""Typed errors for expected states.

Every error a user can cause derives from ``StackgenError``; the CLI maps
``exit_code`` to the process exit status and prints ``str(err)`` on one line.
"""

from __future__ import annotations

from pathlib import Path


class StackgenError(Exception):
    """An expected failure with a one-line message for the user."""

    exit_code = 2


class UsageError(StackgenError):
    """Bad command-line input."""


class ParamsError(StackgenError):
    """A params file is malformed or fails validation."""

    def __init__(self, message: str, file: Path | str | None = None, line: int | None = None):
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line else f"{file}: "
        super().__init__(f"{where}{message}")
        self.file = file
        self.line = line


class GraphError(StackgenError):
    """The stack graph is inconsistent (cycle, missing stack or output)."""


class TemplateError(StackgenError):
    """A template failed to render (undefined variable, syntax error)."""
