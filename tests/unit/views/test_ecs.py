"""Several workloads per env (issue 14): what ecs.services and ecs.jobs render to, and
the ecs view (issue 17) that the template reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from generator.context import Names
from generator.params import load_env
from generator.render import render
from generator.views.ecs import build
from generator.views.ecs_types import EcsView
from generator.views.facts import Facts
from generator.yamlsrc import load_cfn
from tests.conftest import ENVS, ROOT
from tests.helpers.hardening import DIGEST, _service_containers, _value_from
from tests.helpers.rendered import EC2_ENVS, _env_vars, _render, _resources
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


# --- 7: standalone tasks get the service's DB settings -----------------------------


def test_standalone_tasks_get_the_same_db_settings_and_password_as_the_service() -> None:
    res = _resources(_render("dev"), "ecs")
    service = res["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    db_keys = {"DB_HOST", "DB_PORT", "DB_DATABASE", "DB_SSL_REQUIRE"}
    for task in ("Migrate", "Report"):
        container = res[f"{task}TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
        env = _env_vars(container)
        assert {k: env[k] for k in db_keys} == {k: _env_vars(service)[k] for k in db_keys}
    # The report task logs in as the app; migrations as the master (issue 13, gap 3).
    report = res["ReportTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert report["Secrets"] == service["Secrets"]
    migrate = res["MigrateTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert migrate["Secrets"] == [
        {"Name": "DB_PASSWORD", "ValueFrom": {"Fn::Sub": "${DbSecretArn}:password::"}},
        {"Name": "DB_USERNAME", "ValueFrom": {"Fn::Sub": "${DbSecretArn}:username::"}}]
    # dev's own values stay on top of the shared ones.
    assert _env_vars(service)["LOG_LEVEL"] == "debug"


def test_a_task_may_opt_out_of_the_db_settings() -> None:
    res = _resources(_render("dev", "ecs.tasks.report.database=false"), "ecs")
    container = res["ReportTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert "Environment" not in container and "Secrets" not in container


# --- 9: blue/green ---------------------------------------------------------------


def test_blue_green_request_scaling_tracks_both_target_groups() -> None:
    r = _render("fargate")
    assert "RequestCountLabel" not in r.stacks["ecs"].parameters
    policy = _resources(r, "ecs")["RequestScalingPolicy"]["Properties"]
    spec = policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
    groups = {d["Value"]["Ref"] for m in spec["Metrics"] if "MetricStat" in m
              for d in m["MetricStat"]["Metric"]["Dimensions"] if d["Name"] == "TargetGroup"}
    assert groups == {"TargetGroupFullName", "AlternateTargetGroupFullName"}
    returned = [m for m in spec["Metrics"] if m["ReturnData"]]
    assert len(returned) == 1 and "requests1" in returned[0]["Expression"] \
        and "requests2" in returned[0]["Expression"]
    assert r.stacks["ecs"].parameters["AlternateTargetGroupFullName"] == {
        "From": "alb.AlternateTargetGroupFullName"}


def test_rolling_request_scaling_keeps_the_predefined_metric() -> None:
    policy = _resources(_render("prod"), "ecs")["RequestScalingPolicy"]["Properties"]
    spec = policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
    assert spec["PredefinedMetricType"] == "ALBRequestCountPerTarget"


@pytest.mark.parametrize("env", ["local", "prod", "fargate"])
def test_the_5xx_alarm_fails_and_rolls_back_deployments(env: str) -> None:
    r = _render(env)
    config = _resources(r, "ecs")["Service"]["Properties"]["DeploymentConfiguration"]
    assert config["Alarms"] == {"AlarmNames": [{"Ref": "Target5xxAlarmName"}],
                                "Enable": True, "Rollback": True}
    assert r.stacks["ecs"].parameters["Target5xxAlarmName"] == {"From": "alb.Target5xxAlarmName"}
    outputs = load_cfn(r.stacks["alb"].template)["Outputs"]
    assert outputs["Target5xxAlarmName"]["Value"] == {"Ref": "Target5xxAlarm"}


def test_a_created_repository_is_where_every_task_takes_the_image_from() -> None:
    """Issue 27: repository.create made the repository but the tasks still pulled from
    docker.io; now they use the cluster stack's RepositoryUri with the image's tag."""
    r = _render("dev", "ecs.repository.create=true")
    assert r.graph.stacks["ecs"].upstream.count("cluster") == 1
    doc = load_cfn(r.stacks["ecs"].template)
    assert "RepositoryUri" in doc["Parameters"] and "Image" not in doc["Parameters"]
    assert r.stacks["ecs"].parameters["ImageTag"] == ":v2"
    assert r.stacks["ecs"].parameters["RepositoryUri"] == {"From": "cluster.RepositoryUri"}
    images = {k: v["Properties"]["ContainerDefinitions"][0]["Image"]
              for k, v in doc["Resources"].items() if v["Type"] == "AWS::ECS::TaskDefinition"}
    assert set(images) >= {"TaskDefinition", "WorkerTaskDefinition", "MigrateTaskDefinition"}
    assert all(i == {"Fn::Sub": "${RepositoryUri}${ImageTag}"} for i in images.values())
    digest = "sha256:" + "a" * 64
    pinned = _render("dev", "ecs.repository.create=true", f"ecs.container.image_digest={digest}")
    assert pinned.stacks["ecs"].parameters["ImageTag"] == "@" + digest
    plain = load_cfn(_render("dev").stacks["ecs"].template)
    assert plain["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0][
        "Image"] == {"Ref": "Image"}


# --- defect 3: the service waits for the capacity provider association ------------------


def test_service_depends_on_the_capacity_provider_association() -> None:
    prod = _resources(_render("prod"), "ecs")
    assert prod["Service"]["DependsOn"] == "CapacityProviderAssociation"
    assert prod["CapacityProviderAssociation"]["Properties"]["Cluster"] == {"Ref": "ClusterName"}
    assert "DependsOn" not in _resources(_render("local"), "ecs")["Service"]


# --- defect 8: what a scaler owns stays out of the template -----------------------------


@pytest.mark.parametrize("env", ENVS)
def test_desired_count_is_left_to_the_service_scaler(env: str) -> None:
    r = _render(env)
    svc = _resources(r, "ecs")["Service"]["Properties"]
    assert "DesiredCount" not in svc
    assert "DesiredCount" not in r.stacks["ecs"].parameters
    target = _resources(r, "ecs")["ScalableTarget"]["Properties"]
    assert target["MinCapacity"] == r.env.config.ecs.service.autoscaling.min_tasks


def test_desired_count_is_set_without_a_scaler() -> None:
    r = _render("local", "ecs.service.autoscaling.enabled=false", "ecs.service.desired_count=2")
    assert _resources(r, "ecs")["Service"]["Properties"]["DesiredCount"] == {"Ref": "DesiredCount"}
    assert r.stacks["ecs"].parameters["DesiredCount"] == 2
    assert "ScalableTarget" not in _resources(r, "ecs")


# --- defect 12 (ECS/ASG): ECS Exec, target group timing, AMI roll-out, one owner --------


def test_ecs_exec_gets_its_channels_and_logging() -> None:
    on = _resources(_render("local", "ecs.service.enable_execute_command=true",
                            "ecs.container.read_only_root_filesystem=false"), "ecs")
    statements = on["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    actions = {a for s in statements for a in s["Action"]}
    assert {"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"} <= actions
    logs = next(s for s in statements if "logs:PutLogEvents" in s["Action"])
    assert logs["Resource"] == {"Fn::GetAtt": ["LogGroup", "Arn"]}
    assert on["Service"]["Properties"]["EnableExecuteCommand"] is True
    off = _resources(_render("local"), "ecs")["TaskRole"]["Properties"]
    assert "Policies" not in off  # no exec, no app statements: nothing granted
    cluster = _resources(_render("local"), "cluster")["Cluster"]["Properties"]
    assert cluster["Configuration"]["ExecuteCommandConfiguration"] == {"Logging": "DEFAULT"}


@pytest.mark.parametrize("env", EC2_ENVS)
def test_only_the_service_registers_targets(env: str) -> None:
    r = _render(env)
    assert "TargetGroupARNs" not in _resources(r, "asg")["AutoScalingGroup"]["Properties"]
    assert "TargetGroupArn" not in {i.param for i in r.graph.stacks["asg"].inputs}
    assert _resources(r, "ecs")["Service"]["Properties"]["LoadBalancers"][0]["TargetGroupArn"] == {
        "Ref": "TargetGroupArn"}


def test_migrations_log_in_as_the_master() -> None:
    res = _resources(_render("dev"), "ecs")
    migrate = res["MigrateTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert _value_from(migrate)["DB_PASSWORD"] == "${DbSecretArn}:password::"


def test_the_image_is_deployed_by_digest_when_one_is_given() -> None:
    r = _render("prod", f"ecs.container.image_digest={DIGEST}")
    image = r.stacks["ecs"].parameters["Image"]
    assert image == f"docker.io/pedroheeger/curso116_kube-news@{DIGEST}"


# --- gap 9: hardened containers -------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_the_app_container_is_hardened_by_default(env: str) -> None:
    r = _render(env)
    app = _service_containers(r)["web"]
    assert app["ReadonlyRootFilesystem"] is True
    assert app["User"] == "1000:1000"
    linux = app["LinuxParameters"]
    assert linux["Capabilities"] == {"Drop": ["ALL"]}
    assert linux["InitProcessEnabled"] is True
    assert app["StopTimeout"] == 30
    task = _resources(r, "ecs")["TaskDefinition"]["Properties"]
    if r.env.config.ecs.fargate:
        # No tmpfs on Fargate: a task bind mount is the scratch space.
        assert task["Volumes"] == [{"Name": "scratch-tmp"}]
        assert app["MountPoints"] == [
            {"SourceVolume": "scratch-tmp", "ContainerPath": "/tmp", "ReadOnly": False}]
        assert "Tmpfs" not in linux
    else:
        assert linux["Tmpfs"] == [{"ContainerPath": "/tmp", "Size": 64,
                                   "MountOptions": ["nosuid", "nodev", "mode=1777"]}]
        assert "Volumes" not in task


def test_hardening_is_settable() -> None:
    r = _render("local", "ecs.container.read_only_root_filesystem=false", "ecs.container.user=null",
                "ecs.container.drop_capabilities=[]", "ecs.container.stop_timeout_seconds=90")
    app = _service_containers(r)["web"]
    assert app["ReadonlyRootFilesystem"] is False
    assert "User" not in app and "Capabilities" not in app["LinuxParameters"]
    assert "Tmpfs" not in app["LinuxParameters"]
    assert app["StopTimeout"] == 90


def test_ecs_exec_with_a_read_only_root_is_refused_at_params_time() -> None:
    """Issue 27: the ECS Exec page says the SSM agent needs a writable root file system
    and that readonlyRootFilesystem "isn't supported"; tmpfs for its paths was a guess."""
    from generator.errors import ParamsError
    from generator.params import load_env

    with pytest.raises(ParamsError) as err:
        load_env(ROOT / "params", "local", ["ecs.service.enable_execute_command=true"])
    assert "ecs.service.enable_execute_command" in str(err.value)
    assert "read_only_root_filesystem: false" in str(err.value) and err.value.exit_code == 2
    r = _render("local", "ecs.service.enable_execute_command=true",
                "ecs.container.read_only_root_filesystem=false")
    web = _service_containers(r)["web"]
    assert web["ReadonlyRootFilesystem"] is False and "Tmpfs" not in web["LinuxParameters"]

