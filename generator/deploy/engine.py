"""The executor: a stack's change set reviewed, guarded, executed and followed, over a
true graph schedule (one scheduler for every unit of a run).

A stack starts as soon as every stack it reads from has finished (up to
``concurrency`` at once). Each stack: resolve its parameters from upstream
outputs, skip it when nothing differs from what is deployed, else create a
change set, review it (risks, guards), get a yes, execute, stream its events,
read its outputs. A failure stops everything downstream of it; independent
branches finish. ``StackWork`` (stack_work.py) holds what every path shares.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

from generator.aws.cfn_types import StackInfo
from generator.aws.polling import WaitAbandoned, WaitTimedOut
from generator.aws.status import Outcome, StackResult
from generator.deploy.scheduler import NotRun, Scheduler, Skip
from generator.deploy.stack_work import (
    GuardRefusal,
    StackWork,
    stack_policy,
)
from generator.errors import (
    StackgenError,
    StackOperationFailed,
)
from generator.review.plan import StackPlan
from generator.review.plan_report import show_review
from generator.ui import Progress


class Deployer(StackWork):
    def run(self) -> list[StackResult]:
        """Deploy the selected stacks over the graph (the scheduler), then say where the
        stacks are if a wait timed out or was abandoned."""
        self.start()
        ran = run_together({"": self}, self.options.concurrency, self.cfn.abandon.set,
                           self.console.line)
        return self.finish(list(ran.values()))

    # The run in steps, so one scheduler can hold the stacks of several envs.

    def start(self, known: Mapping[str, StackInfo] | None = None) -> None:
        """Read-only checks before any change (``preflight``): what is deployed."""
        self._selected = self.selected()
        self._deployed = self.preflight(known=known)

    def stack_names(self) -> list[str]:
        return [self._name(s) for s in self.rendered.graph.order]

    def upstream(self) -> dict[str, list[str]]:
        """The selected stacks and the selected stacks each reads from; the others are
        deployed already (``preflight`` checked)."""
        stacks = self.rendered.graph.stacks
        return {s: [u for u in stacks[s].upstream if u in self._selected]
                for s in self._selected}

    def work(self, stack: str) -> StackResult:
        return self._deploy_one(stack, self._deployed.get(stack))

    def done(self, stack: str, result: StackResult) -> None:
        self.outputs[stack] = result.outputs

    def not_run(self, stack: str, why: NotRun[str]) -> StackResult:
        name = self._name(stack)
        if why.skip is Skip.BLOCKED:
            return StackResult(stack, name, Outcome.BLOCKED,
                               reasons=[f"upstream {why.cause} did not deploy"])
        reason = {Skip.STOPPED: "interrupted",
                  Skip.NEVER_STARTED: "interrupted before it started",
                  Skip.ABANDONED: "still running when we stopped waiting"}[why.skip]
        return StackResult(stack, name, Outcome.INTERRUPTED, reasons=[reason])

    def finish(self, results: list[StackResult]) -> list[StackResult]:
        if any(r.state == Outcome.TIMED_OUT for r in results) or self.cfn.abandon.is_set():
            self.where(self._selected)
        return results

    def _deploy_one(self, stack: str, current: StackInfo | None) -> StackResult:
        start = time.monotonic()
        name = self._name(stack)
        try:
            result = self._deploy(stack, name, current)
        except StackOperationFailed as exc:
            result = StackResult(stack, name, Outcome.FAILED, reasons=exc.reasons or [str(exc)])
        except WaitTimedOut as exc:
            result = StackResult(stack, name, Outcome.TIMED_OUT, reasons=[str(exc)])
        except WaitAbandoned as exc:
            result = StackResult(stack, name, Outcome.INTERRUPTED, reasons=[str(exc)])
        except StackgenError as exc:
            result = StackResult(stack, name, Outcome.FAILED, reasons=[str(exc)])
        result.seconds = time.monotonic() - start
        if result.state == Outcome.FAILED:
            self.console.line(f"{self.console.status(Outcome.FAILED)} {stack}: "
                              f"{'; '.join(result.reasons)}")
        return result

    def _deploy(self, stack: str, name: str, current: StackInfo | None) -> StackResult:
        made = self.make(stack, current)
        if made.settled is not None:
            return made.settled
        assert made.review is not None
        if made.change_set is None:
            return self._update_tags(stack, name, made.review)
        return self.execute_reviewed(stack, name, made.prepared.kind, made.change_set.id,
                                      made.review)

    def _update_tags(self, stack: str, name: str, review: StackPlan,
                     ask: bool = True) -> StackResult:
        """A change of stack tags alone. AWS propagates stack tags to the resources that
        take tags, so its change set lists those; with none it holds no change and fails.
        UpdateStack with the previous template and values then sets the tags ("If you
        don't specify this parameter, CloudFormation doesn't modify the stack's tags":
        API Reference, UpdateStack, Tags)."""
        with self.prompt:
            if ask:
                show_review(self.console, review)
            go = not self.stop.is_set() and (not ask or self.confirm(
                f"update the tags of {name}?"))
        if not go:
            state = Outcome.INTERRUPTED if self.stop.is_set() else Outcome.DECLINED
            return StackResult(stack, name, state, reasons=["tags not updated"])
        info = self.cfn.update_tags(name, self.tags(stack))
        self.console.line(f"{self.console.status(info.status)} {stack}: {name} (tags)")
        return StackResult(stack, name, Outcome.UPDATED, outputs=info.outputs)

    def execute_reviewed(self, stack: str, name: str, kind: str, change_set_id: str,
                          review: StackPlan, ask: bool = True) -> StackResult:
        """``ask``: show the review and ask; without it the change set was approved
        already (one approval per run), and only the guards still stand."""
        with self.prompt:
            if ask:
                show_review(self.console, review)
            else:
                self.console.line(f"{stack}: executing the approved change set on {name}")
            blocked = review.blocked_by_guard(self.options.allow_replace)
            if blocked:
                self._discard(name, kind, change_set_id)
                return StackResult(stack, name, Outcome.FAILED, reasons=[
                    GuardRefusal.replacement(r).reason for r in blocked])
            # A new stack grants nothing that ran before; an update that does needs a yes.
            if kind == "UPDATE" and review.broadens and not self.options.approve_broadening:
                self._discard(name, kind, change_set_id)
                return StackResult(stack, name, Outcome.FAILED, reasons=[
                    GuardRefusal.broadening(review.widened_access).reason])
            try:
                go = not self.stop.is_set() and (
                    not ask or self.confirm(f"execute this change set on {name}?"))
            except KeyboardInterrupt:  # Ctrl-C at this question, asked from a worker
                self.interrupted.set()
                self.stop.set()
                go = False
        if not go:
            self._discard(name, kind, change_set_id)
            state = Outcome.INTERRUPTED if self.stop.is_set() else Outcome.DECLINED
            return StackResult(stack, name, state, reasons=["change set not executed"])
        hooks = self.options.hooks
        if hooks is not None:
            try:  # e.g. a migration against the new revision, before the service moves
                hooks.before_execute(stack, name, kind, self.prepare_params(stack))
            except StackgenError as exc:
                self._discard(name, kind, change_set_id)
                return StackResult(stack, name, Outcome.FAILED, reasons=[str(exc)])
        allowed = [r.logical_id for r in review.resources if r.endangers_data]
        with self._policy_opened(name, kind, allowed):
            info = self.execute(stack, name, change_set_id)
        self.protect(name, info)
        if hooks is not None:  # after-tasks, and before-tasks that could not run before
            hooks.after_execute(stack, name, kind)
        self.console.line(f"{self.console.status(info.status)} {stack}: {name}")
        for key in sorted(info.outputs):
            self.console.line(f"    {key} = {info.outputs[key]}")
        return StackResult(stack, name, Outcome.CREATED if kind == "CREATE" else Outcome.UPDATED,
                           outputs=info.outputs)

    def execute(self, stack: str, name: str, change_set_id: str) -> StackInfo:
        last_seen = self.cfn.latest_event_id(name)
        started = datetime.now(UTC)
        self.cfn.execute_change_set(change_set_id, name)
        self.executing(change_set_id)
        failures: list[str] = []
        deadline = self.deadline(stack)
        progress = Progress(self.console, stack, self.cfn.waits.progress_every, deadline)

        def stream(current: StackInfo | None, elapsed: float) -> None:
            nonlocal last_seen
            for event in self.cfn.events_since(name, last_seen):
                last_seen = event.id
                progress.last_event = event
                self.console.event(stack, event)
                if event.status.failed() and event.reason:
                    failures.append(f"{event.logical_id} ({event.resource_type}): {event.reason}")
            if current is not None:
                progress.tick(current.status, elapsed)

        info = self.cfn.wait_stack(name, on_poll=stream, deadline=deadline)
        assert info is not None
        if not info.status.is_success():
            failures = self.cfn.root_causes(name, started, failures)
            if self.options.hooks is not None:  # the stopped task's reason, not "did not stabilize"
                failures += self.options.hooks.diagnose(stack, name)
            raise StackOperationFailed(name, info.status, failures)
        return info

    @contextlib.contextmanager
    def _policy_opened(self, name: str, kind: str, allowed: list[str]) -> Iterator[None]:
        """A protected stack's policy denies replacing its data; an allowed replacement
        lifts that for the resources named, for this one execution."""
        if kind == "CREATE" or not allowed or not self.rendered.env.config.termination_protection:
            yield
            return
        self.cfn.set_stack_policy(name, stack_policy(self.stateful_ids(name), exempt=allowed))
        children = self._child_policies(name)
        for child, ids in children:
            self.cfn.set_stack_policy(child, stack_policy(ids, exempt=allowed))
        try:
            yield
        finally:
            self.cfn.set_stack_policy(name, stack_policy(self.stateful_ids(name)))
            for child, ids in children:
                self.cfn.set_stack_policy(child, stack_policy(ids))

    def protect(self, name: str, info: StackInfo) -> None:
        """Prod-like envs (termination_protection) get termination protection and a
        stack policy that denies replacing or deleting their stateful resources."""
        wanted = self.rendered.env.config.termination_protection
        if info.termination_protection != wanted:
            self.cfn.set_termination_protection(name, wanted)
            # Not in any change set: said here, or it happens silently under "up to date".
            self.console.line(f"  {name}: termination protection turned "
                              f"{'on' if wanted else 'off'}")
        if wanted:
            self.cfn.set_stack_policy(name, stack_policy(self.stateful_ids(name)))
            for child, ids in self._child_policies(name):
                self.cfn.set_stack_policy(child, stack_policy(ids))


Node = tuple[str, str]  # (unit, stack)


def run_together(workers: Mapping[str, Deployer], concurrency: int,
                 abandon: Callable[[], None],
                 say: Callable[[str], None] | None) -> dict[Node, StackResult]:
    """Every worker's stacks on one scheduler, nodes (unit, stack), ``concurrency`` stacks
    per unit at once: a failure blocks only its unit's downstream stacks, a lost lock
    stops its unit alone, Ctrl-C stops them all."""
    upstream = {(unit, s): [(unit, u) for u in ups]
                for unit, d in workers.items() for s, ups in d.upstream().items()}

    def not_run(node: Node, why: NotRun[Node]) -> StackResult:
        cause = why.cause[1] if why.cause is not None else None
        return workers[node[0]].not_run(node[1], NotRun(why.skip, cause))

    def stop_all() -> None:  # Ctrl-C
        for d in workers.values():
            d.interrupted.set()
            d.stop.set()

    def done(node: Node, result: StackResult) -> None:
        workers[node[0]].done(node[1], result)

    return Scheduler(
        upstream=upstream, work=lambda node: workers[node[0]].work(node[1]),
        ok=lambda r: r.ok, not_run=not_run,
        concurrency=max(1, concurrency) * max(1, len(workers)),
        stopped=lambda node: workers[node[0]].stop.is_set(), on_done=done,
        on_stop=stop_all, on_abandon=abandon,
        say=say if say is not None else lambda _: None).run()
