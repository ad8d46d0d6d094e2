"""The command table (generator/cli/app.py COMMANDS) is the commands: each entry names a
click command whose short help is the table's line, and every command the cli modules
define is in the table (a command missing from it would never run)."""

from __future__ import annotations

import importlib
import pkgutil

import click

import generator.cli
from generator.cli.app import COMMANDS, cli


def test_every_entry_names_its_command_with_the_same_help_line() -> None:
    for name, (where, help_line) in COMMANDS.items():
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), where
        assert command.name == name, (where, command.name)
        assert command.get_short_help_str(limit=200) == help_line, name


def test_every_command_the_modules_define_is_in_the_table() -> None:
    for info in pkgutil.iter_modules(generator.cli.__path__):
        importlib.import_module(f"generator.cli.{info.name}")
    assert set(cli.commands) == set(COMMANDS)


def test_help_lists_the_commands_without_importing_them() -> None:
    ctx = click.Context(cli)
    formatter = ctx.make_formatter()
    cli.format_commands(ctx, formatter)
    text = formatter.getvalue()
    for name, (_, help_line) in COMMANDS.items():
        assert f"{name}  " in text and help_line[:30] in text, name
