"""Deploy a rendered env: a true graph schedule of per-stack change sets.

A stack starts as soon as every stack it reads from has finished (up to
``concurrency`` at once). Each stack: resolve its parameters from upstream
outputs, skip it when nothing differs from what is deployed, else create a
change set, review it (risks, guards), get a yes, execute, stream its events,
read its outputs. A failure stops everything downstream of it; independent
branches finish. ``StackWork`` holds what planning and deploying share.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Protocol

from generator import __version__
from generator.context import logical_id
from generator.deploy.cfn import (
    TERMINAL_OK,
    ChangeSet,
    CloudFormation,
    StackInfo,
    WaitAbandoned,
    Waits,
    WaitTimedOut,
)
from generator.deploy.resolve import Lookups, resolve
from generator.errors import (
    ChangeSetFailed,
    EmptyChangeSet,
    StackgenError,
    StackOperationFailed,
    UsageError,
)
from generator.render import Rendered
from generator.review.plan import (
    CREATE,
    INFORMATIONAL_TAGS,
    UPDATE,
    StackPlan,
    affected_outputs,
    deployed_digest,
    inputs_digest,
    param_changes,
    resource_changes,
    tag_changes,
    template_diff,
)
from generator.review.report import show_review
from generator.review.risk import Templates, is_stateful
from generator.ui import Console, Progress
from generator.yamlsrc import load_cfn


@dataclass
class StackResult:
    stack: str
    stack_name: str
    state: str  # CREATED UPDATED UNCHANGED DELETED FAILED BLOCKED DECLINED INTERRUPTED TIMED_OUT
    outputs: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state in ("CREATED", "UPDATED", "UNCHANGED", "DELETED")


class DeployHooks(Protocol):
    """What runs around a stack's execution (tasks before/after it, a failure's
    diagnosis); raising StackgenError fails the stack."""

    def before_execute(self, stack: str, name: str, kind: str,
                       params: Mapping[str, str]) -> None: ...

    def after_execute(self, stack: str, name: str, kind: str) -> None: ...

    def diagnose(self, stack: str, name: str) -> list[str]: ...


@dataclass(frozen=True)
class DeployOptions:
    stacks: frozenset[str] = frozenset()  # empty: the whole env
    force: bool = False
    concurrency: int = 4
    commit: str | None = None
    allow_replace: frozenset[str] = frozenset()
    planned: Mapping[str, StackPlan] = field(default_factory=dict)  # `apply`: reviewed sets
    nested: bool = False  # the nested form: change sets descend into the children
    children: Rendered | None = None  # the nested form's child stacks, for their reviews
    drift: bool = False  # planning: detect drift on the stacks that change
    approve_broadening: bool = True  # False: a change that broadens access is refused
    hooks: DeployHooks | None = None


@dataclass
class Prepared:
    """One stack, ready for a change set: what will be sent, against what is there."""

    stack: str
    name: str
    kind: str  # CREATE or UPDATE
    template: str
    params: dict[str, str]
    tags: dict[str, str]
    current: StackInfo | None
    deployed_template: str | None


Confirm = Callable[[str], bool]


def resource_types(template: str) -> set[str]:
    resources = load_cfn(template).get("Resources") or {}
    return {str(r.get("Type")) for r in resources.values()}


def stack_deadline(waits: Waits, template: str, children: Rendered | None) -> float:
    """How long a stack's operation may take: by the slowest resource type it holds;
    the nested form's root, the sum of its children's (a bound: some run side by side)."""
    if children is not None and "AWS::CloudFormation::Stack" in resource_types(template):
        return sum(waits.for_types(resource_types(c.template))
                   for c in children.stacks.values())
    return waits.for_types(resource_types(template))


def stack_policy(stateful: Sequence[str], exempt: Sequence[str] = ()) -> str:
    """Allow updates, deny replacing or deleting the stateful resources."""
    protected = [f"LogicalResourceId/{r}" for r in stateful if r not in exempt]
    statements: list[dict[str, object]] = [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
    if protected:
        statements.append({"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"],
                           "Principal": "*", "Resource": protected})
    return json.dumps({"Statement": statements}, sort_keys=True)


def _stateful(template: str) -> list[str]:
    resources = load_cfn(template).get("Resources") or {}
    return sorted(k for k, r in resources.items() if is_stateful(str(r.get("Type"))))


class StackWork:
    """What planning and deploying share: selection, preflight, preparing a stack,
    creating and reviewing its change set."""

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

    def selected(self) -> list[str]:
        order = self.rendered.graph.order
        unknown = sorted(self.options.stacks - set(order))
        if unknown:
            raise UsageError(f"--stack {unknown[0]}: not a stack of env "
                             f"'{self.rendered.env.name}'; stacks: {', '.join(order)}")
        return [s for s in order if not self.options.stacks or s in self.options.stacks]

    def preflight(self, require_upstream: bool = True) -> dict[str, StackInfo]:
        """Read-only checks before any change: what is deployed, upstream outputs, lookups."""
        selected = self.selected()
        names = {s: self._name(s) for s in self.rendered.graph.order}
        deployed = self.cfn.describe_many(list(names.values()))
        by_stack = {s: deployed[n] for s, n in names.items() if n in deployed}
        for stack, info in by_stack.items():
            if info.status in TERMINAL_OK or info.status.startswith("UPDATE_ROLLBACK_COMPLETE"):
                self.outputs[stack] = info.outputs
        for stack in selected:
            for up in self.rendered.graph.stacks[stack].upstream:
                if up in selected or not require_upstream:
                    continue
                found = by_stack.get(up)
                if found is None or found.status not in TERMINAL_OK:
                    raise UsageError(
                        f"{stack} reads outputs of {up}, which is "
                        f"{'not deployed' if found is None else found.status}; "
                        f"deploy it first or add --stack {up}")
        for stack in selected:  # answer every lookup now, so none fails half-way
            for value in self.rendered.stacks[stack].parameters.values():
                if isinstance(value, dict) and "Lookup" in value:
                    self.lookups.answer(value)
        return by_stack

    def _name(self, stack: str) -> str:
        return self.rendered.stacks[stack].stack_name

    def deadline(self, stack: str) -> float:
        return stack_deadline(self.cfn.waits, self.rendered.stacks[stack].template,
                              self.options.children)

    def where(self, stacks: Sequence[str]) -> None:
        """After a timeout or an abandoned wait: what is where, as AWS says now."""
        names = {s: self._name(s) for s in stacks}
        try:
            found = self.cfn.describe_many(list(names.values()))
        except StackgenError as exc:
            self.console.line(f"cannot say where the stacks are: {exc}")
            return
        self.console.line("where the stacks are now:")
        self.console.table(["stack", "name", "status"], [
            [s, n, self.console.status(found[n].status if n in found else "NOT_DEPLOYED")]
            for s, n in names.items()])

    def tags(self, stack: str) -> dict[str, str]:
        tags = dict(self.rendered.stacks[stack].tags)
        tags["stackgen:version"] = __version__
        if self.options.commit:
            tags["stackgen:commit"] = self.options.commit
        return tags

    def prepare_params(self, stack: str) -> dict[str, str]:
        return resolve(self.rendered.stacks[stack].parameters, self.outputs, self.lookups)

    def stateful_ids(self, stack_name: str) -> list[str]:
        stack = next(s for s in self.rendered.stacks.values() if s.stack_name == stack_name)
        ids = _stateful(stack.template)
        if self.options.children is not None:
            # The nested root holds only stacks: a child holding data is protected whole
            # there (a root policy cannot name a child's resources); _child_policies
            # protects the resources inside it.
            ids += [logical_id(n) for n, s in self.options.children.stacks.items()
                    if _stateful(s.template)]
        return sorted(ids)

    def _child_policies(self, root: str) -> list[tuple[str, list[str]]]:
        """(nested stack id, its stateful resources) for each child of the root holding data."""
        if self.options.children is None:
            return []
        physical = self.cfn.physical_ids(root)
        found = []
        for n, s in self.options.children.stacks.items():
            ids, child = _stateful(s.template), physical.get(logical_id(n))
            if ids and child:
                found.append((child, ids))
        return found

    def prepare(self, stack: str, current: StackInfo | None,
                dry: bool = False) -> Prepared | StackResult:
        """Resolve the stack's inputs and decide CREATE, UPDATE or nothing to do.

        ``dry`` (planning) never deletes: a leftover review shell is planned as a create.
        """
        name = self._name(stack)
        rendered = self.rendered.stacks[stack]
        params = self.prepare_params(stack)
        tags = self.tags(stack)
        if current is not None and current.status == "REVIEW_IN_PROGRESS":
            # A create change set that was never executed: the stack is an empty shell.
            if not dry:
                self.cfn.delete_stack(name)
                self.cfn.wait_stack(name, deleting=True)
            current = None
        if current is not None and current.status == "ROLLBACK_COMPLETE":
            if dry:
                return StackResult(stack, name, "FAILED", reasons=[
                    f"{name} is ROLLBACK_COMPLETE after a failed create; deploy re-creates it"])
            if not self.confirm(f"{name} is ROLLBACK_COMPLETE after a failed create; "
                                "delete it and create it again?"):
                return StackResult(stack, name, "DECLINED", reasons=["not re-created"])
            self.cfn.delete_stack(name)
            self.cfn.wait_stack(name, deleting=True)
            current = None
        if current is None:
            return Prepared(stack, name, "CREATE", rendered.template, params, tags, None, None)
        if current.status.endswith("_IN_PROGRESS"):
            return StackResult(stack, name, "FAILED",
                               reasons=[f"{name} is busy ({current.status}); try again later"])
        deployed_template = self.cfn.template_body(name)
        if not self.options.force and self._unchanged(current, deployed_template,
                                                      rendered.template, params, tags):
            if not dry:
                self.console.line(
                    f"{self.console.status('UNCHANGED')} {stack}: {name} is up to date")
                self._protect(name, current)
            return StackResult(stack, name, "UNCHANGED", outputs=current.outputs)
        return Prepared(stack, name, "UPDATE", rendered.template, params, tags, current,
                        deployed_template)

    def create_change_set(self, prepared: Prepared) -> ChangeSet | None:
        """Create and read the change set; None when it holds no changes."""
        cs_name = f"stackgen-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        try:
            cs_id = self.cfn.create_change_set(
                prepared.name, cs_name, prepared.kind, prepared.template, prepared.params,
                prepared.tags, include_nested=self.options.nested,
                express=self.rendered.env.config.deployment_mode == "express",
                description=f"stackgen {__version__}: {prepared.stack} of env "
                            f"{self.rendered.env.name}")
            try:
                progress = Progress(self.console, prepared.stack,
                                    self.cfn.waits.progress_every,
                                    self.cfn.waits.change_set_seconds)
                return self.cfn.wait_change_set(cs_id, prepared.name, on_poll=progress.tick)
            except (ChangeSetFailed, WaitTimedOut, WaitAbandoned):
                self._discard(prepared.name, prepared.kind, cs_id)
                raise
        except EmptyChangeSet:
            return None

    def review(self, prepared: Prepared, change_set: ChangeSet) -> StackPlan:
        """Everything a careful reviewer wants to know about one change set."""
        current = prepared.current
        templates = Templates(
            old=load_cfn(prepared.deployed_template) if prepared.deployed_template else {},
            new=load_cfn(prepared.template),
            old_params=current.parameters if current else {},
            new_params=prepared.params,
            region=self.rendered.env.config.region,
        )
        declared = templates.new.get("Parameters") or {}
        no_echo = {k for k, d in declared.items() if str(d.get("NoEcho")).lower() == "true"}
        resources = resource_changes(change_set, templates)
        return StackPlan(
            stack=prepared.stack,
            stack_name=prepared.name,
            state=CREATE if prepared.kind == "CREATE" else UPDATE,
            template_sha256=self.rendered.stacks[prepared.stack].template_sha256,
            inputs_sha256=inputs_digest(prepared.params),
            change_set_id=change_set.id,
            deployed_at=current.last_change.isoformat() if current and current.last_change
            else None,
            deployed_status=current.status if current else None,
            deployed_sha256=deployed_digest(prepared.deployed_template or "",
                                            current.parameters) if current else "",
            parameters=param_changes(current.parameters if current else {}, prepared.params,
                                     no_echo),
            resources=resources,
            template_diff=template_diff(prepared.deployed_template or "", prepared.template),
            security=templates.security(),
            findings=templates.findings(),
            changed_outputs=affected_outputs(resources, templates) if current else [],
            nested=self._nested_reviews(change_set),
        )

    def _nested_reviews(self, change_set: ChangeSet) -> list[StackPlan]:
        """Descend into each nested stack's change set (IncludeNestedStacks). Where the
        endpoint gives none, the child's changes are predicted from its templates, so
        the guards still see a data store about to be replaced inside a child."""
        children = self.options.children
        if children is None:
            return []
        by_id = {logical_id(n): n for n in children.stacks}
        reviews = []
        physical: dict[str, str] | None = None
        for change in change_set.changes:
            stack = by_id.get(change.logical_id)
            if change.resource_type != "AWS::CloudFormation::Stack" or stack is None or \
                    change.action != "Modify":
                continue
            child_id = change.physical_id
            if not child_id:  # not every endpoint says; the parent's resources do
                if physical is None:
                    physical = self.cfn.physical_ids(change_set.stack_name)
                child_id = physical.get(change.logical_id, "")
            new = children.stacks[stack].template
            old = self.cfn.template_body(child_id) if child_id else ""
            templates = Templates(load_cfn(old) if old else {}, load_cfn(new), {}, {},
                                  self.rendered.env.config.region)
            if change.nested_change_set:
                child_set = self.cfn.wait_change_set(change.nested_change_set, child_id)
            else:
                child_set = ChangeSet(id="", name="", stack_name=child_id,
                                      stack_id="", kind="UPDATE", status="PREDICTED",
                                      changes=templates.predicted_changes())
            reviews.append(StackPlan(
                stack=stack, stack_name=child_id or change.logical_id,
                state=UPDATE, template_sha256=children.stacks[stack].template_sha256,
                change_set_id=child_set.id or None,
                resources=resource_changes(child_set, templates),
                template_diff=template_diff(old, new),
                security=templates.security(),
                findings=templates.findings(),
                nested=self._nested_reviews(child_set)))
        return reviews

    def _unchanged(self, current: StackInfo, deployed_template: str, template: str,
                   params: Mapping[str, str], tags: Mapping[str, str]) -> bool:
        def meaningful(t: Mapping[str, str]) -> dict[str, str]:
            return {k: v for k, v in t.items() if k not in INFORMATIONAL_TAGS}

        return (current.status in TERMINAL_OK and dict(params) == current.parameters
                and meaningful(tags) == meaningful(current.tags)
                and deployed_template == template)

    def _protect(self, name: str, info: StackInfo) -> None:
        """Hook for deploying; planning changes nothing."""

    def _discard(self, name: str, kind: str, change_set_id: str) -> None:
        """Leave no change set of ours behind, nor the empty shell of a new stack."""
        self.cfn.delete_change_set(change_set_id)
        if kind == "CREATE":
            self.cfn.delete_stack(name)



class Deployer(StackWork):
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

        pool = ThreadPoolExecutor(max_workers=max(1, self.options.concurrency))
        try:
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
                            fut = pool.submit(self._deploy_one, stack, deployed.get(stack))
                            running[fut] = stack
                            pending.remove(stack)
                    if not running:
                        if pending and not any(ready(s) for s in pending):
                            raise AssertionError(f"schedule stuck on {pending}")
                        continue
                    done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                    for fut in done:  # the result first: Ctrl-C in between loses nothing
                        stack = running[fut]
                        results[stack] = fut.result()
                        del running[fut]
                        if results[stack].ok:
                            self.outputs[stack] = results[stack].outputs
            except KeyboardInterrupt:
                self.stop.set()
                self.console.line("interrupted: no new stack starts; finishing what runs "
                                  "(Ctrl-C again to stop waiting)")
                self._finish(running, results)
        finally:
            # Let no worker outlive the run (one handed over as Ctrl-C landed included),
            # unless a second Ctrl-C said to stop waiting for them.
            pool.shutdown(wait=not self.cfn.abandon.is_set(), cancel_futures=True)
        final = [results.get(s) or StackResult(s, self._name(s), "INTERRUPTED",
                                               reasons=["interrupted before it started"])
                 for s in selected]
        if any(r.state == "TIMED_OUT" for r in final) or self.cfn.abandon.is_set():
            self.where(selected)
        return final

    def _finish(self, running: dict[Future[StackResult], str],
                results: dict[str, StackResult]) -> None:
        """After Ctrl-C: wait for the running stacks; a second Ctrl-C stops every wait
        (CloudFormation goes on with what it was doing) and we leave within seconds."""
        try:
            for fut, stack in list(running.items()):
                results[stack] = fut.result()
        except KeyboardInterrupt:
            self.cfn.abandon.set()
            self.console.line("interrupted again: no longer waiting for CloudFormation")
            done, _ = wait(list(running), timeout=10)
            for fut, stack in running.items():
                if stack not in results:
                    results[stack] = fut.result() if fut in done else StackResult(
                        stack, self._name(stack), "INTERRUPTED",
                        reasons=["still running when we stopped waiting"])

    def _deploy_one(self, stack: str, current: StackInfo | None) -> StackResult:
        start = time.monotonic()
        name = self._name(stack)
        try:
            result = self._deploy(stack, name, current)
        except StackOperationFailed as exc:
            result = StackResult(stack, name, "FAILED", reasons=exc.reasons or [str(exc)])
        except WaitTimedOut as exc:
            result = StackResult(stack, name, "TIMED_OUT", reasons=[str(exc)])
        except WaitAbandoned as exc:
            result = StackResult(stack, name, "INTERRUPTED", reasons=[str(exc)])
        except StackgenError as exc:
            result = StackResult(stack, name, "FAILED", reasons=[str(exc)])
        result.seconds = time.monotonic() - start
        if result.state == "FAILED":
            self.console.line(f"{self.console.status('FAILED')} {stack}: "
                              f"{'; '.join(result.reasons)}")
        return result

    def _deploy(self, stack: str, name: str, current: StackInfo | None) -> StackResult:
        prepared = self.prepare(stack, current)
        if isinstance(prepared, StackResult):
            return prepared
        if prepared.kind == "UPDATE":
            for stale in self.cfn.stale_change_sets(name):
                self.cfn.delete_change_set(stale)
        if self.stop.is_set():
            return StackResult(stack, name, "INTERRUPTED", reasons=["interrupted"])
        change_set = self.create_change_set(prepared)
        tags = tag_changes(prepared.current.tags, prepared.tags) if prepared.current else []
        if change_set is None and tags:
            review = StackPlan(stack=stack, stack_name=name, state=UPDATE,
                               template_sha256=self.rendered.stacks[stack].template_sha256,
                               tags=tags)
            return self._update_tags(stack, name, review)
        if change_set is None:
            self.console.line(f"{self.console.status('UNCHANGED')} {stack}: no changes")
            info = prepared.current or self.cfn.describe(name)
            return StackResult(stack, name, "UNCHANGED", outputs=info.outputs if info else {})
        review = self.review(prepared, change_set)
        review.tags = tags
        return self._execute_reviewed(stack, name, prepared.kind, change_set.id, review)

    def _update_tags(self, stack: str, name: str, review: StackPlan,
                     ask: bool = True) -> StackResult:
        """A change of stack tags alone. AWS propagates stack tags to the resources that
        take tags, so its change set lists those; with none it holds no change and fails.
        UpdateStack with the previous template and values then sets the tags ("If you
        don't specify this parameter, CloudFormation doesn't modify the stack's tags":
        API Reference, UpdateStack, Tags)."""
        with self._prompt:
            if ask:
                show_review(self.console, review)
            go = not self.stop.is_set() and (not ask or self.confirm(
                f"update the tags of {name}?"))
        if not go:
            state = "INTERRUPTED" if self.stop.is_set() else "DECLINED"
            return StackResult(stack, name, state, reasons=["tags not updated"])
        info = self.cfn.update_tags(name, self.tags(stack))
        self.console.line(f"{self.console.status(info.status)} {stack}: {name} (tags)")
        return StackResult(stack, name, "UPDATED", outputs=info.outputs)

    def _execute_reviewed(self, stack: str, name: str, kind: str, change_set_id: str,
                          review: StackPlan, ask: bool = True) -> StackResult:
        """``ask``: show the review and ask; without it the change set was approved
        already (one approval per run), and only the guards still stand."""
        with self._prompt:
            if ask:
                show_review(self.console, review)
            else:
                self.console.line(f"{stack}: executing the approved change set on {name}")
            blocked = review.blocked_by_guard(self.options.allow_replace)
            if blocked:
                self._discard(name, kind, change_set_id)
                return StackResult(stack, name, "FAILED", reasons=[
                    f"guard: {r.logical_id} ({r.resource_type}) would be "
                    f"{'removed' if r.action == 'Remove' else 'replaced'}, losing its data; "
                    f"rerun with --allow-replace {r.logical_id} if that is intended"
                    for r in blocked])
            # A new stack grants nothing that ran before; an update that does needs a yes.
            if kind == "UPDATE" and review.broadens and not self.options.approve_broadening:
                self._discard(name, kind, change_set_id)
                return StackResult(stack, name, "FAILED", reasons=[
                    "guard: this change broadens access (" + "; ".join(review.widened_access)
                    + "); review the security tables, then rerun with --approve-broadening"])
            go = not self.stop.is_set() and (
                not ask or self.confirm(f"execute this change set on {name}?"))
        if not go:
            self._discard(name, kind, change_set_id)
            state = "INTERRUPTED" if self.stop.is_set() else "DECLINED"
            return StackResult(stack, name, state, reasons=["change set not executed"])
        hooks = self.options.hooks
        if hooks is not None:
            try:  # e.g. a migration against the new revision, before the service moves
                hooks.before_execute(stack, name, kind, self.prepare_params(stack))
            except StackgenError as exc:
                self._discard(name, kind, change_set_id)
                return StackResult(stack, name, "FAILED", reasons=[str(exc)])
        allowed = [r.logical_id for r in review.resources if r.endangers_data]
        with self._policy_opened(name, kind, allowed):
            info = self._execute(stack, name, change_set_id)
        self._protect(name, info)
        if hooks is not None:  # after-tasks, and before-tasks that could not run before
            hooks.after_execute(stack, name, kind)
        self.console.line(f"{self.console.status(info.status)} {stack}: {name}")
        for key in sorted(info.outputs):
            self.console.line(f"    {key} = {info.outputs[key]}")
        return StackResult(stack, name, "CREATED" if kind == "CREATE" else "UPDATED",
                           outputs=info.outputs)

    def _execute(self, stack: str, name: str, change_set_id: str) -> StackInfo:
        last_seen = self.cfn.latest_event_id(name)
        self.cfn.execute_change_set(change_set_id, name)
        failures: list[str] = []
        deadline = self.deadline(stack)
        progress = Progress(self.console, stack, self.cfn.waits.progress_every, deadline)

        def stream(current: StackInfo | None, elapsed: float) -> None:
            nonlocal last_seen
            for event in self.cfn.events_since(name, last_seen):
                last_seen = event.id
                progress.last_event = event
                self.console.event(stack, event)
                if event.status.endswith("_FAILED") and event.reason:
                    failures.append(f"{event.logical_id} ({event.resource_type}): {event.reason}")
            if current is not None:
                progress.tick(current.status, elapsed)

        info = self.cfn.wait_stack(name, on_poll=stream, deadline=deadline)
        assert info is not None
        if info.status not in TERMINAL_OK:
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

    def _protect(self, name: str, info: StackInfo) -> None:
        """Prod-like envs (termination_protection) get termination protection and a
        stack policy that denies replacing or deleting their stateful resources."""
        wanted = self.rendered.env.config.termination_protection
        if info.termination_protection != wanted:
            self.cfn.set_termination_protection(name, wanted)
        if wanted:
            self.cfn.set_stack_policy(name, stack_policy(self.stateful_ids(name)))
            for child, ids in self._child_policies(name):
                self.cfn.set_stack_policy(child, stack_policy(ids))
