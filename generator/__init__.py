"""stackgen: render, lint, review and deploy CloudFormation stack sets."""

__version__ = "0.1.0"

# Before any module imports yaml: its import then skips a ~13 ms regex compile
# (generator/yamlboot.py).
from generator import yamlboot as _yamlboot  # noqa: F401
