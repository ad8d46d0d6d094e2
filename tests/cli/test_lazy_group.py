"""LazyGroup: a subcommand's module is imported when the command runs, not for help."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from generator.lazy_group import LazyGroup

MODULE = "tests.fakes.lazy_commands"


@pytest.fixture(autouse=True)
def not_imported() -> Iterator[None]:
    sys.modules.pop(MODULE, None)
    yield
    sys.modules.pop(MODULE, None)


def group(**lazy: tuple[str, str]) -> click.Group:
    @click.group(cls=LazyGroup, lazy={"hello": (f"{MODULE}:hello", "Say hello."), **lazy})
    def cli() -> None:
        """A test program."""

    @cli.command(short_help="Stay eager.")
    def eager() -> None:
        click.echo("eager ran")

    return cli


def test_help_lists_lazy_commands_without_importing_them() -> None:
    result = CliRunner().invoke(group(), ["--help"])
    assert result.exit_code == 0, result.output
    assert MODULE not in sys.modules
    assert "hello  Say hello." in result.output
    assert "eager  Stay eager." in result.output


def test_help_is_what_a_plain_group_prints() -> None:
    from tests.fakes.lazy_commands import hello

    @click.group()
    def plain() -> None:
        """A test program."""

    @plain.command(short_help="Stay eager.")
    def eager() -> None:
        pass

    plain.add_command(hello)
    sys.modules.pop(MODULE, None)
    lazy_help = CliRunner().invoke(group(), ["--help"], prog_name="p").output
    assert lazy_help == CliRunner().invoke(plain, ["--help"], prog_name="p").output


def test_a_lazy_command_is_imported_when_run_and_only_it() -> None:
    cli = group()
    result = CliRunner().invoke(cli, ["eager"])
    assert result.output == "eager ran\n"
    assert MODULE not in sys.modules
    result = CliRunner().invoke(cli, ["hello", "--name", "lazy"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello lazy\n"
    assert MODULE in sys.modules


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(group(), ["nope"])
    assert result.exit_code == 2
    assert "No such command 'nope'" in result.output


def test_a_lazy_name_that_is_not_a_command_is_refused() -> None:
    cli = group(odd=(f"{MODULE}:not_a_command", "Not one."))
    result = CliRunner().invoke(cli, ["odd"])
    assert isinstance(result.exception, TypeError)
    assert "not_a_command is a int, not a click command" in str(result.exception)
