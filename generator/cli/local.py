"""The local endpoint: moto's server on 127.0.0.1, started, stopped and asked about."""

from __future__ import annotations

import click

from generator.cli.app import AppContext, cli, pass_app
from generator.cli.common import load_source


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

    cfg = load_source(app, seed_env, ()).config  # bad params fail before anything starts
    manager = LocalEndpoint(app.state_dir)
    endpoint, started = manager.up(port, containers=containers)
    from generator.aws.endpoint import local_route, session
    from generator.local.seed import seed

    try:
        seeded = seed(session(cfg.region, local_route(endpoint.url)), endpoint.url, cfg)
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
