"""The cluster and ecs stacks' params: the cluster, the app's container, task
definition and service (placement, deployment, scaling, verification), its repository,
and the workloads beside it (generator/config/workloads.py)."""


from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from generator.config.base import EnvName, LogRetention, Name, Port, Strict, doc
from generator.config.workloads import AppService, IamStatement, Job, SecretRef, Task


class PlacementStrategy(Strict):
    """How tasks are spread over instances, applied in order (EC2 only)."""

    type: Annotated[Literal["random", "binpack", "spread"], doc("random, binpack or spread")]
    field: Annotated[str | None, doc("binpack: cpu|memory; spread: an attribute")] = None


class PlacementConstraint(Strict):
    """Where tasks may run (EC2 only)."""

    type: Annotated[Literal["distinctInstance", "memberOf"], doc("distinctInstance or memberOf")]
    expression: Annotated[str | None, doc("memberOf: a cluster query expression")] = None


def _db_password_secret() -> dict[EnvName, SecretRef]:
    return {"DB_PASSWORD": SecretRef(db_password=True)}


class Container(Strict):
    """The app's container."""

    name: Annotated[Name, doc("container name")] = "web"
    image: Annotated[str, doc("image from any registry, ECR included")] = (
        "docker.io/pedroheeger/curso116_kube-news:v2"
    )
    cpu: Annotated[int, Meta(ge=0), doc("container cpu units")] = 128
    memory_mib: Annotated[int, Meta(ge=6), doc("container hard memory limit")] = 256
    container_port: Annotated[Port, doc("port the app listens on")] = 8080
    host_port: Annotated[Port, doc("EC2 bridge mode; 0 picks a dynamic port")] = 80
    command: Annotated[list[str] | None, doc("overrides the image's command")] = None
    npm_scripts: Annotated[
        list[Annotated[str, Meta(pattern=r"^[A-Za-z0-9:_.-]+$")]] | None,
        doc("the npm scripts the image's package.json has: a workload of this image whose "
            "command is `npm run X` must name one; null: not checked"),
    ] = None
    image_architecture: Annotated[
        Literal["X86_64", "ARM64"] | None,
        doc("the CPU architecture the image is built for; ecs.cpu_architecture must match "
            "(a plain `docker build` on an x86 host makes X86_64 only); null: unknown here, "
            "`forecast` reads the image's manifest (F501)"),
    ] = None
    environment: Annotated[dict[EnvName, str], doc("plain values; never secrets")] = {}
    secrets: Annotated[dict[EnvName, SecretRef], doc("env vars filled from Secrets Manager or SSM")] = (
        msgspec.field(default_factory=_db_password_secret)
    )
    image_digest: Annotated[
        Annotated[str, Meta(pattern=r"^sha256:[0-9a-f]{64}$")] | None,
        doc("deploy this exact image (repository@digest) instead of the mutable tag"),
    ] = None
    # Hardening (issue 13): kube-news is a Node app that writes nothing but maybe /tmp.
    read_only_root_filesystem: Annotated[bool, doc("the container's root file system is read-only")] = True
    scratch_paths: Annotated[
        list[Annotated[str, Meta(pattern=r"^/[A-Za-z0-9_./-]*$")]],
        doc("writable scratch volumes (task-scoped, empty at start) when the root is read-only"),
    ] = msgspec.field(default_factory=lambda: ["/tmp"])
    user: Annotated[
        Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]+(:[A-Za-z0-9_-]+)?$")] | None,
        doc("user[:group] the app runs as; null keeps the image's (root for kube-news)"),
    ] = "1000:1000"
    drop_capabilities: Annotated[
        list[Annotated[str, Meta(pattern=r"^[A-Z_]+$")]], doc("Linux capabilities dropped (ALL by default)")
    ] = msgspec.field(default_factory=lambda: ["ALL"])
    init_process: Annotated[bool, doc("an init process reaps zombies and forwards signals")] = True
    stop_timeout_seconds: Annotated[
        int, Meta(ge=2, le=120), doc("time between SIGTERM and SIGKILL on stop")
    ] = 30


class Deployment(Strict):
    """How the service replaces tasks on a deployment."""

    min_healthy_percent: Annotated[int, Meta(ge=0, le=100), doc("tasks kept running during a deployment")] = (
        100
    )
    max_percent: Annotated[
        int, Meta(ge=100, le=400), doc("tasks allowed during a deployment (200 lets one task be replaced)")
    ] = 200
    circuit_breaker: Annotated[bool, doc("stop a failing deployment")] = True
    rollback: Annotated[bool, doc("and roll it back")] = True
    strategy: Annotated[
        Literal["ROLLING", "BLUE_GREEN"],
        doc("ROLLING, or BLUE_GREEN: a second target group, traffic shifted after a bake time"),
    ] = "ROLLING"
    bake_time_minutes: Annotated[
        int, Meta(ge=0, le=1440), doc("BLUE_GREEN: minutes both revisions run before the old goes")
    ] = 5


class ServiceScaling(Strict):
    """Service auto scaling: target tracking on CPU and/or ALB requests per target."""

    enabled: Annotated[bool, doc("service auto scaling on")] = True
    min_tasks: Annotated[int, Meta(ge=0), doc("fewest tasks")] = 1
    max_tasks: Annotated[int, Meta(ge=1), doc("most tasks")] = 4
    cpu_target_percent: Annotated[
        Annotated[float, Meta(gt=0, le=100)] | None, doc("average CPU to track; null for none")
    ] = 60.0
    requests_per_target: Annotated[Annotated[int, Meta(ge=1)] | None, doc("ALB requests per target")] = None
    scale_in_cooldown_seconds: Annotated[int, doc("wait after scaling in")] = 60
    scale_out_cooldown_seconds: Annotated[int, doc("wait after scaling out")] = 60


class Verify(Strict):
    """What deploy checks after the ecs stack: the service steady, and optionally the
    domain's health path over HTTPS (only ever the env's own domain)."""

    wait_steady: Annotated[
        bool, doc("wait until running == desired, the deployment completed, targets healthy")
    ] = True
    steady_timeout_seconds: Annotated[int, Meta(ge=10, le=3600), doc("how long to wait")] = 600
    probe_path: Annotated[
        Annotated[str, Meta(pattern=r"^/")] | None,
        doc("GET https://<dns.domain><path> after deploy; null: no probe"),
    ] = None
    probe_status: Annotated[int, Meta(ge=100, le=599), doc("status the probe expects")] = 200
    probe_timeout_seconds: Annotated[int, Meta(ge=1, le=120), doc("probe time limit")] = 10


def _distinct_instance() -> list[PlacementConstraint]:
    return [PlacementConstraint(type="distinctInstance")]


class Service(Strict):
    """The long-running ECS service behind the load balancer."""

    desired_count: Annotated[
        int, Meta(ge=0), doc("tasks to run without autoscaling; with it the service starts at min_tasks")
    ] = 1
    scheduling_strategy: Annotated[
        Literal["REPLICA", "DAEMON"], doc("REPLICA, or DAEMON (one per instance)")
    ] = "REPLICA"
    health_check_grace_period_seconds: Annotated[
        int, Meta(ge=0), doc("time before load balancer checks count")
    ] = 60
    placement_strategies: Annotated[list[PlacementStrategy], Meta(max_length=5), doc("applied in order")] = []
    placement_constraints: Annotated[
        list[PlacementConstraint], Meta(max_length=10), doc("distinctInstance, memberOf (EC2 only)")
    ] = msgspec.field(default_factory=_distinct_instance)
    deployment: Deployment = msgspec.field(default_factory=Deployment)
    autoscaling: ServiceScaling = msgspec.field(default_factory=ServiceScaling)
    enable_execute_command: Annotated[bool, doc("allow ECS Exec into tasks")] = False
    run_before: Annotated[
        list[Name], doc("ecs.tasks run before the service's new revision (migrations)")
    ] = []
    run_after: Annotated[list[Name], doc("ecs.tasks run after the ecs stack deployed")] = []
    verify: Verify = msgspec.field(default_factory=Verify)

    @property
    def scaled(self) -> bool:
        """Application Auto Scaling owns DesiredCount: the template must not set it."""
        return self.autoscaling.enabled and self.scheduling_strategy == "REPLICA"

    @property
    def initial_count(self) -> int:
        """Tasks right after a create: the scaler's minimum, else desired_count."""
        return self.autoscaling.min_tasks if self.scaled else self.desired_count


class Repository(Strict):
    """An ECR repository of the env's own (cluster stack): immutable tags, scan on push."""

    create: Annotated[bool, doc("create the repository (images then come from it by digest)")] = False
    scan_on_push: Annotated[bool, doc("basic vulnerability scan of every pushed image")] = True
    kms_key_arn: Annotated[
        str | None, doc("customer managed key; the AWS managed aws/ecr key when null")
    ] = None


class Ecs(Strict):
    """The ECS cluster, the app's task definition and service, and standalone tasks."""

    launch_type: Annotated[Literal["EC2", "FARGATE"], doc("EC2 capacity (asg stack) or Fargate")] = "EC2"
    network_mode: Annotated[
        Literal["bridge", "awsvpc", "host"] | None, doc("default: bridge on EC2, awsvpc on Fargate")
    ] = None
    cpu: Annotated[int, Meta(ge=128), doc("task cpu units")] = 256
    memory_mib: Annotated[int, Meta(ge=128), doc("task memory")] = 512
    cpu_architecture: Annotated[Literal["X86_64", "ARM64"], doc("X86_64 or ARM64")] = "X86_64"
    os_family: Annotated[Literal["LINUX"], doc("task operating system")] = "LINUX"
    container_insights: Annotated[
        Literal["enabled", "enhanced", "disabled"], doc("CloudWatch Container Insights on the cluster")
    ] = "enabled"
    log_retention_days: Annotated[LogRetention, doc("CloudWatch Logs retention")] = 30
    assign_public_ip: Annotated[bool, doc("Fargate tasks in public subnets need it")] = True
    container: Container = msgspec.field(default_factory=Container)
    repository: Repository = msgspec.field(default_factory=Repository)
    service: Service = msgspec.field(default_factory=Service)
    task_role_statements: Annotated[
        list[IamStatement], doc("what the app itself may do (its task role)")
    ] = []
    tasks: Annotated[dict[Name, Task], doc("standalone task definitions")] = {}
    services: Annotated[
        dict[Name, AppService], doc("more services beside the app's own (ecs.service): web or worker")
    ] = {}
    jobs: Annotated[dict[Name, Job], doc("scheduled tasks (EventBridge Scheduler)")] = {}

    @property
    def fargate(self) -> bool:
        return self.launch_type == "FARGATE"

    @property
    def effective_network_mode(self) -> str:
        return self.network_mode or ("awsvpc" if self.fargate else "bridge")
