"""Run a reviewed plan: `apply plan.json`, and `deploy` on a terminal after its one
approval.

The run executes the plan's change sets and nothing else. A stack whose inputs could
not be known when planned (its upstream is created or changed first) gets its change
set during the run, held to the review the plan predicted for it: a replacement, a
removal or broadened access the review did not show is refused (`apply`) or asked
about again (`deploy`). A stack the plan found unchanged is never changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from generator.aws.cfn_types import StackInfo
from generator.aws.status import Outcome, PlanState, StackResult
from generator.deploy.engine import Deployer
from generator.deploy.stack_work import GuardRefusal, Prepared
from generator.errors import ChangeSetFailed, StackgenError
from generator.review.plan import (
    Plan,
    StackPlan,
    beyond_review,
    change_set_facts,
    deployed_digest,
    facts_mismatch,
    inputs_digest,
    meaningful_tags,
    no_echo_params,
    rendered_digest,
    sha256_text,
    unshown,
)
from generator.review.plan_report import show_review

RUN_PLAN_AGAIN = "run `stackgen plan` again"


class PlanMismatch(StackgenError):
    """The plan was made for another account, region, endpoint or env."""

    exit_code = 2


def check_plan_place(plan: Plan, env: str, account: str, region: str, endpoint: str) -> None:
    """A plan's change sets live in one account, region and endpoint: refuse any other."""
    want = {"env": plan.env, "account": plan.account, "region": plan.region,
            "endpoint": plan.endpoint}
    have = {"env": env, "account": account, "region": region, "endpoint": endpoint}
    for key, value in want.items():
        if value != have[key]:
            raise PlanMismatch(
                f"the plan was made for {key} {value or '(not recorded)'}, this run targets "
                f"{have[key]}; apply it where it was made, or {RUN_PLAN_AGAIN} here")


def moved(planned: StackPlan, current: StackInfo | None, deployed_template: str | None,
          template_sha256: str, rendered_sha256: str) -> str | None:
    """What changed since the plan recorded this stack, or None."""
    if template_sha256 != planned.template_sha256:
        return "its rendered template changed since the plan"
    if planned.rendered_sha256 and rendered_sha256 != planned.rendered_sha256:
        return "its rendered parameters or tags changed since the plan"
    if planned.state == PlanState.CREATE:
        if current is None:
            return "the stack its change set creates was deleted since the plan"
        if not current.status.empty_shell():
            return f"the stack was created since the plan (now {current.status})"
        if planned.stack_id and current.stack_id != planned.stack_id:
            return "the stack its change set creates was made again since the plan"
        return None
    if planned.deployed_status is None:  # planned as not deployed: created after upstream
        if current is not None and not current.status.empty_shell():
            return f"the stack was created since the plan (now {current.status})"
        return None
    if current is None or deployed_template is None:
        return "the stack was deleted since the plan"
    if planned.stack_id and current.stack_id != planned.stack_id:
        return "the stack was deleted and created again since the plan"
    digest = deployed_digest(deployed_template, current.parameters,
                             meaningful_tags(current.tags))
    if digest != planned.deployed_sha256:
        when = current.last_change.isoformat() if current.last_change else "unknown"
        return (f"its deployed template, parameters or tags changed since the plan "
                f"(now {current.status}, last change {when})")
    if current.status != planned.deployed_status:
        return f"its status moved from {planned.deployed_status} to {current.status}"
    return None


class PlanRunner(Deployer):
    """Executes ``options.planned``; ``strict`` (apply) refuses what the review did not
    show, otherwise (deploy) it asks again."""

    strict = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The reviews re-derived from the live change sets by verify(): the guards and the
        # stack policy read these, never the plan file's own review.
        self.live: dict[str, StackPlan] = {}
        # The stacks verify() refused for a guard (nothing moved there), by stack.
        self.guarded: dict[str, GuardRefusal] = {}

    @property
    def planned(self) -> Mapping[str, StackPlan]:
        return self.options.planned

    def _rendered_sha(self, stack: str) -> str:
        return rendered_digest(self.rendered.stacks[stack].parameters,
                               meaningful_tags(self.tags(stack)))

    def _moved_now(self, stack: str, current: StackInfo | None) -> str | None:
        planned = self.planned[stack]
        template = None
        if current is not None and not current.status.empty_shell():
            template = self.cfn.template_body(self._name(stack))
        return moved(planned, current, template, self.rendered.stacks[stack].template_sha256,
                     self._rendered_sha(stack))

    def verify(self) -> list[StackResult]:
        """Before anything runs: every stack of the plan, the unchanged ones too, still as
        planned, its inputs as they were, its change set still there. The refused ones."""
        deployed = self.preflight(require_upstream=False)
        refused = []
        for stack in self.selected():
            planned = self.planned[stack]
            why = None
            if planned.stack_name != self._name(stack):
                why = f"the plan names stack {planned.stack_name}, the env renders " \
                      f"{self._name(stack)}"
            why = why or self._moved_now(stack, deployed.get(stack))
            if not why and planned.inputs_sha256:
                try:
                    params = self.prepare_params(stack)
                except StackgenError as exc:
                    params, why = {}, str(exc)
                if not why and inputs_digest(params) != planned.inputs_sha256:
                    why = "the upstream outputs it reads changed since the plan"
            if why:
                refused.append(StackResult(stack, planned.stack_name, Outcome.FAILED, reasons=[
                    f"stale plan: {why}; {RUN_PLAN_AGAIN}"]))
                continue
            if planned.change_set_id:
                why = self.check_change_set(stack, planned, deployed.get(stack))
            else:  # made during the run, and held to the review there (_made_now)
                why = self._guard(planned)
            if why:
                refused.append(StackResult(stack, planned.stack_name, Outcome.FAILED, reasons=[
                    why if stack in self.guarded else f"refused: {why}"]))
        return refused

    def refusal(self, refused: Sequence[StackResult]) -> str:
        """The one line that says why verify() refused the plan: which stacks moved or
        whose change set is not as reviewed, and which guard stopped which stack, with
        the flag that overrides it."""
        parts = []
        moved = [r.stack for r in refused if r.stack not in self.guarded]
        if moved:
            parts.append(f"{len(moved)} of {len(self.planned)} stacks moved or changed since "
                         f"it was made ({', '.join(moved)}); {RUN_PLAN_AGAIN}")
        for stack, guard in self.guarded.items():
            parts.append(f"the {guard.guard} stops {stack} (override: {guard.flag})")
        return "the plan is refused; nothing was executed: " + "; ".join(parts)

    def check_change_set(self, stack: str, planned: StackPlan,
                         current: StackInfo | None) -> str | None:
        """The change set the plan names is the one reviewed: read it back from AWS and
        compare it with what the plan recorded and with what this run renders; then
        re-derive the review (and its guards) from it, never from the file."""
        assert planned.change_set_id is not None
        name = self._name(stack)
        if planned.reviewed is None:
            return (f"change set {planned.change_set_id}: the plan does not record what it "
                    f"held when reviewed; {RUN_PLAN_AGAIN}")
        try:
            content = self.cfn.change_set_content(planned.change_set_id)
        except ChangeSetFailed as exc:
            return f"its change set is gone or unreadable ({exc.reason}); {RUN_PLAN_AGAIN}"
        differs = facts_mismatch(planned.reviewed, change_set_facts(content))
        live_id = current.stack_id if current is not None else ""
        if content.stack_name != name or content.stack_id != live_id:
            differs.insert(0, f"change set {content.arn} belongs to stack "
                              f"{content.stack_name or '(none)'} ({content.stack_id}), not to "
                              f"{name} ({live_id or 'not deployed'})")
        if sha256_text(content.template) != self.rendered.stacks[stack].template_sha256:
            differs.append("its template body is not the template this env renders")
        params = self.prepare_params(stack)
        no_echo = no_echo_params(self.rendered.stacks[stack].template)
        if {k: v for k, v in content.parameters.items() if k not in no_echo} != \
                {k: v for k, v in params.items() if k not in no_echo} or \
                set(content.parameters) != set(params):
            differs.append("its parameter values are not the ones this env resolves")
        if meaningful_tags(content.tags) != meaningful_tags(self.tags(stack)):
            differs.append("its tags are not the ones this env renders")
        if differs:
            return f"change set {planned.change_set_id} is not the one reviewed: " + \
                "; ".join(differs)
        if content.status != "CREATE_COMPLETE" or content.execution_status != "AVAILABLE":
            return (f"its change set is no longer executable ({content.status}, "
                    f"{content.execution_status}); {RUN_PLAN_AGAIN}")
        creates = planned.state == PlanState.CREATE
        deployed_template = None if creates else self.cfn.template_body(name)
        prepared = Prepared(stack, name, "CREATE" if creates else "UPDATE",
                            self.rendered.stacks[stack].template, params, self.tags(stack),
                            None if creates else current, deployed_template)
        try:
            change_set = self.cfn.wait_change_set(planned.change_set_id, name)
        except ChangeSetFailed as exc:
            return f"its change set is gone or no longer executable ({exc.reason})"
        if change_set is None:
            return "its change set is gone or no longer executable (no changes)"
        live = self.review(prepared, change_set)
        live.tags = planned.tags
        self.live[stack] = live
        beyond = unshown(planned, live)
        if beyond:
            return ("the plan's review does not show what its change set does: "
                    f"{'; '.join(beyond)}; {RUN_PLAN_AGAIN}")
        guard = self._guard(live)
        if guard:
            return guard
        if not creates and live.broadens and not self.options.approve_broadening:
            refusal = GuardRefusal.broadening(live.widened_access)
            self.guarded[stack] = refusal
            return refusal.reason
        return None

    def _guard(self, review: StackPlan) -> str | None:
        blocked = review.blocked_by_guard(self.options.allow_replace)
        if not blocked:
            return None
        refusal = GuardRefusal.replacement(blocked[0])
        self.guarded[review.stack] = refusal
        return refusal.reason

    def discard_all(self, stacks: Iterable[str] | None = None) -> None:
        """Nothing of a declined plan stays behind: its change sets, and review shells."""
        for stack in self.planned if stacks is None else stacks:
            planned = self.planned[stack]
            if not planned.change_set_id:
                continue
            try:
                self._discard(planned.stack_name, "CREATE" if planned.state == PlanState.CREATE
                              else "UPDATE", planned.change_set_id)
            except StackgenError as exc:  # cleanup is best effort; say what stays
                self.console.line(f"{stack}: its planned change set stays ({exc})")

    def finish(self, results: list[StackResult]) -> list[StackResult]:
        results = super().finish(results)
        # A stack that never ran (upstream failed, interrupted) leaves no change set behind.
        self.discard_all([r.stack for r in results
                          if r.state in (Outcome.BLOCKED, Outcome.INTERRUPTED)])
        return results

    # --- the run ----------------------------------------------------------------

    def _deploy(self, stack: str, name: str, current: StackInfo | None) -> StackResult:
        planned = self.planned[stack]
        if planned.predicted:
            return self._made_now(stack, name, current, planned)
        params = self.prepare_params(stack)
        if inputs_digest(params) != planned.inputs_sha256:
            # An upstream this run executed changed outputs this stack reads.
            if planned.change_set_id:
                self.cfn.delete_change_set(planned.change_set_id)
            return self._made_now(stack, name, current, planned)
        if planned.state == PlanState.UNCHANGED:
            self.console.line(f"{self.console.status(Outcome.UNCHANGED)} {stack}: "
                              f"{name} is up to date")
            if current is not None:
                self.protect(name, current)
            return StackResult(stack, name, Outcome.UNCHANGED,
                               outputs=current.outputs if current else {})
        if self.strict:  # time passed since verify(): check again right before executing
            why = self._moved_now(stack, self.cfn.describe(name))
            if why:
                return self._refuse(stack, name, planned, why)
        if self.stop.is_set():
            return StackResult(stack, name, Outcome.INTERRUPTED, reasons=["interrupted"])
        if planned.change_set_id is None:  # tags alone
            return self._update_tags(stack, name, planned, ask=False)
        kind = "CREATE" if planned.state == PlanState.CREATE else "UPDATE"
        review = self.live.get(stack, planned) if not self.strict else self.live.get(stack)
        if review is None:  # apply executes only what verify() read back from AWS
            return self._refuse(stack, name, planned, "its change set was not verified")
        return self.execute_reviewed(stack, name, kind, planned.change_set_id, review,
                                      ask=False)

    def _refuse(self, stack: str, name: str, planned: StackPlan, why: str) -> StackResult:
        if planned.change_set_id:
            self._discard(name, "CREATE" if planned.state == PlanState.CREATE else "UPDATE",
                          planned.change_set_id)
        return StackResult(stack, name, Outcome.FAILED, reasons=[f"stale plan: {why}; "
                                                           f"{RUN_PLAN_AGAIN}"])

    def _made_now(self, stack: str, name: str, current: StackInfo | None,
                  planned: StackPlan) -> StackResult:
        """The change set made with the inputs known now, held to the plan's review."""
        if planned.state == PlanState.UNCHANGED and self.strict:
            return self._refuse(stack, name, planned, "an upstream this apply executed changed "
                                "outputs it reads, which the plan did not show")
        if planned.state == PlanState.RECREATE and current is not None and \
                current.status.must_recreate():
            # Approved with the review: a failed create holds nothing; make it again.
            self.cfn.delete_stack(name)
            self.cfn.wait_stack(name, deleting=True)
            current = None
        made = self.make(stack, current, state=planned.state)
        if made.settled is not None:
            return made.settled
        prepared, change_set, review = made.prepared, made.change_set, made.review
        assert review is not None
        tags = review.tags
        beyond = beyond_review(planned, review)
        if planned.state == PlanState.UNCHANGED:
            beyond.insert(0, "the review showed no change here")
        if {(t.key, t.new) for t in tags} - {(t.key, t.new) for t in planned.tags}:
            beyond.append("tags the review did not show")
        if beyond and self.strict:
            if change_set is not None:
                self._discard(name, prepared.kind, change_set.id)
            return StackResult(stack, name, Outcome.FAILED, reasons=[
                f"its change set goes beyond the plan: {'; '.join(beyond)}; {RUN_PLAN_AGAIN}"])
        if beyond:
            self.console.line(self.console.style(
                f"{stack}: this goes beyond what was approved: {'; '.join(beyond)}", "red"))
        elif change_set is not None:
            self.console.line(f"{stack}: its change set, made now with upstream outputs, stays "
                              "within the approved review")
            show_review(self.console, review)
        if change_set is None:
            return self._update_tags(stack, name, review, ask=bool(beyond))
        return self.execute_reviewed(stack, name, prepared.kind, change_set.id, review,
                                      ask=bool(beyond))


class ApprovedRunner(PlanRunner):
    """`deploy` after its one approval: what goes beyond it is asked about again."""

    strict = False
