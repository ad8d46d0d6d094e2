"""The alb stack's params: the load balancer, its target group and health check,
its access logs."""


from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from generator.config.base import Cidr, Port, Strict, doc


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
