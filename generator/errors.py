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


class OutputError(StackgenError):
    """An output file or directory cannot be written (a file in the way, no permission)."""


class GraphError(StackgenError):
    """The stack graph is inconsistent (cycle, missing stack or output)."""


class TemplateError(StackgenError):
    """A template failed to render (undefined variable, syntax error)."""


class AwsError(StackgenError):
    """An AWS call failed in a way the user must act on (credentials, account, API)."""

    exit_code = 1


class AccountMismatch(StackgenError):
    """The caller's account is not the one the env names."""


class ConfirmationRequired(StackgenError):
    """A change needs a yes, and there is nobody to ask."""


class StackNotFound(StackgenError):
    exit_code = 1

    def __init__(self, stack_name: str):
        super().__init__(f"stack {stack_name} does not exist")
        self.stack_name = stack_name


class ChangeSetFailed(StackgenError):
    exit_code = 1

    def __init__(self, stack_name: str, reason: str):
        super().__init__(f"change set for {stack_name} failed: {reason}")
        self.stack_name = stack_name
        self.reason = reason


class StackOperationFailed(StackgenError):
    """A stack ended in a failed or rolled-back state, or the API refused the operation."""

    exit_code = 1

    def __init__(self, stack_name: str, status: str, reasons: list[str]):
        detail = "; ".join(reasons) if reasons else "no reason given"
        super().__init__(f"{stack_name} ended {status}: {detail}")
        self.stack_name = stack_name
        self.status = status
        self.reasons = reasons
