"""Plan a whole env: create (never execute) a change set per changing stack, then
mark what the changes ripple into downstream."""

from __future__ import annotations

from generator.deploy.cfn import StackInfo
from generator.deploy.engine import StackResult, StackWork
from generator.deploy.plan import (
    AFTER_UPSTREAM_APPLY,
    AFTER_UPSTREAM_CREATE,
    CREATE,
    UNCHANGED,
    Plan,
    StackPlan,
    now,
)
from generator.errors import StackgenError


class Planner(StackWork):
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
        return Plan(env=self.rendered.env.name, created_at=now(),
                    stacks=[plans[s] for s in selected])

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
