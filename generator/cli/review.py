"""Read-only commands on deployed envs: forecast, diff, status, outputs, drift, and the
price snapshot the cost review reads."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from generator.cli.app import ERRORS_EXIT, AppContext, cli, pass_app
from generator.cli.common import header, load_source, opened_units, say_local_urls, stack_names
from generator.cli.options import env_option, nested_option, set_option, stack_option


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
    from generator.forecast.formats import formatted
    from generator.forecast.runner import forecast as run_forecast
    from generator.render import render as do_render

    rendered = do_render(load_source(app, env, overrides), app.templates_dir, app.jinja_cache)
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


@cli.command(short_help='Show template and parameter diffs only.')
@env_option
@set_option
@stack_option
@pass_app
def diff(app: AppContext, env: str, overrides: tuple[str, ...], stacks: tuple[str, ...]) -> int:
    """Template and parameter differences from what is deployed; no change set is made.

    Exit 0 without differences, 1 with some, 2 on any error (as diff(1) and
    `git diff --exit-code`), so a script can ask "is the env as rendered?".
    """
    click.get_current_context().meta[ERRORS_EXIT] = 2  # 1 means "differs"
    from generator.deploy.diff import diff_env

    differ = 0
    for opened in opened_units(app, env, overrides, nested=False, stacks=stacks):
        header(opened)
        differ += diff_env(opened.rendered, opened.aws.cfn, opened.lookups, opened.console,
                           frozenset(stacks))
    return 1 if differ else 0


@cli.command(short_help="Show the env's stacks and their status.")
@env_option
@set_option
@nested_option
@pass_app
def status(app: AppContext, env: str, overrides: tuple[str, ...], nested: bool | None) -> None:
    """A table of the env's stacks: status and last change."""
    from generator import run_report

    for opened in opened_units(app, env, overrides, nested):
        header(opened)
        names = stack_names(opened.form)
        deployed = opened.aws.cfn.describe_many(list(names.values()))
        run_report.status_table(opened.console, names, deployed)
        run_report.rollbacks(opened.console, opened.aws.cfn, names, deployed)


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
    from generator import run_report

    found = {}
    for opened in opened_units(app, env, overrides, nested):
        names = stack_names(opened.form)
        found[opened.label] = (opened, names, opened.aws.cfn.describe_many(list(names.values())))
    if fmt == "json" and len(found) > 1:  # one object per unit
        click.echo(json.dumps({label: run_report.outputs_of(names, deployed)
                               for label, (_, names, deployed) in found.items()},
                              indent=2, sort_keys=True))
        return
    for opened, names, deployed in found.values():
        header(opened)
        run_report.outputs(opened.console, names, deployed, fmt)
        if fmt == "text":
            say_local_urls(opened.console, opened.aws.route.endpoint_url)


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

    from generator.deploy.drift import detect
    from generator.review.drift import DRIFTED, UNKNOWN, show_drift

    found = {opened.label: (opened, detect(opened.aws.cfn, stack_names(opened.rendered)))
             for opened in opened_units(app, env, overrides, nested=False)}
    if fmt == "json":
        data = {label: results for label, (_, results) in found.items()}
        click.echo(json.dumps(msgspec.to_builtins(data if len(data) > 1 else
                                                  next(iter(data.values()))),
                              indent=2, sort_keys=True))
    else:
        for opened, results in found.values():
            header(opened)
            show_drift(opened.console, results)
    return 1 if fail and any(r.status in (DRIFTED, UNKNOWN)
                             for _, results in found.values() for r in results) else 0


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
