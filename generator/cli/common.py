"""What the commands share between parsing and calling the library: loading and rendering
envs (and so validating them) before the first AWS call, expanding them into units and
opening them, the console, and reporting a run."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from generator.cli.app import AppContext
from generator.errors import UsageError

if TYPE_CHECKING:  # for annotations only: keep these imports off the start-up path
    from generator.aws.status import StackResult
    from generator.deploy.connect import Connection
    from generator.deploy.units import Unit
    from generator.params import EnvSource
    from generator.render import Rendered
    from generator.ui import Console


def load_source(app: AppContext, env: str, overrides: tuple[str, ...]) -> EnvSource:
    from generator.params import load_env

    return load_env(app.params_dir, env, overrides)


def render_all(app: AppContext, names: list[str], overrides: tuple[str, ...]) -> list[Rendered]:
    """Every env rendered, and so validated, before anything is written or linted."""
    from generator.render import render as do_render

    return [do_render(load_source(app, name, overrides), app.templates_dir, app.jinja_cache)
            for name in names]


def env_names_of(app: AppContext, env_names: tuple[str, ...], all_envs: bool) -> list[str]:
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


def forecast_mode(no_forecast: bool, mode: str) -> str:
    if no_forecast:
        click.echo("forecast skipped (--no-forecast)", err=True)
        return "off"
    return mode


def console_for(app: AppContext, err: bool = False, events: str = "text") -> Console:
    from generator.ui import Console, NdjsonConsole

    if events == "ndjson":
        return NdjsonConsole()
    stream = sys.stderr if err else sys.stdout
    return Console(app.color if app.color is not None else stream.isatty(), err=err)


def rendered_for_aws(app: AppContext, env: str, overrides: tuple[str, ...],
                      stacks: tuple[str, ...] = (), nested: bool | None = None,
                      allow_replace: tuple[str, ...] = (), changes: bool = False,
                      records: bool = False) -> Rendered:
    """Render (and so validate) everything, flags included, before the first AWS call.
    ``changes``: a command that creates or updates stacks (deploy, plan, apply);
    ``records``: one that writes build/<env> afterwards (deploy, apply), whose blocked
    build dir must fail now. The others (plan, status, diff, ...) write nothing there,
    so a read-only build dir is none of their business.

    Nothing is written here: build/<env> gets the files only once they are deployed
    (`record_deployed`), so a refused deploy leaves no undeployed values behind."""
    from generator.deploy.preflight import refuse_nested
    from generator.render import preflight
    from generator.render import render as do_render

    rendered = do_render(load_source(app, env, overrides), app.templates_dir, app.jinja_cache)
    rendered.select(stacks)
    use_nested = rendered.env.config.nested if nested is None else nested
    if use_nested and stacks:
        raise UsageError("--stack and --nested do not mix: the nested form is one stack")
    if use_nested and changes:
        refuse_nested(rendered.env.config, env)
    check_allow_replace(rendered, allow_replace)
    if records:  # a blocked build dir fails now, not after a deploy
        preflight(rendered, app.build_dir / env)
    return rendered


def check_allow_replace(rendered: Rendered, logical_ids: tuple[str, ...]) -> None:
    from generator.errors import UsageError
    from generator.yamlsrc import load_cfn

    if not logical_ids:
        return
    known: set[str] = set()
    for stack in (*rendered.stacks.values(), rendered.root):
        known |= set(load_cfn(stack.template).get("Resources") or {})
    for logical_id in logical_ids:
        if logical_id not in known:
            from difflib import get_close_matches  # only for a hint: off the start-up path
            close = get_close_matches(logical_id, sorted(known), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "name a resource's logical id"
            raise UsageError(f"--allow-replace {logical_id}: no resource of env "
                             f"'{rendered.env.name}' has this logical id; {hint}")


def record_deployed(app: AppContext, rendered: Rendered, results: list[StackResult]) -> None:
    """build/<env> holds what is deployed: write the stacks that now are."""
    from generator.render import write

    done = {r.stack for r in results if r.ok}
    if not done:
        return
    whole = "root" in done or done >= set(rendered.stacks)
    write(rendered, app.build_dir / rendered.env.name, None if whole else done)


def refuse_nested_revert(rendered: Rendered, nested: bool | None, revert_drift: bool) -> None:
    """Before any AWS call: REVERT_DRIFT is not for nested change sets."""
    from generator.review.revert import refuse_nested
    refuse_nested(revert_drift, rendered.env.config.nested if nested is None else nested)


def say_local_urls(console: Any, endpoint_url: str | None) -> None:
    """The load balancers' local URLs when the target is a local endpoint with containers."""
    from generator.local.manager import local_urls

    for line in local_urls(endpoint_url or os.environ.get("AWS_ENDPOINT_URL")):
        console.line(f"local URL: {line}")


def report_results(conns: list[Connection], results: dict[str, list[StackResult]], verb: str,
            api_calls: bool) -> int:
    """The run's results (a table for one unit, the unit x stack matrix for several)
    and the exit code they make: 130 when Ctrl-C interrupted the run."""
    from generator import run_report
    from generator.ui import EnvConsole

    calls = sum({id(c.aws.cfn): c.aws.cfn.calls for c in conns}.values()) if api_calls \
        else None
    console = conns[0].console
    if len(conns) == 1:
        code = run_report.results(console, results[conns[0].label], verb, calls)
    else:
        base = console.base if isinstance(console, EnvConsole) else console
        code = run_report.results_many(base, results,
                                       [c.rendered.graph.order for c in conns], verb, calls)
    return run_report.INTERRUPTED_EXIT if any(c.interrupted.is_set() for c in conns) \
        else code


def units_of(app: AppContext, names: list[str], overrides: tuple[str, ...],
           stacks: tuple[str, ...] = (), nested: bool | None = None,
           allow_replace: tuple[str, ...] = (), changes: bool = False,
           records: bool = False) -> list[Unit]:
    """Every env rendered and checked before the first AWS call of any; an env with
    `targets` once per target. ``changes``: the command creates or updates stacks;
    ``records``: it writes build/<env> after (see `rendered_for_aws`)."""
    from generator.deploy.units import expand

    return expand(names, overrides, lambda name, sets: rendered_for_aws(
        app, name, sets, stacks, nested, allow_replace, changes, records))


def opened_units(app: AppContext, env: str, overrides: tuple[str, ...], nested: bool | None,
            stacks: tuple[str, ...] = ()) -> list[Connection]:
    """The env as deployed, at each of its targets: the stacks, or the nested form's root.
    Several units: each one's output comes under its own header."""
    from generator.deploy import connect

    return connect.open_units(units_of(app, [env], overrides, stacks, nested), console_for(app),
                              nested, upload=False)


def header(opened: Connection) -> None:
    """Above a unit's output when the env has several (its targets)."""
    from generator.ui import EnvConsole

    console = opened.console
    if isinstance(console, EnvConsole):
        console.base.line(console.style(f"== env {opened.label} ==", bold=True))


def deployed_form(app: AppContext, env: str, overrides: tuple[str, ...],
                   nested: bool | None) -> Connection:
    """The env as deployed at its own account and region (run-task, logs, unlock)."""
    from generator.deploy import connect
    from generator.deploy.units import Unit

    unit = Unit(env, None, rendered_for_aws(app, env, overrides, nested=nested))
    return connect.open_units([unit], console_for(app), nested, upload=False)[0]


def stack_names(rendered: Rendered) -> dict[str, str]:
    """Stack -> its name in AWS, in graph order."""
    return {s: rendered.stacks[s].stack_name for s in rendered.graph.order}
