"""stackgen: render, lint, review and deploy CloudFormation stack sets."""

__version__ = "0.1.0"
