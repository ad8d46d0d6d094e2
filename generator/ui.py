"""What a person sees and answers while deploying: one table maps every status to a
look, the console (a unit's says its env), and the question that wants a yes."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click
import msgspec

from generator.aws.cfn_types import Event
from generator.aws.polling import minutes
from generator.aws.status import AwsStatus, DriftState, Outcome, StackStatus
from generator.errors import ConfirmationRequired

NOT_DEPLOYED = DriftState.NOT_DEPLOYED  # the status table's word for a stack AWS does not know

Confirm = Callable[[str], bool]  # asks a question, True for yes


class Look(msgspec.Struct, frozen=True):
    colour: str
    symbol: str


GOOD = Look("green", "✓")
BAD = Look("red", "✗")
GONE = Look("bright_black", "–")
BUSY = Look("yellow", "…")
DEFAULT_LOOK = Look("white", " ")

# What happened to a stack in a run: one look each (a test holds every Outcome here).
OUTCOME_LOOKS: Mapping[Outcome, Look] = {
    Outcome.CREATED: GOOD,
    Outcome.UPDATED: GOOD,
    Outcome.UNCHANGED: Look("bright_black", "="),
    Outcome.DELETED: GONE,
    Outcome.FAILED: BAD,
    Outcome.BLOCKED: Look("red", "⊘"),
    Outcome.DECLINED: Look("yellow", "⊘"),
    Outcome.INTERRUPTED: Look("yellow", "⊘"),
    Outcome.TIMED_OUT: Look("red", "⌛"),
}
# Drift detection, and the status table's mark for a stack not deployed.
DRIFT_LOOKS: Mapping[DriftState, Look] = {
    DriftState.NOT_DEPLOYED: Look("bright_black", "·"),
    DriftState.DRIFTED: Look("yellow", "≠"),
    DriftState.IN_SYNC: GOOD,
    DriftState.UNKNOWN: Look("yellow", "?"),
    DriftState.NOT_CHECKED: Look("bright_black", "–"),
}


def aws_look(status: AwsStatus) -> Look:
    """CloudFormation's statuses (stack, resource, change set) by what they say: a
    rollback is a failure even when COMPLETE; a deleted stack is gone, not a success."""
    if status.is_failure():
        return BAD
    if status == StackStatus.DELETE_COMPLETE:
        return GONE
    if status.in_progress():
        return BUSY
    if status.complete():
        return GOOD
    return DEFAULT_LOOK


def look(status: str) -> Look:
    """One look per status, shared by events, the status table and summaries."""
    upper = status.upper()
    if upper in _OUTCOMES:
        return OUTCOME_LOOKS[Outcome(upper)]
    if upper in _DRIFTS:
        return DRIFT_LOOKS[DriftState(upper)]
    return aws_look(StackStatus(upper))


_OUTCOMES = frozenset(o.value for o in Outcome)
_DRIFTS = frozenset(d.value for d in DriftState)


ACTION_LOOKS = {"Add": Look("green", "+"), "Modify": Look("yellow", "~"),
                "Remove": Look("red", "-"), "Import": Look("blue", "<"),
                "Dynamic": Look("yellow", "?")}


class Console:
    """Line-oriented output, safe from several threads; colour only when asked."""

    def __init__(self, color: bool, err: bool = False) -> None:
        self.color = color
        self.err = err
        self.lock = threading.RLock()

    def style(self, text: str, colour: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=colour, bold=bold) if self.color else text

    def line(self, text: str = "") -> None:
        with self.lock:
            click.echo(text, err=self.err, color=self.color)

    def status(self, status: str) -> str:
        style = look(status)
        return self.style(f"{style.symbol} {status}", style.colour)

    def event(self, stack: str, event: Event) -> None:
        reason = f"  {event.reason}" if event.reason else ""
        self.line(f"  [{stack}] {self.status(event.status):<28} {event.resource_type:<44} "
                  f"{event.logical_id}{reason}")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [[str(c) for c in row] for row in rows]
        widths = [max([len(click.unstyle(h))] + [len(click.unstyle(r[i])) for r in cells])
                  for i, h in enumerate(headers)]

        def fmt(row: Sequence[str]) -> str:
            return "  ".join(c + " " * (w - len(click.unstyle(c)))
                             for c, w in zip(row, widths, strict=True)).rstrip()

        with self.lock:
            self.line("  " + self.style(fmt(list(headers)), bold=True))
            for row in cells:
                self.line("  " + fmt(row))


class Progress:
    """A line now and then while one wait goes on, so a slow or stuck operation is never
    silent: elapsed time against the deadline, the current status, the last event."""

    def __init__(self, console: Console, stack: str, every: float, deadline: float) -> None:
        self.console = console
        self.stack = stack
        self.every = every
        self.deadline = deadline
        self.next_at = every
        self.last_event: Event | None = None

    def tick(self, status: str, elapsed: float) -> None:
        if elapsed < self.next_at:
            return
        while self.next_at <= elapsed:
            self.next_at += self.every
        event = self.last_event
        last = (f"; last event {event.timestamp.astimezone().strftime('%H:%M:%S')} "
                f"{event.logical_id} {event.status}" if event else "; no event yet")
        self.console.line(f"  [{self.stack}] {self.console.status(status)} for "
                          f"{minutes(elapsed)} (deadline {minutes(self.deadline)}){last}")


class NdjsonConsole(Console):
    """For CI systems and bots: stack events and results as one JSON object per line
    on stdout; everything meant for people goes to stderr."""

    def __init__(self) -> None:
        super().__init__(color=False, err=True)

    def emit(self, record: dict[str, Any]) -> None:
        with self.lock:
            click.echo(json.dumps(record, sort_keys=True, default=str), err=False)

    def event(self, stack: str, event: Event) -> None:
        self.emit({"type": "event", "stack": stack, "timestamp": event.timestamp.isoformat(),
                   "logical_id": event.logical_id, "resource_type": event.resource_type,
                   "status": event.status, "reason": event.reason})
        super().event(stack, event)

    def result(self, stack: str, stack_name: str, state: str, seconds: float,
               reasons: Sequence[str]) -> None:
        self.emit({"type": "result", "stack": stack, "stack_name": stack_name,
                   "state": state, "seconds": round(seconds, 1), "reasons": list(reasons)})


RERUN_WITH_YES = "rerun with --yes after reviewing `stackgen plan`"


def confirmer(yes: bool, hint: str = RERUN_WITH_YES) -> Confirm:
    """--yes answers everything; a terminal asks; anything else refuses at once, with
    ``hint``: how to run the command without a terminal. Ctrl-C at the question (or its
    input closed) is KeyboardInterrupt, as anywhere else in a run (click says Abort)."""
    if yes:
        return lambda question: True
    if not sys.stdin.isatty():
        raise ConfirmationRequired(
            f"this needs a yes and there is no terminal to ask in; {hint}")

    def ask(question: str) -> bool:
        try:
            return bool(click.confirm(question, default=False))
        except click.Abort:
            raise KeyboardInterrupt from None

    return ask


class EnvConsole(Console):
    """The run's console with each line said for its env."""

    def __init__(self, base: Console, env: str) -> None:
        super().__init__(base.color, base.err)
        self.lock = base.lock  # one lock: lines of several envs never interleave
        self.base = base
        self.env = env

    def line(self, text: str = "") -> None:
        self.base.line(f"[{self.env}] {text}" if text else text)

    def event(self, stack: str, event: Event) -> None:
        self.base.event(f"{self.env}/{stack}", event)
