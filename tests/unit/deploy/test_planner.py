"""The planner (generator/deploy/planner.py): a failed create is planned as re-created."""

from __future__ import annotations

import pytest

from generator.params import load_env
from generator.render import render
from generator.ui import Console


def test_deploy_plans_a_failed_create_as_re_created_and_plan_refuses_it() -> None:
    """A ROLLBACK_COMPLETE stack (its create failed; it holds nothing): the one review
    shows it re-created, so the run does not stop to ask about it; `plan` refuses it."""
    from generator.aws.cfn import CloudFormation
    from generator.deploy.planner import Planner
    from generator.deploy.stack_work import DeployOptions
    from generator.errors import StackgenError
    from generator.references import Lookups
    from tests.conftest import ROOT
    from tests.fakes.clock import FakeClock
    from tests.fakes.cloudformation import FakeCloudFormation
    from tests.stubs import STACK

    rendered = render(load_env(ROOT / "params", "local"), ROOT / "templates")
    for recreate in (True, False):
        fake = FakeCloudFormation()
        fake.existing(STACK, rendered.stacks["network"].template, "ROLLBACK_COMPLETE")
        planner = Planner(rendered, CloudFormation(fake, waits=FakeClock().waits()),
                          Lookups(None), Console(color=False), lambda q: False,
                          DeployOptions(frozenset({"network"})))
        planner.recreate_failed = recreate
        if recreate:
            [network] = planner.plan().stacks
            assert network.state == "re-created after a failed create"
            assert network.predicted and network.change_set_id is None
            assert {r.action for r in network.resources} == {"Add"}
        else:
            with pytest.raises(StackgenError, match="ROLLBACK_COMPLETE after a failed "
                                                    "create; deploy re-creates it"):
                planner.plan()
        # A plan changes nothing: the failed stack is still there, no change set made.
        assert fake.statuses() == {STACK: "ROLLBACK_COMPLETE"} and fake.change_sets == {}

