"""The `stackgen` group: the flags every command shares, and the one place exit codes are
decided (a command returns its code; an expected error is one line on stderr)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import click

from generator import __version__
from generator.cli.leave import leave
from generator.errors import StackgenError
from generator.lazy_group import LazyGroup


class AppContext(NamedTuple):
    """Flags shared by every command; passed down, never global. (A NamedTuple: `--help`
    imports no value-type library.)"""

    params_dir: Path
    templates_dir: Path
    build_dir: Path
    color: bool | None
    state_dir: Path = Path(".stackgen")  # caches and local-endpoint state

    @property
    def jinja_cache(self) -> Path:
        return self.state_dir / "jinja-cache"


pass_app = click.make_pass_decorator(AppContext)


def _usage_exit(exc: click.UsageError) -> NoReturn:
    """Click's usage errors as one line too (click prints three), exit 2."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):  # bare `stackgen`: the help
        exc.show()
        sys.exit(exc.exit_code)
    where = exc.ctx.command_path if exc.ctx else "stackgen"
    message = " ".join(exc.format_message().split()).rstrip(".")
    click.echo(f"error: {message}; see `{where} --help`", err=True)
    sys.exit(exc.exit_code)


def _credential_problem(exc: Exception) -> StackgenError | None:
    """botocore's profile and credential errors (raised wherever a client is made, not
    only where the account is checked) as one line; None for anything else."""
    if "botocore" not in sys.modules:  # nothing reached AWS: not one of these
        return None
    from generator.aws.session import credential_problem
    return credential_problem(exc)


# Set by a command whose flags change what an error exits with (plan --detailed-exitcode).
ERRORS_EXIT = "stackgen.errors_exit"


# Every command: where it lives and its line in `stackgen --help`. Only the command named
# on the command line is imported (generator/lazy_group.py), so `stackgen render` does not
# build the deploy commands; tests/unit/cli/test_app.py holds this table to the commands.
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("generator.cli.build:render", "Render templates, parameters, manifest."),
    "schema": ("generator.cli.build:schema", "Print the params JSON Schema or reference."),
    "graph": ("generator.cli.build:graph", "Print the stack graph (text or Mermaid)."),
    "lint": ("generator.cli.build:lint", "Lint rendered templates (CI gate)."),
    "envs": ("generator.cli.build:envs", "List the environments in the params dir."),
    "deploy": ("generator.cli.deploy:deploy", "Deploy the env as reviewed change sets."),
    "refactor": ("generator.cli.deploy:refactor",
            "Move resources between the env's stacks (stack refactor)."),
    "delete": ("generator.cli.deploy:delete",
            "Delete the env's stacks, reverse order."),
    "plan": ("generator.cli.deploy:plan", "Review every change set before executing."),
    "apply": ("generator.cli.deploy:apply",
            "Execute a saved plan's change sets exactly."),
    "unlock": ("generator.cli.deploy:unlock",
            "Release an env's lock left by a dead process."),
    "forecast": ("generator.cli.review:forecast", "Predict what AWS would refuse or hang on (read-only)."),
    "diff": ("generator.cli.review:diff", "Show template and parameter diffs only."),
    "status": ("generator.cli.review:status",
            "Show the env's stacks and their status."),
    "outputs": ("generator.cli.review:outputs",
            "Show the outputs of the env's stacks."),
    "drift": ("generator.cli.review:drift", "Detect drift: what was changed by hand since the deploy."),
    "prices": ("generator.cli.review:prices", "The price snapshot the cost review uses."),
    "run-task": ("generator.cli.ecs:run_task", "Run a one-off task; exit with its exit code."),
    "logs": ("generator.cli.ecs:logs",
            "Show a workload's CloudWatch logs."),
    "local": ("generator.cli.local:local", "The local AWS endpoint (moto, 127.0.0.1)."),
}


class StackgenGroup(LazyGroup):
    """The one place exit codes are decided: a command returns its code (None: 0), an
    expected error becomes one line on stderr and its code, never a traceback."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            _usage_exit(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            code = super().invoke(ctx)
        except click.UsageError as exc:
            _usage_exit(exc)
        except StackgenError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(ctx.meta.get(ERRORS_EXIT, exc.exit_code))
        except (KeyboardInterrupt, click.exceptions.Abort):  # Abort: Ctrl-C at a prompt
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # a profile or credential failure from any client made
            mapped = _credential_problem(exc)
            if mapped is None:
                raise
            click.echo(f"error: {mapped}", err=True)
            sys.exit(ctx.meta.get(ERRORS_EXIT, mapped.exit_code))
        if code:
            sys.exit(code)
        return None


@click.group(cls=StackgenGroup, lazy=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stackgen")
@click.option("--params-dir", type=click.Path(path_type=Path), default="params",
              show_default=True, envvar="STACKGEN_PARAMS_DIR", help="params files")
@click.option("--templates-dir", type=click.Path(path_type=Path), default="templates",
              show_default=True, envvar="STACKGEN_TEMPLATES_DIR", help="Jinja2 templates")
@click.option("--build-dir", type=click.Path(path_type=Path), default="build",
              show_default=True, help="where rendered files go")
@click.option("--color/--no-color", default=None, help="colour output (default: on a TTY)")
@click.pass_context
def cli(ctx: click.Context, params_dir: Path, templates_dir: Path, build_dir: Path,
        color: bool | None) -> None:
    """Render, lint, review and deploy CloudFormation stack sets."""
    ctx.obj = AppContext(params_dir, templates_dir, build_dir, color)


def main() -> None:
    """The ``stackgen`` command: the group, then an exit without the interpreter's
    teardown (generator/cli/leave.py). An unexpected exception keeps Python's own exit."""
    try:
        cli(prog_name="stackgen")
    except SystemExit as exc:
        leave(exc.code)
