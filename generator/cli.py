"""The ``stackgen`` command: parse arguments, call the library, map errors to exit codes.

Heavy imports (boto3, cfn-lint, rich) happen inside the commands that need
them so ``stackgen render`` starts fast.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from generator import __version__
from generator.errors import StackgenError

if TYPE_CHECKING:  # for annotations only: keep these imports off the start-up path
    from generator.deploy.engine import StackResult
    from generator.deploy.ui import Console
    from generator.deploy.workflow import Env
    from generator.params import LoadedEnv
    from generator.render import Rendered


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
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


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
allow_replace_option = click.option(
    "--allow-replace", "allow_replace", multiple=True, metavar="LOGICAL_ID",
    help="let a change replace or remove this stateful resource (repeatable)")
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
                          help="override one params value (repeatable)")


def _load(app: AppContext, env: str, overrides: tuple[str, ...]) -> LoadedEnv:
    from generator.params import load_env

    return load_env(app.params_dir, env, overrides)


@cli.command(short_help='Render templates, parameters, manifest.')
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


@cli.command(short_help='Print the params JSON Schema or reference.')
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


@cli.command(short_help='Print the stack graph (text or Mermaid).')
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
    # Validate and render every env before writing or linting any: bad input fails fast.
    envs = [do_render(_load(app, name, overrides), app.templates_dir, app.jinja_cache)
            for name in names]
    targets = []
    for rendered in envs:
        out_dir = app.build_dir / rendered.env.name
        write(rendered, out_dir)
        targets += targets_for(rendered, out_dir)
    findings = Linter(None if no_cache else app.state_dir / "lint-cache").lint(targets)
    color = app.color if app.color is not None else (output is None and sys.stdout.isatty())
    body = report.formatted(fmt, findings, targets, color)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(body, encoding="utf-8")
        click.echo(f"wrote {fmt} report of {len(targets)} templates to {output}")
    else:
        click.echo(body, nl=False)
    if failing(findings, "warning" if strict else fail_on):
        sys.exit(1)


def _console(app: AppContext, err: bool = False) -> Console:
    from generator.deploy.ui import Console

    stream = sys.stderr if err else sys.stdout
    return Console(app.color if app.color is not None else stream.isatty(), err=err)


def _rendered_for_aws(app: AppContext, env: str, overrides: tuple[str, ...]) -> Rendered:
    """Render (and so validate) everything before the first AWS call."""
    from generator.render import render as do_render
    from generator.render import write

    rendered = do_render(_load(app, env, overrides), app.templates_dir, app.jinja_cache)
    write(rendered, app.build_dir / env)
    return rendered


nested_option = click.option(
    "--nested/--no-nested", default=None,
    help="the env as one root stack with nested children [default: the env's `nested`]")


def _summary(console: Console, results: list[StackResult], verb: str,
             api_calls: int | None = None) -> None:
    """The results table, the root cause of any failure again, and the exit code."""
    if api_calls is not None:  # for the bench
        per = f" ({api_calls / len(results):.1f} per stack)" if results else ""
        click.echo(f"cloudformation API calls: {api_calls}{per}")
    if not results:
        return
    console.line()
    console.table(["stack", "result", "seconds"],
                  [[r.stack, console.status(r.state), f"{r.seconds:.1f}"] for r in results])
    failed = [r for r in results if not r.ok]
    if failed:
        console.line()
        console.line(console.style(f"{verb} did not finish; root cause:", "red", bold=True))
        for r in failed:
            for reason in r.reasons:
                console.line(f"  {r.stack} ({r.stack_name}): {reason}")
        sys.exit(1)


@cli.command(short_help='Deploy the env as reviewed change sets.')
@env_option
@set_option
@click.option("--stack", "stacks", multiple=True, help="only this stack (repeatable)")
@click.option("--yes", "-y", is_flag=True, help="execute without asking")
@click.option("--force", is_flag=True, help="create change sets even for unchanged stacks")
@click.option("--concurrency", type=click.IntRange(1, 16), default=4, show_default=True,
              help="stacks deployed at once")
@click.option("--lint/--no-lint", "run_lint", default=True, show_default=True,
              help="refuse templates with lint errors before any AWS call (cached)")
@click.option("--api-calls", is_flag=True, hidden=True, help="print CloudFormation API calls")
@allow_replace_option
@nested_option
@pass_app
def deploy(app: AppContext, env: str, overrides: tuple[str, ...], stacks: tuple[str, ...],
           yes: bool, force: bool, concurrency: int, run_lint: bool, api_calls: bool,
           allow_replace: tuple[str, ...], nested: bool | None) -> None:
    """Deploy the env's stacks as reviewed change sets, outputs feeding parameters."""
    from generator.deploy import workflow
    from generator.deploy.session import confirmer

    rendered = _rendered_for_aws(app, env, overrides)
    confirm = confirmer(yes)
    if run_lint:
        workflow.lint_gate(rendered, app.build_dir / env, app.state_dir / "lint-cache", stacks)
    opened = workflow.open_env(rendered, _console(app), nested)
    results = workflow.deploy(opened, confirm, stacks, force, concurrency, allow_replace)
    _summary(opened.console, results, "deploy", opened.aws.cfn.calls if api_calls else None)


@cli.command(short_help="Delete the env's stacks, reverse order.")
@env_option
@set_option
@click.option("--stack", "stacks", multiple=True, help="only this stack (repeatable)")
@click.option("--yes", "-y", is_flag=True, help="delete without asking")
@click.option("--api-calls", is_flag=True, hidden=True, help="print CloudFormation API calls")
@nested_option
@click.option("--purge-artifacts", is_flag=True,
              help="nested form: also delete the child templates this env uploaded")
@pass_app
def delete(app: AppContext, env: str, overrides: tuple[str, ...], stacks: tuple[str, ...],
           yes: bool, api_calls: bool, nested: bool | None, purge_artifacts: bool) -> None:
    """Delete the env's stacks in reverse order; data with a Retain/Snapshot policy stays."""
    from generator.deploy import workflow
    from generator.deploy.session import confirmer

    rendered = _rendered_for_aws(app, env, overrides)
    confirm = confirmer(yes)
    opened = workflow.open_env(rendered, _console(app), nested, upload=False)
    results = workflow.delete(opened, confirm, stacks, yes, purge_artifacts)
    _summary(opened.console, results, "delete", opened.aws.cfn.calls if api_calls else None)


@cli.command(short_help='Review every change set before executing.')
@env_option
@set_option
@click.option("--stack", "stacks", multiple=True, help="only this stack (repeatable)")
@click.option("--out", type=click.Path(path_type=Path), help="save the plan (JSON) for `apply`")
@click.option("--markdown", type=click.Path(path_type=Path), help="write a pull-request review")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--diff/--no-diff", "show_diff", default=True, show_default=True,
              help="show template diffs in the text review")
@click.option("--detailed-exitcode", is_flag=True,
              help="exit 0 without changes, 2 with changes, 1 on error")
@nested_option
@pass_app
def plan(app: AppContext, env: str, overrides: tuple[str, ...], stacks: tuple[str, ...],
         out: Path | None, markdown: Path | None, fmt: str, show_diff: bool,
         detailed_exitcode: bool, nested: bool | None) -> None:
    """Create (not execute) a change set per changing stack and review them as a whole."""
    try:
        _plan(app, env, overrides, stacks, out, markdown, fmt, show_diff, detailed_exitcode,
              nested)
    except StackgenError as exc:
        if not detailed_exitcode:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _plan(app: AppContext, env: str, overrides: tuple[str, ...], stacks: tuple[str, ...],
          out: Path | None, markdown: Path | None, fmt: str, show_diff: bool,
          detailed_exitcode: bool, nested: bool | None) -> None:
    from generator.deploy import workflow
    from generator.deploy.review import markdown as to_markdown
    from generator.deploy.review import show_plan

    rendered = _rendered_for_aws(app, env, overrides)
    console = _console(app, err=fmt == "json")
    result = workflow.plan(workflow.open_env(rendered, console, nested), stacks, overrides)
    if fmt == "json":
        click.echo(result.to_json(), nl=False)
    else:
        show_plan(console, result, diff=show_diff)
    if out:
        out.write_text(result.to_json(), encoding="utf-8")
        console.line(f"plan saved to {out}; run `stackgen apply {out}` to execute it")
    if markdown:
        markdown.write_text(to_markdown(result), encoding="utf-8")
        console.line(f"review written to {markdown}")
    if detailed_exitcode and result.has_changes:
        sys.exit(2)


@cli.command(short_help="Execute a saved plan's change sets exactly.")
@click.argument("plan_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@set_option
@click.option("--yes", "-y", is_flag=True, help="execute without asking")
@allow_replace_option
@pass_app
def apply(app: AppContext, plan_file: Path, overrides: tuple[str, ...], yes: bool,
          allow_replace: tuple[str, ...]) -> None:
    """Execute exactly the change sets a plan reviewed, then continue downstream.

    The env is rendered again with the plan's own --set values (plus any given here);
    a stack whose template no longer matches the plan is refused as stale.
    """
    from generator.deploy import workflow
    from generator.deploy.plan import Plan
    from generator.deploy.session import confirmer
    from generator.errors import UsageError

    try:
        saved = Plan.from_json(plan_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UsageError(f"{plan_file}: not a stackgen plan ({exc}); make one with "
                         "`stackgen plan --out`") from None
    rendered = _rendered_for_aws(app, saved.env, (*saved.overrides, *overrides))
    confirm = confirmer(yes)
    opened = workflow.open_env(rendered, _console(app), saved.nested)
    _summary(opened.console, workflow.apply(opened, confirm, saved, allow_replace), "apply")


@cli.command(short_help='Show template and parameter diffs only.')
@env_option
@set_option
@click.option("--stack", "stacks", multiple=True, help="only this stack (repeatable)")
@pass_app
def diff(app: AppContext, env: str, overrides: tuple[str, ...], stacks: tuple[str, ...]) -> None:
    """Template and parameter differences from what is deployed; no change set is made."""
    from generator.deploy import workflow
    from generator.deploy.differ import diff_env

    opened = workflow.open_env(_rendered_for_aws(app, env, overrides), _console(app),
                               nested=False, upload=False)
    diff_env(opened.rendered, opened.aws.cfn, opened.lookups, opened.console, frozenset(stacks))


def _deployed_form(app: AppContext, env: str, overrides: tuple[str, ...],
                   nested: bool | None) -> Env:
    """The env as deployed: the stacks, or the nested form's root."""
    from generator.deploy import workflow

    return workflow.open_env(_rendered_for_aws(app, env, overrides), _console(app), nested,
                             upload=False)


@cli.command(short_help="Show the env's stacks and their status.")
@env_option
@set_option
@nested_option
@pass_app
def status(app: AppContext, env: str, overrides: tuple[str, ...], nested: bool | None) -> None:
    """A table of the env's stacks: status and last change."""
    opened = _deployed_form(app, env, overrides, nested)
    rendered, aws, console = opened.form, opened.aws, opened.console
    names = [rendered.stacks[s].stack_name for s in rendered.graph.order]
    deployed = aws.cfn.describe_many(names)
    rows = []
    for stack in rendered.graph.order:
        info = deployed.get(rendered.stacks[stack].stack_name)
        when = info.last_change.strftime("%Y-%m-%d %H:%M:%S") if info and info.last_change else ""
        rows.append([stack, rendered.stacks[stack].stack_name,
                     console.status(info.status if info else "NOT_DEPLOYED"), when])
    console.table(["stack", "name", "status", "last change"], rows)


@cli.command(short_help="Show the outputs of the env's stacks.")
@env_option
@set_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@nested_option
@pass_app
def outputs(app: AppContext, env: str, overrides: tuple[str, ...], fmt: str,
            nested: bool | None) -> None:
    """The outputs of the env's deployed stacks."""
    opened = _deployed_form(app, env, overrides, nested)
    rendered, aws = opened.form, opened.aws
    names = {s: rendered.stacks[s].stack_name for s in rendered.graph.order}
    deployed = aws.cfn.describe_many(list(names.values()))
    found = {s: deployed[n].outputs for s, n in names.items() if n in deployed}
    if fmt == "json":
        click.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    opened.console.table(["stack", "output", "value"],
                         [[s, k, v] for s, outs in found.items() for k, v in sorted(outs.items())])


@cli.command("run-task", short_help="Run a one-off task; exit with its exit code.")
@env_option
@set_option
@click.argument("task")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--timeout", type=click.IntRange(10, 86400), default=1800, show_default=True,
              help="seconds before the task is stopped and counted failed")
@pass_app
def run_task(app: AppContext, env: str, overrides: tuple[str, ...], task: str,
             command: tuple[str, ...], timeout: int) -> None:
    """Run TASK (ecs.tasks.<name>, or the service's name for its task definition) in the
    service's subnets, security groups and capacity, stream its logs, and exit with the
    container's exit code. A command after `--` overrides the container's command."""
    from generator.ecs.ops import deployed, describe_service, launch_settings
    from generator.ecs.run_task import Runner, TaskFailed

    opened = _deployed_form(app, env, overrides, nested=False)
    where = deployed(opened.rendered, opened.aws.cfn)
    workload = where.workload(task)
    ecs = opened.aws.client("ecs")
    launch = launch_settings(describe_service(ecs, where.cluster, where.service))
    runner = Runner(ecs, opened.aws.client("logs"), where.cluster, opened.console.line,
                    timeout=timeout)
    try:
        run = runner.run(task, workload.task_definition, launch, command or None)
    except TaskFailed as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    opened.console.line(run.summary(tail=0))
    sys.exit(run.exit_code if run.exit_code is not None else 1)


@cli.command(short_help="Show a workload's CloudWatch logs.")
@env_option
@set_option
@click.argument("workload", required=False)
@click.option("--since", default="10m", show_default=True, help="how far back: 30s, 10m, 2h, 1d")
@click.option("--follow", "-f", is_flag=True, help="keep printing new lines until Ctrl-C")
@pass_app
def logs(app: AppContext, env: str, overrides: tuple[str, ...], workload: str | None,
         since: str, follow: bool) -> None:
    """The env's container logs (the service's, a task's, or all of them), each line
    with its time and task id."""
    import time

    from generator.ecs import logs as ecs_logs
    from generator.ecs.ops import deployed, main_container

    seconds = ecs_logs.parse_since(since)  # bad input fails before any AWS call
    opened = _deployed_form(app, env, overrides, nested=False)
    where = deployed(opened.rendered, opened.aws.cfn)
    group, prefix = where.log_group, None
    if workload:
        _, target = main_container(opened.aws.client("ecs"),
                                   where.workload(workload).task_definition)
        if target is not None:
            group, prefix = target.group, target.stream_prefix
    client = opened.aws.client("logs")
    start = int((time.time() - seconds) * 1000)
    if follow:
        try:
            for line in ecs_logs.follow(client, group, start, prefix):
                click.echo(line.format())
        except KeyboardInterrupt:  # the way to stop following: not an error
            return
        return
    for line in ecs_logs.read_group(client, group, start, prefix):
        click.echo(line.format())


@cli.group(short_help='The local AWS endpoint (moto, 127.0.0.1).')
def local() -> None:
    """The local AWS endpoint (moto's server on 127.0.0.1) for offline deploys."""


@local.command("up")
@click.option("--port", type=int, help="port on 127.0.0.1 [default: 4599]")
@click.option("--seed-env", default="local", show_default=True,
              help="create what this env expects to exist (its hosted zone)")
@click.option("--print-url", is_flag=True, help="print only the endpoint URL (for scripts)")
@pass_app
def local_up(app: AppContext, port: int | None, seed_env: str, print_url: bool) -> None:
    """Start the endpoint unless it runs, wait until it answers, seed it."""
    from generator.local.manager import LocalEndpoint

    cfg = _load(app, seed_env, ()).config  # bad params fail before anything starts
    manager = LocalEndpoint(app.state_dir)
    endpoint, started = manager.up(port)
    from generator.aws import local_target, session
    from generator.local.seed import seed

    try:
        seeded = seed(session(cfg.region, local_target(endpoint.url)), endpoint.url, cfg)
    except BaseException:
        if started:  # a half-set-up endpoint started by this command does not stay behind
            manager.down()
        raise
    if print_url:
        click.echo(endpoint.url)
        return
    verb = "started" if started else "already running"
    click.echo(f"local endpoint {verb}: {endpoint.url} (pid {endpoint.pid})")
    for item in seeded:
        click.echo(f"  seeded {item}")
    click.echo("  envs with `target: local` find it by themselves; for other tools:")
    click.echo(f"  export AWS_ENDPOINT_URL={endpoint.url}")


@local.command("down")
@pass_app
def local_down(app: AppContext) -> None:
    """Stop the endpoint (its state goes with it)."""
    from generator.local.manager import LocalEndpoint

    stopped = LocalEndpoint(app.state_dir).down()
    click.echo("local endpoint stopped" if stopped else "local endpoint was not running")


@local.command("status")
@pass_app
def local_status(app: AppContext) -> None:
    """Say whether the endpoint runs, and where. Exit 1 when it does not."""
    from generator.local.manager import LocalEndpoint

    endpoint = LocalEndpoint(app.state_dir).status()
    if endpoint is None:
        click.echo("local endpoint: not running")
        sys.exit(1)
    click.echo(f"local endpoint: running at {endpoint.url} (pid {endpoint.pid})")


@cli.command()
@pass_app
def envs(app: AppContext) -> None:
    """List the environments in the params dir."""
    from generator.params import list_envs

    for name in list_envs(app.params_dir):
        click.echo(name)


def main() -> None:
    cli(prog_name="stackgen")
