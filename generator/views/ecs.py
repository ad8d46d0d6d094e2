"""The ecs stack's view: the app's web service, more services (web or worker), standalone
tasks and scheduled jobs, each decided once here as a frozen dataclass its partial places.

Shared by every workload: the cluster, the capacity (launch type or capacity provider),
the network mode, the execution role, the log group and the DB's settings. Each workload
has its own task definition family, task role, container, environment and secrets.
"""

from __future__ import annotations

from typing import Any

from generator.config import AppService, Environment, IamStatement, Job, SecretRef, Task, Workload
from generator.views.common import (
    CHECKOV_REASONS,
    Built,
    Names,
    Output,
    Param,
    Raw,
    logical_id,
    passed_to,
    trust,
    yaml_scalar,
)
from generator.views.ecs_db import (
    LOGIN_SECRET,
    db_bootstrap,
    db_env,
    secrets_list,
    workload_secrets,
)
from generator.views.ecs_types import (
    EcsView,
    EnvVar,
    Hardening,
    Launch,
    Route,
    Scaling,
    ScheduledJob,
    ServiceWorkload,
    WebService,
    WorkloadTask,
)
from generator.views.facts import Facts

# Every task definition's execution role: pull the image, write its logs (the managed
# policy), and read the secrets of its own containers (an inline policy), nothing more.
EXECUTION_MANAGED = ("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",)

# The cluster's ARN from its name (the cluster stack's output): a schedule names it.
CLUSTER_ARN = '!Sub "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${ClusterName}"'


# --- building it ------------------------------------------------------------------


def image_reference(image: str, digest: str | None) -> str:
    """``repo:tag`` or, with a digest, ``repo@sha256:...``: the exact image, which a
    re-pushed tag cannot change under a running service."""
    if not digest:
        return image
    repo = image.split("@", 1)[0]
    if ":" in repo.rsplit("/", 1)[-1]:
        repo = repo.rsplit(":", 1)[0]
    return f"{repo}@{digest}"


def image_suffix(image: str, digest: str | None) -> str:
    """The tag (``:v2``) or digest (``@sha256:...``) of the app's image: appended to the
    env's repository URI when repository.create makes the repository."""
    ref = image_reference(image, digest)
    last = ref.rsplit("/", 1)[-1]
    if "@" in last:
        return "@" + last.split("@", 1)[1]
    return ":" + last.rsplit(":", 1)[1] if ":" in last else ":latest"


def app_image(cfg: Environment) -> str:
    """The app's image as raw YAML: the Image parameter, or, with repository.create, the
    repository's own URI (the cluster stack's RepositoryUri output) with the image's tag
    or digest: a repository the env makes is where its images are pushed and pulled
    (ECR user guide, "Pushing an image": <registry>/<repository>:<tag>)."""
    if cfg.ecs.repository.create:
        return '!Sub "${RepositoryUri}${ImageTag}"'
    return "!Ref Image"


def _execution_statements(refs: list[SecretRef], db_secrets: set[str]) -> tuple[dict[str, Any], ...]:
    """What the task execution role must read to inject secrets: those, and no more."""
    sm = sorted(
        {yaml_scalar(r.secretsmanager_arn) for r in refs if r.secretsmanager_arn}
        | {f"!Ref {name}" for name in db_secrets}
    )
    ssm = sorted({yaml_scalar(r.ssm_parameter_arn) for r in refs if r.ssm_parameter_arn})
    statements = []
    if sm:
        statements.append(
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": [Raw(a) for a in sm]}
        )
    if ssm:
        statements.append(
            {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": [Raw(a) for a in ssm]}
        )
    return tuple(statements)


def _statements(stmts: list[IamStatement]) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"Effect": s.effect, "Action": sorted(s.actions), "Resource": sorted(s.resources)}
        for s in stmts
    )


def _env(base: dict[str, str], own: dict[str, str]) -> tuple[EnvVar, ...]:
    env = {**base, **{k: yaml_scalar(v) for k, v in own.items()}}
    return tuple(EnvVar(k, env[k]) for k in sorted(env))


def _hardening(cfg: Environment) -> Hardening:
    """Container hardening shared by the app, its init container and every workload (issue
    13; ECS Exec needs a writable root, so params refuse it with a read-only one): a
    read-only root with writable scratch paths, a non-root user, dropped capabilities
    (EC2 and Fargate both take Capabilities.Drop), an init process, a stop timeout.
    Scratch paths are tmpfs mounts on EC2 (mode 1777, so any user may write) and task
    bind mounts on Fargate, which has no tmpfs (ECS task definition parameters)."""
    c, ecs = cfg.ecs.container, cfg.ecs
    paths = list(c.scratch_paths) if c.read_only_root_filesystem else []
    linux: dict[str, Any] = {"InitProcessEnabled": c.init_process}
    if c.drop_capabilities:
        linux["Capabilities"] = {"Drop": list(c.drop_capabilities)}
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    if ecs.fargate:
        for path in paths:
            name = "scratch" + path.replace("/", "-").replace(".", "-").replace("_", "-")
            volumes.append({"Name": name})
            mounts.append({"SourceVolume": name, "ContainerPath": path, "ReadOnly": False})
    elif paths:
        linux["Tmpfs"] = [{"ContainerPath": p, "Size": 64,
                           "MountOptions": ["nosuid", "nodev", "mode=1777"]} for p in paths]
    return Hardening(c.read_only_root_filesystem, c.user, linux, tuple(mounts), tuple(volumes),
                     c.stop_timeout_seconds)


def _exec_statements(enabled: bool) -> tuple[dict[str, Any], ...]:
    """ECS Exec: the SSM agent in the task opens its channels as the task role, and the
    cluster's DEFAULT logging writes the session to the task's own log group (ECS
    developer guide, "Monitor Amazon ECS containers with ECS Exec", IAM permissions)."""
    if not enabled:
        return ()
    return (
        # ssmmessages has no resource-level permissions.
        {"Effect": "Allow", "Resource": "*", "Action": [
            "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]},
        {"Effect": "Allow", "Resource": "*", "Action": ["logs:DescribeLogGroups"]},
        {"Effect": "Allow", "Resource": Raw("!GetAtt LogGroup.Arn"), "Action": [
            "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]},
    )


def _web(cfg: Environment, names: Names, launch: Launch, facts: Facts) -> WebService:
    ecs, svc = cfg.ecs, cfg.ecs.service
    scaling = svc.autoscaling
    blue_green = facts.blue_green
    cpu = scaling.enabled and scaling.cpu_target_percent is not None
    requests = scaling.enabled and scaling.requests_per_target is not None
    return WebService(
        family=names.resource("app"),
        cpu=ecs.cpu,
        memory=ecs.memory_mib,
        container_name=ecs.container.name,
        image=app_image(cfg),
        container_cpu=ecs.container.cpu,
        container_memory=ecs.container.memory_mib,
        container_port=ecs.container.container_port,
        host_port=(ecs.container.container_port if launch.network_mode in ("awsvpc", "host")
                   else ecs.container.host_port),
        command=tuple(ecs.container.command) if ecs.container.command else None,
        environment=_env(db_env(cfg), ecs.container.environment),
        secrets=secrets_list(ecs.container.secrets),
        hardening=_hardening(cfg),
        db_bootstrap=db_bootstrap(cfg),
        # The container's secrets with the app's login; db-bootstrap's, the master's
        # (and the app's, whose login it makes). The agent alone uses this role: its
        # credentials never reach a container (ECS developer guide, "Amazon ECS task
        # execution IAM role"), and db-bootstrap alone is given the master's values.
        execution_statements=_execution_statements(
            list(ecs.container.secrets.values()), {LOGIN_SECRET["app"], LOGIN_SECRET["master"]}),
        task_statements=_statements(ecs.task_role_statements)
        + _exec_statements(svc.enable_execute_command),
        desired_count=not svc.scaled,
        scheduling_strategy=svc.scheduling_strategy,
        health_check_grace_period=svc.health_check_grace_period_seconds,
        enable_execute_command=svc.enable_execute_command,
        min_healthy_percent=svc.deployment.min_healthy_percent,
        max_percent=svc.deployment.max_percent,
        circuit_breaker=svc.deployment.circuit_breaker,
        rollback=svc.deployment.rollback,
        blue_green=blue_green,
        bake_time_minutes=svc.deployment.bake_time_minutes,
        placement_strategies=tuple(
            {"Type": s.type, **({"Field": s.field} if s.field else {})}
            for s in svc.placement_strategies),
        placement_constraints=tuple(
            {"Type": c.type, **({"Expression": c.expression} if c.expression else {})}
            for c in svc.placement_constraints),
        scaling=Scaling(
            min_tasks=scaling.min_tasks, max_tasks=scaling.max_tasks,
            cpu_target_percent=scaling.cpu_target_percent if cpu else None,
            requests_per_target=scaling.requests_per_target if requests else None,
            scale_in_cooldown=scaling.scale_in_cooldown_seconds,
            scale_out_cooldown=scaling.scale_out_cooldown_seconds,
            cpu_policy_name=names.resource("cpu"), request_policy_name=names.resource("requests"),
            # Both target groups' requests over both groups' healthy targets: whichever
            # group is live after a blue/green swap, the policy sees its traffic.
            request_target_groups=("TargetGroupFullName", "AlternateTargetGroupFullName")
            if blue_green else (),
        ) if cpu or requests else None,
        cpu_alarm_topic=cfg.alarms.topic_arn,
    )


def _task(cfg: Environment, names: Names, name: str, w: Task | Workload,
          port: int | None = None, host_port: int | None = None) -> WorkloadTask:
    return WorkloadTask(
        id=logical_id(name),
        name=name,
        family=names.resource(name),
        image=yaml_scalar(w.image) if w.image else app_image(cfg),
        command=tuple(w.command) if w.command else None,
        cpu=w.cpu,
        memory=w.memory_mib,
        environment=_env(db_env(cfg) if w.database else {}, w.environment),
        secrets=secrets_list(workload_secrets(w), w.db_login, w.database),
        statements=_statements(w.task_role_statements),
        execution_statements=_execution_statements(
            list(w.secrets.values()),
            {LOGIN_SECRET[w.db_login]}
            if w.database or any(r.db_password for r in w.secrets.values()) else set()),
        execution_managed=EXECUTION_MANAGED,
        trust=trust("ecs-tasks.amazonaws.com"),
        hardening=_hardening(cfg),
        port=port,
        host_port=host_port,
    )


def _service(cfg: Environment, names: Names, launch: Launch, name: str,
             s: AppService) -> ServiceWorkload:
    route = None
    port = host_port = None
    if s.kind == "web" and s.rule is not None:
        port = s.container_port
        # Bridge mode: a dynamic host port (config refuses a static one), within the
        # ephemeral range the app's security group opens to the load balancer.
        host_port = 0 if launch.network_mode == "bridge" else s.container_port
        conditions: list[dict[str, Any]] = []
        if s.rule.hosts:
            conditions.append({"Field": "host-header",
                               "HostHeaderConfig": {"Values": list(s.rule.hosts)}})
        if s.rule.paths:
            conditions.append({"Field": "path-pattern",
                               "PathPatternConfig": {"Values": list(s.rule.paths)}})
        route = Route("ip" if launch.awsvpc else "instance", s.container_port,
                      s.health_check_path, s.rule.priority, tuple(conditions))
    scaled = s.autoscaling.enabled
    return ServiceWorkload(
        task=_task(cfg, names, name, s, port, host_port),
        desired_count=None if scaled else s.desired_count,
        min_healthy_percent=s.min_healthy_percent,
        max_percent=s.max_percent,
        scaling=Scaling(
            min_tasks=s.autoscaling.min_tasks, max_tasks=s.autoscaling.max_tasks,
            cpu_target_percent=s.autoscaling.cpu_target_percent, requests_per_target=None,
            scale_in_cooldown=60, scale_out_cooldown=60,
            cpu_policy_name=names.resource(f"{name}-cpu"), request_policy_name="",
            request_target_groups=(),
        ) if scaled else None,
        scaling_resource_id=f'!Sub "service/${{ClusterName}}/${{{logical_id(name)}Service.Name}}"',
        route=route,
    )


def _job(cfg: Environment, names: Names, name: str, j: Job) -> ScheduledJob:
    task = _task(cfg, names, name, j)
    # EventBridge Scheduler user guide, "Set up the execution role": the schedule's role
    # runs the task definition (any revision of its family) in this cluster and passes
    # the job's two roles, to ECS's tasks only, nothing more.
    statements = (
        {"Effect": "Allow", "Action": ["ecs:RunTask"],
         "Resource": [Raw(f'!Sub "arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}'
                          f':task-definition/{task.family}:*"')],
         "Condition": {"ArnLike": {"ecs:cluster": Raw(CLUSTER_ARN)}}},
        {"Effect": "Allow", "Action": ["iam:PassRole"],
         "Resource": [Raw(f"!GetAtt {task.id}ExecutionRole.Arn"),
                      Raw(f"!GetAtt {task.id}TaskRole.Arn")],
         "Condition": passed_to("ecs-tasks.amazonaws.com")},
        {"Effect": "Allow", "Action": ["ecs:TagResource"], "Resource": ["*"],
         "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}}},
    )
    return ScheduledJob(task, names.resource(name), j.schedule, j.timezone,
                        "ENABLED" if j.enabled else "DISABLED", j.task_count, statements,
                        trust("scheduler.amazonaws.com"))


def build(cfg: Environment, names: Names, facts: Facts) -> Built[EcsView]:
    ecs, svc = cfg.ecs, cfg.ecs.service
    launch = Launch(
        compatibility="FARGATE" if facts.fargate else "EC2",
        network_mode=facts.network_mode,
        capacity_provider=facts.capacity_provider,
        cpu_architecture=ecs.cpu_architecture,
        os_family=ecs.os_family,
        awsvpc=ecs.effective_network_mode == "awsvpc",
        assign_public_ip="ENABLED" if ecs.assign_public_ip else "DISABLED",
    )
    params = [Param("Image", description="container image of the app (by digest when one is set)",
                    value=image_reference(ecs.container.image, ecs.container.image_digest))]
    if ecs.repository.create:
        params = [Param("ImageTag", description="tag (:v1) or digest (@sha256:...) of the app's "
                        "image in the env's repository",
                        value=image_suffix(ecs.container.image, ecs.container.image_digest))]
    if not svc.scaled:
        # With a scaler, DesiredCount stays out of the template: every update that
        # touched the service would reset what auto scaling chose (aws/containers-
        # roadmap#493). Omitted, a create starts 1 task (CloudFormation user guide,
        # AWS::ECS::Service DesiredCount) and registering the scalable target moves it
        # into [MinCapacity, MaxCapacity] at once (Application Auto Scaling API
        # reference, RegisterScalableTarget); an update keeps the running count.
        params.append(Param("DesiredCount", "Number", "tasks of the service", value=svc.desired_count))
    tasks = tuple(_task(cfg, names, n, t) for n, t in sorted(ecs.tasks.items()))
    services = tuple(_service(cfg, names, launch, n, s) for n, s in sorted(ecs.services.items()))
    jobs = tuple(_job(cfg, names, n, j) for n, j in sorted(ecs.jobs.items()))
    view = EcsView(
        description=(f"App: ECS service in cluster {names.cluster} running {ecs.container.image} "
                     f"on {launch.compatibility} behind the load balancer"),
        launch=launch,
        log_retention_days=ecs.log_retention_days,
        log_group_skips=tuple({"id": i, "comment": CHECKOV_REASONS[i]} for i in ("CKV_AWS_158",)),
        execution_managed=EXECUTION_MANAGED,
        task_trust=trust("ecs-tasks.amazonaws.com"),
        load_balancer_trust=trust("ecs.amazonaws.com"),
        web=_web(cfg, names, launch, facts),
        web_services=tuple(s for s in services if s.route),
        workers=tuple(s for s in services if not s.route),
        tasks=tasks,
        jobs=jobs,
        cluster_arn=CLUSTER_ARN,
    )
    outputs = [
        Output("ServiceName", "!GetAtt Service.Name", "ECS service"),
        Output("TaskDefinitionArn", "!Ref TaskDefinition", "task definition of the service"),
        Output("LogGroupName", "!Ref LogGroup", "container logs"),
        *(Output(f"{t.id}TaskDefinitionArn", f"!Ref {t.id}TaskDefinition", f"standalone task {t.name}")
          for t in tasks),
    ]
    for s in services:
        outputs += [
            Output(f"{s.task.id}ServiceName", f"!GetAtt {s.task.id}Service.Name",
                   f"ECS service {s.task.name}"),
            Output(f"{s.task.id}TaskDefinitionArn", f"!Ref {s.task.id}TaskDefinition",
                   f"task definition of service {s.task.name}"),
        ]
    for j in jobs:
        outputs += [
            Output(f"{j.task.id}TaskDefinitionArn", f"!Ref {j.task.id}TaskDefinition",
                   f"task definition of job {j.task.name}"),
            Output(f"{j.task.id}ScheduleArn", f"!GetAtt {j.task.id}Schedule.Arn",
                   f"schedule of job {j.task.name}"),
        ]
    return Built(view, tuple(params), tuple(outputs))
