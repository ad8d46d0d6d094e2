"""The asg stack's params: the EC2 container instances (launch template, group,
scaling and rolling replacement)."""


from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from generator.config.base import Strict, doc


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
