"""What an env is, decided once from its config: the facts stacks.yaml selects inputs
and stacks by, and the ones several views share (capacity provider, blue/green,
Fargate, ports, audit trail). One place, so the stacks can never disagree."""

from __future__ import annotations

import msgspec

from generator.config import Environment

EPHEMERAL_PORTS = (32768, 65535)


class Facts(msgspec.Struct, frozen=True):
    fargate: bool
    network_mode: str  # the tasks' network mode: awsvpc, bridge or host
    vpc_mode: str  # network.mode: create or existing
    capacity_provider: bool  # an ECS capacity provider scales the EC2 capacity
    blue_green: bool  # ECS blue/green deployments (two target groups)
    request_scaling: bool  # the service scales on ALB requests per target
    create_zone: bool
    flow_logs: bool  # VPC flow logs (default: the env's audit trail)
    access_logs: bool  # the load balancer's access logs (default: the audit trail)
    app_ports: tuple[int, int]  # where the load balancer reaches the app
    web_services: bool = False  # services of their own behind the load balancer (rules in ecs)
    repository: bool = False  # the app's images come from the env's own ECR repository

    @classmethod
    def of(cls, cfg: Environment) -> Facts:
        ecs, scaling = cfg.ecs, cfg.ecs.service.autoscaling
        flow_logs = cfg.network.flow_logs.enabled
        access_logs = cfg.alb.access_logs.enabled
        return cls(
            fargate=ecs.fargate,
            network_mode=ecs.effective_network_mode,
            vpc_mode=cfg.network.mode,
            capacity_provider=not ecs.fargate and cfg.asg.scaling.mode == "capacity_provider",
            blue_green=ecs.service.deployment.strategy == "BLUE_GREEN",
            request_scaling=scaling.enabled and scaling.requests_per_target is not None,
            create_zone=cfg.dns.zone.create,
            flow_logs=cfg.audit_trail if flow_logs is None else flow_logs,
            access_logs=cfg.audit_trail if access_logs is None else access_logs,
            app_ports=_app_ports(cfg),
            web_services=any(s.kind == "web" for s in ecs.services.values()),
            repository=ecs.repository.create,
        )

    @property
    def conditions(self) -> frozenset[str]:
        """Named facts that stacks.yaml may select inputs and stacks by."""
        names = {"fargate" if self.fargate else "ec2", f"network_{self.vpc_mode}"}
        if self.capacity_provider:
            names.add("capacity_provider")
        if self.request_scaling:
            # ALBRequestCountPerTarget follows one target group; blue/green has two.
            names.add("request_scaling_blue_green" if self.blue_green else "request_scaling")
        if self.create_zone:
            names.add("create_zone")
        if self.blue_green:
            names.add("blue_green")
        if self.web_services:
            names.add("web_services")  # their target groups and listener rules live in ecs
        if self.repository:
            names.add("repository")  # the image is the repository's RepositoryUri
        return frozenset(names)


def _app_ports(cfg: Environment) -> tuple[int, int]:
    """Ports the load balancer reaches the app on: the host port in bridge mode
    (the ephemeral range for a dynamic one), the container port otherwise."""
    ecs = cfg.ecs
    if ecs.effective_network_mode in ("awsvpc", "host"):
        return (ecs.container.container_port,) * 2
    host_port = ecs.container.host_port
    return EPHEMERAL_PORTS if host_port == 0 else (host_port, host_port)
