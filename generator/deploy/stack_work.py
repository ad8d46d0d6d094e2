"""One stack's work, shared by planning, deploying and applying: selection, preflight,
preparing its inputs, creating its change set and reviewing it (the review as data).

A stack is prepared (its parameters resolved, CREATE, UPDATE or nothing to do), its
change set made and read, then reviewed: what a careful reviewer wants to know.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol

import msgspec

from generator import __version__, run_report
from generator.aws.cfn import CloudFormation
from generator.aws.cfn_types import ChangeSet, StackInfo
from generator.aws.polling import WaitAbandoned, WaitTimedOut
from generator.aws.status import Outcome, PlanState, StackResult
from generator.aws.validation import ValidationFailed
from generator.context import logical_id
from generator.deploy.express import runs_express
from generator.errors import (
    ChangeSetFailed,
    StackgenError,
    UsageError,
)
from generator.references import Lookup, Lookups, resolve
from generator.render import Rendered
from generator.review.plan import (
    INFORMATIONAL_TAGS,
    ResourceChange,
    StackPlan,
    affected_outputs,
    deployed_digest,
    inputs_digest,
    param_changes,
    resource_changes,
    tag_changes,
    template_diff,
)
from generator.review.risk import Templates, is_stateful
from generator.ui import NOT_DEPLOYED, Confirm, Console, Progress
from generator.yamlsrc import load_cfn


class DeployHooks(Protocol):
    """What runs around a stack's execution (tasks before/after it, a failure's
    diagnosis); raising StackgenError fails the stack."""

    def before_execute(self, stack: str, name: str, kind: str,
                       params: Mapping[str, str]) -> None: ...

    def after_execute(self, stack: str, name: str, kind: str) -> None: ...

    def diagnose(self, stack: str, name: str) -> list[str]: ...


class DeployOptions(msgspec.Struct, frozen=True):
    stacks: frozenset[str] = frozenset()  # empty: the whole env
    force: bool = False
    concurrency: int = 4
    commit: str | None = None
    allow_replace: frozenset[str] = frozenset()
    planned: Mapping[str, StackPlan] = msgspec.field(default_factory=dict)  # `apply`: reviewed sets
    nested: bool = False  # the nested form: change sets descend into the children
    children: Rendered | None = None  # the nested form's child stacks, for their reviews
    drift: bool = False  # planning: detect drift on the stacks that change
    approve_broadening: bool = True  # False: a change that broadens access is refused
    hooks: DeployHooks | None = None
    import_existing: bool = False  # ImportExistingResources: adopt named resources (adopt.py)
    revert_drift: bool = False  # DeploymentMode REVERT_DRIFT: put drifted resources back


class Prepared(msgspec.Struct):
    """One stack, ready for a change set: what will be sent, against what is there."""

    stack: str
    name: str
    kind: str  # CREATE or UPDATE
    template: str
    params: dict[str, str]
    tags: dict[str, str]
    current: StackInfo | None
    deployed_template: str | None
    # Set when there is nothing to send: the stack's result already (unchanged, busy,
    # a failed create declined); kind is then SETTLED.
    settled: StackResult | None = None

    @classmethod
    def settle(cls, result: StackResult) -> Prepared:
        return cls(result.stack, result.stack_name, SETTLED, "", {}, {}, None, None, result)


SETTLED = "SETTLED"


class GuardRefusal(msgspec.Struct, frozen=True):
    """A guard stopped a stack: which guard, what it saw, the flag that overrides it."""

    guard: str  # "replacement guard", "broadening guard"
    flag: str  # e.g. "--allow-replace DbInstance"
    reason: str  # the one line shown under the stack

    @classmethod
    def replacement(cls, change: ResourceChange) -> GuardRefusal:
        verb = "removed" if change.action == "Remove" else "replaced"
        flag = f"--allow-replace {change.logical_id}"
        return cls("replacement guard", flag,
                   f"replacement guard: {change.logical_id} ({change.resource_type}) would "
                   f"be {verb}, losing its data; rerun with {flag} if that is intended")

    @classmethod
    def broadening(cls, widened: Sequence[str]) -> GuardRefusal:
        flag = "--approve-broadening"
        return cls("broadening guard", flag,
                   "broadening guard: this change broadens access (" + "; ".join(widened)
                   + f"); review the security tables, then rerun with {flag}")


class Made(msgspec.Struct):
    """A stack's change set made now, and its review; or, in ``settled``, the stack's
    result without one (unchanged, busy, interrupted, a failed create declined)."""

    prepared: Prepared
    change_set: ChangeSet | None = None  # None with a review: a change of tags alone
    review: StackPlan | None = None
    settled: StackResult | None = None
    # Planning only: pre-deployment validation failed the change set (nothing to execute).
    blocked: ValidationFailed | None = None


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
        self.stop = threading.Event()  # no new stack starts: Ctrl-C, or the lock was lost
        self.interrupted = threading.Event()  # Ctrl-C (the run exits 130)
        self.prompt = threading.Lock()
        # The change sets this object made and neither executed nor deleted yet, by id:
        # (stack name, CREATE or UPDATE). What an interrupted run or a "no" deletes.
        self.pending_sets: dict[str, tuple[str, str]] = {}
        self._pending_lock = threading.Lock()

    def selected(self) -> list[str]:
        return self.rendered.select(self.options.stacks)

    def preflight(self, require_upstream: bool = True,
                  known: Mapping[str, StackInfo] | None = None) -> dict[str, StackInfo]:
        """Read-only checks before any change: what is deployed, upstream outputs, lookups.
        ``known``: the stacks deployed, read already (several envs, one listing)."""
        selected = self.selected()
        names = {s: self._name(s) for s in self.rendered.graph.order}
        deployed = known if known is not None else self.cfn.describe_many(list(names.values()))
        by_stack = {s: deployed[n] for s, n in names.items() if n in deployed}
        for stack, info in by_stack.items():
            if info.status.usable():
                self.outputs[stack] = info.outputs
        for stack in selected:
            for up in self.rendered.graph.stacks[stack].upstream:
                if up in selected or not require_upstream:
                    continue
                found = by_stack.get(up)
                if found is None or not found.status.usable():
                    raise UsageError(
                        f"{stack} reads outputs of {up}, which is "
                        f"{'not deployed' if found is None else found.status}; "
                        f"deploy it first or add --stack {up}")
        for stack in selected:  # answer every lookup now, so none fails half-way
            for value in self.rendered.stacks[stack].param_values.values():
                if isinstance(value, Lookup):
                    self.lookups.answer(value)
        return by_stack

    def _name(self, stack: str) -> str:
        return self.rendered.stacks[stack].stack_name

    def deadline(self, stack: str) -> float:
        children = self.options.children
        return self.cfn.waits.for_stack(
            self.rendered.stacks[stack].template,
            None if children is None else [c.template for c in children.stacks.values()])

    def where(self, stacks: Sequence[str]) -> None:
        """After a timeout or an abandoned wait: what is where, as AWS says now."""
        run_report.where(self.console, self.cfn, {s: self._name(s) for s in stacks}, NOT_DEPLOYED)

    def tags(self, stack: str) -> dict[str, str]:
        tags = dict(self.rendered.stacks[stack].tags)
        tags["stackgen:version"] = __version__
        if self.options.commit:
            tags["stackgen:commit"] = self.options.commit
        return tags

    def prepare_params(self, stack: str) -> dict[str, str]:
        return resolve(self.rendered.stacks[stack].param_values, self.outputs, self.lookups)

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
                dry: bool = False) -> Prepared:
        """Resolve the stack's inputs and decide CREATE, UPDATE or nothing to do.

        ``dry`` (planning) never deletes: a leftover review shell is planned as a create.
        """
        name = self._name(stack)
        rendered = self.rendered.stacks[stack]
        params = self.prepare_params(stack)
        tags = self.tags(stack)
        if current is not None and current.status.empty_shell():
            # A create change set that was never executed: the stack is an empty shell.
            if not dry:
                self.cfn.delete_stack(name)
                self.cfn.wait_stack(name, deleting=True)
            current = None
        if current is not None and current.status.must_recreate():
            if dry:
                return Prepared.settle(StackResult(stack, name, Outcome.FAILED, reasons=[
                    f"{name} is {current.status} after a failed create; deploy re-creates it"]))
            if not self.confirm(f"{name} is {current.status} after a failed create; "
                                "delete it and create it again?"):
                return Prepared.settle(
                    StackResult(stack, name, Outcome.DECLINED, reasons=["not re-created"]))
            self.cfn.delete_stack(name)
            self.cfn.wait_stack(name, deleting=True)
            current = None
        if current is None:
            return Prepared(stack, name, "CREATE", rendered.template, params, tags, None, None)
        if current.status.in_progress():
            return Prepared.settle(StackResult(
                stack, name, Outcome.FAILED,
                reasons=[f"{name} is busy ({current.status}); try again later"]))
        deployed_template = self.cfn.template_body(name)
        if not self.options.force and self._unchanged(current, deployed_template,
                                                      rendered.template, params, tags):
            if not dry:
                self.console.line(
                    f"{self.console.status(Outcome.UNCHANGED)} {stack}: {name} is up to date")
                self.protect(name, current)
            return Prepared.settle(
                StackResult(stack, name, Outcome.UNCHANGED, outputs=current.outputs))
        return Prepared(stack, name, "UPDATE", rendered.template, params, tags, current,
                        deployed_template)

    def make(self, stack: str, current: StackInfo | None, dry: bool = False,
             state: PlanState = PlanState.UPDATE) -> Made:
        """The skeleton every path shares: prepare the stack; settled already? drop the
        stale change sets of ours (not when ``dry``: planning leaves them); stopped?
        create the change set; the tag diff; nothing changes? review it. ``state``: a
        change of tags alone is reviewed as this."""
        prepared = self.prepare(stack, current, dry=dry)
        name = prepared.name
        if prepared.settled is not None:
            return Made(prepared, settled=prepared.settled)
        if prepared.kind == "UPDATE" and not dry:  # left by an interrupted run
            for stale in self.cfn.stale_change_sets(name):
                self.cfn.delete_change_set(stale)
        if self.stop.is_set():
            return Made(prepared, settled=StackResult(stack, name, Outcome.INTERRUPTED,
                                                      reasons=["interrupted"]))
        try:
            change_set = self.create_change_set(prepared)
        except ValidationFailed as failed:
            if not dry:
                raise
            return Made(prepared, blocked=failed)
        tags = tag_changes(prepared.current.tags, prepared.tags) if prepared.current else []
        if change_set is None and not tags:
            if dry:
                return Made(prepared, settled=StackResult(stack, name, Outcome.UNCHANGED))
            self.console.line(f"{self.console.status(Outcome.UNCHANGED)} {stack}: no changes")
            info = prepared.current or self.cfn.describe(name)
            return Made(prepared, settled=StackResult(stack, name, Outcome.UNCHANGED,
                                                      outputs=info.outputs if info else {}))
        if change_set is None:
            review = StackPlan(stack=stack, stack_name=name, state=state,
                               template_sha256=self.rendered.stacks[stack].template_sha256,
                               tags=tags)
        else:
            review = self.review(prepared, change_set)
            review.tags = tags
        return Made(prepared, change_set, review)

    def create_change_set(self, prepared: Prepared) -> ChangeSet | None:
        """Create and read the change set; None when it holds no changes."""
        cs_name = f"stackgen-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        cs_id = self.cfn.create_change_set(
            prepared.name, cs_name, prepared.kind, prepared.template, prepared.params,
            prepared.tags, include_nested=self.options.nested,
            express=runs_express(self.options.children or self.rendered, prepared.stack),
            import_existing=self.options.import_existing,
            revert_drift=self.options.revert_drift,
            description=f"stackgen {__version__}: {prepared.stack} of env "
                        f"{self.rendered.env.name}")
        if cs_id is None:
            return None
        with self._pending_lock:
            self.pending_sets[cs_id] = (prepared.name, prepared.kind)
        try:
            progress = Progress(self.console, prepared.stack,
                                self.cfn.waits.progress_every,
                                self.cfn.waits.change_set_seconds)
            return self.cfn.wait_change_set(cs_id, prepared.name, on_poll=progress.tick)
        except (ChangeSetFailed, WaitTimedOut, WaitAbandoned):
            self._discard(prepared.name, prepared.kind, cs_id)
            raise

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
            state=PlanState.CREATE if prepared.kind == "CREATE" else PlanState.UPDATE,
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
            made = self.cfn.wait_change_set(change.nested_change_set, child_id) \
                if change.nested_change_set else None
            if made is not None:
                child_set = made
            elif change.nested_change_set:  # it failed for holding no change of its own
                child_set = ChangeSet(id="", name="", stack_name=child_id, stack_id="",
                                      kind="UPDATE", status="EMPTY")
            else:
                child_set = ChangeSet(id="", name="", stack_name=child_id,
                                      stack_id="", kind="UPDATE", status="PREDICTED",
                                      changes=templates.predicted_changes())
            reviews.append(StackPlan(
                stack=stack, stack_name=child_id or change.logical_id,
                state=PlanState.UPDATE, template_sha256=children.stacks[stack].template_sha256,
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

        return (current.status.is_success() and dict(params) == current.parameters
                and meaningful(tags) == meaningful(current.tags)
                and deployed_template == template)

    def protect(self, name: str, info: StackInfo) -> None:
        """Hook for deploying; planning changes nothing."""

    def _discard(self, name: str, kind: str, change_set_id: str) -> None:
        """Leave no change set of ours behind, nor the empty shell of a new stack."""
        self.cfn.delete_change_set(change_set_id)
        if kind == "CREATE":
            self.cfn.delete_stack(name)
        self.executing(change_set_id)

    def executing(self, change_set_id: str) -> None:
        """The change set is executed (or gone): no longer ours to delete."""
        with self._pending_lock:
            self.pending_sets.pop(change_set_id, None)

    def discard_pending(self) -> list[str]:
        """Delete every change set this object made and did not execute (and the review
        shell of a new stack), as an interrupted or declined run must; best effort, the
        stacks whose change set could not be deleted."""
        with self._pending_lock:
            pending = list(self.pending_sets.items())
        stays = []
        for cs_id, (name, kind) in pending:
            try:
                self._discard(name, kind, cs_id)
            except StackgenError as exc:
                self.console.line(f"{name}: change set {cs_id} stays ({exc})")
                stays.append(name)
        return stays
