"""A Click group whose subcommands are imported when run, not when the program starts.

A command's module (its options, and what it imports at the top) costs every run of
every other command while all commands are built at start-up: ``stackgen render``
builds some forty commands it never runs. A ``LazyGroup`` is given, per command, where
it lives (``"package.module:attribute"``) and its one-line help; ``stackgen --help``
lists the commands from those lines, and only the command named on the command line
is imported. Commands added the usual way (``@group.command()``) still work.

For the cli package (issue 28): each command module registers nothing at import; the
group names them, e.g. ``LazyGroup(lazy={"render": ("generator.cli.render:render",
"Render templates, parameters, manifest.")})``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str]] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        where = self.lazy[cmd_name][0]
        module_name, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{where} is a {type(command).__name__}, not a click command")
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands with their help lines, importing none of the lazy ones."""
        names = [n for n in self.list_commands(ctx)
                 if n not in self.commands or not self.commands[n].hidden]
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)  # as click's own
        rows = [(n, self.commands[n].get_short_help_str(limit) if n in self.commands
                 else self.lazy[n][1]) for n in names]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
