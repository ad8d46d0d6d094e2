"""What every ECS workload has (ecs stack): secrets from Secrets Manager or SSM, task
role statements; the standalone tasks, the services beside the app (with their listener
rules) and the scheduled jobs; the task sizes Fargate accepts."""


from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from generator.config.base import EnvName, Port, Strict, doc

# ECS's valueFrom (developer guide, "Pass Secrets Manager secrets through Amazon ECS
# environment variables"): arn:aws:secretsmanager:region:account:secret:name, then
# optionally :json-key:version-stage:version-id; and an SSM parameter's ARN
# (arn:aws:ssm:region:account:parameter/name). Anchored at both ends, no wildcards:
# the execution role is granted exactly these ARNs.
_REGION = r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d"
SECRET_ARN_PATTERN = (rf"^arn:aws[a-z-]*:secretsmanager:{_REGION}:\d{{12}}:secret:[A-Za-z0-9/_+=.@-]+"
                      r"(:[A-Za-z0-9/_+=.@-]*:[A-Za-z0-9_-]*:[A-Za-z0-9_-]*)?$")
PARAMETER_ARN_PATTERN = rf"^arn:aws[a-z-]*:ssm:{_REGION}:\d{{12}}:parameter/[A-Za-z0-9_./-]+$"


class SecretRef(Strict):
    """Where a container secret comes from: exactly one of the three."""

    db_password: Annotated[
        bool, doc("the DB password of the task's login (the app's own; a task's db_login may pick master)")
    ] = False
    secretsmanager_arn: Annotated[
        Annotated[str, Meta(pattern=SECRET_ARN_PATTERN)] | None,
        doc("a Secrets Manager secret (ARN, optionally :key::)"),
    ] = None
    ssm_parameter_arn: Annotated[
        Annotated[str, Meta(pattern=PARAMETER_ARN_PATTERN)] | None,
        doc("an SSM Parameter Store parameter (ARN)"),
    ] = None


class IamStatement(Strict):
    """One IAM policy statement of a task role."""

    actions: Annotated[
        list[Annotated[str, Meta(pattern=r"^[a-z0-9-]+:[A-Za-z0-9*]+$")]],
        Meta(min_length=1),
        doc("service:Action names; no wildcards"),
    ]
    resources: Annotated[list[str], Meta(min_length=1), doc("ARNs the actions apply to")]
    effect: Annotated[Literal["Allow", "Deny"], doc("Allow or Deny")] = "Allow"


class Task(Strict):
    """A standalone task definition (batch work, a DB migration), with its own role."""

    command: Annotated[list[str], Meta(min_length=1), doc("the task's command")]
    image: Annotated[str | None, doc("defaults to the service container's image")] = None
    cpu: Annotated[int, Meta(ge=128), doc("task cpu units")] = 256
    memory_mib: Annotated[int, Meta(ge=128), doc("task memory")] = 512
    environment: Annotated[dict[EnvName, str], doc("plain values; never secrets")] = {}
    secrets: Annotated[dict[EnvName, SecretRef], doc("env vars filled from Secrets Manager or SSM")] = {}
    task_role_statements: Annotated[
        list[IamStatement], doc("what this task alone may do (its own role)")
    ] = []
    database: Annotated[
        bool, doc("gets the service's DB host, name, user, TLS setting and password; false opts out")
    ] = True
    db_login: Annotated[
        Literal["app", "master"],
        doc("`app`: the app's least-privilege login; `master`: migrations and administration"),
    ] = "app"


class Workload(Strict):
    """What every workload beside the app's web service has: its own image, command,
    size, environment, secrets and task role; the cluster, capacity and DB are shared."""

    image: Annotated[str | None, doc("defaults to the app's image (ecs.container.image)")] = None
    command: Annotated[list[str] | None, doc("overrides the image's command")] = None
    cpu: Annotated[int, Meta(ge=128), doc("task cpu units")] = 256
    memory_mib: Annotated[int, Meta(ge=128), doc("task memory")] = 512
    environment: Annotated[dict[EnvName, str], doc("plain values; never secrets")] = {}
    secrets: Annotated[dict[EnvName, SecretRef], doc("env vars filled from Secrets Manager or SSM")] = {}
    task_role_statements: Annotated[
        list[IamStatement], doc("what this workload alone may do (its own role)")
    ] = []
    database: Annotated[
        bool, doc("gets the app's DB host, name, user, TLS setting and password; false opts out")
    ] = True
    db_login: Annotated[
        Literal["app", "master"], doc("`app`: the app's least-privilege login; `master`: administration"),
    ] = "app"


class ListenerRule(Strict):
    """Which requests the load balancer's HTTPS listener sends to a web service."""

    priority: Annotated[int, Meta(ge=1, le=50000), doc("rule priority, unique per listener (lower first)")]
    hosts: Annotated[list[str], Meta(max_length=5), doc("host-header values, e.g. api.example.com")] = []
    paths: Annotated[list[Annotated[str, Meta(pattern=r"^/")]], Meta(max_length=5),
                     doc("path-pattern values, e.g. /api/*")] = []


class WorkloadScaling(Strict):
    """Service auto scaling on CPU (target tracking)."""

    enabled: Annotated[bool, doc("service auto scaling on")] = True
    min_tasks: Annotated[int, Meta(ge=0), doc("fewest tasks")] = 1
    max_tasks: Annotated[int, Meta(ge=1), doc("most tasks")] = 2
    cpu_target_percent: Annotated[float, Meta(gt=0, le=100), doc("average CPU to track")] = 60.0


class AppService(Workload):
    """Another long-running service of the env: a load-balanced `web` service with a
    listener rule of its own, or a background `worker` no load balancer reaches."""

    kind: Annotated[Literal["web", "worker"], doc("`web`: behind the load balancer; `worker`: none")] = (
        "worker"
    )
    container_port: Annotated[Port, doc("web: the port the service listens on")] = 8080
    health_check_path: Annotated[str, Meta(pattern=r"^/"), doc("web: the target group's health check")] = "/"
    rule: Annotated[ListenerRule | None, doc("web: the HTTPS listener rule that routes to it")] = None
    desired_count: Annotated[int, Meta(ge=0), doc("tasks without autoscaling")] = 1
    autoscaling: WorkloadScaling = msgspec.field(default_factory=WorkloadScaling)
    min_healthy_percent: Annotated[int, Meta(ge=0, le=100), doc("tasks kept during a deployment")] = 100
    max_percent: Annotated[int, Meta(ge=100, le=400), doc("tasks allowed during a deployment")] = 200


class Job(Workload, kw_only=True):
    """A scheduled task: EventBridge Scheduler runs it (ECS RunTask) on its schedule."""

    command: Annotated[list[str], Meta(min_length=1), doc("the job's command")]
    # Scheduler user guide, "Schedule types": cron(...), rate(...) or a one-time at(...).
    schedule: Annotated[
        str, Meta(pattern=r"^(cron|rate|at)\(.+\)$"), doc("cron(0 3 * * ? *), rate(1 hour) or at(...)")
    ]
    timezone: Annotated[str, doc("time zone of a cron or at expression (IANA name)")] = "UTC"
    enabled: Annotated[bool, doc("false keeps the schedule but runs nothing")] = True
    task_count: Annotated[int, Meta(ge=1, le=10), doc("tasks each run starts")] = 1


# Task sizes Fargate accepts: cpu units -> allowed memory (MiB).
FARGATE_SIZES: dict[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}


def fargate_size_problem(cpu: int, memory: int) -> str | None:
    allowed = FARGATE_SIZES.get(cpu)
    if allowed is None:
        return f"Fargate cpu must be one of {sorted(FARGATE_SIZES)}, not {cpu}"
    if memory not in allowed:
        lo, hi = allowed[0], allowed[-1]
        return (
            f"Fargate refuses cpu {cpu} with memory {memory}; use {lo}..{hi} MiB in steps of {allowed.step}"
        )
    return None
