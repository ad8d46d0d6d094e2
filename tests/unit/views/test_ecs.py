"""Several workloads per env (issue 14): what ecs.services and ecs.jobs render to, and
the ecs view (issue 17) that the template reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec

from generator.context import Names
from generator.params import load_env
from generator.render import render
from generator.views.ecs import build
from generator.views.ecs_types import EcsView
from generator.views.facts import Facts
from generator.yamlsrc import load_cfn
from tests.conftest import ROOT
from tests.helpers.workloads import API


def _ecs(env: str, *overrides: str) -> tuple[dict[str, Any], dict[str, Any]]:
    rendered = render(load_env(ROOT / "params", env, overrides), ROOT / "templates")
    stack = rendered.stacks["ecs"]
    return load_cfn(stack.template)["Resources"], dict(stack.parameters)


def test_dev_runs_a_worker_and_a_nightly_job_beside_the_web_service() -> None:
    res, _ = _ecs("dev")
    services = sorted(k for k, r in res.items() if r["Type"] == "AWS::ECS::Service")
    assert services == ["Service", "WorkerService"]
    worker = res["WorkerService"]["Properties"]
    assert "LoadBalancers" not in worker and worker["DeploymentConfiguration"][
        "MinimumHealthyPercent"] == 0
    assert "DesiredCount" not in worker  # its scaler owns the count
    assert res["WorkerScalableTarget"]["Properties"]["MinCapacity"] == 1
    container = res["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert container["Command"][:2] == ["node", "-e"]  # the image has no `npm run worker`
    assert container["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == "worker"
    schedule = res["NightlySchedule"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    target = schedule["Target"]
    assert target["EcsParameters"]["LaunchType"] == "EC2"
    assert target["RoleArn"] == {"Fn::GetAtt": ["NightlySchedulerRole", "Arn"]}
    # The schedule's role runs this family only and passes the two roles the task needs.
    role = res["NightlySchedulerRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == \
        "scheduler.amazonaws.com"
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    passrole = next(s for s in statements if s["Action"] == ["iam:PassRole"])
    assert passrole["Resource"] == [{"Fn::GetAtt": ["NightlyExecutionRole", "Arn"]},
                                    {"Fn::GetAtt": ["NightlyTaskRole", "Arn"]}]
    run = next(s for s in statements if s["Action"] == ["ecs:RunTask"])
    assert "task-definition/kubenews-dev-nightly:*" in run["Resource"][0]["Fn::Sub"]


def test_a_web_service_gets_a_target_group_and_a_listener_rule_of_its_own() -> None:
    res, params = _ecs("dev", *API)
    rule = res["ApiListenerRule"]["Properties"]
    assert rule["ListenerArn"] == {"Ref": "ListenerArn"} and rule["Priority"] == 10
    assert rule["Conditions"] == [{"Field": "path-pattern",
                                   "PathPatternConfig": {"Values": ["/api/*"]}}]
    api = res["ApiService"]
    assert api["DependsOn"] == ["ApiListenerRule"]
    assert api["Properties"]["LoadBalancers"] == [
        {"TargetGroupArn": {"Ref": "ApiTargetGroup"}, "ContainerName": "api", "ContainerPort": 8080}]
    mapping = res["ApiTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["PortMappings"]
    assert mapping == [{"ContainerPort": 8080, "HostPort": 0, "Protocol": "tcp"}]
    assert params["ListenerArn"] == {"From": "alb.ListenerArn"}
    assert params["VpcId"] == {"From": "network.VpcId"}


def test_workloads_on_fargate_run_in_the_app_subnets(project: Path) -> None:
    res, _ = _ecs("fargate", "ecs.service.deployment.strategy=ROLLING", *API[:3],
                  "ecs.services.api.container_port=8080", "ecs.services.api.memory_mib=512",
                  "ecs.jobs.nightly.command=[\"npm\"]", "ecs.jobs.nightly.schedule=rate(1 day)",
                  "ecs.jobs.nightly.memory_mib=512")
    ecs = res["NightlySchedule"]["Properties"]["Target"]["EcsParameters"]
    assert ecs["LaunchType"] == "FARGATE"
    assert ecs["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == {"Ref": "AppSubnetIds"}
    assert res["ApiTargetGroup"]["Properties"]["TargetType"] == "ip"


def test_the_ecs_template_reads_only_its_view() -> None:
    """Issue 17: decisions are the view's; the template places view.*, params, outputs."""
    text = (ROOT / "templates" / "ecs.yaml.j2").read_text()
    assert "cfg." not in text and "names." not in text and " if " not in text.replace("{% if", "")
    for partial in ("task", "worker", "service", "job"):
        body = (ROOT / "templates" / "partials" / f"{partial}.j2").read_text()
        assert "cfg." not in body and "names." not in body


def test_every_view_field_is_placed_by_a_template() -> None:
    """No dead view attributes: each field of the ecs view types appears in a template."""
    text = "".join(p.read_text() for p in [ROOT / "templates" / "ecs.yaml.j2",
                                          *(ROOT / "templates" / "partials").glob("*.j2")])
    cfg = load_env(ROOT / "params", "dev").config
    view = build(cfg, Names(cfg.project, "dev"), Facts.of(cfg)).view
    assert isinstance(view, EcsView)
    seen: set[type] = set()

    def walk(obj: Any) -> None:
        if isinstance(obj, (list, tuple)):
            for item in obj:
                walk(item)
        if not isinstance(obj, msgspec.Struct) or type(obj) in seen:
            return
        seen.add(type(obj))
        for f in msgspec.structs.fields(obj):
            assert re.search(rf"\.{f.name}\b", text), f"{type(obj).__name__}.{f.name} unused"
            walk(getattr(obj, f.name))

    walk(view)
    dev = load_env(ROOT / "params", "dev", API).config
    walk(build(dev, Names(cfg.project, "dev"), Facts.of(dev)).view)


def test_every_workload_container_is_hardened_like_the_app() -> None:
    # Workers, jobs and standalone tasks run the app's image: the same read-only root,
    # non-root user and dropped capabilities (they used to run with none of them).
    for env in ("dev", "fargate"):
        res, _ = _ecs(env, 'ecs.jobs.nightly.command=["npm"]', "ecs.jobs.nightly.memory_mib=512",
                      "ecs.jobs.nightly.schedule=rate(1 day)") if env == "fargate" else _ecs(env)
        families = {k: r["Properties"] for k, r in res.items()
                    if r["Type"] == "AWS::ECS::TaskDefinition"}
        assert len(families) >= 3, sorted(families)
        for logical, props in families.items():
            for c in props["ContainerDefinitions"]:
                assert c["ReadonlyRootFilesystem"] is True, (env, logical, c["Name"])
                assert c["User"] and c["LinuxParameters"]["Capabilities"]["Drop"] == ["ALL"]
            if env == "fargate":  # no tmpfs on Fargate: scratch paths are task volumes
                assert {"Name": "scratch-tmp"} in props["Volumes"], logical
