"""The ``stackgen`` command: parse arguments, call the library, map errors to exit codes.

Heavy imports (boto3, cfn-lint, rich) happen inside the commands that need
them so ``stackgen render`` starts fast.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from click.core import ParameterSource

from generator import __version__
from generator.errors import StackgenError, UsageError

if TYPE_CHECKING:  # for annotations only: keep these imports off the start-up path
    from generator.deploy.engine import StackResult
    from generator.deploy.workflow import Connection
    from generator.params import EnvSource
    from generator.render import Rendered
    from generator.ui import Console


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


def _usage_exit(exc: click.UsageError) -> NoReturn:
    """Click's usage errors as one line too (click prints three), exit 2."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):  # bare `stackgen`: the help
        exc.show()
        sys.exit(exc.exit_code)
    where = exc.ctx.command_path if exc.ctx else "stackgen"
    message = " ".join(exc.format_message().split()).rstrip(".")
    click.echo(f"error: {message}; see `{where} --help`", err=True)
    sys.exit(exc.exit_code)


# Set by a command whose flags change what an error exits with (plan --detailed-exitcode).
ERRORS_EXIT = "stackgen.errors_exit"


class StackgenGroup(click.Group):
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
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        if code:
            sys.exit(code)
        return None


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


def _one_env(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> str:
    # A repeated --env used to take the last one silently: a deploy to the wrong env.
    if len(value) > 1:
        raise click.UsageError(f"--env given {len(value)} times ({', '.join(value)}); "
                               "this command takes one env", ctx)
    return value[0]


env_option = click.option("--env", "-e", "env", required=True, multiple=True, callback=_one_env,
                          help="environment (params/<env>.yaml)")
# deploy, plan and delete take several envs (or --all-envs), run in one process.
envs_option = click.option("--env", "-e", "env_names", multiple=True,
                           help="environment (params/<env>.yaml); repeat for several")
all_envs_option = click.option("--all-envs", is_flag=True, help="every env in the params dir")
allow_replace_option = click.option(
    "--allow-replace", "allow_replace", multiple=True, metavar="LOGICAL_ID",
    help="let a change replace or remove this stateful resource (repeatable)")
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
                          help="override one params value (repeatable)")
wait_timeout_option = click.option(
    "--wait-timeout", "wait_timeout", multiple=True, metavar="[TYPE=]MINUTES",
    help="how long a stack may take before we stop waiting and exit 1 [default: 30, "
         "60 for a stack with AWS::RDS::DBInstance]; TYPE=MINUTES for stacks holding TYPE")


def _load(app: AppContext, env: str, overrides: tuple[str, ...]) -> EnvSource:
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
    from generator.render import write_all

    names = _env_names(app, env_names, all_envs)
    if out and len(names) > 1:
        raise UsageError("--out takes one env; omit it to write build/<env>/ for each")
    results = _render_all(app, names, overrides)
    for rendered in results:
        rendered.select(stacks)

    def out_dir(rendered: Rendered) -> Path:
        return out or app.build_dir / rendered.env.name

    for rendered, written in zip(results, write_all(results, out_dir, set(stacks) or None),
                                 strict=True):
        count = len(stacks) if stacks else len(rendered.stacks)
        click.echo(f"rendered {count} stacks of env '{rendered.env.name}' into "
                   f"{out_dir(rendered)}/ ({len(written)} files)")


def _render_all(app: AppContext, names: list[str], overrides: tuple[str, ...]) -> list[Rendered]:
    """Every env rendered, and so validated, before anything is written or linted."""
    from generator.render import render as do_render

    return [do_render(_load(app, name, overrides), app.templates_dir, app.jinja_cache)
            for name in names]


def _env_names(app: AppContext, env_names: tuple[str, ...], all_envs: bool) -> list[str]:
    from generator.errors import UsageError
    from generator.params import list_envs

    if all_envs and env_names:
        raise UsageError(f"--env {env_names[0]} and --all-envs together: pick one")
    twice = sorted({n for n in env_names if env_names.count(n) > 1})
    if twice:
        raise UsageError(f"--env {twice[0]} given twice; name each env once")
    names = list_envs(app.params_dir) if all_envs else list(env_names)
    if not names:
        raise UsageError("name an env with --env NAME, or use --all-envs")
    return names


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

        rendered = do_render(_load(app, env, overrides), app.templates_dir, app.jinja_cache)
        docs = {s: load_cfn(r.template) for s, r in rendered.stacks.items()}
        click.echo(diagram(rendered.graph, docs), nl=False)
        return
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
         fmt: str, output: Path | None, fail_on: str, strict: bool, no_cache: bool) -> int:
    """Render, then lint every template (nested root included) with each env's values.

    Exit 0 when clean, 1 on findings at or above --fail-on, 2 on bad input.
    """
    from generator.lint import report
    from generator.lint.engine import Linter, failing
    from generator.lint.targets import targets_for
    from generator.render import check_writable, write_all, write_file

    envs = _render_all(app, _env_names(app, env_names, all_envs), overrides)
    if output:
        check_writable(output.parent, [output], output)

    def out_dir(rendered: Rendered) -> Path:
        return app.build_dir / rendered.env.name

    write_all(envs, out_dir)
    targets = [t for rendered in envs for t in targets_for(rendered, out_dir(rendered))]
    findings = Linter(None if no_cache else app.state_dir / "lint-cache").lint(targets)
    color = app.color if app.color is not None else (output is None and sys.stdout.isatty())
    body = report.formatted(fmt, findings, targets, color)
    if output:
        write_file(output, body)
        click.echo(f"wrote {fmt} report of {len(targets)} templates to {output}")
    else:
        click.echo(body, nl=False)
    return 1 if failing(findings, "warning" if strict else fail_on) else 0


@cli.command(short_help="Predict what AWS would refuse or hang on (read-only).")
@env_option
@set_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
              show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="write the report here")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default="error",
              show_default=True, help="lowest severity that fails the run")
@click.option("--offline", is_flag=True, help="only the checks that need no AWS")
@click.option("--public-dns", is_flag=True,
              help="ask public DNS about a zone whose parent is not in the account")
@click.option("--registries", is_flag=True,
              help="ask registries other than ECR (Docker Hub, GHCR, ...) for image platforms")
@pass_app
def forecast(app: AppContext, env: str, overrides: tuple[str, ...], fmt: str,
             output: Path | None, fail_on: str, offline: bool, public_dns: bool,
             registries: bool) -> int:
    """Check placement, ordering, DNS and the account's facts before any change set runs.

    Exit 0 when clean, 1 on findings at or above --fail-on, 2 on bad input.
    """
    from generator.forecast.account import connect_account
    from generator.forecast.report import formatted
    from generator.forecast.runner import forecast as run_forecast
    from generator.render import render as do_render

    rendered = do_render(_load(app, env, overrides), app.templates_dir, app.jinja_cache)
    account = None if offline else connect_account(rendered.env.config)
    result = run_forecast(rendered, account, options={"public_dns": public_dns,
                                                      "registries": registries})
    color = app.color if app.color is not None else (output is None and sys.stdout.isatty())
    body = formatted(fmt, result, color)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(body, encoding="utf-8")
        click.echo(f"wrote {fmt} forecast of env '{env}' to {output}")
    else:
        click.echo(body, nl=False)
    return 1 if result.failing(fail_on) else 0


def _forecast_mode(no_forecast: bool, mode: str) -> str:
    if no_forecast:
        click.echo("forecast skipped (--no-forecast)", err=True)
        return "off"
    return mode


def _console(app: AppContext, err: bool = False, events: str = "text") -> Console:
    from generator.ui import Console, NdjsonConsole

    if events == "ndjson":
        return NdjsonConsole()
    stream = sys.stderr if err else sys.stdout
    return Console(app.color if app.color is not None else stream.isatty(), err=err)


def _rendered_for_aws(app: AppContext, env: str, overrides: tuple[str, ...],
                      stacks: tuple[str, ...] = (), nested: bool | None = None,
                      allow_replace: tuple[str, ...] = (), changes: bool = False) -> Rendered:
    """Render (and so validate) everything, flags included, before the first AWS call.
    ``changes``: a command that creates or updates stacks (deploy, plan, apply).

    Nothing is written here: build/<env> gets the files only once they are deployed
    (`_record_deployed`), so a refused deploy leaves no undeployed values behind."""
    from generator.deploy.preflight import refuse_nested
    from generator.render import preflight
    from generator.render import render as do_render

    rendered = do_render(_load(app, env, overrides), app.templates_dir, app.jinja_cache)
    rendered.select(stacks)
    use_nested = rendered.env.config.nested if nested is None else nested
    if use_nested and stacks:
        raise UsageError("--stack and --nested do not mix: the nested form is one stack")
    if use_nested and changes:
        refuse_nested(rendered.env.config, env)
    _check_allow_replace(rendered, allow_replace)
    preflight(rendered, app.build_dir / env)  # a blocked build dir fails now, not after a deploy
    return rendered


events_option = click.option(
    "--events", type=click.Choice(["text", "ndjson"]), default="text", show_default=True,
    help="ndjson: stack events and results as JSON lines on stdout (for CI and bots)")
approve_broadening_option = click.option(
    "--approve-broadening", is_flag=True,
    help="with --yes: execute change sets that broaden access (IAM or network)")
def _check_allow_replace(rendered: Rendered, logical_ids: tuple[str, ...]) -> None:
    from generator.errors import UsageError
    from generator.yamlsrc import load_cfn

    if not logical_ids:
        return
    known: set[str] = set()
    for stack in (*rendered.stacks.values(), rendered.root):
        known |= set(load_cfn(stack.template).get("Resources") or {})
    for logical_id in logical_ids:
        if logical_id not in known:
            close = difflib.get_close_matches(logical_id, sorted(known), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "name a resource's logical id"
            raise UsageError(f"--allow-replace {logical_id}: no resource of env "
                             f"'{rendered.env.name}' has this logical id; {hint}")


def _record_deployed(app: AppContext, rendered: Rendered, results: list[StackResult]) -> None:
    """build/<env> holds what is deployed: write the stacks that now are."""
    from generator.render import write

    done = {r.stack for r in results if r.ok}
    if not done:
        return
    whole = "root" in done or done >= set(rendered.stacks)
    write(rendered, app.build_dir / rendered.env.name, None if whole else done)


nested_option = click.option(
    "--nested/--no-nested", default=None,
    help="the env as one root stack with nested children [default: the env's `nested`]")


no_forecast_option = click.option(
    "--no-forecast", is_flag=True,
    help="skip `stackgen forecast` (deploy and apply refuse its errors otherwise)")


adopt_existing_option = click.option(
    "--adopt-existing", is_flag=True,
    help="change sets import named resources that exist outside any stack "
         "(ImportExistingResources) instead of failing on their names")
revert_drift_option = click.option(
    "--revert-drift", is_flag=True,
    help="drift-aware change sets (REVERT_DRIFT): put resources changed by hand back to "
         "the template; the review shows each live value overwritten")


def _one_env_only(adopt_existing: bool, revert_drift: bool) -> None:
    for flag, given in (("--adopt-existing", adopt_existing), ("--revert-drift", revert_drift)):
        if given:
            raise UsageError(f"{flag} takes one env (without `targets`); run it per env")


def _refuse_nested_revert(rendered: Rendered, nested: bool | None, revert_drift: bool) -> None:
    """Before any AWS call: REVERT_DRIFT is not for nested change sets."""
    from generator.review.revert import refuse_nested
    refuse_nested(revert_drift, rendered.env.config.nested if nested is None else nested)


@cli.command(short_help='Deploy the env as reviewed change sets.')
@envs_option
@all_envs_option
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
@approve_broadening_option
@events_option
@nested_option
@wait_timeout_option
@no_forecast_option
@click.option("--create-service-linked-role", "create_slr", is_flag=True,
              help="create the ECS service-linked role first if the account lacks it (F407)")
@adopt_existing_option
@revert_drift_option
@pass_app
def deploy(app: AppContext, env_names: tuple[str, ...], all_envs: bool,
           overrides: tuple[str, ...], stacks: tuple[str, ...],
           yes: bool, force: bool, concurrency: int, run_lint: bool, api_calls: bool,
           allow_replace: tuple[str, ...], approve_broadening: bool, events: str,
           nested: bool | None, wait_timeout: tuple[str, ...], no_forecast: bool,
           create_slr: bool, adopt_existing: bool, revert_drift: bool) -> int:
    """Deploy the env's stacks as reviewed change sets, outputs feeding parameters."""
    from generator.deploy import workflow
    from generator.deploy.session import confirmer

    names = _env_names(app, env_names, all_envs)
    if _many(app, names, overrides):
        if create_slr:
            raise UsageError("--create-service-linked-role takes one env: the role is the "
                             "account's, create it with one env's deploy first")
        _one_env_only(adopt_existing, revert_drift)
        return _deploy_many(app, names, overrides, stacks, yes, force, concurrency, run_lint,
                            api_calls, allow_replace, approve_broadening, events, nested,
                            wait_timeout, no_forecast)
    env = names[0]
    waits = workflow.waits_from(wait_timeout)
    rendered = _rendered_for_aws(app, env, overrides, stacks, nested, allow_replace, changes=True)
    _refuse_nested_revert(rendered, nested, revert_drift)
    confirm = confirmer(yes)
    if run_lint:
        workflow.lint_gate(rendered, app.build_dir / env, app.state_dir / "lint-cache", stacks)
    opened = workflow.open_env(rendered, _console(app, events=events), nested,
                               forecast=_forecast_mode(no_forecast, "gate"),
                               create_service_linked_role=create_slr)
    # Non-interactive runs (--yes) execute broadening changes only when told to.
    results = workflow.deploy(opened, confirm, stacks, force, concurrency, allow_replace,
                              ask_once=not yes, waits=waits,
                              approve_broadening=approve_broadening or not yes,
                              import_existing=adopt_existing, revert_drift=revert_drift)
    from generator import report

    _record_deployed(app, rendered, results)
    code = report.results(opened.console, results, "deploy",
                          opened.aws.cfn.calls if api_calls else None)
    _local_urls(opened.console, opened.aws.target.endpoint_url)
    return code


def _local_urls(console: Any, endpoint_url: str | None) -> None:
    """The load balancers' local URLs when the target is a local endpoint with containers."""
    from generator.local.manager import local_urls

    for line in local_urls(endpoint_url or os.environ.get("AWS_ENDPOINT_URL")):
        console.line(f"local URL: {line}")


@cli.command(short_help="Move resources between the env's stacks (stack refactor).")
@click.option("--env", "env_name", required=True, help="the env")
@set_option
@click.option("--mapping", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="YAML, one 'stack.LogicalId: stack.LogicalId' per line; default: the moves "
                   "found between the deployed and rendered templates")
@click.option("--yes", "-y", is_flag=True, help="execute without asking")
@events_option
@pass_app
def refactor(app: AppContext, env_name: str, overrides: tuple[str, ...], mapping: Path | None,
             yes: bool, events: str) -> int:
    """Move resources between the env's stacks, or rename them, without replacing them:
    CloudFormation's stack refactor (deploy runs it by itself before its change sets)."""
    from generator.deploy import workflow
    from generator.deploy.refactor import read_mapping
    from generator.deploy.session import confirmer

    rendered = _rendered_for_aws(app, env_name, overrides, (), False)
    moves = read_mapping(mapping, rendered.stacks) if mapping else []
    confirm = confirmer(yes)
    opened = workflow.open_env(rendered, _console(app, events=events), False, upload=False)
    done = workflow.refactor(opened, confirm, moves)
    opened.console.line(f"refactor: {len(done)} resources moved, none replaced")
    return 0


@cli.command(short_help="Delete the env's stacks, reverse order.")
@envs_option
@all_envs_option
@set_option
@click.option("--stack", "stacks", multiple=True, help="only this stack (repeatable)")
@click.option("--yes", "-y", is_flag=True, help="delete without asking")
@click.option("--api-calls", is_flag=True, hidden=True, help="print CloudFormation API calls")
@nested_option
@click.option("--purge-artifacts", is_flag=True,
              help="nested form: also delete the child templates this env uploaded")
@events_option
@wait_timeout_option
@pass_app
def delete(app: AppContext, env_names: tuple[str, ...], all_envs: bool,
           overrides: tuple[str, ...], stacks: tuple[str, ...],
           yes: bool, api_calls: bool, nested: bool | None, purge_artifacts: bool,
           events: str, wait_timeout: tuple[str, ...]) -> int:
    """Delete the env's stacks in reverse order; data with a Retain/Snapshot policy stays."""
    from generator.deploy import workflow
    from generator.deploy.session import confirmer

    names = _env_names(app, env_names, all_envs)
    if _many(app, names, overrides):
        return _delete_many(app, names, overrides, stacks, yes, api_calls, nested,
                            purge_artifacts, events, wait_timeout)
    env = names[0]
    waits = workflow.waits_from(wait_timeout)
    rendered = _rendered_for_aws(app, env, overrides, stacks, nested)
    confirm = confirmer(yes)
    opened = workflow.open_env(rendered, _console(app, events=events), nested, upload=False)
    from generator import report

    results = workflow.delete(opened, confirm, stacks, yes, purge_artifacts, waits)
    return report.results(opened.console, results, "delete",
                          opened.aws.cfn.calls if api_calls else None)


sign_key_option = click.option(
    "--sign-key-file", type=click.Path(path_type=Path, dir_okay=False),
    help="HMAC key: plan signs the saved plan, apply refuses one not signed with it "
         "(default: the key in $STACKGEN_PLAN_KEY, if set)")


@cli.command(short_help='Review every change set before executing.')
@envs_option
@all_envs_option
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
@click.option("--drift/--no-drift", default=True, show_default=True,
              help="detect drift on the stacks that change (the apply overwrites hand changes)")
@nested_option
@no_forecast_option
@sign_key_option
@click.option("--force", is_flag=True, help="write --out/--markdown through a symbolic link")
@adopt_existing_option
@revert_drift_option
@pass_app
def plan(app: AppContext, env_names: tuple[str, ...], all_envs: bool,
         overrides: tuple[str, ...], stacks: tuple[str, ...],
         out: Path | None, markdown: Path | None, fmt: str, show_diff: bool,
         detailed_exitcode: bool, drift: bool, nested: bool | None,
         no_forecast: bool, sign_key_file: Path | None, force: bool,
         adopt_existing: bool, revert_drift: bool) -> int:
    """Create (not execute) a change set per changing stack and review them as a whole."""
    if detailed_exitcode:  # 0 without changes, 2 with: so any error exits 1
        click.get_current_context().meta[ERRORS_EXIT] = 1
    names = _env_names(app, env_names, all_envs)
    if _many(app, names, overrides):
        _one_env_only(adopt_existing, revert_drift)
        return _plan_many(app, names, overrides, stacks, out, markdown, fmt, show_diff,
                          detailed_exitcode, drift, nested, no_forecast)
    env = names[0]
    from generator.deploy import workflow
    from generator.render import check_writable
    from generator.review.plan import check_output, plan_key, sign_plan, write_private
    from generator.review.report import markdown as to_markdown
    from generator.review.report import show_plan

    key = plan_key(sign_key_file)
    rendered = _rendered_for_aws(app, env, overrides, stacks, nested, changes=True)
    _refuse_nested_revert(rendered, nested, revert_drift)
    for path in (out, markdown):
        if path:
            check_output(path, force)
            check_writable(path.parent, [path], path)
    console = _console(app, err=fmt == "json")
    opened = workflow.open_env(rendered, console, nested,
                               forecast=_forecast_mode(no_forecast, "record"))
    result = workflow.plan(opened, stacks, overrides, drift, import_existing=adopt_existing,
                           revert_drift=revert_drift)
    if fmt == "json":
        click.echo(result.to_json(), nl=False)
    else:
        show_plan(console, result, diff=show_diff)
    if out:
        text = result.to_json()
        write_private(out, sign_plan(text, key) if key else text, force)
        console.line(f"plan saved to {out}{' (signed)' if key else ''}; run "
                     f"`stackgen apply {out}` to execute it")
    if markdown:
        write_private(markdown, to_markdown(result), force)
        console.line(f"review written to {markdown}")
    from generator.review.validation import blocking
    if blocking(result):  # a FAIL finding: that change set cannot be executed
        console.line("plan: CloudFormation's pre-deployment validation failed; "
                     "nothing can be applied until each FAIL above is resolved")
        return 1
    return 2 if detailed_exitcode and result.has_changes else 0


def _rendered_many(app: AppContext, names: list[str], overrides: tuple[str, ...],
                   stacks: tuple[str, ...], nested: bool | None,
                   allow_replace: tuple[str, ...] = (), changes: bool = False) -> list[Rendered]:
    """Every env rendered and checked before the first AWS call of any; an env with
    `targets` once per target, its account_id and region set from the target."""
    out = []
    for n in names:
        r = _rendered_for_aws(app, n, overrides, stacks, nested, allow_replace, changes)
        out += [_rendered_for_aws(app, n, (*overrides, *t.overrides()), stacks, nested,
                                  allow_replace, changes)
                for t in r.env.config.targets] or [r]
    return out


def _many(app: AppContext, names: list[str], overrides: tuple[str, ...]) -> bool:
    """Several envs, or one with `targets`: the multi-env run."""
    return len(names) > 1 or bool(_load(app, names[0], overrides).config.targets)


def _deploy_many(app: AppContext, names: list[str], overrides: tuple[str, ...],
                 stacks: tuple[str, ...], yes: bool, force: bool, concurrency: int,
                 run_lint: bool, api_calls: bool, allow_replace: tuple[str, ...],
                 approve_broadening: bool, events: str, nested: bool | None,
                 wait_timeout: tuple[str, ...], no_forecast: bool) -> int:
    from generator import report
    from generator.deploy import multi, workflow
    from generator.deploy.session import confirmer

    waits = workflow.waits_from(wait_timeout)
    rendered = _rendered_many(app, names, overrides, stacks, nested, allow_replace, changes=True)
    confirm = confirmer(yes)
    if run_lint:
        for r in rendered:
            workflow.lint_gate(r, app.build_dir / r.env.name, app.state_dir / "lint-cache",
                               stacks)
    console = _console(app, events=events)
    envs = multi.open_envs(rendered, console, nested,
                           forecast=_forecast_mode(no_forecast, "gate"))
    results = multi.deploy(envs, confirm, stacks, force, concurrency, allow_replace, waits,
                           approve_broadening=approve_broadening or not yes)
    for r in rendered:
        if r.env.name in results:  # an env's targets are not recorded in build/<env>
            _record_deployed(app, r, results[r.env.name])
    return report.results_many(console, results, [r.graph.order for r in rendered], "deploy",
                  sum({id(e.aws.cfn): e.aws.cfn.calls for e in envs}.values())
                  if api_calls else None)


def _delete_many(app: AppContext, names: list[str], overrides: tuple[str, ...],
                 stacks: tuple[str, ...], yes: bool, api_calls: bool, nested: bool | None,
                 purge_artifacts: bool, events: str, wait_timeout: tuple[str, ...]) -> int:
    from generator import report
    from generator.deploy import multi, workflow
    from generator.deploy.session import confirmer

    if purge_artifacts:
        raise UsageError("--purge-artifacts takes one env; delete the envs, then purge "
                         "each with `stackgen delete --env NAME --purge-artifacts`")
    waits = workflow.waits_from(wait_timeout)
    rendered = _rendered_many(app, names, overrides, stacks, nested)
    confirm = confirmer(yes)
    console = _console(app, events=events)
    envs = multi.open_envs(rendered, console, nested, upload=False)
    results = multi.delete(envs, confirm, stacks, yes, waits)
    return report.results_many(console, results, [r.graph.order for r in rendered], "delete",
                  sum({id(e.aws.cfn): e.aws.cfn.calls for e in envs}.values())
                  if api_calls else None)


def _plan_many(app: AppContext, names: list[str], overrides: tuple[str, ...],
               stacks: tuple[str, ...], out: Path | None, markdown: Path | None, fmt: str,
               show_diff: bool, detailed_exitcode: bool, drift: bool, nested: bool | None,
               no_forecast: bool) -> int:
    import json

    from generator.deploy import multi
    from generator.review.report import show_plan

    for flag, value in (("--out", out), ("--markdown", markdown)):
        if value is not None:
            raise UsageError(f"{flag} takes one env; plan each env with its own {flag}")
    rendered = _rendered_many(app, names, overrides, stacks, nested, changes=True)
    console = _console(app, err=fmt == "json")
    envs = multi.open_envs(rendered, console, nested,
                           forecast=_forecast_mode(no_forecast, "record"))
    plans = multi.plan(envs, stacks, overrides, drift)
    if fmt == "json":
        click.echo(json.dumps({env: json.loads(p.to_json()) for env, p in plans.items()},
                              indent=2, sort_keys=True))
    else:
        for env, p in plans.items():
            console.line(console.style(f"== env {env} ==", bold=True))
            show_plan(console, p, diff=show_diff)
    return 2 if detailed_exitcode and any(p.has_changes for p in plans.values()) else 0


@cli.command(short_help="Execute a saved plan's change sets exactly.")
@click.argument("plan_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@set_option
@click.option("--yes", "-y", is_flag=True, help="execute without asking")
@allow_replace_option
@approve_broadening_option
@events_option
@wait_timeout_option
@no_forecast_option
@sign_key_option
@pass_app
def apply(app: AppContext, plan_file: Path, overrides: tuple[str, ...], yes: bool,
          allow_replace: tuple[str, ...], approve_broadening: bool, events: str,
          wait_timeout: tuple[str, ...], no_forecast: bool, sign_key_file: Path | None) -> int:
    """Execute exactly the change sets a plan reviewed, then continue downstream.

    The env is rendered again with the plan's own --set values (plus any given here);
    a stack whose template no longer matches the plan is refused as stale.
    """
    from generator.deploy import workflow
    from generator.deploy.session import confirmer
    from generator.errors import UsageError
    from generator.review.plan import load_plan, plan_key

    saved = load_plan(plan_file, plan_key(sign_key_file))
    waits = workflow.waits_from(wait_timeout)
    rendered = _rendered_for_aws(app, saved.env, (*saved.overrides, *overrides),
                                 nested=saved.nested, allow_replace=allow_replace, changes=True)
    known = {"root"} if saved.nested else set(rendered.stacks)
    strays = sorted({s.stack for s in saved.stacks} - known)
    if strays:
        raise UsageError(f"{plan_file}: stack '{strays[0]}' is not a stack of env '{saved.env}' "
                         f"as rendered now ({', '.join(sorted(known))}); make the plan again")
    confirm = confirmer(yes)
    opened = workflow.open_env(rendered, _console(app, events=events), saved.nested,
                               upload=False, forecast=_forecast_mode(no_forecast, "gate"))
    results = workflow.apply(opened, confirm, saved, allow_replace, waits,
                             approve_broadening or not yes)
    from generator import report

    _record_deployed(app, rendered, results)
    return report.results(opened.console, results, "apply")


@cli.command(short_help='Show template and parameter diffs only.')
@env_option
@set_option
@click.option("--stack", "stacks", multiple=True, help="only this stack (repeatable)")
@pass_app
def diff(app: AppContext, env: str, overrides: tuple[str, ...], stacks: tuple[str, ...]) -> None:
    """Template and parameter differences from what is deployed; no change set is made."""
    from generator.deploy import workflow
    from generator.review.diff import diff_env

    opened = workflow.open_env(_rendered_for_aws(app, env, overrides, stacks, nested=False),
                               _console(app), nested=False, upload=False)
    diff_env(opened.rendered, opened.aws.cfn, opened.lookups, opened.console, frozenset(stacks))


def _deployed_form(app: AppContext, env: str, overrides: tuple[str, ...],
                   nested: bool | None) -> Connection:
    """The env as deployed: the stacks, or the nested form's root."""
    from generator.deploy import workflow

    return workflow.open_env(_rendered_for_aws(app, env, overrides, nested=nested), _console(app),
                             nested, upload=False)


@cli.command(short_help="Show the env's stacks and their status.")
@env_option
@set_option
@nested_option
@pass_app
def status(app: AppContext, env: str, overrides: tuple[str, ...], nested: bool | None) -> None:
    """A table of the env's stacks: status and last change."""
    from generator import report

    opened = _deployed_form(app, env, overrides, nested)
    names = _stack_names(opened.form)
    report.status_table(opened.console, names, opened.aws.cfn.describe_many(list(names.values())))


def _stack_names(rendered: Rendered) -> dict[str, str]:
    """Stack -> its name in AWS, in graph order."""
    return {s: rendered.stacks[s].stack_name for s in rendered.graph.order}


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
    from generator import report

    opened = _deployed_form(app, env, overrides, nested)
    names = _stack_names(opened.form)
    report.outputs(opened.console, names, opened.aws.cfn.describe_many(list(names.values())), fmt)
    if fmt == "text":
        _local_urls(opened.console, opened.aws.target.endpoint_url)


@cli.command(short_help="Release an env's lock left by a dead process.")
@env_option
@click.option("--yes", "-y", is_flag=True, help="release without asking")
@pass_app
def unlock(app: AppContext, env: str, yes: bool) -> int:
    """Release the env's lock (deploy, apply and delete hold it) that a process which
    died or was killed left behind. Shows the holder first."""
    from generator.deploy import workflow
    from generator.deploy.lock import when
    from generator.deploy.session import confirmer

    rendered = _rendered_for_aws(app, env, ())
    opened = workflow.open_env(rendered, _console(app), nested=False, upload=False)
    lock = workflow.env_lock(opened, "unlock")
    current = lock.read()
    if current is None:
        click.echo(f"env {env} is not locked")
        return 0
    holder = current.holder
    state = "expired" if current.expired else "expires"
    click.echo(f"env {env} is locked by {holder.who} since {when(holder.acquired)} "
               f"({holder.reason}), {state} {when(holder.expires)}")
    if not confirmer(yes)("release it? (a run still alive would go on without the lock)"):
        click.echo("lock kept")
        return 1
    if lock.force_release(current.etag):
        click.echo(f"env {env} unlocked")
        return 0
    click.echo(f"the lock of env {env} changed since it was shown; run unlock again", err=True)
    return 1


@cli.command("run-task", short_help="Run a one-off task; exit with its exit code.")
@env_option
@set_option
@click.argument("task")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--timeout", type=click.IntRange(10, 86400), default=1800, show_default=True,
              help="seconds before the task is stopped and counted failed")
@pass_app
def run_task(app: AppContext, env: str, overrides: tuple[str, ...], task: str,
             command: tuple[str, ...], timeout: int) -> int:
    """Run TASK (ecs.tasks.<name>, or the service's name for its task definition) in the
    service's subnets, security groups and capacity, stream its logs, and exit with the
    container's exit code. A command after `--` overrides the container's command."""
    from generator.ecs.ops import deployed, describe_service, launch_settings
    from generator.ecs.run_task import Runner
    from generator.secrets import refuse_in_command

    refuse_in_command(command, f"run-task {task}")  # before any AWS call, like params
    opened = _deployed_form(app, env, overrides, nested=False)
    where = deployed(opened.rendered, opened.aws.cfn)
    workload = where.workload(task)
    ecs = opened.aws.client("ecs")
    launch = launch_settings(describe_service(ecs, where.cluster, where.service))
    runner = Runner(ecs, opened.aws.client("logs"), where.cluster, opened.console.line,
                    timeout=timeout)
    run = runner.run(task, workload.task_definition, launch, command or None)  # TaskFailed: 1
    opened.console.line(run.summary(tail=0))
    return run.exit_code if run.exit_code is not None else 1


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

    start = ecs_logs.start_ms(since, time.time())  # bad input fails before any AWS call
    opened = _deployed_form(app, env, overrides, nested=False)
    where = deployed(opened.rendered, opened.aws.cfn)
    group, prefix = where.log_group, None
    if workload:
        _, target = main_container(opened.aws.client("ecs"),
                                   where.workload(workload).task_definition)
        if target is not None:
            group, prefix = target.group, target.stream_prefix
    client = opened.aws.client("logs")
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
@click.option("--latency", type=click.Choice(["off", "real"]),
              help="real: each resource takes its typical AWS time (generator/latency.py); "
                   "kept as set when omitted [default: off]")
@click.option("--time-scale", type=click.FloatRange(min=1.0), default=1.0, show_default=True,
              help="with --latency real: AWS's times divided by this")
@click.option("--containers", type=click.Choice(["auto", "on", "off"]),
              help="run ECS tasks' containers in Docker and serve the load balancers on local "
                   "ports; auto: on when a Docker daemon answers "
                   "[default: $STACKGEN_LOCAL_CONTAINERS, else auto]")
@pass_app
def local_up(app: AppContext, port: int | None, seed_env: str, print_url: bool,
             latency: str | None, time_scale: float, containers: str | None) -> None:
    """Start the endpoint unless it runs, wait until it answers, seed it."""
    from generator.local.manager import LocalEndpoint

    cfg = _load(app, seed_env, ()).config  # bad params fail before anything starts
    manager = LocalEndpoint(app.state_dir)
    endpoint, started = manager.up(port, containers=containers)
    from generator.aws import local_target, session
    from generator.local.seed import seed

    try:
        seeded = seed(session(cfg.region, local_target(endpoint.url)), endpoint.url, cfg)
        if latency is not None:
            from generator.local.manager import set_latency

            set_latency(endpoint, latency == "real", time_scale)
    except BaseException:
        if started:  # a half-set-up endpoint started by this command does not stay behind
            manager.down()
        raise
    if print_url:
        click.echo(endpoint.url)
        return
    verb = "started" if started else "already running"
    click.echo(f"local endpoint {verb}: {endpoint.url} (pid {endpoint.pid})")
    if started:
        from generator.local.persist import restored_message

        click.echo(f"  {restored_message(manager.state_dir)}")
    for item in seeded:
        click.echo(f"  seeded {item}")
    if latency == "real":
        click.echo(f"  latency model: AWS's typical times / {time_scale:g}")
    click.echo(f"  containers: {_containers_line(manager.containers(endpoint))}")
    click.echo("  envs with `target: local` find it by themselves; for other tools:")
    click.echo(f"  export AWS_ENDPOINT_URL={endpoint.url}")


@local.command("down")
@click.option("--forget", is_flag=True,
              help="also delete its saved state (stacks, secrets, the DBs' data)")
@pass_app
def local_down(app: AppContext, forget: bool) -> None:
    """Stop the endpoint; its state is kept for the next `local up` unless --forget."""
    from generator.local.manager import LocalEndpoint
    from generator.local.persist import forget as forget_state

    manager = LocalEndpoint(app.state_dir)
    stopped = manager.down()
    click.echo("local endpoint stopped" if stopped else "local endpoint was not running")
    if forget:
        click.echo(f"  {forget_state(manager.state_dir)}")
    elif stopped:
        click.echo("  its state is kept for the next `stackgen local up` "
                   "(`local down --forget` deletes it)")


@local.command("status")
@pass_app
def local_status(app: AppContext) -> int:
    """Say whether the endpoint runs, and where. Exit 1 when it does not."""
    from generator.local.manager import LocalEndpoint

    manager = LocalEndpoint(app.state_dir)
    endpoint = manager.status()
    if endpoint is None:
        click.echo("local endpoint: not running")
        return 1
    click.echo(f"local endpoint: running at {endpoint.url} (pid {endpoint.pid})")
    click.echo(f"  containers: {_containers_line(manager.containers(endpoint))}")
    return 0


def _containers_line(mode: str) -> str:
    if mode == "on":
        return "on (ECS tasks run in Docker; load balancers answer on 127.0.0.1)"
    return ("off (tasks are placed but not run; `stackgen local up --containers on` with a "
            "Docker daemon runs them)")


@cli.command(short_help="Detect drift: what was changed by hand since the deploy.")
@env_option
@set_option
@click.option("--fail", is_flag=True, help="exit 1 when any stack drifted (or could not be checked)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@pass_app
def drift(app: AppContext, env: str, overrides: tuple[str, ...], fail: bool, fmt: str) -> int:
    """Run drift detection on every stack at once; show each drifted resource's
    property paths with expected and actual values."""
    import msgspec

    from generator.review.drift import DRIFTED, UNKNOWN, detect, show_drift

    opened = _deployed_form(app, env, overrides, nested=False)
    results = detect(opened.aws.cfn, _stack_names(opened.rendered))
    if fmt == "json":
        click.echo(json.dumps(msgspec.to_builtins(results), indent=2, sort_keys=True))
    else:
        show_drift(opened.console, results)
    return 1 if fail and any(r.status in (DRIFTED, UNKNOWN) for r in results) else 0


@cli.group(short_help="The price snapshot the cost review uses.")
def prices() -> None:
    """The dated price snapshot behind the plan's monthly cost."""


@prices.command("update")
@click.option("--region", required=True, help="the region whose prices to refresh")
@click.option("--from", "source", type=click.Path(path_type=Path, file_okay=False),
              help="a folder of offer files (<OfferCode>.json) already downloaded")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="the snapshot to write [default: the one shipped]")
def prices_update(region: str, source: Path | None, out: Path | None) -> None:
    """Refresh one region of the snapshot from AWS's Price List bulk files."""
    from generator.review import prices as price_list

    target = out or price_list.SNAPSHOT
    offers = price_list.read_offer_files(source) if source else \
        price_list.download_offers(region, lambda line: click.echo(line, err=True))
    book = price_list.refresh(price_list.load(target if target.exists() else
                                              price_list.SNAPSHOT), region, offers)
    from generator.render import write_file

    write_file(target, book.to_json())
    click.echo(f"prices for {region} as of {book.as_of} written to {target}")


@cli.command()
@pass_app
def envs(app: AppContext) -> None:
    """List the environments in the params dir."""
    from generator.params import list_envs

    for name in list_envs(app.params_dir):
        click.echo(name)


def main() -> None:
    cli(prog_name="stackgen")
