"""A command module for tests/test_lazy_group.py: whether it was imported is the point."""

from __future__ import annotations

import click


@click.command(short_help="Say hello.")
@click.option("--name", default="world")
def hello(name: str) -> None:
    """Say hello to NAME."""
    click.echo(f"hello {name}")


not_a_command = 42
