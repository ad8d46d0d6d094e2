"""CloudFormation express mode where the env asks for it (issue 16, item 4).

The API has it: ``DeploymentConfig {Mode: EXPRESS}`` on CreateChangeSet (botocore's service
model, CloudFormation user guide "Deploy CloudFormation stacks faster with express mode").
Executing the change set then runs in express mode. Refused for prod-like envs, where the
guide says to keep the default mode; shown in the plan.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from generator.aws.cfn import EXPRESS, CloudFormation
from generator.params import load_env
from generator.review.plan import Plan
from generator.review.plan_report import EXPRESS_NOTE, markdown, show_plan
from generator.ui import Console
from tests.conftest import ROOT
from tests.helpers.express import STACK


def _client() -> Any:
    return boto3.client("cloudformation", region_name="us-east-1",  # loopback, never AWS
                        endpoint_url="http://127.0.0.1:9",
                        aws_access_key_id="x", aws_secret_access_key="x")


def _change_set_params(express: bool) -> dict[str, Any]:
    params: dict[str, Any] = {
        "StackName": STACK, "ChangeSetName": "cs", "ChangeSetType": "CREATE",
        "TemplateBody": "{}", "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM",
                                               "CAPABILITY_AUTO_EXPAND"],
        "Description": "d", "Parameters": [], "Tags": []}
    if express:
        params["DeploymentConfig"] = {"Mode": "EXPRESS", "DisableRollback": False}
    return params


@pytest.mark.parametrize("express", [True, False])
def test_the_change_set_asks_for_express_only_when_told(express: bool) -> None:
    """The Stubber checks the request against botocore's model: the API takes it."""
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("create_change_set", {"Id": "cs-id", "StackId": "stack-id"},
                          _change_set_params(express))
        CloudFormation(client).create_change_set(STACK, "cs", "CREATE", "{}", {}, {}, "d",
                                                 express=express)
        stub.assert_no_pending_responses()
    assert EXPRESS["DisableRollback"] is False  # a failed stack still rolls back


def test_params_take_express_for_a_dev_like_env() -> None:
    env = load_env(ROOT / "params", "dev", ["deployment_mode=express"])
    assert env.config.deployment_mode == "express"
    assert load_env(ROOT / "params", "dev").config.deployment_mode == "standard"


def test_the_plan_shows_express(capsys: pytest.CaptureFixture[str]) -> None:
    plan = Plan(env="dev", created_at="now", deployment_mode="express")
    assert EXPRESS_NOTE in markdown(plan)
    show_plan(Console(color=False), plan, diff=False)
    assert EXPRESS_NOTE in capsys.readouterr().out
    standard = Plan(env="dev", created_at="now")
    assert "express" not in markdown(standard)
    assert json.loads(plan.to_json())["deployment_mode"] == "express"


# --- issue 27: no express stack whose outputs need readiness downstream ---------------


def _rendered(*overrides: str) -> Any:
    from generator.render import render

    return render(load_env(ROOT / "params", "dev", ["deployment_mode=express", *overrides]),
                  ROOT / "templates")


def test_stacks_whose_readers_need_them_ready_run_standard() -> None:
    from generator.deploy.express import runs_express, standard_stacks

    r = _rendered()
    kept = standard_stacks(r)
    assert set(kept) == {"cert", "rds"}
    assert "alb read its outputs" in kept["cert"] and "ecs" in kept["rds"]
    assert [s for s in r.graph.order if runs_express(r, s)] == [
        s for s in r.graph.order if s not in ("cert", "rds")]
    assert not runs_express(r, "root")  # the nested root creates them in one operation
    assert standard_stacks(_rendered("deployment_mode=standard")) == {}


def test_the_deployer_sends_express_only_for_stacks_nobody_needs_ready() -> None:
    from generator.deploy.engine import Deployer
    from generator.deploy.stack_work import DeployOptions, Prepared
    from generator.references import Lookups

    sent: dict[str, bool] = {}

    class _Cfn:
        def create_change_set(self, name: str, *args: Any, express: bool = False,
                              **kwargs: Any) -> None:
            sent[name] = express

    r = _rendered()
    deployer = Deployer(r, _Cfn(), Lookups(None), Console(color=False),  # type: ignore[arg-type]
                        lambda q: True, DeployOptions(commit="x"))
    for stack in ("network", "cert", "alb", "rds", "ecs"):
        deployer.create_change_set(Prepared(stack, stack, "CREATE", "{}", {}, {}, None, None))
    assert sent == {"network": True, "cert": False, "alb": True, "rds": False, "ecs": True}


def test_the_plan_says_which_stacks_stay_standard(capsys: pytest.CaptureFixture[str]) -> None:
    plan = Plan(env="dev", created_at="now", deployment_mode="express",
                standard_stacks={"cert": "the certificate must be issued first"})
    show_plan(Console(color=False), plan, diff=False)
    assert "cert: standard mode: the certificate must be issued first" in capsys.readouterr().out
    assert "> - cert: standard mode" in markdown(plan)
