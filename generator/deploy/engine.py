"""Deploy a rendered env: a true graph schedule of per-stack change sets.

A stack starts as soon as every stack it reads from has finished (up to
``concurrency`` at once). Each stack: resolve its parameters from upstream
outputs, skip it when nothing differs from what is deployed, else create a
change set, show it, get a yes, execute, stream its events, read its outputs.
A failure stops everything downstream of it; independent branches finish.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from generator import __version__
from generator.deploy.cfn import TERMINAL_OK, ChangeSet, CloudFormation, StackInfo
from generator.deploy.resolve import Lookups, resolve
from generator.deploy.ui import Console
from generator.errors import (
    ChangeSetFailed,
    EmptyChangeSet,
    StackgenError,
    StackOperationFailed,
    UsageError,
)
from generator.render import Rendered

# Tags that describe the run, not the stack: they never make a stack "changed".
INFORMATIONAL_TAGS = ("stackgen:version", "stackgen:commit")


@dataclass
class StackResult:
    stack: str
    stack_name: str
    state: str  # CREATED UPDATED UNCHANGED FAILED BLOCKED DECLINED INTERRUPTED
    outputs: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state in ("CREATED", "UPDATED", "UNCHANGED", "DELETED")


@dataclass(frozen=True)
class DeployOptions:
    stacks: frozenset[str] = frozenset()  # empty: the whole env
    force: bool = False
    concurrency: int = 4
    commit: str | None = None


Confirm = Callable[[str], bool]


class Interrupted(StackgenError):
    exit_code = 130


class Deployer:
    def __init__(self, rendered: Rendered, cfn: CloudFormation, lookups: Lookups,
                 console: Console, confirm: Confirm, options: DeployOptions) -> None:
        self.rendered = rendered
        self.cfn = cfn
        self.lookups = lookups
        self.console = console
        self.confirm = confirm
        self.options = options
        self.outputs: dict[str, dict[str, str]] = {}
        self.stop = threading.Event()
        self._prompt = threading.Lock()

    # --- the schedule -------------------------------------------------------------

    def selected(self) -> list[str]:
        order = self.rendered.graph.order
        unknown = sorted(self.options.stacks - set(order))
        if unknown:
            raise UsageError(f"--stack {unknown[0]}: not a stack of env "
                             f"'{self.rendered.env.name}'; stacks: {', '.join(order)}")
        return [s for s in order if not self.options.stacks or s in self.options.stacks]

    def preflight(self) -> dict[str, StackInfo]:
        """Read-only checks before any change: what is deployed, upstream outputs, lookups."""
        selected = self.selected()
        names = {s: self.rendered.stacks[s].stack_name for s in self.rendered.graph.order}
        deployed = self.cfn.describe_many(list(names.values()))
        by_stack = {s: deployed[n] for s, n in names.items() if n in deployed}
        for stack in selected:
            for up in self.rendered.graph.stacks[stack].upstream:
                if up in selected:
                    continue
                info = by_stack.get(up)
                if info is None or info.status not in TERMINAL_OK:
                    raise UsageError(
                        f"{stack} reads outputs of {up}, which is "
                        f"{'not deployed' if info is None else info.status}; "
                        f"deploy it first or add --stack {up}")
                self.outputs[up] = info.outputs
        for stack in selected:  # answer every lookup now, so none fails half-way
            for value in self.rendered.stacks[stack].parameters.values():
                if isinstance(value, dict) and "Lookup" in value:
                    self.lookups.answer(value)
        return by_stack

    def run(self) -> list[StackResult]:
        selected = self.selected()
        deployed = self.preflight()
        graph = self.rendered.graph
        results: dict[str, StackResult] = {}
        running: dict[Future[StackResult], str] = {}
        pending = list(selected)

        def ready(stack: str) -> bool:
            return all(u in results and results[u].ok
                       for u in graph.stacks[stack].upstream if u in selected)

        def blocked(stack: str) -> str | None:
            for u in graph.stacks[stack].upstream:
                if u in results and not results[u].ok:
                    return u
            return None

        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            try:
                while pending or running:
                    for stack in list(pending):
                        cause = blocked(stack)
                        if cause or self.stop.is_set():
                            pending.remove(stack)
                            state = "INTERRUPTED" if self.stop.is_set() and not cause else "BLOCKED"
                            why = f"upstream {cause} did not deploy" if cause else "interrupted"
                            results[stack] = StackResult(stack, self._name(stack), state,
                                                         reasons=[why])
                        elif ready(stack) and len(running) < self.options.concurrency:
                            pending.remove(stack)
                            fut = pool.submit(self._deploy_one, stack, deployed.get(stack))
                            running[fut] = stack
                    if not running:
                        if pending and not any(ready(s) for s in pending):
                            raise AssertionError(f"schedule stuck on {pending}")
                        continue
                    done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                    for fut in done:
                        stack = running.pop(fut)
                        results[stack] = fut.result()
                        if results[stack].ok:
                            self.outputs[stack] = results[stack].outputs
            except KeyboardInterrupt:
                self.stop.set()
                self.console.line("interrupted: no new stack starts; finishing what runs")
                for fut, stack in running.items():
                    results[stack] = fut.result()
                for stack in pending:
                    results[stack] = StackResult(stack, self._name(stack), "INTERRUPTED",
                                                 reasons=["interrupted before it started"])
        return [results[s] for s in selected]

    def _name(self, stack: str) -> str:
        return self.rendered.stacks[stack].stack_name

    # --- one stack ------------------------------------------------------------------

    def tags(self, stack: str) -> dict[str, str]:
        tags = dict(self.rendered.stacks[stack].tags)
        tags["stackgen:version"] = __version__
        if self.options.commit:
            tags["stackgen:commit"] = self.options.commit
        return tags

    def _deploy_one(self, stack: str, current: StackInfo | None) -> StackResult:
        start = time.monotonic()
        name = self._name(stack)
        try:
            result = self._deploy(stack, name, current)
        except StackOperationFailed as exc:
            result = StackResult(stack, name, "FAILED", reasons=exc.reasons or [str(exc)])
        except StackgenError as exc:
            result = StackResult(stack, name, "FAILED", reasons=[str(exc)])
        result.seconds = time.monotonic() - start
        if result.state == "FAILED":
            self.console.line(f"{self.console.status('FAILED')} {stack}: "
                              f"{'; '.join(result.reasons)}")
        return result

    def _deploy(self, stack: str, name: str, current: StackInfo | None) -> StackResult:
        rendered = self.rendered.stacks[stack]
        params = resolve(rendered.parameters, self.outputs, self.lookups)
        tags = self.tags(stack)
        kind = "UPDATE"
        if current is not None and current.status == "REVIEW_IN_PROGRESS":
            # A create change set that was never executed: the stack is an empty shell.
            self.cfn.delete_stack(name)
            self.cfn.wait_stack(name, deleting=True)
            current = None
        if current is not None and current.status == "ROLLBACK_COMPLETE":
            if not self._ask(f"{name} is ROLLBACK_COMPLETE after a failed create; "
                             "delete it and create it again?"):
                return StackResult(stack, name, "DECLINED", reasons=["not re-created"])
            self.cfn.delete_stack(name)
            self.cfn.wait_stack(name, deleting=True)
            current = None
        if current is None:
            kind = "CREATE"
        elif current.status.endswith("_IN_PROGRESS"):
            return StackResult(stack, name, "FAILED",
                               reasons=[f"{name} is busy ({current.status}); try again later"])
        elif not self.options.force and self._unchanged(name, current, rendered.template,
                                                        params, tags):
            self.console.line(f"{self.console.status('UNCHANGED')} {stack}: {name} is up to date")
            self._protect(name, current)
            return StackResult(stack, name, "UNCHANGED", outputs=current.outputs)
        if kind == "UPDATE":
            for stale in self.cfn.stale_change_sets(name):
                self.cfn.delete_change_set(stale)
        if self.stop.is_set():
            return StackResult(stack, name, "INTERRUPTED", reasons=["interrupted"])
        cs_name = f"stackgen-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        try:
            cs_id = self.cfn.create_change_set(
                name, cs_name, kind, rendered.template, params, tags,
                description=f"stackgen {__version__}: {stack} of env {self.rendered.env.name}")
            try:
                change_set = self.cfn.wait_change_set(cs_id, name)
            except ChangeSetFailed:
                self._discard(name, kind, cs_id)
                raise
        except EmptyChangeSet:
            info = current or self.cfn.describe(name)
            self.console.line(f"{self.console.status('UNCHANGED')} {stack}: no changes")
            return StackResult(stack, name, "UNCHANGED", outputs=info.outputs if info else {})
        return self._review_and_execute(stack, name, kind, change_set)

    def _review_and_execute(self, stack: str, name: str, kind: str,
                            change_set: ChangeSet) -> StackResult:
        with self._prompt:
            self.console.review(stack, name, change_set)
            go = not self.stop.is_set() and self._ask(f"execute this change set on {name}?")
        if not go:
            self._discard(name, kind, change_set.id)
            state = "INTERRUPTED" if self.stop.is_set() else "DECLINED"
            return StackResult(stack, name, state, reasons=["change set not executed"])
        last_seen = self.cfn.latest_event_id(name)
        self.cfn.execute_change_set(change_set.id, name)
        failures: list[str] = []

        def stream() -> None:
            nonlocal last_seen
            for event in self.cfn.events_since(name, last_seen):
                last_seen = event.id
                self.console.event(stack, event)
                if event.status.endswith("_FAILED") and event.reason:
                    failures.append(f"{event.logical_id} ({event.resource_type}): {event.reason}")

        info = self.cfn.wait_stack(name, on_poll=stream)
        assert info is not None
        if info.status not in TERMINAL_OK:
            raise StackOperationFailed(name, info.status, failures)
        self._protect(name, info)
        self.console.line(f"{self.console.status(info.status)} {stack}: {name}")
        for key in sorted(info.outputs):
            self.console.line(f"    {key} = {info.outputs[key]}")
        return StackResult(stack, name, "CREATED" if kind == "CREATE" else "UPDATED",
                           outputs=info.outputs)

    def _protect(self, name: str, info: StackInfo) -> None:
        """Termination protection as the env asks (prod-like envs turn it on)."""
        wanted = self.rendered.env.config.termination_protection
        if info.termination_protection != wanted:
            self.cfn.set_termination_protection(name, wanted)

    def _discard(self, name: str, kind: str, change_set_id: str) -> None:
        """Leave no change set of ours behind, nor the empty shell of a new stack."""
        self.cfn.delete_change_set(change_set_id)
        if kind == "CREATE":
            self.cfn.delete_stack(name)

    def _ask(self, question: str) -> bool:
        return self.confirm(question)

    def _unchanged(self, name: str, current: StackInfo, template: str,
                   params: Mapping[str, str], tags: Mapping[str, str]) -> bool:
        def meaningful(t: Mapping[str, str]) -> dict[str, str]:
            return {k: v for k, v in t.items() if k not in INFORMATIONAL_TAGS}

        if current.status not in TERMINAL_OK or dict(params) != current.parameters:
            return False
        if meaningful(tags) != meaningful(current.tags):
            return False
        return self.cfn.template_body(name) == template
