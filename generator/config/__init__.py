"""The typed params model: what a params file may say, and its defaults.

Sliced per stack like ``generator/views/`` and ``templates/``: ``network``, ``dns``,
``alb``, ``asg``, ``rds``, ``ecs`` (the cluster, the app's container and service) and
``workloads`` (tasks, services beside the app, jobs); ``environment`` holds them all
with the env's account, region and targets; ``base`` the shared pieces. Every rule
between fields or stacks lives in ``rules`` (one place); values AWS would refuse are
checked after conversion by ``generator/limits.py``.

Defaults are the "better default" column of the reference deployment; the hand
setup's numbers are reproduced by ``params/local.yaml``.

msgspec rather than pydantic: defining these ~35 types costs ~3 ms instead of
~100 ms, which matters when a whole render must fit in 0.2 s. The modules that define
Structs have no ``from __future__ import annotations``: msgspec and
``params.wants_string`` read their annotations, and as strings each would be compiled
and evaluated again in every process (~25 ms a render); evaluated once at class creation
they cost ~7 ms. So a type used in an annotation must be defined (or imported) above.

The names below are the public model: import them from ``generator.config``.
"""

from __future__ import annotations

from generator.config import rules as rules  # registers every cross-field rule
from generator.config.alb import AccessLogs, Alb, HealthCheck, TargetGroup
from generator.config.asg import Asg, AsgScaling, RollingUpdate, Volume
from generator.config.base import (
    ENV_NAME_PATTERN,
    KEY_RULES,
    NAME_PATTERN,
    PATTERN_RULES,
    Cidr,
    EnvName,
    Invalid,
    LogRetention,
    Name,
    Port,
    Strict,
    doc,
)
from generator.config.dns import Dns, HostedZone
from generator.config.ecs import (
    Container,
    Deployment,
    Ecs,
    PlacementConstraint,
    PlacementStrategy,
    Repository,
    Service,
    ServiceScaling,
    Verify,
)
from generator.config.environment import Alarms, DeployTarget, Environment, Waf
from generator.config.network import FlowLogs, Network
from generator.config.rds import Rds
from generator.config.workloads import (
    FARGATE_SIZES,
    PARAMETER_ARN_PATTERN,
    SECRET_ARN_PATTERN,
    AppService,
    IamStatement,
    Job,
    ListenerRule,
    SecretRef,
    Task,
    Workload,
    WorkloadScaling,
    fargate_size_problem,
)

__all__ = [
    "ENV_NAME_PATTERN", "FARGATE_SIZES", "KEY_RULES", "NAME_PATTERN", "PARAMETER_ARN_PATTERN",
    "PATTERN_RULES",
    "SECRET_ARN_PATTERN", "AccessLogs", "Alarms", "Alb", "AppService", "Asg", "AsgScaling",
    "Cidr", "Container", "DeployTarget", "Deployment", "Dns", "Ecs", "EnvName", "Environment",
    "FlowLogs", "HealthCheck", "HostedZone", "IamStatement", "Invalid", "Job", "ListenerRule",
    "LogRetention", "Name", "Network", "PlacementConstraint", "PlacementStrategy", "Port", "Rds",
    "Repository", "RollingUpdate", "SecretRef", "Service", "ServiceScaling", "Strict",
    "TargetGroup", "Task", "Verify", "Volume", "Waf", "Workload", "WorkloadScaling", "doc",
    "fargate_size_problem", "rules",
]
