"""Offline commands: render, schema, graph, lint, envs. None imports boto3."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from generator.cli.app import AppContext, cli, pass_app
from generator.cli.common import env_names_of, load_source, render_all
from generator.cli.options import env_option, set_option, stack_option
from generator.errors import UsageError

if TYPE_CHECKING:  # for annotations only: keep these imports off the start-up path
    from generator.render import Rendered


@cli.command(short_help='Render templates, parameters, manifest.')
@click.option("--env", "-e", "env_names", multiple=True, help="environment (repeatable)")
@click.option("--all-envs", is_flag=True, help="every env in the params dir")
@set_option
@stack_option
@click.option("--out", type=click.Path(path_type=Path),
              help="output dir [default: build/<env>]; one env only")
@pass_app
def render(app: AppContext, env_names: tuple[str, ...], all_envs: bool,
           overrides: tuple[str, ...], stacks: tuple[str, ...], out: Path | None) -> None:
    """Render templates, parameters files, the nested root and a manifest."""
    from generator.render import write_all

    names = env_names_of(app, env_names, all_envs)
    if out and len(names) > 1:
        raise UsageError("--out takes one env; omit it to write build/<env>/ for each")
    results = render_all(app, names, overrides)
    for rendered in results:
        rendered.select(stacks)

    def out_dir(rendered: Rendered) -> Path:
        return out or app.build_dir / rendered.env.name

    for rendered, written in zip(results, write_all(results, out_dir, set(stacks) or None),
                                 strict=True):
        count = len(stacks) if stacks else len(rendered.stacks)
        click.echo(f"rendered {count} stacks of env '{rendered.env.name}' into "
                   f"{out_dir(rendered)}/ ({len(written)} files)")


@cli.command(short_help='Print the params JSON Schema or reference.')
@click.option("--out", type=click.Path(path_type=Path), help="write to a file instead of stdout")
@click.option("--format", "fmt", type=click.Choice(["json", "markdown"]), default="json",
              show_default=True, help="JSON Schema, or a Markdown reference table")
@click.option("--plan", "plan_schema", is_flag=True,
              help="the JSON Schema of plan files (`plan --out`, `plan --format json`)")
def schema(out: Path | None, fmt: str, plan_schema: bool) -> None:
    """Print the JSON Schema of params files (for editors and CI), or of plan files."""
    from generator.schema import params_reference, params_schema

    if plan_schema:
        from generator.review.plan import Plan

        if fmt != "json":
            raise UsageError("--plan prints the plan files' JSON Schema only; drop --format "
                             f"{fmt}, or drop --plan for the params reference")
        text = json.dumps(Plan.json_schema(), indent=2, sort_keys=True) + "\n"
    elif fmt == "markdown":
        text = params_reference()
    else:
        text = json.dumps(params_schema(), indent=2, sort_keys=True) + "\n"
    if out:
        from generator.render import write_file

        write_file(out, text)
    else:
        click.echo(text, nl=False)


@cli.command(short_help='Print the stack graph (text or Mermaid).')
@env_option
@set_option
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid"]), default="text",
              show_default=True)
@click.option("--resources", is_flag=True,
              help="Mermaid: the stacks as groups of their resources, outputs on the edges")
@pass_app
def graph(app: AppContext, env: str, overrides: tuple[str, ...], fmt: str,
          resources: bool) -> None:
    """Print the stack graph derived from stacks.yaml."""
    from generator.context import conditions
    from generator.graph import build_graph, load_spec, to_mermaid, to_text

    if resources:
        if click.get_current_context().get_parameter_source("fmt") != ParameterSource.DEFAULT \
                and fmt != "mermaid":
            raise UsageError(f"--resources draws Mermaid only; use --format mermaid (or leave "
                             f"--format out), not {fmt}")
        from generator.render import render as do_render
        from generator.review.picture import diagram
        from generator.yamlsrc import load_cfn

        rendered = do_render(load_source(app, env, overrides), app.templates_dir, app.jinja_cache)
        docs = {s: load_cfn(r.template) for s, r in rendered.stacks.items()}
        click.echo(diagram(rendered.graph, docs), nl=False)
        return
    loaded = load_source(app, env, overrides)
    g = build_graph(load_spec(app.templates_dir), conditions(loaded.config),
                    app.templates_dir / "stacks.yaml")
    click.echo(to_mermaid(g) if fmt == "mermaid" else to_text(g), nl=False)


@cli.command(short_help='Lint rendered templates (CI gate).')
@click.option("--env", "-e", "env_names", multiple=True, help="environment (repeatable)")
@click.option("--all-envs", is_flag=True, help="every env in the params dir")
@set_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "junit"]),
              default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="write the report here")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default="error",
              show_default=True, help="lowest severity that fails the run")
@click.option("--strict", is_flag=True, help="fail on warnings too (same as --fail-on warning)")
@click.option("--no-cache", is_flag=True,
              help="lint every template even if unchanged, reading no cache (its entries "
                   "are written afresh)")
@pass_app
def lint(app: AppContext, env_names: tuple[str, ...], all_envs: bool, overrides: tuple[str, ...],
         fmt: str, output: Path | None, fail_on: str, strict: bool, no_cache: bool) -> int:
    """Render, then lint every template (nested root included) with each env's values.

    Exit 0 when clean, 1 on findings at or above --fail-on, 2 on bad input.
    """
    from generator.lint import formats
    from generator.lint.engine import Linter, failing
    from generator.lint.targets import targets_for
    from generator.render import check_writable, write_all, write_file

    envs = render_all(app, env_names_of(app, env_names, all_envs), overrides)
    if output:
        check_writable(output.parent, [output], output)

    def out_dir(rendered: Rendered) -> Path:
        return app.build_dir / rendered.env.name

    write_all(envs, out_dir)
    targets = [t for rendered in envs for t in targets_for(rendered, out_dir(rendered))]
    findings = Linter(app.state_dir / "lint-cache", read_cache=not no_cache).lint(targets)
    color = app.color if app.color is not None else (output is None and sys.stdout.isatty())
    body = formats.formatted(fmt, findings, targets, color)
    if output:
        write_file(output, body)
        click.echo(f"wrote {fmt} report of {len(targets)} templates to {output}")
    else:
        click.echo(body, nl=False)
    return 1 if failing(findings, "warning" if strict else fail_on) else 0


@cli.command()
@pass_app
def envs(app: AppContext) -> None:
    """List the environments in the params dir."""
    from generator.params import list_envs

    for name in list_envs(app.params_dir):
        click.echo(name)
