"""Makespan against the critical path, on the local endpoint's latency model (issue 16).

For each shipped env: a fresh local endpoint with ``--latency real --time-scale SCALE``
(each resource takes its typical AWS time from generator/latency.py, divided by SCALE), a
full create with ``stackgen deploy`` run in this process (STACKGEN_TIME_SCALE keeps the
polling's proportions), CloudFormation calls counted by a botocore ``before-call`` hook.

Printed, in modelled (AWS) minutes:
- the critical path: each stack's own duration is the longest chain through its resources
  (DependsOn/Ref/GetAtt/Sub, typical create figures, the resources the stack really holds);
  the env's is the longest chain of stacks, the lower bound for any tool;
- the makespan: from the first stack's start to the deploy noticing the last one done;
- each stack's window as the endpoint recorded it, to show what runs side by side;
- CloudFormation calls, and calls per stack-minute (calls / summed stack windows).
Target: makespan within 5 % of the critical path.

The other envs deploy with ``--set target=local``, moto's account id and the local env's
DNS zone (the local endpoint holds no delegation for example.com, so a certificate there
could never validate): their own params and stacks otherwise. An env the local endpoint
cannot take is reported as such, with its critical path from its templates alone.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.session

from generator.local.emulation.latency import Model, schedule
from generator.local.manager import free_port
from generator.params import load_env
from generator.render import Rendered, render
from generator.yamlsrc import load_cfn

ROOT = Path(__file__).resolve().parent.parent
STACKGEN = str(ROOT / ".venv" / "bin" / "stackgen")
SCALE = float(os.environ.get("MAKESPAN_SCALE", "10"))  # the figures in CHANGELOG.md
ENVS = os.environ.get("MAKESPAN_ENVS", "local,dev,prod,fargate").split(",")
REGION = "us-east-1"


def stack_duration(template: str, held: set[str] | None) -> float:
    """Modelled seconds of a stack's create: the longest chain through its resources."""
    resources = dict(load_cfn(template).get("Resources") or {})
    if held is not None:
        resources = {n: r for n, r in resources.items() if n in held}
    start = datetime(2000, 1, 1)
    windows = schedule(resources, dict.fromkeys(resources, "CREATE"), start, Model(True, 1.0))
    return max([0.0, *((w.end - start).total_seconds() for w in windows.values())])


def critical_path(rendered: Rendered, own: dict[str, float],
                  tasks: dict[str, float] | None = None) -> tuple[float, list[str]]:
    """The longest chain of stacks; ``tasks`` (name -> modelled seconds), the one-off
    tasks deploy runs around the ecs stack (migrations: before-tasks, which on a first
    create run right after it, and after-tasks), one at a time after the ecs stack."""
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for name in rendered.graph.order:
        ups = [u for u in rendered.stacks[name].upstream if u in finish]
        before = max(ups, key=lambda u: finish[u], default=None)
        finish[name] = own[name] + (finish[before] if before else 0.0)
        via[name] = before
    previous = "ecs"
    for task, seconds in (tasks or {}).items():
        if previous in finish:
            finish[task], via[task] = finish[previous] + seconds, previous
            previous = task
    end = max(finish, key=lambda n: finish[n])
    total, chain = finish[end], []
    last: str | None = end
    while last is not None:
        chain.append(last)
        last = via[last]
    return total, chain[::-1]


@contextlib.contextmanager
def counted() -> Iterator[tuple[dict[str, int], dict[str, list[float]]]]:
    """CloudFormation calls of every client created meanwhile, by a botocore event hook;
    and each one-off ECS task's window (RunTask answered -> DescribeTasks says STOPPED),
    in epoch seconds, by task ARN."""
    counts: dict[str, int] = {}
    tasks: dict[str, list[float]] = {}
    original = botocore.session.Session.create_client

    def count(model: Any, **_: Any) -> None:
        counts[model.name] = counts.get(model.name, 0) + 1

    def task_seen(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        now = time.time()
        for task in parsed.get("tasks") or []:
            arn = task.get("taskArn", "")
            if model.name == "RunTask":
                tasks[arn] = [now, now]
            elif arn in tasks and task.get("lastStatus") == "STOPPED" \
                    and tasks[arn][1] == tasks[arn][0]:  # the first look that saw it stopped
                tasks[arn][1] = now

    def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = original(self, service_name, *args, **kwargs)
        if service_name == "cloudformation":
            client.meta.events.register("before-call.cloudformation", count)
        if service_name == "ecs":
            client.meta.events.register("after-call.ecs.RunTask", task_seen)
            client.meta.events.register("after-call.ecs.DescribeTasks", task_seen)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield counts, tasks
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


def deploy(env: str, work: Path) -> tuple[int, float, str]:
    """``stackgen deploy`` in this process: exit code, wall end, output."""
    from generator.cli import cli

    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            # Another env's stacks on the local endpoint: its own params, target local.
            retarget = [] if env == "local" else [
                f"--set={kv}" for kv in (
                    "target=local", "account_id=123456789012",
                    # the zone `local up` seeds: the endpoint holds no example.com delegation
                    f"dns.domain=kubenews-{env}.stackgen.test", "dns.zone.name=stackgen.test",
                    "dns.zone.create=false", "dns.zone.id=")]
            cli.main(["--no-color", "deploy", "--env", env, "--yes", "--no-forecast",
                      *retarget],
                     prog_name="stackgen", standalone_mode=False)
        except SystemExit as exc:
            code = int(exc.code or 0)
        except Exception as exc:
            print(f"error: {exc}", file=out)
            code = 1
    return code, time.time(), out.getvalue()


def windows(client: Any, rendered: Rendered) -> dict[str, tuple[float, float]]:
    """Each stack's create as the endpoint recorded it: (start, end) in epoch seconds."""
    out = {}
    for name, stack in rendered.stacks.items():
        try:
            events = client.describe_stack_events(StackName=stack.stack_name)["StackEvents"]
        except client.exceptions.ClientError:
            continue
        mine = [e for e in events if e["LogicalResourceId"] == stack.stack_name]
        start = [e["Timestamp"] for e in mine if e["ResourceStatus"] == "CREATE_IN_PROGRESS"]
        end = [e["Timestamp"] for e in mine if e["ResourceStatus"] == "CREATE_COMPLETE"]
        if start and end:
            out[name] = (_epoch(min(start)), _epoch(max(end)))
    return out


def _epoch(stamp: datetime) -> float:
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def held_resources(client: Any, rendered: Rendered) -> dict[str, set[str]]:
    out = {}
    for name, stack in rendered.stacks.items():
        try:
            rows = client.list_stack_resources(StackName=stack.stack_name)
        except client.exceptions.ClientError:
            continue
        out[name] = {r["LogicalResourceId"] for r in rows["StackResourceSummaries"]}
    return out


def gantt(spans: dict[str, tuple[float, float]], t0: float, width: int = 48) -> list[str]:
    horizon = max(e for _, e in spans.values()) - t0
    lines = []
    for name, (s, e) in sorted(spans.items(), key=lambda kv: kv[1]):
        a = int((s - t0) / horizon * width)
        b = max(a + 1, int((e - t0) / horizon * width))
        lines.append(f"  {name:<8} {(s - t0) * SCALE / 60:5.1f}-{(e - t0) * SCALE / 60:5.1f} min "
                     f"|{' ' * a}{'#' * (b - a)}{' ' * (width - b)}|")
    return lines


def run_env(env: str, work: Path) -> None:
    rendered = render(load_env(work / "params", env), work / "templates")
    port = free_port()
    up = subprocess.run([STACKGEN, "local", "up", "--print-url", "--port", str(port),
                         "--latency", "real", "--time-scale", str(SCALE), "--containers", "off"],
                        cwd=work, capture_output=True, text=True)
    if up.returncode != 0:
        print(f"{env}: the local endpoint would not start for it: {up.stderr.strip()[:200]}")
        return
    url = up.stdout.strip()
    os.environ.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing",
                      AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION,
                      STACKGEN_TIME_SCALE=str(SCALE))
    client = boto3.client("cloudformation", region_name=REGION, endpoint_url=url,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    try:
        with counted() as (counts, task_windows):
            code, ended, output = deploy(env, work)
        spans = windows(client, rendered)
        held = held_resources(client, rendered)
    finally:
        subprocess.run([STACKGEN, "local", "down"], cwd=work, capture_output=True)
    own = {n: stack_duration(s.template, held.get(n)) for n, s in rendered.stacks.items()}
    # The one-off tasks as they ran (the endpoint holds no model of a task's duration):
    # named task1, task2 ... in the order they started, in modelled seconds.
    runs = sorted(task_windows.values())
    task_spans = {f"task{i + 1}": (s, e) for i, (s, e) in enumerate(runs)}
    own.update({n: (e - s) * SCALE for n, (s, e) in task_spans.items()})
    path, chain = critical_path(rendered, own, {n: own[n] for n in task_spans})
    print(f"\n{env}: critical path {path / 60:.1f} min: "
          + " -> ".join(f"{n} ({own[n] / 60:.1f})" for n in chain))
    if code != 0 or len(spans) != len(rendered.stacks):
        last = [line for line in output.splitlines() if line.strip()][-3:]
        print(f"  not deployed on the local endpoint (exit {code}): {' / '.join(last)[:300]}")
        return
    spans = {**spans, **task_spans}
    t0 = min(s for s, _ in spans.values())
    makespan = (ended - t0) * SCALE
    calls = sum(counts.values())
    stack_minutes = sum(e - s for n, (s, e) in spans.items() if n not in task_spans) \
        * SCALE / 60
    over = (makespan / path - 1) * 100
    print(f"  makespan {makespan / 60:.2f} min ({over:+.1f} % of the critical path; "
          f"target <= +5 %)")
    print(f"  CloudFormation calls: {calls} ({calls / len(rendered.stacks):.1f} per stack, "
          f"{calls / stack_minutes:.1f} per stack-minute); most: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:3]))
    print("  what runs side by side (modelled minutes from the first start):")
    for line in gantt(spans, t0):
        print(line)


def main() -> None:
    print(f"makespan on the latency model, time scale {SCALE:g} (figures in AWS minutes)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("params", "templates"):
            shutil.copytree(ROOT / name, work / name)
        os.chdir(work)
        for env in ENVS:
            subprocess.run([STACKGEN, "lint", "--env", env], cwd=work, capture_output=True)
            run_env(env, work)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
