"""The ``stackgen`` command: parse arguments, call the library, map errors to exit codes.

Heavy imports (boto3, cfn-lint, rich) happen inside the commands that need
them so ``stackgen render`` starts fast.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from generator import __version__
from generator.errors import StackgenError


@dataclass(frozen=True)
class AppContext:
    """Flags shared by every command; passed down, never global."""

    params_dir: Path
    templates_dir: Path
    build_dir: Path
    color: bool | None
    state_dir: Path = Path(".stackgen")  # caches and local-endpoint state

    @property
    def jinja_cache(self) -> Path:
        return self.state_dir / "jinja-cache"


pass_app = click.make_pass_decorator(AppContext)


class StackgenGroup(click.Group):
    """Turns expected errors into one line on stderr and an exit code, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StackgenError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=StackgenGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


env_option = click.option("--env", "-e", "env", required=True, help="environment (params/<env>.yaml)")
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
                          help="override one params value (repeatable)")


def _load(app: AppContext, env: str, overrides: tuple[str, ...]):  # type: ignore[no-untyped-def]
    from generator.params import load_env

    return load_env(app.params_dir, env, overrides)


@cli.command()
@click.option("--env", "-e", "env_names", multiple=True, help="environment (repeatable)")
@click.option("--all-envs", is_flag=True, help="every env in the params dir")
@set_option
@click.option("--stack", "stacks", multiple=True, help="only this stack (repeatable)")
@click.option("--out", type=click.Path(path_type=Path),
              help="output dir [default: build/<env>]; one env only")
@pass_app
def render(app: AppContext, env_names: tuple[str, ...], all_envs: bool,
           overrides: tuple[str, ...], stacks: tuple[str, ...], out: Path | None) -> None:
    """Render templates, parameters files, the nested root and a manifest."""
    from generator.errors import UsageError
    from generator.render import render as do_render
    from generator.render import write

    names = _env_names(app, env_names, all_envs)
    if out and len(names) > 1:
        raise UsageError("--out takes one env; omit it to write build/<env>/ for each")
    # Validate every env before writing any file: bad input leaves nothing behind.
    results = [do_render(_load(app, n, overrides), app.templates_dir, app.jinja_cache)
               for n in names]
    for rendered in results:
        unknown = sorted(set(stacks) - set(rendered.stacks))
        if unknown:
            raise UsageError(
                f"--stack {unknown[0]}: not a stack of env '{rendered.env.name}'; stacks: "
                f"{', '.join(rendered.graph.order)}"
            )
    for rendered in results:
        out_dir = out or app.build_dir / rendered.env.name
        written = write(rendered, out_dir, set(stacks) or None)
        count = len(stacks) if stacks else len(rendered.stacks)
        click.echo(f"rendered {count} stacks of env '{rendered.env.name}' into {out_dir}/ "
                   f"({len(written)} files)")


def _env_names(app: AppContext, env_names: tuple[str, ...], all_envs: bool) -> list[str]:
    from generator.errors import UsageError
    from generator.params import list_envs

    names = list_envs(app.params_dir) if all_envs else list(env_names)
    if not names:
        raise UsageError("name an env with --env NAME, or use --all-envs")
    return names


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), help="write to a file instead of stdout")
@click.option("--format", "fmt", type=click.Choice(["json", "markdown"]), default="json",
              show_default=True, help="JSON Schema, or a Markdown reference table")
def schema(out: Path | None, fmt: str) -> None:
    """Print the JSON Schema of params files (for editors and CI)."""
    from generator.schema import params_reference, params_schema

    if fmt == "markdown":
        text = params_reference()
    else:
        text = json.dumps(params_schema(), indent=2, sort_keys=True) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@cli.command()
@env_option
@set_option
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid"]), default="text",
              show_default=True)
@pass_app
def graph(app: AppContext, env: str, overrides: tuple[str, ...], fmt: str) -> None:
    """Print the stack graph derived from stacks.yaml."""
    from generator.context import conditions
    from generator.graph import build_graph, load_spec, to_mermaid, to_text

    loaded = _load(app, env, overrides)
    g = build_graph(load_spec(app.templates_dir), conditions(loaded.config),
                    app.templates_dir / "stacks.yaml")
    click.echo(to_mermaid(g) if fmt == "mermaid" else to_text(g), nl=False)


@cli.command()
@click.option("--env", "-e", "env_names", multiple=True, help="environment (repeatable)")
@click.option("--all-envs", is_flag=True, help="every env in the params dir")
@set_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "junit"]),
              default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="write the report here")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default="error",
              show_default=True, help="lowest severity that fails the run")
@click.option("--strict", is_flag=True, help="fail on warnings too (same as --fail-on warning)")
@click.option("--no-cache", is_flag=True, help="lint every template even if unchanged")
@pass_app
def lint(app: AppContext, env_names: tuple[str, ...], all_envs: bool, overrides: tuple[str, ...],
         fmt: str, output: Path | None, fail_on: str, strict: bool, no_cache: bool) -> None:
    """Render, then lint every template (nested root included) with each env's values.

    Exit 0 when clean, 1 on findings at or above --fail-on, 2 on bad input.
    """
    from generator.lint import report
    from generator.lint.engine import Linter, failing
    from generator.lint.targets import targets_for
    from generator.render import render as do_render
    from generator.render import write

    names = _env_names(app, env_names, all_envs)
    # Validate and render every env before linting any: bad input fails fast.
    targets = []
    for name in names:
        rendered = do_render(_load(app, name, overrides), app.templates_dir, app.jinja_cache)
        out_dir = app.build_dir / name
        write(rendered, out_dir)
        targets += targets_for(rendered, out_dir)
    linter = Linter(None if no_cache else app.state_dir / "lint-cache")
    findings = linter.lint(targets)
    color = app.color if app.color is not None else (output is None and sys.stdout.isatty())
    body = {
        "text": lambda: report.text(findings, targets, color),
        "json": lambda: report.as_json(findings),
        "sarif": lambda: report.sarif(findings),
        "junit": lambda: report.junit(findings, targets),
    }[fmt]()
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(body, encoding="utf-8")
        click.echo(f"wrote {fmt} report of {len(targets)} templates to {output}")
    else:
        click.echo(body, nl=False)
    if failing(findings, "warning" if strict else fail_on):
        sys.exit(1)


@cli.command()
@pass_app
def envs(app: AppContext) -> None:
    """List the environments in the params dir."""
    from generator.params import list_envs

    for name in list_envs(app.params_dir):
        click.echo(name)


def main() -> None:
    cli(prog_name="stackgen")
