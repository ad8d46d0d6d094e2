"""The typed params model: what a params file may say, and its defaults.

Defaults are the "better default" column of the reference deployment; the
hand setup's numbers are reproduced by ``params/local.yaml``. Cross-field
rules (min <= desired <= max, Fargate limits) live in ``__post_init__`` so the
error names the key path.

msgspec rather than pydantic: defining these ~25 types costs ~3 ms instead of
~100 ms, which matters when a whole render must fit in 0.2 s.

No ``from __future__ import annotations`` here: msgspec (converting a params file) and
``params.wants_string`` read these annotations, and as strings each would be compiled and
evaluated again in every process (~25 ms a render); evaluated once at class creation they
cost ~7 ms. So a type used in an annotation must be defined above its first use.
"""

import re
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}$"
Name = Annotated[str, Meta(pattern=NAME_PATTERN)]
# An environment variable's name, as ECS passes it to the container (Environment and
# Secrets of a container definition): the POSIX shell's portable names. A map key is
# text the template emits as a name, so it is data with a pattern, never YAML.
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
EnvName = Annotated[str, Meta(pattern=ENV_NAME_PATTERN)]

# What each key pattern means, for the one-line error of a map key that breaks it.
# Every key is checked whole (``re.fullmatch``): ``$`` alone would let a trailing
# newline through.
KEY_RULES: dict[str, str] = {
    NAME_PATTERN: "a name is lowercase letters, digits and '-', starts with a letter and "
                  "has at most 31 characters",
    ENV_NAME_PATTERN: "an environment variable name is letters, digits and '_' and does "
                      "not start with a digit",
}
Cidr = Annotated[str, Meta(pattern=r"^[0-9a-fA-F.:]+/\d{1,3}$")]
Port = Annotated[int, Meta(ge=0, le=65535)]


class Invalid(ValueError):
    """A cross-field rule is broken; ``key`` (dotted, relative to the struct that raises)
    is where the error should point, so that the line named is the key's, not the struct's."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def doc(text: str) -> Meta:
    return Meta(description=text)


class Strict(Struct, forbid_unknown_fields=True, kw_only=True):
    """Unknown keys are errors."""


# --- network ------------------------------------------------------------------


class FlowLogs(Strict):
    """VPC flow logs to CloudWatch Logs: the network half of the audit trail (issue 13)."""

    enabled: Annotated[
        bool | None, doc("on by default in prod-like envs (termination_protection: true)")
    ] = None
    traffic_type: Annotated[Literal["ALL", "ACCEPT", "REJECT"], doc("which flows are logged")] = "ALL"
    retention_days: Annotated[
        Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653],
        doc("CloudWatch Logs retention of the flow logs"),
    ] = 365


class Network(Strict):
    """The VPC: created by the network stack, or an existing one passed through."""

    mode: Annotated[
        Literal["create", "existing"], doc("`create` a VPC, or pass an `existing` one through")
    ] = "create"
    cidr: Annotated[Cidr, doc("VPC CIDR (mode create)")] = "10.0.0.0/16"
    availability_zones: Annotated[list[str], Meta(min_length=2), doc("AZs for subnets (mode create)")] = (
        msgspec.field(default_factory=lambda: ["us-east-1a", "us-east-1b"])
    )
    private_subnets: Annotated[
        bool, doc("app and DB in private subnets behind a NAT gateway (mode create)")
    ] = False
    # A NAT gateway lives in one AZ: with a single one, losing that AZ cuts every
    # private subnet off the internet (VPC user guide, "NAT gateway basics").
    nat_gateways: Annotated[
        Literal["one_per_az", "single"],
        doc("private subnets: a NAT gateway in each AZ, or one shared (cheaper, one AZ's fate)"),
    ] = "one_per_az"
    flow_logs: FlowLogs = msgspec.field(default_factory=FlowLogs)
    vpc_id: Annotated[str | None, doc("existing VPC id (mode existing)")] = None
    public_subnet_ids: Annotated[list[str], doc("existing public subnets (mode existing)")] = []
    private_subnet_ids: Annotated[
        list[str], doc("existing app/DB subnets; public ones when empty (mode existing)")
    ] = []

    def __post_init__(self) -> None:
        if self.mode == "existing":
            if not self.vpc_id:
                raise Invalid("mode 'existing' needs vpc_id", "vpc_id")
            if len(self.public_subnet_ids) < 2:
                raise Invalid("mode 'existing' needs public_subnet_ids in two AZs", "public_subnet_ids")


# --- dns ----------------------------------------------------------------------


class HostedZone(Strict):
    """The Route 53 zone the domain lives in: looked up by name, given by id, or created."""

    name: Annotated[str, doc("zone name, e.g. example.com")]
    create: Annotated[bool, doc("create the zone (else look it up by name)")] = False
    id: Annotated[str | None, doc("existing zone id; skips the lookup by name")] = None
    retain_on_delete: Annotated[bool, doc("keep a created zone when the stack goes")] = True
    parent_zone_id: Annotated[
        Annotated[str, Meta(pattern=r"^[A-Z0-9]{1,32}$")] | None,
        doc("a created zone: the parent zone (in this account) the dns stack adds its NS records to"),
    ] = None
    delegated: Annotated[
        bool,
        doc("a created zone: you added its NS records at the parent yourself (outside this account)"),
    ] = False

    def __post_init__(self) -> None:
        if not self.create and (self.parent_zone_id or self.delegated):
            raise Invalid("parent_zone_id and delegated apply only to a created zone "
                          "(create: true)", "parent_zone_id" if self.parent_zone_id else "delegated")


class Dns(Strict):
    """The app's domain, its zone, and how the record points at the load balancer."""

    domain: Annotated[str, Meta(pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$"), doc("the app's domain name")]
    zone: HostedZone
    record_type: Annotated[Literal["alias", "cname"], doc("A-alias or CNAME")] = "alias"
    cname_ttl: Annotated[int, Meta(ge=0), doc("TTL when record_type is cname")] = 300

    def __post_init__(self) -> None:
        zone = self.zone.name.rstrip(".")
        if self.domain != zone and not self.domain.endswith("." + zone):
            raise Invalid(f"domain '{self.domain}' is not inside zone '{zone}'", "domain")


# --- alb ----------------------------------------------------------------------


class HealthCheck(Strict):
    """How the load balancer checks a target."""

    path: Annotated[str, Meta(pattern=r"^/"), doc("health check path")] = "/"
    port: Annotated[str, doc("port or traffic-port")] = "traffic-port"
    protocol: Annotated[Literal["HTTP", "HTTPS"], doc("health check protocol")] = "HTTP"
    # 15 s x 2 passes: a new task is healthy in ~30 s instead of 30 s x 5 = 150 s
    # (ELB user guide, "Health checks for your target groups").
    interval_seconds: Annotated[int, Meta(ge=5, le=300), doc("time between checks")] = 15
    timeout_seconds: Annotated[int, Meta(ge=2, le=120), doc("time a check may take (< interval)")] = 5
    healthy_threshold: Annotated[int, Meta(ge=2, le=10), doc("passes before a target is healthy")] = 2
    unhealthy_threshold: Annotated[int, Meta(ge=2, le=10), doc("failures before a target is unhealthy")] = 2
    matcher: Annotated[str, doc("HTTP codes counted healthy")] = "200"

    def __post_init__(self) -> None:
        if self.timeout_seconds >= self.interval_seconds:
            raise Invalid("timeout_seconds must be less than interval_seconds", "timeout_seconds")


class TargetGroup(Strict):
    """Where the load balancer sends traffic."""

    port: Annotated[Port, doc("port the targets receive traffic on")] = 80
    protocol: Annotated[Literal["HTTP", "HTTPS"], doc("protocol to the targets")] = "HTTP"
    protocol_version: Annotated[Literal["HTTP1", "HTTP2", "GRPC"], doc("HTTP1, HTTP2 or GRPC")] = "HTTP1"
    # 30 s: the app answers short requests; ELB's 300 s default held every
    # deployment and scale-in five minutes per task (ELB user guide, "Deregistration delay").
    deregistration_delay_seconds: Annotated[
        int, Meta(ge=0, le=3600), doc("draining time before a target is removed")
    ] = 30
    health_check: HealthCheck = msgspec.field(default_factory=HealthCheck)


class AccessLogs(Strict):
    """ALB access logs to an S3 bucket of their own (retained, private, expiring)."""

    enabled: Annotated[
        bool | None, doc("on by default in prod-like envs (termination_protection: true)")
    ] = None
    expire_days: Annotated[int, Meta(ge=1, le=3650), doc("days a log object is kept")] = 365
    prefix: Annotated[
        str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$"), doc("key prefix of the log objects")
    ] = "alb"


class Alb(Strict):
    """The Application Load Balancer: HTTPS at the domain, HTTP redirected."""

    scheme: Annotated[
        Literal["internet-facing", "internal"], doc("internet-facing, or internal to the VPC")
    ] = "internet-facing"
    ingress_cidrs: Annotated[list[Cidr], doc("who may reach 80/443")] = msgspec.field(
        default_factory=lambda: ["0.0.0.0/0"]
    )
    http_redirect: Annotated[bool, doc("HTTP 80 redirects to HTTPS (else forwards)")] = True
    ssl_policy: Annotated[str, doc("TLS policy of the HTTPS listener")] = (
        "ELBSecurityPolicy-TLS13-1-2-2021-06"
    )
    idle_timeout_seconds: Annotated[int, Meta(ge=1, le=4000), doc("connection idle timeout")] = 60
    deletion_protection: Annotated[bool, doc("refuse deleting the load balancer")] = False
    target_group: TargetGroup = msgspec.field(default_factory=TargetGroup)
    alarm_5xx_threshold: Annotated[int, Meta(ge=1), doc("target 5xx per minute that alarm")] = 10
    access_logs: AccessLogs = msgspec.field(default_factory=AccessLogs)


# --- asg ----------------------------------------------------------------------


class Volume(Strict):
    """The container instances' root EBS volume."""

    device_name: Annotated[str, doc("root device")] = "/dev/xvda"
    # The ECS-optimised AL2023 image's snapshot is 30 GiB; a smaller root fails to launch.
    size_gib: Annotated[int, Meta(ge=1, le=16384), doc("root volume size")] = 30
    type: Annotated[Literal["gp2", "gp3", "io1", "io2"], doc("EBS volume type")] = "gp3"
    encrypted: Annotated[bool, doc("encrypt the volume")] = True


class AsgScaling(Strict):
    """How the container instances scale."""

    mode: Annotated[
        Literal["target_tracking", "capacity_provider", "none"],
        doc("CPU target tracking, or an ECS capacity provider"),
    ] = "target_tracking"
    cpu_target_percent: Annotated[
        float, Meta(gt=0, le=100), doc("average CPU the ASG tracks (target_tracking)")
    ] = 50.0
    capacity_target_percent: Annotated[
        int, Meta(ge=1, le=100), doc("managed scaling target (capacity_provider)")
    ] = 100


class RollingUpdate(Strict):
    """How CloudFormation replaces instances when the launch template (e.g. the AMI) moves."""

    max_batch_size: Annotated[int, Meta(ge=1), doc("instances replaced at a time")] = 1
    min_instances_in_service: Annotated[
        Annotated[int, Meta(ge=0)] | None, doc("instances kept in service; default min_size")
    ] = None
    pause_seconds: Annotated[
        int, Meta(ge=0, le=3600), doc("wait after each batch, so new instances join the cluster")
    ] = 120


class Asg(Strict):
    """EC2 capacity for ECS: launch template and auto scaling group (EC2 launch type only)."""

    instance_type: Annotated[
        str,
        Meta(pattern=r"^[a-z0-9-]+\.[a-z0-9]+$"),
        doc("container instance type (t3.micro is current-generation)"),
    ] = "t3.micro"
    ami_ssm_parameter: Annotated[str, doc("public SSM parameter of the ECS-optimised AMI")] = (
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    )
    key_name: Annotated[str | None, doc("EC2 key pair; none by default")] = None
    volume: Volume = msgspec.field(default_factory=Volume)
    min_size: Annotated[int, Meta(ge=0), doc("fewest instances")] = 1
    max_size: Annotated[int, Meta(ge=1), doc("most instances")] = 3
    desired_capacity: Annotated[
        int,
        Meta(ge=0),
        doc("instances (scaling.mode none); a scaler owns it otherwise and the group starts at min_size"),
    ] = 1
    default_cooldown_seconds: Annotated[int, Meta(ge=0), doc("cooldown between scaling activities")] = 300
    health_check_type: Annotated[Literal["EC2", "ELB"], doc("EC2 status checks, or the load balancer's")] = (
        "EC2"
    )
    health_check_grace_period_seconds: Annotated[
        int, Meta(ge=0), doc("time before a new instance is checked")
    ] = 300
    collect_group_metrics: Annotated[bool, doc("collect all group metrics (1-minute)")] = True
    register_in_target_group: Annotated[
        bool, doc("must stay false: the ECS service registers its tasks in the target group (one owner)")
    ] = False
    ssm_core: Annotated[bool, doc("attach AmazonSSMManagedInstanceCore")] = False
    http_tokens: Annotated[Literal["required", "optional"], doc("IMDSv2")] = "required"
    block_container_metadata: Annotated[
        bool,
        doc("containers cannot reach the instance metadata (and the instance role): "
            "iptables DOCKER-USER drop for bridge tasks, ECS_AWSVPC_BLOCK_IMDS for awsvpc ones"),
    ] = True
    scaling: AsgScaling = msgspec.field(default_factory=AsgScaling)
    rolling_update: RollingUpdate = msgspec.field(default_factory=RollingUpdate)

    def __post_init__(self) -> None:
        if self.min_size > self.max_size:
            raise Invalid(f"min_size ({self.min_size}) > max_size ({self.max_size})", "min_size")
        if not self.min_size <= self.desired_capacity <= self.max_size:
            raise Invalid(
                f"desired_capacity ({self.desired_capacity}) must be between "
                f"min_size ({self.min_size}) and max_size ({self.max_size})", "desired_capacity"
            )
        if self.scaling.mode != "none" and self.desired_capacity != self.min_size:
            raise Invalid(
                f"desired_capacity ({self.desired_capacity}) is not applied while scaling.mode "
                f"'{self.scaling.mode}' owns the group's size (it starts at min_size "
                f"{self.min_size}); set min_size instead, or scaling.mode none", "desired_capacity"
            )
        in_service = self.rolling_update.min_instances_in_service
        if in_service is not None and in_service >= self.max_size:
            raise Invalid(
                f"rolling_update.min_instances_in_service ({in_service}) must be below "
                f"max_size ({self.max_size}): a replacement needs room beside the old instances",
                "rolling_update.min_instances_in_service"
            )


# --- rds ----------------------------------------------------------------------


class Rds(Strict):
    """PostgreSQL on RDS; its password lives in Secrets Manager, never in params."""

    instance_class: Annotated[str, Meta(pattern=r"^db\."), doc("DB instance class")] = "db.t3.micro"
    engine: Annotated[Literal["postgres"], doc("database engine")] = "postgres"
    engine_version: Annotated[
        # 15+: the default parameter group then refuses plaintext (rds.force_ssl=1).
        str, Meta(pattern=r"^(1[5-9]|[2-9]\d)(\.\d+)*$"),
        doc("major version: RDS picks the default minor and AutoMinorVersionUpgrade keeps it current"),
    ] = "16"
    allocated_storage_gib: Annotated[int, Meta(ge=20, le=65536), doc("storage size")] = 20
    storage_type: Annotated[Literal["gp2", "gp3", "io1", "io2"], doc("storage type")] = "gp3"
    storage_encrypted: Annotated[bool, doc("encrypt storage at rest (create-only)")] = True
    backup_retention_days: Annotated[int, Meta(ge=0, le=35), doc("days automated backups are kept")] = 7
    multi_az: Annotated[bool, doc("a standby in a second AZ")] = False
    deletion_protection: Annotated[bool, doc("refuse deleting the DB")] = False
    database_name: Annotated[
        str, Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$"), doc("database created at launch (create-only)")
    ] = "kubenews"
    master_username: Annotated[
        str,
        Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,15}$"),
        doc("master user (create-only); its password is never in params"),
    ] = "kubenews"
    app_username: Annotated[
        str,
        Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$"),
        doc("the app's own least-privilege login (its own secret); the master login is for "
            "administration and migrations only"),
    ] = "kubenews_app"
    bootstrap_image: Annotated[
        str, doc("image with psql that creates the app's login with the master secret (init container)")
    ] = "public.ecr.aws/docker/library/postgres:16-alpine"
    ca_bundle_url: Annotated[
        str, Meta(pattern=r"^https?://[^\s'\"$`\\]+$"),
        doc("RDS's CA bundle, fetched by the init container to verify the DB (verify-full); "
            "RDS user guide, \"Certificate bundles for all AWS Regions\""),
    ] = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
    # `secret` by default: RDS rotates a managed password every 7 days and ECS injects
    # secrets only when a task starts, so running tasks would fail to open connections
    # after each rotation (see docs/deploy.md, "Rotating the DB password").
    password: Annotated[
        Literal["managed", "secret"],
        doc("`secret`: a generated secret, rotated only by you (runbook in docs/deploy.md); "
            "`managed`: RDS rotates it every 7 days and running tasks keep the old one"),
    ] = "secret"

    port: Annotated[Port, doc("DB port; the app's security group reaches only this")] = 5432
    publicly_accessible: Annotated[bool, doc("a public endpoint (keep false)")] = False
    deletion_policy: Annotated[
        Literal["Snapshot", "Retain", "Delete"], doc("what deleting or replacing the DB keeps")
    ] = "Snapshot"

    def __post_init__(self) -> None:
        if self.app_username.lower() == self.master_username.lower():
            raise ValueError(
                f"app_username ('{self.app_username}') must differ from master_username: the app "
                "gets a least-privilege login of its own"
            )


# --- ecs ----------------------------------------------------------------------


class PlacementStrategy(Strict):
    """How tasks are spread over instances, applied in order (EC2 only)."""

    type: Annotated[Literal["random", "binpack", "spread"], doc("random, binpack or spread")]
    field: Annotated[str | None, doc("binpack: cpu|memory; spread: an attribute")] = None

    def __post_init__(self) -> None:
        if self.type == "random" and self.field:
            raise Invalid("strategy 'random' takes no field", "field")
        if self.type == "binpack" and self.field not in ("cpu", "memory"):
            raise Invalid("strategy 'binpack' needs field 'cpu' or 'memory'", "field")
        if self.type == "spread" and not self.field:
            raise ValueError("strategy 'spread' needs a field such as 'attribute:ecs.availability-zone'")


class PlacementConstraint(Strict):
    """Where tasks may run (EC2 only)."""

    type: Annotated[Literal["distinctInstance", "memberOf"], doc("distinctInstance or memberOf")]
    expression: Annotated[str | None, doc("memberOf: a cluster query expression")] = None

    def __post_init__(self) -> None:
        if self.type == "memberOf" and not self.expression:
            raise ValueError("constraint 'memberOf' needs an expression")
        if self.type == "distinctInstance" and self.expression:
            raise Invalid("constraint 'distinctInstance' takes no expression", "expression")


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

    def __post_init__(self) -> None:
        # Whole values (``$`` alone lets a trailing newline through): one secret of one
        # account and region, never a wildcard (the execution role may read exactly it).
        for key, pattern in (("secretsmanager_arn", SECRET_ARN_PATTERN),
                             ("ssm_parameter_arn", PARAMETER_ARN_PATTERN)):
            value = getattr(self, key)
            if value is not None and not re.fullmatch(pattern, value):
                raise Invalid(f"{key} is not one secret's ARN; write arn:aws:... with the "
                              "region, the 12-digit account and the full name, no wildcards", key)
        given = [self.db_password, bool(self.secretsmanager_arn), bool(self.ssm_parameter_arn)]
        if sum(given) != 1:
            raise ValueError("set exactly one of db_password, secretsmanager_arn, ssm_parameter_arn")


class IamStatement(Strict):
    """One IAM policy statement of a task role."""

    actions: Annotated[
        list[Annotated[str, Meta(pattern=r"^[a-z0-9-]+:[A-Za-z0-9*]+$")]],
        Meta(min_length=1),
        doc("service:Action names; no wildcards"),
    ]
    resources: Annotated[list[str], Meta(min_length=1), doc("ARNs the actions apply to")]
    effect: Annotated[Literal["Allow", "Deny"], doc("Allow or Deny")] = "Allow"


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

    def __post_init__(self) -> None:
        if self.min_tasks > self.max_tasks:
            raise Invalid(f"min_tasks ({self.min_tasks}) > max_tasks ({self.max_tasks})", "min_tasks")
        if self.enabled and self.cpu_target_percent is None and self.requests_per_target is None:
            raise ValueError("enabled scaling needs cpu_target_percent or requests_per_target")


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

    def __post_init__(self) -> None:
        if self.scaled and self.desired_count != self.autoscaling.min_tasks:
            raise Invalid(
                f"desired_count ({self.desired_count}) is not applied while autoscaling owns "
                f"the count (the service starts at autoscaling.min_tasks "
                f"{self.autoscaling.min_tasks}); set min_tasks instead, or autoscaling.enabled: "
                "false", "desired_count"
            )


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

    def __post_init__(self) -> None:
        if not self.hosts and not self.paths:
            raise ValueError("a listener rule needs hosts or paths")


class WorkloadScaling(Strict):
    """Service auto scaling on CPU (target tracking)."""

    enabled: Annotated[bool, doc("service auto scaling on")] = True
    min_tasks: Annotated[int, Meta(ge=0), doc("fewest tasks")] = 1
    max_tasks: Annotated[int, Meta(ge=1), doc("most tasks")] = 2
    cpu_target_percent: Annotated[float, Meta(gt=0, le=100), doc("average CPU to track")] = 60.0

    def __post_init__(self) -> None:
        if self.min_tasks > self.max_tasks:
            raise Invalid(f"min_tasks ({self.min_tasks}) > max_tasks ({self.max_tasks})", "min_tasks")


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

    def __post_init__(self) -> None:
        if self.kind == "web" and self.rule is None:
            raise Invalid("a web service needs a listener rule (rule.priority and hosts or paths)", "rule")
        if self.kind == "worker" and self.rule is not None:
            raise Invalid("a worker has no load balancer: drop rule, or set kind: web", "rule")


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


LogRetention = Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653]


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

    def __post_init__(self) -> None:
        self._check_workload_names()
        self._check_image_fits()
        for key in ("run_before", "run_after"):
            for name in getattr(self.service, key):
                if name not in self.tasks:
                    raise ValueError(f"service.{key}: '{name}' is not in ecs.tasks "
                                     f"({', '.join(sorted(self.tasks)) or 'none defined'})")
        if self.container.memory_mib > self.memory_mib:
            raise Invalid(
                f"container.memory_mib ({self.container.memory_mib}) exceeds the task's "
                f"memory_mib ({self.memory_mib})", "container.memory_mib"
            )
        if self.container.cpu > self.cpu:
            raise Invalid(
                f"container.cpu ({self.container.cpu}) exceeds the task's cpu ({self.cpu})", "container.cpu"
            )
        if not self.fargate:
            return
        if self.network_mode not in (None, "awsvpc"):
            raise Invalid("Fargate needs network_mode 'awsvpc'", "network_mode")
        for c in self.service.placement_constraints:
            raise Invalid(
                f"Fargate does not support placement constraints ('{c.type}'); "
                "set service.placement_constraints: []", "service.placement_constraints"
            )
        if self.service.placement_strategies:
            raise Invalid(
                "Fargate does not support placement strategies; set service.placement_strategies: []",
                "service.placement_strategies",
            )
        if self.service.scheduling_strategy == "DAEMON":
            raise Invalid(
                "Fargate does not support the DAEMON scheduling strategy", "service.scheduling_strategy"
            )
        problem = fargate_size_problem(self.cpu, self.memory_mib)
        if problem:
            raise Invalid(problem, "memory_mib")
        sized: dict[str, Task | Workload] = {
            **{f"tasks.{n}": t for n, t in self.tasks.items()},
            **{f"services.{n}": t for n, t in self.services.items()},
            **{f"jobs.{n}": t for n, t in self.jobs.items()},
        }
        for key, task in sized.items():
            problem = fargate_size_problem(task.cpu, task.memory_mib)
            if problem:
                raise Invalid(problem, f"{key}.memory_mib")

    def _check_image_fits(self) -> None:
        """What runs the app's image must be what the image has: its architecture (an
        ARM64 task of an x86 image stops with "exec format error") and its npm scripts
        (`npm run X` without X exits 1: "Missing script")."""
        c = self.container
        if c.image_architecture and self.cpu_architecture != c.image_architecture:
            raise Invalid(
                f"cpu_architecture is {self.cpu_architecture} but the image ({c.image}) is "
                f"built for {c.image_architecture} (ecs.container.image_architecture): its "
                f"tasks would stop with 'exec format error'; set cpu_architecture: "
                f"{c.image_architecture} or use an image built for {self.cpu_architecture}",
                "cpu_architecture")
        if c.npm_scripts is None:
            return
        workloads: dict[str, Task | Workload] = {
            **{f"tasks.{n}": t for n, t in self.tasks.items()},
            **{f"services.{n}": t for n, t in self.services.items()},
            **{f"jobs.{n}": t for n, t in self.jobs.items()},
        }
        commands = {"container.command": c.command} | {
            f"{key}.command": w.command for key, w in workloads.items() if w.image is None}
        for key, command in commands.items():
            if command and command[:2] == ["npm", "run"] and (
                    len(command) < 3 or command[2] not in c.npm_scripts):
                script = command[2] if len(command) > 2 else ""
                raise Invalid(
                    f"runs `npm run {script}` but the image ({c.image}) has only the npm "
                    f"scripts {', '.join(c.npm_scripts)} (ecs.container.npm_scripts): the "
                    "task would exit 1 (Missing script); use a command the image has, or "
                    "give the workload an image that has it", key)

    def _check_workload_names(self) -> None:
        """One name per workload: each names a task definition family, a log stream
        prefix and run-task's argument. The app's service is its container's name."""
        reserved = {self.container.name: "the app's service (ecs.service, ecs.container)",
                    "app": "the app's task definition family",
                    "db-bootstrap": "the DB login's init container"}
        seen: dict[str, str] = {}
        for kind, names in (("tasks", self.tasks), ("services", self.services), ("jobs", self.jobs)):
            for name in names:
                if name in reserved:
                    raise Invalid(f"the name '{name}' is {reserved[name]}; name this one otherwise",
                                  f"{kind}.{name}")
                if name in seen:
                    raise Invalid(f"'{name}' is already ecs.{seen[name]}.{name}; workload names are "
                                  "unique across tasks, services and jobs", f"{kind}.{name}")
                seen[name] = kind
        rules: dict[int, str] = {}
        for name, svc in self.services.items():
            if svc.rule is None:
                continue
            if svc.rule.priority in rules:
                raise Invalid(f"rule.priority {svc.rule.priority} is taken by services."
                              f"{rules[svc.rule.priority]}; priorities are unique per listener",
                              f"services.{name}.rule.priority")
            rules[svc.rule.priority] = name
            if self.service.deployment.strategy == "BLUE_GREEN":
                # alb's production rule (priority 1, every path) answers first.
                raise Invalid("a web service beside a BLUE_GREEN app would never get a request: "
                              "the production rule (priority 1, path /*) takes them all; use "
                              "kind: worker, or service.deployment.strategy ROLLING",
                              f"services.{name}.kind")
            # The app's security group lets the load balancer reach the app's ports only
            # (network stack): the ephemeral range for dynamic host ports, else one port.
            mode = self.effective_network_mode
            if mode == "bridge" and self.container.host_port != 0:
                raise Invalid("a web service beside the app needs dynamic host ports in bridge mode "
                              "(the load balancer may reach only the app's port); set "
                              "ecs.container.host_port: 0", f"services.{name}.kind")
            if mode != "bridge" and svc.container_port != self.container.container_port:
                raise Invalid(f"in {mode} mode the load balancer reaches port "
                              f"{self.container.container_port} only; set container_port: "
                              f"{self.container.container_port}", f"services.{name}.container_port")


class Alarms(Strict):
    """Where CloudWatch alarms notify."""

    topic_arn: Annotated[
        Annotated[str, Meta(pattern=r"^arn:aws[a-z-]*:sns:")] | None, doc("SNS topic alarms notify")
    ] = None


class Waf(Strict):
    """An existing WAFv2 web ACL (REGIONAL scope) associated with the load balancer."""

    web_acl_arn: Annotated[
        Annotated[str, Meta(pattern=r"^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/")] | None,
        doc("regional web ACL to associate; none by default"),
    ] = None


class DeployTarget(Strict):
    """One account and region the env's whole graph is deployed to (issue 16)."""

    account: Annotated[str, Meta(pattern=r"^\d{12}$"), doc("the target's AWS account id")]
    region: Annotated[str, Meta(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$"),
                      doc("the target's region")]
    role_arn: Annotated[
        Annotated[str, Meta(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")]
        | None,
        doc("role assumed (STS AssumeRole) with the caller's credentials; none: the "
            "caller's credentials must be of the target's account"),
    ] = None

    def __post_init__(self) -> None:
        if self.role_arn and self.role_arn.split(":")[4] != self.account:
            raise Invalid(f"role_arn is a role of account {self.role_arn.split(':')[4]}, "
                          f"the target's account is {self.account}; name a role in "
                          f"{self.account}", "role_arn")


class Environment(Strict):
    """One deployable environment: the merged base file and env file."""

    # Required fields come first: kw_only does not carry over to subclasses' fields.
    dns: Dns
    project: Annotated[Name, doc("first part of every stack name")] = "kubenews"
    region: Annotated[str, Meta(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$"), doc("AWS region of the env")] = (
        "us-east-1"
    )
    account_id: Annotated[
        Annotated[str, Meta(pattern=r"^\d{12}$")] | None, doc("deploy refuses another account")
    ] = None
    target: Annotated[
        Literal["aws", "local"],
        doc("`aws`: the standard credentials and endpoints; `local`: the running local "
            "endpoint with throw-away credentials"),
    ] = "aws"
    termination_protection: Annotated[bool, doc("protect every stack from deletion")] = False
    nested: Annotated[bool, doc("deploy as one root stack with nested children")] = False
    deployment_mode: Annotated[
        Literal["standard", "express"],
        doc("`express`: CloudFormation completes each stack once its resources' configuration "
            "is applied, without waiting for them to be ready (dev-like envs only; refused "
            "with termination_protection)"),
    ] = "standard"
    tags: Annotated[dict[str, str], doc("extra tags on every stack")] = {}
    network: Network = msgspec.field(default_factory=Network)
    alb: Alb = msgspec.field(default_factory=Alb)
    asg: Asg = msgspec.field(default_factory=Asg)
    rds: Rds = msgspec.field(default_factory=Rds)
    ecs: Ecs = msgspec.field(default_factory=Ecs)
    alarms: Alarms = msgspec.field(default_factory=Alarms)
    waf: Waf = msgspec.field(default_factory=Waf)
    targets: Annotated[
        list[DeployTarget],
        doc("deploy the graph to each of these accounts and regions (each its own lock, "
            "outputs and summary); empty: `account_id` and `region`"),
    ] = []

    @property
    def audit_trail(self) -> bool:
        """Prod-like envs (termination protection) keep access and flow logs by default."""
        return self.termination_protection

    def __post_init__(self) -> None:
        seen = set()
        for i, t in enumerate(self.targets):
            if (t.account, t.region) in seen:
                raise Invalid(f"targets: account {t.account} in {t.region} is listed twice; "
                              "list each account and region once", f"targets.{i}")
            seen.add((t.account, t.region))
        if self.deployment_mode == "express" and self.termination_protection:
            # "For production deployments ... use the default deployment mode" (CloudFormation
            # user guide, "Deploy CloudFormation stacks faster with express mode").
            raise Invalid(
                "'express' is for dev-like envs: CloudFormation completes a "
                "stack before its resources are ready, which a prod-like env "
                "(termination_protection: true) must not do; set deployment_mode: standard",
                "deployment_mode")
        ecs, asg = self.ecs, self.asg
        if ecs.service.enable_execute_command and ecs.container.read_only_root_filesystem:
            # "The SSM agent requires that the container file system is able to be written
            # to in order to create the required directories and files. Therefore, making
            # the root file system read-only using the readonlyRootFilesystem task
            # definition parameter, or any other method, isn't supported." (ECS developer
            # guide, "Monitor Amazon ECS containers with ECS Exec", considerations).
            raise Invalid(
                "ecs.service.enable_execute_command: ECS Exec's SSM agent needs a writable "
                "root file system (AWS does not support Exec with readonlyRootFilesystem); "
                "set ecs.container.read_only_root_filesystem: false for the env that needs "
                "Exec, or leave Exec off", "ecs.service.enable_execute_command")
        if ecs.fargate and asg.scaling.mode == "capacity_provider":
            raise Invalid(
                "asg.scaling.mode 'capacity_provider' needs ecs.launch_type EC2", "asg.scaling.mode"
            )
        if ecs.fargate:
            return
        if asg.health_check_type == "ELB" and not asg.register_in_target_group:
            # The ELB health check applies only to instances registered with a target group
            # the group is attached to; without one it "acts as EC2" (EC2 Auto Scaling user
            # guide, "Health checks for instances in an Auto Scaling group", Elastic Load
            # Balancing health checks). Here the service registers its tasks, never the
            # instances (register_in_target_group stays false).
            raise Invalid(
                "asg.health_check_type: ELB checks only instances registered in a target group, "
                "and the ECS service registers its tasks there, not the instances: the check "
                "would act as EC2; set health_check_type: EC2 (ECS replaces unhealthy tasks)",
                "asg.health_check_type")
        if asg.register_in_target_group:
            raise Invalid(
                "asg.register_in_target_group: the ECS service registers its tasks in the target "
                "group; instances registered too would get traffic on a port no task owns (one "
                "owner); set it false", "asg.register_in_target_group"
            )
        distinct = any(c.type == "distinctInstance" for c in ecs.service.placement_constraints)
        if distinct and ecs.service.initial_count > asg.max_size:
            raise Invalid(
                f"ecs.service.desired_count ({ecs.service.initial_count}) with "
                f"distinctInstance needs asg.max_size >= it (is {asg.max_size})",
                "ecs.service.desired_count"
            )
