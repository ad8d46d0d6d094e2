"""The ``stackgen`` command line, one module per command group: each command parses its
flags, renders (and so validates) before the first AWS call, calls the library, and
returns an exit code; generator/cli/app.py decides what every error exits with.

A command's module is imported only when that command runs (``COMMANDS`` in app.py), and
heavy imports (boto3, cfn-lint, rich) happen inside the commands that need them, so
``stackgen render`` starts fast.
"""

from generator.cli.app import AppContext, cli, main

__all__ = ["AppContext", "cli", "main"]
