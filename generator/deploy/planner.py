"""Plan a whole env: create (never execute) a change set per changing stack, then
mark what the changes ripple into downstream."""

from __future__ import annotations

from typing import Any

from generator.deploy.cfn import ChangeSet, StackInfo
from generator.deploy.engine import Prepared, StackResult, StackWork
from generator.deploy.plan import (
    AFTER_UPSTREAM_APPLY,
    AFTER_UPSTREAM_CREATE,
    CREATE,
    UNCHANGED,
    Plan,
    StackPlan,
    now,
)
from generator.deploy.resolve import cfn_value
from generator.errors import StackgenError
from generator.lint.values import placeholder
from generator.review import prices
from generator.review.cost import EnvCost, Side, env_cost
from generator.review.drift import detect
from generator.review.picture import diagram
from generator.yamlsrc import load_cfn

# The plan's resource action as the picture colours it.
PICTURE_ACTIONS = {"Add": "Add", "Remove": "Remove", "Modify": "Modify"}


class Planner(StackWork):
    """Plans the env; remembers each stack's deployed and rendered side for the cost."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sides: dict[str, tuple[Side, Side]] = {}  # set by review()
        self.states: dict[str, str] = {}

    def plan(self) -> Plan:
        selected = self.selected()
        deployed = self.preflight(require_upstream=False)
        graph = self.rendered.graph
        plans: dict[str, StackPlan] = {}
        for stack in selected:
            upstream = [u for u in graph.stacks[stack].upstream if u in plans]
            new_upstream = [u for u in upstream
                            if plans[u].state in (CREATE, AFTER_UPSTREAM_CREATE)]
            missing = [u for u in graph.stacks[stack].upstream
                       if u not in plans and u not in self.outputs]
            current = deployed.get(stack)
            if new_upstream or missing:
                # Its inputs do not exist yet: there is nothing to make a change set from.
                plans[stack] = self._placeholder(stack, current, new_upstream + missing)
                continue
            plans[stack] = self._plan_one(stack, current)
            self._ripple(stack, plans)
        self.states = {s: p.state for s, p in plans.items()}
        result = Plan(env=self.rendered.env.name, created_at=now(),
                      stacks=[plans[s] for s in selected])
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
        return super().review(prepared, change_set)

    def _predicted_params(self, stack: str) -> dict[str, str]:
        """Values as far as they are known: upstream outputs, else a placeholder of the
        real shape (two subnets, one id), so a waiting stack can still be priced."""
        declared = load_cfn(self.rendered.stacks[stack].template).get("Parameters") or {}
        out = {}
        for name, value in self.rendered.stacks[stack].parameters.items():
            if isinstance(value, dict) and "From" in value:
                up, output = str(value["From"]).split(".", 1)
                known = self.outputs.get(up, {}).get(output)
                out[name] = known if known is not None else placeholder(
                    name, str((declared.get(name) or {}).get("Type", "String")),
                    self.rendered.env.config.region)
            elif not isinstance(value, dict):
                out[name] = cfn_value(value)
        return out

    def _sides(self, stack: str, current: StackInfo | None) -> tuple[Side, Side]:
        if stack in self.sides:
            return self.sides[stack]
        new = Side(load_cfn(self.rendered.stacks[stack].template), self._predicted_params(stack))
        if current is None or current.status == "REVIEW_IN_PROGRESS":
            return Side({}, {}), new
        if self.states.get(stack) == UNCHANGED:  # the plan found it equal to what runs
            return new, new
        return Side(load_cfn(self.cfn.template_body(self._name(stack))), current.parameters), new

    def _mark_drift(self, plan: Plan) -> None:
        """Detect drift on the stacks the plan changes; a changed resource that drifted
        tells the reviewer the apply overwrites a hand change."""
        changing = {s.stack: s.stack_name for s in plan.stacks
                    if s.resources and s.state != CREATE}
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

    def _placeholder(self, stack: str, current: StackInfo | None,
                     waiting_for: list[str]) -> StackPlan:
        state = AFTER_UPSTREAM_CREATE if current is None else AFTER_UPSTREAM_APPLY
        return StackPlan(stack=stack, stack_name=self._name(stack), state=state,
                         template_sha256=self.rendered.stacks[stack].template_sha256,
                         waits_for=sorted(set(waiting_for)))

    def _plan_one(self, stack: str, current: StackInfo | None) -> StackPlan:
        sha = self.rendered.stacks[stack].template_sha256
        prepared = self.prepare(stack, current, dry=True)
        if isinstance(prepared, StackResult):
            if prepared.state == "UNCHANGED":
                return StackPlan(stack=stack, stack_name=self._name(stack), state=UNCHANGED,
                                 template_sha256=sha)
            raise StackgenError(f"cannot plan {stack}: {'; '.join(prepared.reasons)}")
        change_set = self.create_change_set(prepared)
        if change_set is None:
            return StackPlan(stack=stack, stack_name=self._name(stack), state=UNCHANGED,
                             template_sha256=sha)
        return self.review(prepared, change_set)

    def _ripple(self, stack: str, plans: dict[str, StackPlan]) -> None:
        """Mark this stack's parameters that read outputs an upstream change may alter."""
        graph = self.rendered.graph
        mine = plans[stack]
        for i in graph.stacks[stack].inputs:
            up = plans.get(i.stack)
            if up is not None and i.output in up.changed_outputs:
                mine.ripple.append(f"{i.param} ← {i.stack}.{i.output}")
        if mine.ripple and mine.state == UNCHANGED:
            mine.state = AFTER_UPSTREAM_APPLY
