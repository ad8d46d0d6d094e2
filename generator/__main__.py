"""`python -m generator`: the stackgen command."""

from generator.cli import main

main()
