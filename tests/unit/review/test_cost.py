"""The review's cost (generator/review/cost.py), computed from templates alone."""

from __future__ import annotations

import pytest

from generator.params import load_env
from generator.render import render
from generator.review import prices
from generator.review.cost import EMPTY, Side, env_cost
from generator.yamlsrc import load_cfn
from tests.conftest import ROOT

# --- cost ---------------------------------------------------------------------------------


def _sides(env: str, overrides: tuple[str, ...] = ()) -> dict[str, Side]:
    rendered = render(load_env(ROOT / "params", env, overrides), ROOT / "templates")
    out = {}
    for name, stack in rendered.stacks.items():
        params = {k: str(v) for k, v in stack.parameters.items() if not isinstance(v, dict)}
        params.setdefault("PublicSubnetIds", "subnet-a,subnet-b")
        out[name] = Side(load_cfn(stack.template), params)
    return out


def test_prod_costs_its_instances_database_nat_and_load_balancer() -> None:
    cost = env_cost(prices.load(), "us-east-1", {s: (EMPTY, side)
                                                 for s, side in _sides("prod").items()})
    lines = {(s.stack, line.resource): line for s in cost.stacks for line in s.lines}
    assert lines[("asg", "AutoScalingGroup")].after.endswith("× t3.small")
    assert lines[("rds", "DbInstance")].after == "db.t3.small Multi-AZ"
    # Multi-AZ bills the standby: twice the single-AZ hourly price.
    assert lines[("rds", "DbInstance")].after_usd == pytest.approx(2 * 0.036 * 730, abs=0.01)
    assert cost.before_usd == 0 and cost.after_usd > 100
    usage = {u for s in cost.stacks for u in s.usage}
    assert any("LCU" in u for u in usage) and any("log ingestion" in u for u in usage)


def test_more_tasks_on_ec2_cost_the_instances_they_need_beyond_the_group() -> None:
    before = _sides("local")
    after = _sides("local", ("ecs.service.desired_count=3",
                             "ecs.service.autoscaling.enabled=false"))
    cost = env_cost(prices.load(), "us-east-1", {s: (before[s], after[s]) for s in before})
    ecs = next(s for s in cost.stacks if s.stack == "ecs")
    extra = [line for line in ecs.lines if line.resource == "Service capacity"]
    assert extra and extra[0].after_usd > 0 and "more ×" in extra[0].after
    assert cost.delta == pytest.approx(extra[0].after_usd, abs=0.01)


def test_fargate_tasks_are_priced_by_vcpu_and_memory_for_their_architecture() -> None:
    cost = env_cost(prices.load(), "us-east-1", {s: (EMPTY, side)
                                                 for s, side in _sides("fargate").items()})
    (line,) = [line for s in cost.stacks for line in s.lines if line.resource == "Service"]
    assert "X86_64" in line.after  # the app's image is an x86 build (params/fargate.yaml)
    assert line.after_usd == pytest.approx((0.5 * 0.04048 + 1 * 0.004445) * 730, abs=0.01)


def test_every_service_on_ec2_counts_toward_the_instances_they_need_together() -> None:
    """dev's worker shares the fleet with the web service: their tasks are priced
    together (each at its own scalable target's minimum), not as if each had it alone."""
    before = _sides("dev")
    after = _sides("dev", ("ecs.services.worker.memory_mib=512",
                           "ecs.services.worker.autoscaling.min_tasks=4",
                           "ecs.services.worker.autoscaling.max_tasks=4"))
    cost = env_cost(prices.load(), "us-east-1", {s: (before[s], after[s]) for s in before})
    ecs = next(s for s in cost.stacks if s.stack == "ecs")
    (extra,) = [line for line in ecs.lines if line.resource.endswith("capacity")]
    # t3.micro registers ~904 MiB: 4 workers of 512 MiB need 4 instances, the web task
    # half of one; the group has 1.
    assert extra.resource == "Service capacity" and extra.before_usd == 0
    assert extra.after == "5 tasks of 2 services need 4 more × t3.micro", extra.after

