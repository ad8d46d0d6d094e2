"""ECS operations: run a one-off task, read a workload's logs."""

from __future__ import annotations

import click

from generator.cli.app import AppContext, cli, pass_app
from generator.cli.common import deployed_form
from generator.cli.options import env_option, set_option


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
    opened = deployed_form(app, env, overrides, nested=False)
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
    opened = deployed_form(app, env, overrides, nested=False)
    where = deployed(opened.rendered, opened.aws.cfn)
    group, prefix = where.log_group, None
    if workload:
        _, target = main_container(opened.aws.client("ecs"),
                                   where.workload(workload).task_definition)
        if target is not None:
            group, prefix = target.group, target.stream_prefix
    client = opened.aws.client("logs")
    source = ecs_logs.source_text(group, prefix)
    when = ecs_logs.since_text(start, since)
    if follow:  # said on stderr: stdout stays the log lines alone
        click.echo(f"following {source} from {when}; Ctrl-C to stop", err=True)
        try:
            for line in ecs_logs.follow(client, group, start, prefix):
                click.echo(line.format())
        except KeyboardInterrupt:  # the way to stop following: not an error
            return
        return
    lines = ecs_logs.read_group(client, group, start, prefix)
    for line in lines:
        click.echo(line.format())
    if not lines:  # silence would look like a hang or a wrong group
        click.echo(f"no lines since {when} in {source}", err=True)
