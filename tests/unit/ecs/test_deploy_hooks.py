"""ECS tasks before and after a stack (generator/ecs/deploy_hooks.py), on responses of the
real APIs' shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from botocore.stub import Stubber

from generator.aws.cfn import CloudFormation
from generator.deploy.engine import Deployer
from generator.deploy.stack_work import DeployOptions
from generator.ecs.deploy_hooks import EcsHooks
from generator.ecs.run_task import TaskFailed
from generator.references import Lookups
from generator.render import Rendered
from generator.ui import Console
from tests.helpers.ecs_responses import (
    _Aws,
    _client,
)


class _Hooks:
    def __init__(self, fail_before: bool = False) -> None:
        self.fail_before = fail_before
        self.calls: list[str] = []

    def before_execute(self, stack: str, name: str, kind: str,
                       params: Mapping[str, str]) -> None:
        self.calls.append(f"before {stack} {kind}")
        if self.fail_before:
            raise TaskFailed("before task migrate failed: task migrate (abc); exit code 3")

    def after_execute(self, stack: str, name: str, kind: str) -> None:
        self.calls.append(f"after {stack}")

    def diagnose(self, stack: str, name: str) -> list[str]:
        return []


def test_a_failing_before_task_stops_the_stack_and_discards_its_change_set(
        dev: Rendered) -> None:
    from generator.review.plan import StackPlan

    cfn = _client("cloudformation")
    hooks = _Hooks(fail_before=True)
    stack = dev.stacks["ecs"].stack_name
    with Stubber(cfn) as s_cfn:
        s_cfn.add_response("delete_change_set", {}, {"ChangeSetName": "cs-1"})
        deployer = Deployer(dev, CloudFormation(cfn, sleep=lambda _: None), Lookups(None),
                            Console(color=False), lambda q: True, DeployOptions(hooks=hooks))
        deployer.outputs = {s: {} for s in dev.stacks}
        deployer.prepare_params = lambda stack: {}  # type: ignore[method-assign]
        result = deployer.execute_reviewed("ecs", stack, "UPDATE", "cs-1",
                                            StackPlan(stack="ecs", stack_name=stack,
                                                      state="update", template_sha256=""))
        s_cfn.assert_no_pending_responses()  # nothing executed; the change set is gone
    assert result.state == "FAILED"
    assert result.reasons == ["before task migrate failed: task migrate (abc); exit code 3"]
    assert hooks.calls == ["before ecs UPDATE"]


def test_before_tasks_of_a_first_create_run_after_the_stack_then_after_tasks(
        dev: Rendered, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import msgspec

    cfg = dev.env.config
    service = msgspec.structs.replace(cfg.ecs.service, run_before=["migrate"],
                                      run_after=["report"])
    hooks = EcsHooks(dev, _Aws(_client("cloudformation"), {}), Console(color=False))  # type: ignore[arg-type]
    hooks.service = service
    ran: list[tuple[str, str, str]] = []
    hooks.run_hook = lambda name, task_definition, when: ran.append(  # type: ignore[method-assign]
        (name, task_definition, when))
    hooks.before_execute("ecs", "kubenews-dev-ecs", "CREATE", {})
    assert ran == []  # nothing to keep the old revision of: nothing runs before
    assert "first create: migrate run after the stack" in capsys.readouterr().out

    class _Deployed:
        def workload(self, name: str) -> Any:
            class _W:
                task_definition = f"arn:{name}"
            return _W()
    monkeypatch.setattr("generator.ecs.deploy_hooks.deployed", lambda rendered, cfn: _Deployed())
    hooks.after_execute("ecs", "kubenews-dev-ecs", "CREATE")
    assert ran == [("migrate", "arn:migrate", "before"), ("report", "arn:report", "after")]
    hooks.after_execute("network", "kubenews-dev-network", "UPDATE")  # other stacks: nothing
    assert len(ran) == 2

