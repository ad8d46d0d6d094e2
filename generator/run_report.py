"""What the AWS-facing commands report about an env: where its stacks are, their
outputs, and a run's results with the exit code they make. The CLI only calls these."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from generator.aws.cfn import CloudFormation
from generator.aws.cfn_types import StackInfo
from generator.aws.rootcause import CANCELLED
from generator.aws.status import Outcome, StackResult
from generator.errors import StackgenError
from generator.ui import NOT_DEPLOYED, Console, NdjsonConsole

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # "since ever": the stack's last failed operation


def rolled_back(info: StackInfo | None) -> bool:
    """An update failed and was rolled back, and the stack works as it did before it
    (UPDATE_ROLLBACK_COMPLETE, IMPORT_ROLLBACK_COMPLETE): usable, not failed."""
    return info is not None and info.status.usable() and info.status.is_rollback()


def _status_cell(console: Console, info: StackInfo | None, absent: str) -> str:
    if rolled_back(info):
        assert info is not None
        return console.style(f"↺ {info.status} (usable)", "yellow")
    return console.status(info.status if info else absent)


def status_table(console: Console, names: Mapping[str, str], deployed: Mapping[str, StackInfo],
                 absent: str = NOT_DEPLOYED, last_change: bool = True) -> None:
    """One row per stack (stack -> stack name): its status as AWS says, ``absent`` for
    one AWS does not know; its last change when asked. A stack whose last update was
    rolled back is usable (AWS's "last known stable state"), marked so, not ✗."""
    rows = []
    for stack, name in names.items():
        info = deployed.get(name)
        row = [stack, name, _status_cell(console, info, absent)]
        if last_change:
            row.append(info.last_change.strftime("%Y-%m-%d %H:%M:%S")
                       if info and info.last_change else "")
        rows.append(row)
    console.table(["stack", "name", "status", *(["last change"] if last_change else [])], rows)


def rollbacks(console: Console, cfn: CloudFormation, names: Mapping[str, str],
              deployed: Mapping[str, StackInfo]) -> None:
    """Under the status table: each stack whose last update was rolled back, that it is
    usable, and why the update failed (DescribeEvents' failed events of its last failed
    operation; else the failed resource events of the stack's newest events)."""
    for stack, name in names.items():
        info = deployed.get(name)
        if not rolled_back(info):
            continue
        causes = cfn.root_causes(name, EPOCH, []) or failed_update_events(cfn, name)
        why = "; ".join(causes) if causes else "no reason found in its events"
        console.line(f"  {stack}: the last update was rolled back; the stack works as it did "
                     f"before it (a deploy updates it again). Why: {why}")


def failed_update_events(cfn: CloudFormation, name: str) -> list[str]:
    """The failed resource events of the newest update, from the stack's events (for an
    endpoint without DescribeEvents): those after the newest UPDATE_IN_PROGRESS of the
    stack itself, rollback's own failures and cancellations left out."""
    events = cfn.events_since(name, None)  # oldest first
    starts = [i for i, e in enumerate(events) if e.logical_id == name
              and e.status == "UPDATE_IN_PROGRESS"]
    recent = events[starts[-1]:] if starts else events
    found = []
    for e in recent:
        if e.status.is_rollback() or e.status.startswith("UPDATE_ROLLBACK"):
            break  # the rollback's own events: consequences
        if e.status.failed() and e.reason and e.logical_id != name \
                and not e.reason.startswith(CANCELLED):
            found.append(f"{e.logical_id} ({e.resource_type}): {e.reason}")
    return list(dict.fromkeys(found))


def where(console: Console, cfn: CloudFormation, names: Mapping[str, str], absent: str) -> None:
    """After a timeout or an abandoned wait: what is where, as AWS says now."""
    try:
        found = cfn.describe_many(list(names.values()))
    except StackgenError as exc:
        console.line(f"cannot say where the stacks are: {exc}")
        return
    console.line("where the stacks are now:")
    status_table(console, names, found, absent, last_change=False)


def outputs(console: Console, names: Mapping[str, str], deployed: Mapping[str, StackInfo],
            fmt: str) -> None:
    """The deployed stacks' outputs: a table, or JSON keyed by stack."""
    found = outputs_of(names, deployed)
    if fmt == "json":
        console.line(json.dumps(found, indent=2, sort_keys=True))
        return
    console.table(["stack", "output", "value"],
                  [[s, k, v] for s, outs in found.items() for k, v in sorted(outs.items())])


def outputs_of(names: Mapping[str, str],
               deployed: Mapping[str, StackInfo]) -> dict[str, dict[str, str]]:
    """The deployed stacks' outputs by stack."""
    return {s: deployed[n].outputs for s, n in names.items() if n in deployed}


# The exit codes a run makes (docs/deploy.md, "Exit codes"): 0 done, or nothing changed
# because the changes were not approved; 1 a stack failed; 130 Ctrl-C (128 + SIGINT).
INTERRUPTED_EXIT = 130
NOT_APPROVED = "nothing changed: the changes were not approved"


def declined(done: Sequence[StackResult]) -> bool:
    """The person said no and nothing changed: every stack declined or unchanged."""
    return any(r.state == Outcome.DECLINED for r in done) and \
        all(r.state in (Outcome.DECLINED, Outcome.UNCHANGED) for r in done)


def results(console: Console, done: Sequence[StackResult], verb: str,
            api_calls: int | None = None) -> int:
    """The results table, the root cause of any failure again; the exit code they make.
    A "no" that changed nothing is one line and exit 0."""
    _events_and_calls(console, [(r.stack, r) for r in done], api_calls)
    if not done:
        return 0
    if declined(done):
        console.line(NOT_APPROVED)
        return 0
    console.line()
    console.table(["stack", "result", "seconds"],
                  [[r.stack, console.status(r.state), f"{r.seconds:.1f}"] for r in done])
    return _root_causes(console, [(r.stack, r) for r in done], verb)


def _events_and_calls(console: Console, done: Sequence[tuple[str, StackResult]],
                      api_calls: int | None) -> None:
    """Each result as an event line (--events ndjson); the API calls, for the bench."""
    if isinstance(console, NdjsonConsole):
        for label, r in done:
            console.result(label, r.stack_name, r.state, r.seconds, r.reasons)
    if api_calls is not None:  # for the bench, on stdout whatever the console
        per = f" ({api_calls / len(done):.1f} per stack)" if done else ""
        Console(color=False).line(f"cloudformation API calls: {api_calls}{per}")


def _root_causes(console: Console, done: Sequence[tuple[str, StackResult]], verb: str) -> int:
    """The root cause of each failure again, under the table; the exit code they make."""
    failed = [(label, r) for label, r in done if not r.ok]
    if not failed:
        return 0
    console.line()
    console.line(console.style(f"{verb} did not finish; root cause:", "red", bold=True))
    for label, r in failed:
        for reason in r.reasons:
            console.line(f"  {label} ({r.stack_name}): {reason}")
    return 1


def matrix(console: Console, results: Mapping[str, Sequence[StackResult]],
           order: Sequence[str]) -> None:
    """One row per env, one column per stack (the union of the envs' stacks in graph
    order): each cell the stack's result, empty where the env has no such stack."""
    stacks = list(order)
    for rows in results.values():
        for r in rows:
            if r.stack not in stacks:
                stacks.append(r.stack)
    table = []
    for env, rows in results.items():
        by_stack = {r.stack: r for r in rows}
        table.append([env] + [console.status(by_stack[s].state) if s in by_stack else ""
                              for s in stacks])
    console.table(["env", *stacks], table)


def results_many(console: Console, results: Mapping[str, Sequence[StackResult]],
                 orders: Sequence[Sequence[str]], verb: str,
                 api_calls: int | None = None) -> int:
    """Several envs: the env x stack matrix (stacks in graph order), each env's root
    causes as env/stack, and the exit code they make."""
    done = [(f"{env}/{r.stack}", r) for env, rows in results.items() for r in rows]
    _events_and_calls(console, done, api_calls)
    if not done:
        return 0
    if declined([r for _, r in done]):
        console.line(NOT_APPROVED)
        return 0
    console.line()
    matrix(console, results, list(dict.fromkeys(s for order in orders for s in order)))
    return _root_causes(console, done, verb)
