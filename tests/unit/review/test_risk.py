"""Risk findings of a template change (generator/review/risk.py)."""

from __future__ import annotations

import json

from generator.params import load_env
from generator.review.risk import Templates
from generator.yamlsrc import load_cfn
from tests.conftest import ROOT
from tests.helpers.rendered import _render, _resources


def test_alarms_without_a_topic_are_named_in_the_review_and_prod_notifies() -> None:
    local = _render("local")
    new = load_cfn(local.stacks["alb"].template)
    findings = Templates({}, new, {}, {}, "us-east-1").findings()
    assert any(f.startswith("Target5xxAlarm: alarm notifies no one") for f in findings)
    prod = _resources(_render("prod"), "alb")["Target5xxAlarm"]["Properties"]
    assert prod["AlarmActions"] == [prod_topic()]
    assert not Templates({}, load_cfn(_render("prod").stacks["alb"].template), {}, {},
                         "us-east-1").findings()


def prod_topic() -> str:
    topic = load_env(ROOT / "params", "prod").config.alarms.topic_arn
    assert topic is not None
    return topic


def test_review_flags_an_update_of_the_production_listener_rule() -> None:
    alb = load_cfn(_render("fargate").stacks["alb"].template)
    changed = json.loads(json.dumps(alb))
    changed["Resources"]["ProductionRule"]["Properties"]["Priority"] = 2
    findings = Templates(alb, changed, {}, {}, "us-east-1").findings()
    assert [f for f in findings if f.startswith("ProductionRule: updating this weighted rule")]
    # Creating it, or leaving it alone, is no finding.
    assert not [f for f in Templates({}, alb, {}, {}, "us-east-1").findings()
                if f.startswith("ProductionRule")]
    assert not [f for f in Templates(alb, alb, {}, {}, "us-east-1").findings()
                if f.startswith("ProductionRule")]



def test_a_literal_that_becomes_the_parameter_holding_it_predicts_no_replacement() -> None:
    """ecs's ScalableTarget after the cluster left for its own stack: ``ResourceId`` (create-
    only) goes from the cluster's name written in the Sub to ``${ClusterName}``, a parameter
    holding that name: the same value, no replacement. A parameter whose value differs still
    predicts one, and a Sub's own variable of the same name is not the parameter."""
    def target(sub: object) -> dict[str, object]:
        return {"Resources": {"ScalableTarget": {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {"ResourceId": {"Fn::Sub": sub}}}}}

    old = target("service/kubenews-local/${Service.Name}")
    new = target("service/${ClusterName}/${Service.Name}")
    same = Templates(old, new, {}, {"ClusterName": "kubenews-local"}, "us-east-1")
    assert same.predicted_replacement("ScalableTarget") is None
    other = Templates(old, new, {}, {"ClusterName": "kubenews-prod"}, "us-east-1")
    assert other.predicted_replacement("ScalableTarget") == "ResourceId"
    shadowed = target(["service/${ClusterName}/${Service.Name}",
                       {"ClusterName": {"Ref": "Other"}}])
    mine = Templates(old, shadowed, {}, {"ClusterName": "kubenews-local", "Other": "x"},
                     "us-east-1")
    assert mine.predicted_replacement("ScalableTarget") == "ResourceId"
