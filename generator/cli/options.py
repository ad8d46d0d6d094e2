"""Options several commands share, defined once."""

from __future__ import annotations

from pathlib import Path

import click


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


stack_option = click.option("--stack", "stacks", multiple=True,
                            help="only this stack (repeatable)")
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
                          help="override one params value (repeatable)")


wait_timeout_option = click.option(
    "--wait-timeout", "wait_timeout", multiple=True, metavar="[TYPE=]MINUTES",
    help="how long a stack may take before we stop waiting and exit 1: MINUTES for every "
         "stack, shorter or longer than the defaults [30; 60 for a stack with an RDS "
         "instance or cluster]; TYPE=MINUTES for stacks holding TYPE (wins over MINUTES)")


events_option = click.option(
    "--events", type=click.Choice(["text", "ndjson"]), default="text", show_default=True,
    help="ndjson: stack events and results as JSON lines on stdout (for CI and bots)")


approve_broadening_option = click.option(
    "--approve-broadening", is_flag=True,
    help="with --yes: execute change sets that broaden access (IAM or network)")


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


sign_key_option = click.option(
    "--sign-key-file", type=click.Path(path_type=Path, dir_okay=False),
    help="HMAC key: plan signs the saved plan, apply refuses one not signed with it "
         "(default: the key in $STACKGEN_PLAN_KEY, if set)")
