"""Plan a whole env: create (never execute) a change set per changing stack, predict
the changes of stacks whose inputs are not known yet, then mark what the changes
ripple into downstream.

Every stack also records what was deployed when it was planned (stack id, status,
template, parameters, tags) and what was rendered, so `apply` can refuse a stack
that moved since, including one the plan found unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.aws.cfn_types import ChangeSet, StackInfo
from generator.aws.status import Outcome, PlanState
from generator.aws.validation import ValidationFailed
from generator.deploy.drift import detect
from generator.deploy.express import standard_stacks
from generator.deploy.stack_work import SETTLED, Prepared, StackWork
from generator.errors import StackgenError
from generator.lint.values import placeholder
from generator.references import FromOutput, resolve
from generator.review import prices
from generator.review.cost import EnvCost, Side, env_cost
from generator.review.picture import diagram
from generator.review.plan import (
    Plan,
    StackPlan,
    change_set_facts,
    deployed_digest,
    inputs_digest,
    meaningful_tags,
    merge_changes,
    now,
    rendered_digest,
    resource_changes,
    ripple_changes,
    tag_changes,
)
from generator.review.revert import mark as mark_reverted
from generator.review.risk import Templates
from generator.review.validation import attach
from generator.yamlsrc import load_cfn

# The plan's resource action as the picture colours it.
PICTURE_ACTIONS = {"Add": "Add", "Remove": "Remove", "Modify": "Modify"}


class Planner(StackWork):
    # `deploy` plans only stacks whose unselected upstreams are deployed; `plan` any.
    require_upstream = False
    # `deploy` re-creates a stack whose create failed (ROLLBACK_COMPLETE); `plan` refuses.
    recreate_failed = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sides: dict[str, tuple[Side, Side]] = {}  # deployed and rendered, by review()
        self.states: dict[str, PlanState] = {}

    def plan(self) -> Plan:
        selected = self.selected()
        deployed = self.preflight(require_upstream=self.require_upstream)
        graph = self.rendered.graph
        plans: dict[str, StackPlan] = {}
        self._templates: dict[str, str] = {}  # deployed templates read while planning
        self._physical: dict[str, dict[str, str]] = {}  # upstream physical ids, as read
        for stack in selected:
            upstream = [u for u in graph.stacks[stack].upstream if u in plans]
            new_upstream = [u for u in upstream
                            if plans[u].state.creates()]
            missing = [u for u in graph.stacks[stack].upstream
                       if u not in plans and u not in self.outputs]
            # An output the upstream's new template adds (a resource that moved stacks
            # brings its output along): only its apply publishes it.
            unpublished = sorted({i.stack for i in graph.stacks[stack].inputs
                                  if i.stack in plans and i.stack not in new_upstream
                                  and i.output not in self.outputs.get(i.stack, {})})
            current = deployed.get(stack)
            if new_upstream or missing or unpublished:
                # Its inputs do not exist yet: there is nothing to make a change set from.
                plans[stack] = self._placeholder(stack, current,
                                                 new_upstream + missing + unpublished,
                                                 self._foreseen(stack, plans))
                continue
            plans[stack] = self._plan_one(stack, current)
            self._ripple(stack, plans)
        self.states = {s: p.state for s, p in plans.items()}
        result = Plan(env=self.rendered.env.name, created_at=now(),
                      stacks=[plans[s] for s in selected],
                      deployment_mode=self.rendered.env.config.deployment_mode,
                      standard_stacks=standard_stacks(self.options.children or self.rendered))
        if self.options.drift:
            self._mark_drift(result)
        if self.options.nested:  # the root holds stacks, not the resources that cost
            result.cost = EnvCost(region=self.rendered.env.config.region, currency="USD",
                                  as_of="", source="", missing="not priced in the nested "
                                  "form; plan without --nested to see the monthly cost")
        else:
            result.cost = env_cost(prices.load(), self.rendered.env.config.region,
                                   {s: self._sides(s, deployed.get(s)) for s in selected})
        result.picture = self._picture(result)
        return result

    def review(self, prepared: Prepared, change_set: ChangeSet) -> StackPlan:
        current = prepared.current
        self.sides[prepared.stack] = (
            Side(load_cfn(prepared.deployed_template), current.parameters)
            if prepared.deployed_template and current else Side({}, {}),
            Side(load_cfn(prepared.template), prepared.params))
        plan = super().review(prepared, change_set)
        mark_reverted(plan.resources, change_set.changes)  # --revert-drift: what it overwrites
        return plan

    def _predicted_params(self, stack: str) -> dict[str, str]:
        """Values as far as they are known: upstream outputs, else a placeholder of the
        real shape (two subnets, one id), so a waiting stack can still be priced."""
        declared = load_cfn(self.rendered.stacks[stack].template).get("Parameters") or {}
        out = {}
        for name, value in self.rendered.stacks[stack].param_values.items():
            if isinstance(value, FromOutput):
                known = self.outputs.get(value.stack, {}).get(value.output)
                out[name] = known if known is not None else placeholder(
                    name, str((declared.get(name) or {}).get("Type", "String")),
                    self.rendered.env.config.region)
            elif isinstance(value, str):
                out[name] = value
        return out

    def _sides(self, stack: str, current: StackInfo | None) -> tuple[Side, Side]:
        if stack in self.sides:
            return self.sides[stack]
        new = Side(load_cfn(self.rendered.stacks[stack].template), self._predicted_params(stack))
        state = self.states.get(stack)
        if current is None or (state is not None and state.creates()):
            return Side({}, {}), new
        old = self._deployed_template(stack, current)
        if old is None:
            return Side({}, {}), new
        if state == PlanState.UNCHANGED:  # the plan found it equal to what runs
            return new, new
        return Side(load_cfn(old), current.parameters), new

    def _mark_drift(self, plan: Plan) -> None:
        """Detect drift on the stacks the plan changes; a changed resource that drifted
        tells the reviewer the apply overwrites a hand change."""
        changing = {s.stack: s.stack_name for s in plan.stacks
                    if s.resources and s.state != PlanState.CREATE and s.stack_id}
        for found in detect(self.cfn, changing):
            stack_plan = next(p for p in plan.stacks if p.stack == found.stack)
            for change in stack_plan.resources:
                drifted = found.drifted(change.logical_id)
                if drifted is not None:
                    change.drift = [f"{p.path} ({p.kind.lower()}): expected {p.expected}, "
                                    f"actual {p.actual}" for p in drifted.properties] or \
                        [drifted.status.lower()]

    def _picture(self, plan: Plan) -> str:
        actions: dict[tuple[str, str], str] = {}
        for s in plan.stacks:
            for r in s.resources:
                actions[(s.stack, r.logical_id)] = "Replace" if r.replaces else \
                    PICTURE_ACTIONS.get(r.action, "Modify")
        docs = {s: load_cfn(self.rendered.stacks[s].template) for s in self.rendered.stacks}
        return diagram(self.rendered.graph, docs, actions)

    def _deployed_template(self, stack: str, current: StackInfo | None) -> str | None:
        if current is None or current.status.empty_shell():
            return None
        if stack not in self._templates:
            self._templates[stack] = self.cfn.template_body(self._name(stack))
        return self._templates[stack]

    def _record(self, plan: StackPlan, current: StackInfo | None,
                params: Mapping[str, str] | None) -> StackPlan:
        """What was deployed and rendered when planned: apply compares against it."""
        stack = plan.stack
        rendered = self.rendered.stacks[stack]
        plan.rendered_sha256 = rendered_digest(rendered.parameters,
                                               meaningful_tags(self.tags(stack)))
        plan.inputs_sha256 = inputs_digest(params) if params is not None else ""
        template = self._deployed_template(stack, current)
        if current is not None and template is not None:
            wanted = self.rendered.env.config.termination_protection
            if current.termination_protection != wanted:  # protect() sets it on apply
                plan.protection = "on" if wanted else "off"
            plan.stack_id = current.stack_id
            plan.deployed_status = current.status
            plan.deployed_at = current.last_change.isoformat() if current.last_change else None
            plan.deployed_sha256 = deployed_digest(template, current.parameters,
                                                   meaningful_tags(current.tags))
        return plan

    def _templates_of(self, stack: str, current: StackInfo | None,
                      params: Mapping[str, str]) -> Templates:
        old = self._deployed_template(stack, current)
        return Templates(load_cfn(old) if old else {},
                         load_cfn(self.rendered.stacks[stack].template),
                         current.parameters if current and old else {}, params,
                         self.rendered.env.config.region)

    def _foreseen(self, stack: str, plans: Mapping[str, StackPlan]) -> dict[str, str]:
        """Inputs read from an upstream the plan reviewed (its change set made) whose
        values are known before its apply: an output it has that its change leaves as it
        is, or an output its new template gives as ``Ref`` of a resource it holds and
        neither removes nor replaces (a resource a refactor moved in: the new
        ``network.AlbSecurityGroupId`` is the moved group's id). ``Ref`` of a resource
        returns "a value that you can typically use to refer to that resource, such as a
        physical ID" (template reference, "Ref"), which ListStackResources gives. A wrong
        guess is safe: the run makes the change set with the real value and holds it to
        this review. The rest stay unknown: what reads them is predicted."""
        out: dict[str, str] = {}
        for i in self.rendered.graph.stacks[stack].inputs:
            up = plans.get(i.stack)
            if up is None or up.state.predicted() or up.state.creates():
                continue
            now = self.outputs.get(i.stack, {}).get(i.output)
            if now is not None and i.output not in up.changed_outputs:
                out[i.param] = now
                continue
            outputs = load_cfn(self.rendered.stacks[i.stack].template).get("Outputs") or {}
            value = (outputs.get(i.output) or {}).get("Value")
            target = value.get("Ref") if isinstance(value, dict) and set(value) == {"Ref"} \
                else None
            if not isinstance(target, str) or any(
                    r.logical_id == target and (r.action == "Remove" or r.replaces)
                    for r in up.resources):
                continue
            if i.stack not in self._physical:
                self._physical[i.stack] = self.cfn.physical_ids(self._name(i.stack))
            physical = self._physical[i.stack].get(target)
            if physical:
                out[i.param] = physical
        return out

    def _placeholder(self, stack: str, current: StackInfo | None,
                     waiting_for: list[str],
                     foreseen: Mapping[str, str] | None = None) -> StackPlan:
        """A stack whose inputs come from stacks not created or applied yet: its changes
        are predicted from the templates (inputs it reads from them count as changing),
        and its change set is made during the run, then held to this review."""
        if current is not None and current.status.empty_shell():
            current = None  # an empty shell: the run creates the stack
        state = PlanState.AFTER_UPSTREAM_CREATE if current is None \
            else PlanState.AFTER_UPSTREAM_APPLY
        waits = set(waiting_for)
        foreseen = dict(foreseen or {})
        unknown = {i.param for i in self.rendered.graph.stacks[stack].inputs
                   if i.stack in waits and i.param not in foreseen}
        templates = self._templates_of(stack, current,
                                       {**self._known_params(stack, waits), **foreseen})
        predicted = ChangeSet(id="", name="", stack_name=self._name(stack), stack_id="",
                              kind=state, status="PREDICTED",
                              changes=templates.predicted_changes())
        resources = resource_changes(predicted, templates)
        if current is not None:
            resources = merge_changes(resources, ripple_changes(templates, unknown))
        plan = StackPlan(stack=stack, stack_name=self._name(stack), state=state,
                         template_sha256=self.rendered.stacks[stack].template_sha256,
                         waits_for=sorted(waits), resources=resources,
                         security=templates.security(),
                         tags=tag_changes(current.tags if current else {}, self.tags(stack))
                         if current else [])
        return self._record(plan, current, None)

    def _known_params(self, stack: str, waits: set[str]) -> dict[str, str]:
        """The parameter values known now: everything not read from ``waits``."""
        reads = {i.param for i in self.rendered.graph.stacks[stack].inputs if i.stack in waits}
        raw = {k: v for k, v in self.rendered.stacks[stack].param_values.items() if k not in reads}
        try:
            return resolve(raw, self.outputs, self.lookups)
        except StackgenError:
            return {}

    def _plan_one(self, stack: str, current: StackInfo | None) -> StackPlan:
        sha = self.rendered.stacks[stack].template_sha256
        made = self.make(stack, current, dry=True)
        prepared, settled = made.prepared, made.settled
        if prepared.deployed_template is not None:
            self._templates[stack] = prepared.deployed_template
        if settled is not None and prepared.kind == SETTLED:  # before any change set
            if settled.state == Outcome.UNCHANGED:
                plan = StackPlan(stack=stack, stack_name=self._name(stack),
                                 state=PlanState.UNCHANGED, template_sha256=sha)
                return self._record(plan, current, self.prepare_params(stack))
            if self.recreate_failed and current is not None and current.status.must_recreate():
                plan = self._placeholder(stack, None, [])
                plan.state = PlanState.RECREATE
                return plan
            raise StackgenError(f"cannot plan {stack}: {'; '.join(settled.reasons)}")
        if made.blocked is not None:  # pre-deployment validation failed the change set
            return self._blocked(prepared, current, made.blocked)
        if settled is not None:  # the change set holds no change, the tags alike
            plan = StackPlan(stack=stack, stack_name=self._name(stack),
                             state=PlanState.UNCHANGED, template_sha256=sha)
        else:
            assert made.review is not None
            plan = made.review
            if made.change_set is not None:
                # What AWS holds under the change set's ARN, as it holds it: apply reads
                # it again and executes it only if nothing differs.
                plan.reviewed = change_set_facts(
                    self.cfn.change_set_content(made.change_set.id))
                if made.change_set.validation:  # WARN findings: it stays executable
                    attach(plan, made.change_set.validation, self.rendered.env.name)
        self._record(plan, prepared.current, prepared.params)
        if prepared.kind == "CREATE" and made.change_set is not None:
            plan.stack_id = made.change_set.stack_id  # the review shell the change set made
        return plan

    def _blocked(self, prepared: Prepared, current: StackInfo | None,
                 failed: ValidationFailed) -> StackPlan:
        """A stack whose change set failed pre-deployment validation: its changes as the
        templates predict them, each finding under its resource; nothing to execute."""
        stack = prepared.stack
        templates = self._templates_of(stack, prepared.current, prepared.params)
        predicted = ChangeSet(id="", name="", stack_name=prepared.name, stack_id="",
                              kind=prepared.kind, status="FAILED",
                              changes=templates.predicted_changes())
        plan = StackPlan(stack=stack, stack_name=prepared.name,
                         state=PlanState.CREATE if prepared.kind == "CREATE"
                         else PlanState.UPDATE,
                         template_sha256=self.rendered.stacks[stack].template_sha256,
                         resources=resource_changes(predicted, templates),
                         security=templates.security())
        attach(plan, failed.findings, self.rendered.env.name)
        return self._record(plan, prepared.current, prepared.params)

    def _ripple(self, stack: str, plans: dict[str, StackPlan]) -> None:
        """Mark this stack's parameters that read outputs an upstream change may alter,
        and predict what those new values change here."""
        graph = self.rendered.graph
        mine = plans[stack]
        params = set()
        for i in graph.stacks[stack].inputs:
            up = plans.get(i.stack)
            if up is not None and i.output in up.changed_outputs:
                mine.ripple.append(f"{i.param} ← {i.stack}.{i.output}")
                params.add(i.param)
        if not params or mine.state == PlanState.CREATE:
            return
        if mine.state == PlanState.UNCHANGED:
            mine.state = PlanState.AFTER_UPSTREAM_APPLY
        templates = Templates({}, load_cfn(self.rendered.stacks[stack].template), {}, {},
                              self.rendered.env.config.region)
        mine.resources = merge_changes(mine.resources, ripple_changes(templates, params))
