"""The typed params model: what a params file may say, and its defaults.

Defaults are the "better default" column of the reference deployment; the
hand setup's numbers are reproduced by ``params/local.yaml``. Cross-field
rules (min <= desired <= max, Fargate limits) live in model validators so the
error names the key path.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
Cidr = Annotated[str, Field(pattern=r"^[0-9a-fA-F.:]+/\d{1,3}$")]
Port = Annotated[int, Field(ge=0, le=65535)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- network ------------------------------------------------------------------


class Network(Strict):
    """The VPC: created by the network stack, or an existing one passed through."""

    mode: Literal["create", "existing"] = Field(
        "create", description="`create` a VPC, or pass an `existing` one through"
    )
    cidr: Cidr = Field("10.0.0.0/16", description="VPC CIDR (mode create)")
    availability_zones: list[str] = Field(
        ["us-east-1a", "us-east-1b"], min_length=2, description="AZs for subnets (mode create)"
    )
    private_subnets: bool = Field(
        False, description="app and DB in private subnets behind a NAT gateway (mode create)"
    )
    vpc_id: str | None = Field(None, description="existing VPC id (mode existing)")
    public_subnet_ids: list[str] = Field([], description="existing public subnets (mode existing)")
    private_subnet_ids: list[str] = Field(
        [], description="existing app/DB subnets; public ones when empty (mode existing)"
    )

    @model_validator(mode="after")
    def _existing_needs_ids(self) -> Network:
        if self.mode == "existing":
            if not self.vpc_id:
                raise ValueError("mode 'existing' needs vpc_id")
            if len(self.public_subnet_ids) < 2:
                raise ValueError("mode 'existing' needs public_subnet_ids in two AZs")
        return self


# --- dns ----------------------------------------------------------------------


class HostedZone(Strict):
    name: str = Field(description="zone name, e.g. example.com")
    create: bool = Field(False, description="create the zone (else look it up by name)")
    id: str | None = Field(None, description="existing zone id; skips the lookup by name")
    retain_on_delete: bool = Field(True, description="keep a created zone when the stack goes")


class Dns(Strict):
    domain: str = Field(
        pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$", description="the app's domain name"
    )
    zone: HostedZone
    record_type: Literal["alias", "cname"] = Field("alias", description="A-alias or CNAME")
    cname_ttl: int = Field(300, ge=0, description="TTL when record_type is cname")

    @model_validator(mode="after")
    def _domain_in_zone(self) -> Dns:
        zone = self.zone.name.rstrip(".")
        if self.domain != zone and not self.domain.endswith("." + zone):
            raise ValueError(f"domain '{self.domain}' is not inside zone '{zone}'")
        return self


# --- alb ----------------------------------------------------------------------


class HealthCheck(Strict):
    path: str = Field("/", pattern=r"^/", description="health check path")
    port: str = Field("traffic-port", description="port or traffic-port")
    protocol: Literal["HTTP", "HTTPS"] = "HTTP"
    interval_seconds: int = Field(30, ge=5, le=300)
    timeout_seconds: int = Field(5, ge=2, le=120)
    healthy_threshold: int = Field(5, ge=2, le=10)
    unhealthy_threshold: int = Field(2, ge=2, le=10)
    matcher: str = Field("200", description="HTTP codes counted healthy")

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> HealthCheck:
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError("timeout_seconds must be less than interval_seconds")
        return self


class TargetGroup(Strict):
    port: Port = 80
    protocol: Literal["HTTP", "HTTPS"] = "HTTP"
    protocol_version: Literal["HTTP1", "HTTP2", "GRPC"] = "HTTP1"
    deregistration_delay_seconds: int = Field(300, ge=0, le=3600)
    health_check: HealthCheck = HealthCheck()


class Alb(Strict):
    scheme: Literal["internet-facing", "internal"] = "internet-facing"
    ingress_cidrs: list[Cidr] = Field(["0.0.0.0/0"], description="who may reach 80/443")
    http_redirect: bool = Field(True, description="HTTP 80 redirects to HTTPS (else forwards)")
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    idle_timeout_seconds: int = Field(60, ge=1, le=4000)
    deletion_protection: bool = False
    target_group: TargetGroup = TargetGroup()
    alarm_5xx_threshold: int = Field(10, ge=1, description="target 5xx per minute that alarm")


# --- asg ----------------------------------------------------------------------


class Volume(Strict):
    device_name: str = "/dev/xvda"
    # The ECS-optimised AL2023 image's snapshot is 30 GiB; a smaller root fails to launch.
    size_gib: int = Field(30, ge=1, le=16384)
    type: Literal["gp2", "gp3", "io1", "io2"] = "gp3"
    encrypted: bool = True


class AsgScaling(Strict):
    mode: Literal["target_tracking", "capacity_provider", "none"] = "target_tracking"
    cpu_target_percent: float = Field(50, gt=0, le=100)
    capacity_target_percent: int = Field(
        100, ge=1, le=100, description="managed scaling target (mode capacity_provider)"
    )


class Asg(Strict):
    instance_type: str = Field("t3.micro", pattern=r"^[a-z0-9-]+\.[a-z0-9]+$")
    ami_ssm_parameter: str = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    key_name: str | None = Field(None, description="EC2 key pair; none by default")
    volume: Volume = Volume()
    min_size: int = Field(1, ge=0)
    max_size: int = Field(3, ge=1)
    desired_capacity: int = Field(1, ge=0)
    default_cooldown_seconds: int = Field(300, ge=0)
    health_check_type: Literal["EC2", "ELB"] = "EC2"
    health_check_grace_period_seconds: int = Field(300, ge=0)
    collect_group_metrics: bool = True
    register_in_target_group: bool = Field(
        True, description="the hand setup registered instances in the target group"
    )
    ssm_core: bool = Field(False, description="attach AmazonSSMManagedInstanceCore")
    http_tokens: Literal["required", "optional"] = Field("required", description="IMDSv2")
    scaling: AsgScaling = AsgScaling()

    @model_validator(mode="after")
    def _sizes(self) -> Asg:
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) > max_size ({self.max_size})")
        if not self.min_size <= self.desired_capacity <= self.max_size:
            raise ValueError(
                f"desired_capacity ({self.desired_capacity}) must be between "
                f"min_size ({self.min_size}) and max_size ({self.max_size})"
            )
        return self


# --- rds ----------------------------------------------------------------------


class Rds(Strict):
    instance_class: str = Field("db.t3.micro", pattern=r"^db\.")
    engine: Literal["postgres"] = "postgres"
    engine_version: str = Field("16.13", pattern=r"^\d+(\.\d+)*$")
    allocated_storage_gib: int = Field(20, ge=20, le=65536)
    storage_type: Literal["gp2", "gp3", "io1", "io2"] = "gp3"
    storage_encrypted: bool = True
    backup_retention_days: int = Field(7, ge=0, le=35)
    multi_az: bool = False
    deletion_protection: bool = False
    database_name: str = Field("kubenews", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
    master_username: str = Field("kubenews", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
    password: Literal["managed", "secret"] = Field(
        "managed",
        description="`managed`: RDS keeps it in Secrets Manager; `secret`: our own generated secret",
    )
    port: Port = 5432
    publicly_accessible: bool = False
    deletion_policy: Literal["Snapshot", "Retain", "Delete"] = "Snapshot"


# --- ecs ----------------------------------------------------------------------


class PlacementStrategy(Strict):
    type: Literal["random", "binpack", "spread"]
    field: str | None = Field(None, description="binpack: cpu|memory; spread: an attribute")

    @model_validator(mode="after")
    def _field_fits_type(self) -> PlacementStrategy:
        if self.type == "random" and self.field:
            raise ValueError("strategy 'random' takes no field")
        if self.type == "binpack" and self.field not in ("cpu", "memory"):
            raise ValueError("strategy 'binpack' needs field 'cpu' or 'memory'")
        if self.type == "spread" and not self.field:
            raise ValueError(
                "strategy 'spread' needs a field such as 'attribute:ecs.availability-zone'"
            )
        return self


class PlacementConstraint(Strict):
    type: Literal["distinctInstance", "memberOf"]
    expression: str | None = Field(None, description="memberOf: a cluster query expression")

    @model_validator(mode="after")
    def _expression_fits_type(self) -> PlacementConstraint:
        if self.type == "memberOf" and not self.expression:
            raise ValueError("constraint 'memberOf' needs an expression")
        if self.type == "distinctInstance" and self.expression:
            raise ValueError("constraint 'distinctInstance' takes no expression")
        return self


class SecretRef(Strict):
    """Where a container secret comes from: exactly one of the three."""

    db_password: bool = Field(False, description="the DB master password")
    secretsmanager_arn: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:secretsmanager:")
    ssm_parameter_arn: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:ssm:")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [self.db_password, bool(self.secretsmanager_arn), bool(self.ssm_parameter_arn)]
        if sum(given) != 1:
            raise ValueError(
                "set exactly one of db_password, secretsmanager_arn, ssm_parameter_arn"
            )
        return self


class IamStatement(Strict):
    effect: Literal["Allow", "Deny"] = "Allow"
    actions: list[Annotated[str, Field(pattern=r"^[a-z0-9-]+:[A-Za-z0-9*]+$")]] = Field(
        min_length=1
    )
    resources: list[str] = Field(min_length=1)


class Container(Strict):
    name: Name = "web"
    image: str = "docker.io/pedroheeger/curso116_kube-news:v2"
    cpu: int = Field(128, ge=0)
    memory_mib: int = Field(256, ge=6)
    container_port: Port = 8080
    host_port: Port = Field(80, description="EC2 bridge mode; 0 picks a dynamic port")
    command: list[str] | None = None
    environment: dict[str, str] = Field({}, description="plain values; never secrets")
    secrets: dict[str, SecretRef] = Field(
        {"DB_PASSWORD": SecretRef(db_password=True)},
        description="env vars filled from Secrets Manager or SSM",
    )


class Deployment(Strict):
    min_healthy_percent: int = Field(100, ge=0, le=100)
    max_percent: int = Field(200, ge=100, le=400)
    circuit_breaker: bool = True
    rollback: bool = True


class ServiceScaling(Strict):
    enabled: bool = True
    min_tasks: int = Field(1, ge=0)
    max_tasks: int = Field(4, ge=1)
    cpu_target_percent: float | None = Field(60, gt=0, le=100)
    requests_per_target: int | None = Field(None, ge=1, description="ALB requests per target")
    scale_in_cooldown_seconds: int = 60
    scale_out_cooldown_seconds: int = 60

    @model_validator(mode="after")
    def _bounds(self) -> ServiceScaling:
        if self.min_tasks > self.max_tasks:
            raise ValueError(f"min_tasks ({self.min_tasks}) > max_tasks ({self.max_tasks})")
        if self.enabled and self.cpu_target_percent is None and self.requests_per_target is None:
            raise ValueError("enabled scaling needs cpu_target_percent or requests_per_target")
        return self


class Service(Strict):
    desired_count: int = Field(1, ge=0)
    scheduling_strategy: Literal["REPLICA", "DAEMON"] = "REPLICA"
    health_check_grace_period_seconds: int = Field(60, ge=0)
    placement_strategies: list[PlacementStrategy] = Field(
        [], max_length=5, description="applied in order"
    )
    placement_constraints: list[PlacementConstraint] = Field(
        [PlacementConstraint(type="distinctInstance")], max_length=10
    )
    deployment: Deployment = Deployment()
    autoscaling: ServiceScaling = ServiceScaling()
    enable_execute_command: bool = False


class Task(Strict):
    """A standalone task definition (batch work, a DB migration), with its own role."""

    image: str | None = Field(None, description="defaults to the service container's image")
    command: list[str] = Field(min_length=1)
    cpu: int = Field(256, ge=128)
    memory_mib: int = Field(512, ge=128)
    environment: dict[str, str] = {}
    secrets: dict[str, SecretRef] = {}
    task_role_statements: list[IamStatement] = []


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
            f"Fargate refuses cpu {cpu} with memory {memory}; "
            f"use {lo}..{hi} MiB in steps of {allowed.step}"
        )
    return None


class Ecs(Strict):
    launch_type: Literal["EC2", "FARGATE"] = "EC2"
    network_mode: Literal["bridge", "awsvpc", "host"] | None = Field(
        None, description="default: bridge on EC2, awsvpc on Fargate"
    )
    cpu: int = Field(256, ge=128, description="task cpu units")
    memory_mib: int = Field(512, ge=128, description="task memory")
    cpu_architecture: Literal["X86_64", "ARM64"] = "X86_64"
    os_family: Literal["LINUX"] = "LINUX"
    container_insights: Literal["enabled", "enhanced", "disabled"] = "enabled"
    log_retention_days: Literal[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653
    ] = 30
    assign_public_ip: bool = Field(True, description="Fargate tasks in public subnets need it")
    container: Container = Container()
    service: Service = Service()
    task_role_statements: list[IamStatement] = Field(
        [], description="what the app itself may do (its task role)"
    )
    tasks: dict[Name, Task] = Field({}, description="standalone task definitions")

    @property
    def fargate(self) -> bool:
        return self.launch_type == "FARGATE"

    @property
    def effective_network_mode(self) -> str:
        return self.network_mode or ("awsvpc" if self.fargate else "bridge")

    @model_validator(mode="after")
    def _launch_type_rules(self) -> Ecs:
        if self.container.memory_mib > self.memory_mib:
            raise ValueError(
                f"container.memory_mib ({self.container.memory_mib}) exceeds the task's "
                f"memory_mib ({self.memory_mib})"
            )
        if self.container.cpu > self.cpu:
            raise ValueError(
                f"container.cpu ({self.container.cpu}) exceeds the task's cpu ({self.cpu})"
            )
        if not self.fargate:
            return self
        if self.network_mode not in (None, "awsvpc"):
            raise ValueError("Fargate needs network_mode 'awsvpc'")
        for c in self.service.placement_constraints:
            raise ValueError(
                f"Fargate does not support placement constraints ('{c.type}'); "
                "set service.placement_constraints: []"
            )
        if self.service.placement_strategies:
            raise ValueError(
                "Fargate does not support placement strategies; set "
                "service.placement_strategies: []"
            )
        if self.service.scheduling_strategy == "DAEMON":
            raise ValueError("Fargate does not support the DAEMON scheduling strategy")
        problem = fargate_size_problem(self.cpu, self.memory_mib)
        if problem:
            raise ValueError(problem)
        for name, task in self.tasks.items():
            problem = fargate_size_problem(task.cpu, task.memory_mib)
            if problem:
                raise ValueError(f"tasks.{name}: {problem}")
        return self


class Alarms(Strict):
    topic_arn: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:sns:", description="SNS topic")


class Environment(Strict):
    """One deployable environment: the merged base file and env file."""

    project: Name = "kubenews"
    region: str = Field("us-east-1", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    account_id: str | None = Field(
        None, pattern=r"^\d{12}$", description="deploy refuses another account"
    )
    termination_protection: bool = False
    nested: bool = Field(False, description="deploy as one root stack with nested children")
    tags: dict[str, str] = {}
    network: Network = Network()
    dns: Dns
    alb: Alb = Alb()
    asg: Asg = Asg()
    rds: Rds = Rds()
    ecs: Ecs = Ecs()
    alarms: Alarms = Alarms()

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_as_text(cls, value: object) -> object:
        # YAML reads an unquoted account id as a number; AWS ids keep leading zeros.
        return f"{value:012d}" if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _cross_stack(self) -> Environment:
        ecs, asg = self.ecs, self.asg
        if ecs.fargate and asg.scaling.mode == "capacity_provider":
            raise ValueError(
                "asg.scaling.mode 'capacity_provider' needs ecs.launch_type EC2"
            )
        if not ecs.fargate:
            bridge = ecs.effective_network_mode == "bridge"
            if asg.register_in_target_group and bridge and ecs.container.host_port == 0:
                raise ValueError(
                    "asg.register_in_target_group registers instances on the target group "
                    "port, which a dynamic host_port (0) never listens on; set one of them off"
                )
            distinct = any(
                c.type == "distinctInstance" for c in ecs.service.placement_constraints
            )
            if distinct and ecs.service.desired_count > asg.max_size:
                raise ValueError(
                    f"ecs.service.desired_count ({ecs.service.desired_count}) with "
                    f"distinctInstance needs asg.max_size >= it (is {asg.max_size})"
                )
        return self
