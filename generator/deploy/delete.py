"""Delete a deployed env in reverse graph order, saying first what goes and what stays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import msgspec

from generator import run_report
from generator.aws.cfn import CloudFormation
from generator.aws.cfn_types import Event, StackInfo
from generator.aws.polling import WaitAbandoned, WaitTimedOut
from generator.aws.status import Outcome, ResourceStatus, StackResult, StackStatus
from generator.deploy.scheduler import NotRun, Scheduler, Skip
from generator.errors import ConfirmationRequired, StackgenError, StackOperationFailed
from generator.render import Rendered
from generator.ui import Confirm, Console, Progress
from generator.yamlsrc import load_cfn

KEPT_POLICIES = {"Retain": "kept", "RetainExceptOnCreate": "kept",
                 "Snapshot": "deleted after a final snapshot"}


# A stack the run never reached (after a failure or Ctrl-C) has no result: None.


def _carries_on(name: str) -> str:
    return (f"interrupted while {name} was being deleted; CloudFormation carries on "
            "without us: see `stackgen status`")


class DeleteRefused(StackgenError):
    pass


class DeletePlan(msgspec.Struct, frozen=True):
    stacks: list[tuple[str, StackInfo]]  # in deletion order
    kept: list[str]


class Deleter:
    def __init__(self, rendered: Rendered, cfn: CloudFormation, console: Console,
                 confirm: Confirm, children: Rendered | None = None) -> None:
        self.rendered = rendered
        self.children = children  # the nested form: what its root's children hold
        self.cfn = cfn
        self.console = console
        self.confirm = confirm

    def plan(self, only: frozenset[str] = frozenset(),
             deployed: dict[str, StackInfo] | None = None) -> DeletePlan:
        """What goes and what stays; ``deployed``: the env's stacks by name as just
        listed (read here when not given)."""
        graph = self.rendered.graph
        chosen = self.rendered.select(only)
        names = {s: self.rendered.stacks[s].stack_name for s in graph.order}
        if deployed is None:
            deployed = self.cfn.describe_many(list(names.values()))
        for stack in chosen:
            for reader in graph.downstream(stack):
                if reader not in chosen and names[reader] in deployed:
                    raise DeleteRefused(
                        f"{names[stack]} feeds {names[reader]}, which stays deployed; "
                        f"delete it too (--stack {reader}) or leave {stack} in place")
        doomed = [(s, deployed[names[s]]) for s in reversed(chosen) if names[s] in deployed]
        for _, info in doomed:
            if info.termination_protection:
                raise DeleteRefused(
                    f"{info.name} has termination protection; set termination_protection: "
                    "false in the env's params and deploy, then delete")
        gone = [s for s, _ in doomed]
        if self.children is not None and gone:
            return DeletePlan(doomed, self._kept(self.children, list(self.children.stacks)))
        return DeletePlan(doomed, self._kept(self.rendered, gone))

    def _kept(self, rendered: Rendered, stacks: list[str]) -> list[str]:
        kept = []
        for stack in stacks:
            doc = load_cfn(rendered.stacks[stack].template)
            for logical_id, res in (doc.get("Resources") or {}).items():
                policy = res.get("DeletionPolicy")
                if policy in KEPT_POLICIES:
                    kept.append(f"{stack}: {logical_id} ({res.get('Type')}) is "
                                f"{KEPT_POLICIES[policy]} (DeletionPolicy {policy})")
        zone = self.rendered.env.config.dns.zone
        if "dns" in stacks and not zone.create:
            kept.append(f"dns: hosted zone {zone.name} is not this env's and stays")
        return kept

    def run(self, plan: DeletePlan, yes: bool) -> list[StackResult]:
        if not self.announce(plan):
            return []
        if not yes and not self.confirm(f"delete {len(plan.stacks)} stacks?"):
            raise ConfirmationRequired("delete declined; nothing was deleted")
        results = self.schedule(plan)
        if any(r.state in (Outcome.TIMED_OUT, Outcome.INTERRUPTED) for r in results):
            self.where([s for s, _ in plan.stacks])
        return results

    def announce(self, plan: DeletePlan) -> bool:
        """Say what goes, in order, and what stays; False: nothing to delete."""
        if not plan.stacks:
            self.console.line(f"nothing to delete: no stack of env "
                              f"'{self.rendered.env.name}' is deployed")
            return False
        self.console.line("will delete, in this order:")
        for _, info in plan.stacks:
            self.console.line(f"  - {info.name} ({info.status})")
        if plan.kept:
            self.console.line("will keep:")
            for item in plan.kept:
                self.console.line(f"  - {item}")
        return True

    def schedule(self, plan: DeletePlan) -> list[StackResult]:
        """One stack at a time over the reverse graph; the first failure stops the rest
        (what remains may still be needed by it). Ctrl-C stops waiting at once: the
        delete goes on in AWS."""
        ran = Scheduler[str, StackResult | None](
            upstream=self.upstream(plan), work=self.work(plan),
            ok=lambda r: r is not None and r.ok,
            not_run=self.not_run, concurrency=1, fail_fast=lambda _: self.rendered.env.name,
            on_abandon=self.cfn.abandon.set, patient=False).run()
        return [r for r in ran.values() if r is not None]

    def upstream(self, plan: DeletePlan) -> dict[str, list[str]]:
        """The reverse graph: a stack goes after every doomed stack that reads from it."""
        doomed = {s for s, _ in plan.stacks}
        graph = self.rendered.graph
        return {s: [d for d in graph.downstream(s) if d in doomed] for s, _ in plan.stacks}

    def work(self, plan: DeletePlan) -> Callable[[str], StackResult | None]:
        infos = dict(plan.stacks)
        return lambda stack: self._delete_one(stack, infos[stack])

    def not_run(self, stack: str, why: NotRun[str]) -> StackResult | None:
        name = self.rendered.stacks[stack].stack_name
        if why.skip is Skip.ABANDONED:
            return StackResult(stack, name, Outcome.INTERRUPTED, reasons=[_carries_on(name)])
        return None

    def deadline(self, stack: str) -> float:
        return self.cfn.waits.for_stack(
            self.rendered.stacks[stack].template,
            None if self.children is None else [c.template for c in self.children.stacks.values()])

    def where(self, stacks: list[str]) -> None:
        run_report.where(self.console, self.cfn,
                     {s: self.rendered.stacks[s].stack_name for s in stacks},
                     StackStatus.DELETE_COMPLETE)

    def _delete_one(self, stack: str, info: StackInfo) -> StackResult:
        """One stack's delete: a line when it starts, progress while it lasts, and its
        result with the time it took. Three calls when all goes well (DeleteStack, then
        a DescribeStacks per poll); the events are read only when it failed."""
        clock = self.cfn.waits.clock
        begun = clock()
        started = datetime.now(UTC)
        deadline = self.deadline(stack)
        progress = Progress(self.console, stack, self.cfn.waits.progress_every, deadline)
        self.console.line(f"  {stack}: deleting {info.name} ({info.status})")

        def tick(current: StackInfo | None, elapsed: float) -> None:
            if current is not None:
                progress.tick(current.status, elapsed)

        def result(state: Outcome, reasons: list[str] | None = None) -> StackResult:
            return StackResult(stack, info.name, state, reasons=reasons or [],
                               seconds=clock() - begun)

        try:
            self.cfn.delete_stack(info.name)
            # Poll by id: a deleted stack is no longer found by name.
            final = self.cfn.wait_stack(info.stack_id, on_poll=tick, deleting=True,
                                        deadline=deadline, label=info.name)
        except StackOperationFailed as exc:
            return result(Outcome.FAILED, exc.reasons)
        except WaitTimedOut as exc:
            return result(Outcome.TIMED_OUT, [str(exc)])
        except WaitAbandoned:  # Ctrl-C
            return result(Outcome.INTERRUPTED, [_carries_on(info.name)])
        if final is not None and not final.status.is_deleted():
            seen = [f"{e.logical_id} ({e.resource_type}): {e.reason}"
                    for e in this_delete(self.cfn.events_since(info.stack_id, None), info.name)
                    if e.status == ResourceStatus.DELETE_FAILED and e.reason]
            reasons = self.cfn.root_causes(info.stack_id, started, seen)
            self.console.line(f"{self.console.status(final.status)} {stack}: {info.name}")
            return result(Outcome.FAILED, reasons or [final.status])
        done = result(Outcome.DELETED)
        self.console.line(f"{self.console.status(StackStatus.DELETE_COMPLETE)} {stack}: "
                          f"{info.name} ({done.seconds:.1f} s)")
        return done


def this_delete(events: list[Event], stack_name: str) -> list[Event]:
    """The events (oldest first) since the stack's own last DELETE_IN_PROGRESS: those of
    the delete just made, with no call before it to mark where its events begin."""
    starts = [i for i, e in enumerate(events)
              if e.logical_id == stack_name and e.status == ResourceStatus.DELETE_IN_PROGRESS]
    return events[starts[-1] + 1:] if starts else events
