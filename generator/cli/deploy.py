"""Commands that change stacks: deploy, plan, apply, delete, refactor, unlock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.cli.app import ERRORS_EXIT, AppContext, cli, pass_app
from generator.cli.common import (
    console_for,
    deployed_form,
    env_names_of,
    forecast_mode,
    record_deployed,
    refuse_nested_revert,
    rendered_for_aws,
    report_results,
    say_local_urls,
    units_of,
)
from generator.cli.options import (
    adopt_existing_option,
    all_envs_option,
    allow_replace_option,
    approve_broadening_option,
    env_option,
    envs_option,
    events_option,
    nested_option,
    no_forecast_option,
    revert_drift_option,
    set_option,
    sign_key_option,
    stack_option,
    wait_timeout_option,
)
from generator.errors import UsageError

if TYPE_CHECKING:
    from generator.review.plan import Plan
    from generator.ui import Console


@cli.command(short_help='Deploy the env as reviewed change sets.')
@envs_option
@all_envs_option
@set_option
@stack_option
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
    from generator.deploy import connect, workflow
    from generator.ui import confirmer

    waits = connect.waits_from(wait_timeout)
    units = units_of(app, env_names_of(app, env_names, all_envs), overrides, stacks, nested,
                   allow_replace, changes=True, records=True)
    for unit in units:
        refuse_nested_revert(unit.rendered, nested, revert_drift)
    confirm = confirmer(yes)
    if run_lint:
        for unit in units:
            connect.lint_gate(unit.rendered, app.build_dir / unit.env,
                              app.state_dir / "lint-cache", stacks)
    conns = connect.open_units(units, console_for(app, events=events), nested,
                               forecast=forecast_mode(no_forecast, "gate"),
                               create_service_linked_role=create_slr,
                               forecast_cache=app.state_dir / "forecast-cache")
    # Non-interactive runs (--yes) execute broadening changes only when told to.
    results = workflow.deploy(conns, confirm, stacks, force, concurrency, allow_replace,
                              ask_once=not yes, waits=waits,
                              approve_broadening=approve_broadening or not yes,
                              import_existing=adopt_existing, revert_drift=revert_drift)
    for unit in units:
        if unit.target is None:  # an env's targets are not recorded in build/<env>
            record_deployed(app, unit.rendered, results.get(unit.label, []))
    code = report_results(conns, results, "deploy", api_calls)
    say_local_urls(conns[0].console, conns[0].aws.route.endpoint_url)
    return code


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
    from generator.deploy import connect, refactor_env
    from generator.deploy.refactor import read_mapping
    from generator.ui import confirmer

    units = units_of(app, [env_name], overrides, (), False)
    moves = read_mapping(mapping, units[0].rendered.stacks) if mapping else []
    confirm = confirmer(yes)
    conns = connect.open_units(units, console_for(app, events=events), False, upload=False)
    done = [m for conn in conns for m in refactor_env.refactor(conn, confirm, moves)]
    conns[0].console.line(f"refactor: {len(done)} resources moved, none replaced")
    return 0


@cli.command(short_help="Delete the env's stacks, reverse order.")
@envs_option
@all_envs_option
@set_option
@stack_option
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
    from generator.deploy import connect, workflow
    from generator.ui import confirmer

    waits = connect.waits_from(wait_timeout)
    units = units_of(app, env_names_of(app, env_names, all_envs), overrides, stacks, nested)
    confirm = confirmer(yes)
    conns = connect.open_units(units, console_for(app, events=events), nested, upload=False)
    results = workflow.delete(conns, confirm, stacks, yes, purge_artifacts, waits)
    return report_results(conns, results, "delete", api_calls)


@cli.command(short_help='Review every change set before executing.')
@envs_option
@all_envs_option
@set_option
@stack_option
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
    from generator.deploy import connect, workflow
    from generator.render import check_writable
    from generator.review.plan_file import check_output, plan_key

    key = plan_key(sign_key_file)
    units = units_of(app, env_names_of(app, env_names, all_envs), overrides, stacks, nested,
                   changes=True)
    for unit in units:
        refuse_nested_revert(unit.rendered, nested, revert_drift)
    several = len(units) > 1
    outs = {u.label: _per_unit(out, u.label) if several else out for u in units} if out \
        else {}
    for path in (*outs.values(), markdown):
        if path:
            check_output(path, force)
            check_writable(path.parent, [path], path)
    console = console_for(app, err=fmt == "json")
    conns = connect.open_units(units, console, nested,
                               forecast=forecast_mode(no_forecast, "record"),
                               forecast_cache=app.state_dir / "forecast-cache")
    plans = workflow.plan(conns, stacks, overrides, drift, import_existing=adopt_existing,
                          revert_drift=revert_drift)
    try:
        _show_and_save(console, plans, fmt, several, show_diff, outs, markdown, key, force)
    except BaseException:  # the plan file or review not written (or Ctrl-C): no plan names
        workflow.discard_plans(conns, plans)  # its change sets, so none may stay
        raise
    from generator.review.validation import blocking
    if any(blocking(p) for p in plans.values()):  # a FAIL: that change set cannot run
        console.line("plan: CloudFormation's pre-deployment validation failed; "
                     "nothing can be applied until each FAIL above is resolved")
        return 1
    return 2 if detailed_exitcode and any(p.has_changes for p in plans.values()) else 0


def _show_and_save(console: Console, plans: dict[str, Plan], fmt: str, several: bool,
                   show_diff: bool, outs: dict[str, Path], markdown: Path | None,
                   key: bytes | None, force: bool) -> None:
    from generator.review.plan_file import sign_plan, write_private
    from generator.review.plan_report import markdown as to_markdown
    from generator.review.plan_report import show_plan

    if fmt == "json" and several:
        click.echo(json.dumps({label: json.loads(p.to_json()) for label, p in plans.items()},
                              indent=2, sort_keys=True))
    elif fmt == "json":
        click.echo(next(iter(plans.values())).to_json(), nl=False)  # the one unit
    for label, result in plans.items():
        if fmt != "json":
            if several:
                console.line(console.style(f"== env {label} ==", bold=True))
            show_plan(console, result, diff=show_diff)
        if label in outs:
            text = result.to_json()
            write_private(outs[label], sign_plan(text, key) if key else text, force)
            console.line(f"plan saved to {outs[label]}{' (signed)' if key else ''}; run "
                         f"`stackgen apply {outs[label]}` to execute it")
    if markdown:
        text = "\n".join(to_markdown(p, label if several else None)
                         for label, p in plans.items())
        write_private(markdown, text, force)
        console.line(f"review written to {markdown}")


def _per_unit(path: Path, label: str) -> Path:
    """One plan file per unit: plan.json -> plan.<unit>.json (env@account/region as
    env@account-region)."""
    return path.with_name(f"{path.stem}.{label.replace('/', '-')}{path.suffix}")


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
    from generator.deploy import connect, workflow
    from generator.deploy.units import Unit
    from generator.review.plan_file import load_plan, plan_key
    from generator.ui import confirmer

    saved = load_plan(plan_file, plan_key(sign_key_file))
    waits = connect.waits_from(wait_timeout)
    rendered = rendered_for_aws(app, saved.env, (*saved.overrides, *overrides),
                                 nested=saved.nested, allow_replace=allow_replace, changes=True,
                                 records=True)
    known = {"root"} if saved.nested else set(rendered.stacks)
    strays = sorted({s.stack for s in saved.stacks} - known)
    if strays:
        raise UsageError(f"{plan_file}: stack '{strays[0]}' is not a stack of env '{saved.env}' "
                         f"as rendered now ({', '.join(sorted(known))}); make the plan again")
    confirm = confirmer(yes)
    # A plan of one of the env's targets was made with its account and region set.
    target = next((t for t in rendered.env.config.targets
                   if (t.account, t.region) == (saved.account, saved.region)), None)
    (opened,) = connect.open_units([Unit(saved.env, target, rendered)],
                                   console_for(app, events=events), saved.nested, upload=False,
                                   forecast=forecast_mode(no_forecast, "gate"),
                                   forecast_cache=app.state_dir / "forecast-cache")
    results = workflow.apply(opened, confirm, saved, allow_replace, waits,
                             approve_broadening or not yes)
    if target is None:
        record_deployed(app, rendered, results)
    return report_results([opened], {opened.label: results}, "apply", False)


@cli.command(short_help="Release an env's lock left by a dead process.")
@env_option
@click.option("--yes", "-y", is_flag=True, help="release without asking")
@pass_app
def unlock(app: AppContext, env: str, yes: bool) -> int:
    """Release the env's lock (deploy, apply and delete hold it) that a process which
    died or was killed left behind. Shows the holder first."""
    from generator.deploy.connect import env_lock
    from generator.deploy.lock import when
    from generator.ui import confirmer

    lock = env_lock(deployed_form(app, env, (), nested=False), "unlock")
    current = lock.read()
    if current is None:
        click.echo(f"env {env} is not locked")
        return 0
    holder = current.holder
    state = "expired" if current.expired else "expires"
    dead = " (that process no longer runs on this host: the next deploy, apply or " \
        "delete takes the lock over by itself)" if lock.here.dead_holder(holder) else ""
    click.echo(f"env {env} is locked by {holder.who} since {when(holder.acquired)} "
               f"({holder.reason}), {state} {when(holder.expires)}{dead}")
    confirm = confirmer(yes, hint=f"if that process is dead, release the lock with "
                        f"`stackgen unlock --env {env} --yes`")
    if not confirm("release it? (a run still alive would go on without the lock)"):
        click.echo("lock kept")
        return 1
    if lock.force_release(current.etag):
        click.echo(f"env {env} unlocked")
        return 0
    click.echo(f"the lock of env {env} changed since it was shown; run unlock again", err=True)
    return 1
