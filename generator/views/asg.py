"""The asg stack: the ECS container instances, their launch template (IMDS closed to
containers), the group's rolling updates and what scales it."""

from __future__ import annotations

import msgspec

from generator.config import Environment
from generator.views.common import Built, Names, Output, Param, Trust, trust
from generator.views.facts import Facts

# The ECS developer guide's rule ("Amazon ECS task IAM role", additional configuration
# for EC2 instances: `iptables --insert DOCKER-USER 1 --in-interface docker+
# --destination 169.254.169.254/32 --jump DROP`), added to DOCKER-USER, the chain Docker
# keeps for the user's rules and never flushes (Docker docs, "Packet filtering and
# firewalls"). Never a restored `*filter` table: restored after dockerd starts, it
# flushes Docker's own chains and the FORWARD jump to DOCKER-USER, and the rule no longer
# applies. So: a docker.service drop-in adds the rule each time Docker has started
# (ExecStartPost), and the boothook (early in cloud-init) also adds it at once when
# Docker is already running. Idempotent (--check before --insert).
IMDS_MATCH = "--in-interface docker+ --destination 169.254.169.254/32 --jump DROP"
ADD_IMDS_RULE = (f"iptables -w --check DOCKER-USER {IMDS_MATCH} 2>/dev/null || "
                 f"iptables -w --insert DOCKER-USER 1 {IMDS_MATCH}")
DOCKER_DROP_IN = "/etc/systemd/system/docker.service.d/10-block-container-imds.conf"
IMDS_BOOTHOOK = f"""#cloud-boothook
mkdir -p /etc/systemd/system/docker.service.d
cat <<'UNIT' > {DOCKER_DROP_IN}
[Service]
ExecStartPost=/bin/sh -c '{ADD_IMDS_RULE}'
UNIT
systemctl daemon-reload
if systemctl is-active --quiet docker; then
  {ADD_IMDS_RULE}
fi
"""
MIME_BOUNDARY = "==STACKGEN=="


def _user_data(cfg: Environment, facts: Facts) -> str:
    """The instance's user data (an Fn::Sub string). The cluster's name comes from
    the cluster stack's output, so the graph creates the cluster first: the ECS agent
    treats "cluster not found" at registration as terminal (aws/amazon-ecs-agent,
    ecs_client.go). Containers are kept away from IMDS unless opted out: awsvpc tasks
    by the agent (ECS_AWSVPC_BLOCK_IMDS), bridge tasks by an iptables rule; host-mode
    tasks share the agent's network and cannot be blocked (same article)."""
    mode = facts.network_mode
    block = cfg.asg.block_container_metadata
    script = "#!/bin/bash\necho ECS_CLUSTER=${ClusterName} >> /etc/ecs/ecs.config\n"
    if block and mode == "awsvpc":
        script += "echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config\n"
    if not (block and mode == "bridge"):
        return script
    # MIME multi-part: cloud-init's format for more than one part.
    parts = [("text/cloud-boothook", IMDS_BOOTHOOK), ("text/x-shellscript", script)]
    body = "".join(
        f'--{MIME_BOUNDARY}\nContent-Type: {kind}; charset="us-ascii"\n\n{text}\n'
        for kind, text in parts
    )
    return (f'Content-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"\nMIME-Version: 1.0\n\n'
            f"{body}--{MIME_BOUNDARY}--\n")


class AsgView(msgspec.Struct, frozen=True):
    description: str
    managed_policies: tuple[str, ...]  # of the instance role, as Fn::Sub strings
    instance_trust: Trust  # ec2: no confused-deputy keys documented (generator.iam)
    key_pair: bool  # a KeyName parameter is declared
    http_tokens: str
    imds_hop_limit: int
    volume_device_name: str
    volume_size_gib: int
    volume_type: str
    volume_encrypted: bool
    user_data: str  # an Fn::Sub string
    max_batch_size: int
    min_in_service: int
    pause_seconds: int
    min_size: int
    max_size: int
    set_desired: bool  # no scaler owns the group's size
    desired_capacity: int
    default_cooldown_seconds: int
    health_check_type: str
    health_check_grace_period_seconds: int
    collect_group_metrics: bool
    instance_name: str  # Name tag, propagated to the instances
    cpu_tracking: bool
    cpu_target_percent: float
    capacity_provider: bool
    capacity_target_percent: int


def _params(cfg: Environment) -> tuple[Param, ...]:
    asg = cfg.asg
    params = [
        Param(
            "ImageId", "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "ECS-optimised AMI, from its public SSM parameter", value=asg.ami_ssm_parameter,
            default=asg.ami_ssm_parameter,
        ),
        Param("InstanceType", description="container instance type", value=asg.instance_type),
    ]
    if asg.key_name:
        params.append(
            Param("KeyName", "AWS::EC2::KeyPair::KeyName", "SSH key pair", value=asg.key_name)
        )
    return tuple(params)


def build(cfg: Environment, names: Names, facts: Facts) -> Built[AsgView]:
    asg = cfg.asg
    managed = ["arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"]
    if asg.ssm_core:
        managed.append("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore")
    in_service = asg.rolling_update.min_instances_in_service
    view = AsgView(
        description=(f"Capacity: ECS container instances for cluster {names.cluster} in an "
                     "auto scaling group"),
        managed_policies=tuple(managed),
        instance_trust=trust("ec2.amazonaws.com"),
        key_pair=bool(asg.key_name),
        http_tokens=asg.http_tokens,
        # Hop limit 1: a PUT for an IMDSv2 token from a bridge-mode container (one hop
        # further) gets no answer, so containers cannot take the instance role.
        imds_hop_limit=1,
        volume_device_name=asg.volume.device_name,
        volume_size_gib=asg.volume.size_gib,
        volume_type=asg.volume.type,
        volume_encrypted=asg.volume.encrypted,
        user_data=_user_data(cfg, facts),
        max_batch_size=asg.rolling_update.max_batch_size,
        # Must stay below MaxSize, so that a replacement has room (UpdatePolicy docs).
        min_in_service=(
            in_service if in_service is not None else min(asg.min_size, asg.max_size - 1)
        ),
        pause_seconds=asg.rolling_update.pause_seconds,
        min_size=asg.min_size,
        max_size=asg.max_size,
        # A scaling policy or capacity provider owns the group's size: a DesiredCapacity
        # in the template would reset it on every update that touches the group
        # (aws/aws-cdk#5507). Omitted, CreateAutoScalingGroup starts it at MinSize (Auto
        # Scaling API reference, DesiredCapacity) and updates leave it alone.
        set_desired=asg.scaling.mode == "none",
        desired_capacity=asg.desired_capacity,
        default_cooldown_seconds=asg.default_cooldown_seconds,
        health_check_type=asg.health_check_type,
        health_check_grace_period_seconds=asg.health_check_grace_period_seconds,
        collect_group_metrics=asg.collect_group_metrics,
        instance_name=names.resource("ecs-instance"),
        cpu_tracking=asg.scaling.mode == "target_tracking",
        cpu_target_percent=asg.scaling.cpu_target_percent,
        capacity_provider=facts.capacity_provider,
        capacity_target_percent=asg.scaling.capacity_target_percent,
    )
    outputs = [Output("AutoScalingGroupName", "!Ref AutoScalingGroup", "auto scaling group")]
    if facts.capacity_provider:
        outputs.append(
            Output("CapacityProviderName", "!Ref CapacityProvider", "ECS capacity provider"))
    return Built(view, _params(cfg), tuple(outputs))
