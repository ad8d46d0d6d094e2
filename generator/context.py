"""The context a stack template is rendered from: its Parameters, Outputs and view.

Every stack but ecs has a frozen view of its own in ``generator/views/<stack>.py``,
built from the env's facts (``views/facts.py``); ecs still fills ``values`` here.
Templates only place values; anything computed is decided in Python, so it is
typed, testable and the same for every template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator.config import Environment, IamStatement, SecretRef, Task
from generator.graph import Stack
from generator.views import alb, asg, cert, cluster, dns, network, rds
from generator.views.common import (  # re-exported: other modules import them from here
    CHECKOV_REASONS,
    NO_EGRESS,
    Built,
    Egress,
    Ingress,
    Names,
    Output,
    Param,
    Raw,
    yaml_scalar,
)
from generator.views.common import skips as _skips
from generator.views.facts import EPHEMERAL_PORTS, Facts

__all__ = ["CHECKOV_REASONS", "EPHEMERAL_PORTS", "NO_EGRESS", "Egress", "Facts", "Ingress", "Names",
           "Output", "Param", "Raw", "StackContext", "conditions", "image_reference", "logical_id",
           "stack_context", "yaml_scalar"]


def conditions(cfg: Environment) -> frozenset[str]:
    """Named facts about an env that stacks.yaml may select inputs and stacks by."""
    return Facts.of(cfg).conditions


@dataclass
class StackContext:
    """Everything one stack template is rendered from."""

    stack: str
    cfg: Environment
    names: Names
    params: list[Param] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    view: Any = None  # the stack's frozen view (generator/views/<stack>.py); templates read view.*

    def as_template_vars(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "cfg": self.cfg,
            "names": self.names,
            "params": self.params,
            "outputs": self.outputs,
            "view": self.view,
            **self.values,
        }


# Types of the Parameters that carry upstream outputs.
INPUT_TYPES = {
    "VpcId": "AWS::EC2::VPC::Id",
    "PublicSubnetIds": "List<AWS::EC2::Subnet::Id>",
    "AppSubnetIds": "List<AWS::EC2::Subnet::Id>",
    "DbSubnetIds": "List<AWS::EC2::Subnet::Id>",
    "HostedZoneId": "AWS::Route53::HostedZone::Id",
    "AlbSecurityGroupId": "AWS::EC2::SecurityGroup::Id",
    "AppSecurityGroupId": "AWS::EC2::SecurityGroup::Id",
}


def _input_params(stack: Stack) -> list[Param]:
    return [
        Param(
            i.param,
            INPUT_TYPES.get(i.param, "String"),
            f"{i.output} output of the {i.stack} stack",
            source={"From": i.ref},
        )
        for i in stack.inputs
    ]


# The DB logins: the app's own (least privilege) and the master (administration,
# migrations, and creating the app's login), each in a secret of its own.
LOGIN_SECRET = {"app": "AppDbSecretArn", "master": "DbSecretArn"}


def _secret_value_from(ref: SecretRef, login: str = "app") -> str:
    if ref.db_password:
        return f'!Sub "${{{LOGIN_SECRET[login]}}}:password::"'
    return yaml_scalar(ref.secretsmanager_arn or ref.ssm_parameter_arn)


def _execution_statements(refs: list[SecretRef], db_secrets: set[str]) -> list[dict[str, Any]]:
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
    return statements


def _statements(stmts: list[IamStatement]) -> list[dict[str, Any]]:
    return [
        {"Effect": s.effect, "Action": sorted(s.actions), "Resource": sorted(s.resources)}
        for s in stmts
    ]


# --- one builder per stack ------------------------------------------------------


def _db_env(cfg: Environment) -> dict[str, str]:
    """How the app reaches the DB; the service and (unless they opt out) standalone tasks
    get the same. kube-news opens TLS only with DB_SSL_REQUIRE=true (src/models/post.js);
    PostgreSQL 15+ on RDS refuses plaintext (default rds.force_ssl=1), older accepts TLS."""
    return {
        "DB_DATABASE": yaml_scalar(cfg.rds.database_name),
        "DB_HOST": "!Ref DbEndpoint",
        "DB_PORT": "!Ref DbPort",
        "DB_SSL_REQUIRE": yaml_scalar("true"),
    }


def _container_env(cfg: Environment) -> list[dict[str, str]]:
    env = _db_env(cfg)
    env.update({k: yaml_scalar(v) for k, v in cfg.ecs.container.environment.items()})
    return [{"name": k, "value": env[k]} for k in sorted(env)]


def _task_env(cfg: Environment, task: Task) -> list[dict[str, str]]:
    env = _db_env(cfg) if task.database else {}
    env.update({k: yaml_scalar(v) for k, v in task.environment.items()})
    return [{"name": k, "value": env[k]} for k in sorted(env)]


def _task_secrets(task: Task) -> dict[str, SecretRef]:
    """A task's own secrets, on top of the DB password it shares with the service."""
    base = {"DB_PASSWORD": SecretRef(db_password=True)} if task.database else {}
    return {**base, **task.secrets}


def _secrets_list(secrets: dict[str, SecretRef], login: str = "app",
                  database: bool = True) -> list[dict[str, str]]:
    """Container secrets; with the DB, DB_USERNAME comes from the login's secret too
    (the app's own login, or the master one for a `db_login: master` task)."""
    items = {k: _secret_value_from(v, login) for k, v in secrets.items()}
    if database:
        items.setdefault("DB_USERNAME", f'!Sub "${{{LOGIN_SECRET[login]}}}:username::"')
    return [{"name": k, "value_from": items[k]} for k in sorted(items)]


def image_reference(image: str, digest: str | None) -> str:
    """``repo:tag`` or, with a digest, ``repo@sha256:...``: the exact image, which a
    re-pushed tag cannot change under a running service."""
    if not digest:
        return image
    repo = image.split("@", 1)[0]
    if ":" in repo.rsplit("/", 1)[-1]:
        repo = repo.rsplit(":", 1)[0]
    return f"{repo}@{digest}"


# Creates (or updates) the app's login with the master login, before the app starts:
# an init container of the service's task, idempotent, serialised by an advisory lock
# (tasks start side by side). The app may use and create tables in schema public (it
# may create its own tables at start) but is no superuser, cannot create roles or
# databases. psql 15+ (\getenv) keeps both passwords out of the command line.
DB_BOOTSTRAP_SQL = r"""\set ON_ERROR_STOP on
\getenv app_user APP_DB_USERNAME
\getenv app_password APP_DB_PASSWORD
SELECT pg_advisory_lock(1313);
SELECT format('CREATE ROLE %I LOGIN', :'app_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'app_user', :'app_password') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), :'app_user') \gexec
SELECT format('GRANT USAGE, CREATE ON SCHEMA public TO %I', :'app_user') \gexec
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I', :'app_user') \gexec
SELECT format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', :'app_user') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', :'app_user') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I', :'app_user') \gexec
SELECT pg_advisory_unlock(1313);
"""  # noqa: E501
DB_BOOTSTRAP_CONTAINER = "db-bootstrap"


def _db_bootstrap(cfg: Environment) -> dict[str, Any]:
    master, app = LOGIN_SECRET["master"], LOGIN_SECRET["app"]
    return {
        "name": DB_BOOTSTRAP_CONTAINER,
        "image": yaml_scalar(cfg.rds.bootstrap_image),
        "command": ["sh", "-c", "printf '%s' \"$BOOTSTRAP_SQL\" | psql --no-psqlrc --quiet"],
        "environment": [
            {"name": "BOOTSTRAP_SQL", "value": yaml_scalar(DB_BOOTSTRAP_SQL)},
            {"name": "PGDATABASE", "value": yaml_scalar(cfg.rds.database_name)},
            {"name": "PGHOST", "value": "!Ref DbEndpoint"},
            {"name": "PGPORT", "value": "!Ref DbPort"},
            # TLS, as the app: the DB refuses plaintext (rds.force_ssl).
            {"name": "PGSSLMODE", "value": yaml_scalar("require")},
        ],
        "secrets": [
            {"name": "APP_DB_PASSWORD", "value_from": f'!Sub "${{{app}}}:password::"'},
            {"name": "APP_DB_USERNAME", "value_from": f'!Sub "${{{app}}}:username::"'},
            {"name": "PGPASSWORD", "value_from": f'!Sub "${{{master}}}:password::"'},
            {"name": "PGUSER", "value_from": f'!Sub "${{{master}}}:username::"'},
        ],
    }


# ECS Exec's SSM agent writes here inside the container (ECS developer guide, "Monitor
# Amazon ECS containers with ECS Exec", considerations for read-only root file systems).
EXEC_WRITABLE_PATHS = ("/var/lib/amazon", "/var/log/amazon")


def _hardening(cfg: Environment) -> dict[str, Any]:
    """Container hardening shared by the app and its init container (issue 13): a
    read-only root with writable scratch paths, a non-root user, dropped capabilities
    (EC2 and Fargate both take Capabilities.Drop), an init process, a stop timeout.
    Scratch paths are tmpfs mounts on EC2 (mode 1777, so any user may write) and task
    bind mounts on Fargate, which has no tmpfs (ECS task definition parameters)."""
    c, ecs = cfg.ecs.container, cfg.ecs
    paths = list(c.scratch_paths) if c.read_only_root_filesystem else []
    if c.read_only_root_filesystem and ecs.service.enable_execute_command:
        paths += [p for p in EXEC_WRITABLE_PATHS if p not in paths]
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
    return {
        "read_only": c.read_only_root_filesystem,
        "user": c.user,
        "linux_parameters": linux,
        "mount_points": mounts,
        "volumes": volumes,
        "stop_timeout": c.stop_timeout_seconds,
    }


def logical_id(name: str) -> str:
    """A CloudFormation logical id from a stack or task name: `db-migrate` -> `DbMigrate`."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def _exec_statements(enabled: bool) -> list[dict[str, Any]]:
    """ECS Exec: the SSM agent in the task opens its channels as the task role, and the
    cluster's DEFAULT logging writes the session to the task's own log group (ECS
    developer guide, "Monitor Amazon ECS containers with ECS Exec", IAM permissions)."""
    if not enabled:
        return []
    return [
        # ssmmessages has no resource-level permissions.
        {"Effect": "Allow", "Resource": "*", "Action": [
            "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]},
        {"Effect": "Allow", "Resource": "*", "Action": ["logs:DescribeLogGroups"]},
        {"Effect": "Allow", "Resource": Raw("!GetAtt LogGroup.Arn"), "Action": [
            "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]},
    ]


def _ecs(ctx: StackContext) -> None:
    cfg, ecs = ctx.cfg, ctx.cfg.ecs
    svc = ecs.service
    ctx.params.append(
        Param("Image", description="container image of the app (by digest when one is set)",
              value=image_reference(ecs.container.image, ecs.container.image_digest)))
    if not svc.scaled:
        # With a scaler, DesiredCount stays out of the template: every update that
        # touched the service would reset what auto scaling chose (aws/containers-
        # roadmap#493). Omitted, a create starts 1 task (CloudFormation user guide,
        # AWS::ECS::Service DesiredCount) and registering the scalable target moves it
        # into [MinCapacity, MaxCapacity] at once (Application Auto Scaling API
        # reference, RegisterScalableTarget); an update keeps the running count.
        ctx.params.append(
            Param("DesiredCount", "Number", "tasks of the service", value=svc.desired_count))
    all_refs = list(ecs.container.secrets.values()) + [
        r for t in ecs.tasks.values() for r in _task_secrets(t).values()
    ]
    # The app's login (service), the master one (its init container creating the
    # app's login, and `db_login: master` tasks such as migrations).
    db_secrets = {LOGIN_SECRET["app"], LOGIN_SECRET["master"]}
    capacity_provider = not ecs.fargate and cfg.asg.scaling.mode == "capacity_provider"
    scaling = svc.autoscaling
    tasks = [
        {
            "id": logical_id(name),
            "family": ctx.names.resource(name),
            "name": name,
            "image": yaml_scalar(t.image) if t.image else "!Ref Image",
            "command": t.command,
            "cpu": t.cpu,
            "memory": t.memory_mib,
            "environment": _task_env(cfg, t),
            "secrets": _secrets_list(_task_secrets(t), t.db_login, t.database),
            "statements": _statements(t.task_role_statements),
        }
        for name, t in sorted(ecs.tasks.items())
    ]
    ctx.values.update(
        network_mode=ecs.effective_network_mode,
        compatibility="FARGATE" if ecs.fargate else "EC2",
        capacity_provider=capacity_provider,
        host_port=(
            ecs.container.container_port
            if ecs.effective_network_mode in ("awsvpc", "host")
            else ecs.container.host_port
        ),
        environment=_container_env(cfg),
        secrets=_secrets_list(ecs.container.secrets),
        execution_statements=_execution_statements(all_refs, db_secrets),
        db_bootstrap=_db_bootstrap(cfg),
        hardening=_hardening(cfg),
        task_statements=_statements(ecs.task_role_statements) + _exec_statements(svc.enable_execute_command),
        set_desired=not svc.scaled,
        placement_strategies=[
            {"Type": s.type, **({"Field": s.field} if s.field else {})}
            for s in svc.placement_strategies
        ],
        placement_constraints=[
            {"Type": c.type, **({"Expression": c.expression} if c.expression else {})}
            for c in svc.placement_constraints
        ],
        blue_green=svc.deployment.strategy == "BLUE_GREEN",
        cpu_scaling=scaling.enabled and scaling.cpu_target_percent is not None,
        request_scaling=scaling.enabled and scaling.requests_per_target is not None,
        # Both target groups' requests over both groups' healthy targets: whichever
        # group is live after a blue/green swap, the policy sees its traffic.
        request_target_groups=["TargetGroupFullName", "AlternateTargetGroupFullName"]
        if svc.deployment.strategy == "BLUE_GREEN" else [],
        tasks=tasks,
        log_group_name=f"/ecs/{ctx.names.prefix}",
    )
    ctx.outputs += [
        Output("ServiceName", "!GetAtt Service.Name", "ECS service"),
        Output("TaskDefinitionArn", "!Ref TaskDefinition", "task definition of the service"),
        Output("LogGroupName", "!Ref LogGroup", "container logs"),
        *(
            Output(f"{t['id']}TaskDefinitionArn", f"!Ref {t['id']}TaskDefinition",
                   f"standalone task {t['name']}")
            for t in tasks
        ),
    ]


def _checkov(cfg: Environment) -> dict[str, list[dict[str, str]]]:
    """The skips ecs.yaml.j2 reads (every other stack's are attributes of its view)."""
    return {"log_group": _skips("CKV_AWS_158")}


# One module per stack under generator/views/, built from the env's facts.
VIEWS: dict[str, Callable[[Environment, Names, Facts], Built[Any]]] = {
    "network": network.build,
    "dns": dns.build,
    "cluster": cluster.build,
    "cert": cert.build,
    "alb": alb.build,
    "asg": asg.build,
    "rds": rds.build,
}

BUILDERS: dict[str, Callable[[StackContext], None]] = {
    "ecs": _ecs,
}


def stack_context(stack: Stack, cfg: Environment, names: Names,
                  facts: Facts | None = None) -> StackContext:
    facts = facts or Facts.of(cfg)
    ctx = StackContext(stack.name, cfg, names)
    view = VIEWS.get(stack.name)
    if view:
        built = view(cfg, names, facts)
        ctx.view = built.view
        ctx.params += built.params
        ctx.outputs += built.outputs
    else:
        ctx.values["checkov"] = _checkov(cfg)
    builder = BUILDERS.get(stack.name)
    if builder:
        builder(ctx)
    # Upstream inputs come last so a stack may not redefine them by accident.
    defined = {p.name for p in ctx.params}
    ctx.params += [p for p in _input_params(stack) if p.name not in defined]
    return ctx
