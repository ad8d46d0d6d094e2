"""Every rule of the params model that no single value's type can say: between the
fields of one struct (min <= desired <= max), between stacks (ECS Exec and a read-only
root, the ELB health check and the service's registration) and about what AWS accepts
together (Fargate's sizes, placement). One place, so that a new rule has one home.

Each ``@rule(Struct)`` runs when msgspec has converted a ``Struct`` (``Strict`` calls the
registered checks from ``__post_init__``), inner structs before the ones that hold them.
A rule raises ``Invalid(message, key)``, ``key`` relative to the struct, so that the
error names the key's line; a plain ``ValueError`` points at the struct itself.
"""

from __future__ import annotations

import re

from generator.config.alb import HealthCheck
from generator.config.asg import Asg
from generator.config.base import Invalid, rule
from generator.config.dns import Dns, HostedZone
from generator.config.ecs import (
    Ecs,
    PlacementConstraint,
    PlacementStrategy,
    Service,
    ServiceScaling,
)
from generator.config.environment import DeployTarget, Environment
from generator.config.network import Network
from generator.config.rds import Rds
from generator.config.workloads import (
    PARAMETER_ARN_PATTERN,
    SECRET_ARN_PATTERN,
    AppService,
    ListenerRule,
    SecretRef,
    Task,
    Workload,
    WorkloadScaling,
    fargate_size_problem,
)

# --- network, dns, alb, asg, rds ---------------------------------------------------


@rule(Network)
def _network(net: Network) -> None:
    if net.mode == "existing":
        if not net.vpc_id:
            raise Invalid("mode 'existing' needs vpc_id", "vpc_id")
        if len(net.public_subnet_ids) < 2:
            raise Invalid("mode 'existing' needs public_subnet_ids in two AZs", "public_subnet_ids")


@rule(HostedZone)
def _hosted_zone(zone: HostedZone) -> None:
    if not zone.create and (zone.parent_zone_id or zone.delegated):
        raise Invalid("parent_zone_id and delegated apply only to a created zone "
                      "(create: true)", "parent_zone_id" if zone.parent_zone_id else "delegated")


@rule(Dns)
def _dns(dns: Dns) -> None:
    zone = dns.zone.name.rstrip(".")
    if dns.domain != zone and not dns.domain.endswith("." + zone):
        raise Invalid(f"domain '{dns.domain}' is not inside zone '{zone}'", "domain")


@rule(HealthCheck)
def _health_check(hc: HealthCheck) -> None:
    if hc.timeout_seconds >= hc.interval_seconds:
        raise Invalid("timeout_seconds must be less than interval_seconds", "timeout_seconds")


@rule(Asg)
def _asg(asg: Asg) -> None:
    if asg.min_size > asg.max_size:
        raise Invalid(f"min_size ({asg.min_size}) > max_size ({asg.max_size})", "min_size")
    if not asg.min_size <= asg.desired_capacity <= asg.max_size:
        raise Invalid(
            f"desired_capacity ({asg.desired_capacity}) must be between "
            f"min_size ({asg.min_size}) and max_size ({asg.max_size})", "desired_capacity"
        )
    if asg.scaling.mode != "none" and asg.desired_capacity != asg.min_size:
        raise Invalid(
            f"desired_capacity ({asg.desired_capacity}) is not applied while scaling.mode "
            f"'{asg.scaling.mode}' owns the group's size (it starts at min_size "
            f"{asg.min_size}); set min_size instead, or scaling.mode none", "desired_capacity"
        )
    in_service = asg.rolling_update.min_instances_in_service
    if in_service is not None and in_service >= asg.max_size:
        raise Invalid(
            f"rolling_update.min_instances_in_service ({in_service}) must be below "
            f"max_size ({asg.max_size}): a replacement needs room beside the old instances",
            "rolling_update.min_instances_in_service"
        )


@rule(Rds)
def _rds(rds: Rds) -> None:
    if rds.app_username.lower() == rds.master_username.lower():
        raise ValueError(
            f"app_username ('{rds.app_username}') must differ from master_username: the app "
            "gets a least-privilege login of its own"
        )


@rule(PlacementStrategy)
def _placement_strategy(strategy: PlacementStrategy) -> None:
    if strategy.type == "random" and strategy.field:
        raise Invalid("strategy 'random' takes no field", "field")
    if strategy.type == "binpack" and strategy.field not in ("cpu", "memory"):
        raise Invalid("strategy 'binpack' needs field 'cpu' or 'memory'", "field")
    if strategy.type == "spread" and not strategy.field:
        raise ValueError("strategy 'spread' needs a field such as 'attribute:ecs.availability-zone'")


@rule(PlacementConstraint)
def _placement_constraint(constraint: PlacementConstraint) -> None:
    if constraint.type == "memberOf" and not constraint.expression:
        raise ValueError("constraint 'memberOf' needs an expression")
    if constraint.type == "distinctInstance" and constraint.expression:
        raise Invalid("constraint 'distinctInstance' takes no expression", "expression")


@rule(SecretRef)
def _secret_ref(ref: SecretRef) -> None:
    # Whole values (``$`` alone lets a trailing newline through): one secret of one
    # account and region, never a wildcard (the execution role may read exactly it).
    for key, pattern in (("secretsmanager_arn", SECRET_ARN_PATTERN),
                         ("ssm_parameter_arn", PARAMETER_ARN_PATTERN)):
        value = getattr(ref, key)
        if value is not None and not re.fullmatch(pattern, value):
            raise Invalid(f"{key} is not one secret's ARN; write arn:aws:... with the "
                          "region, the 12-digit account and the full name, no wildcards", key)
    given = [ref.db_password, bool(ref.secretsmanager_arn), bool(ref.ssm_parameter_arn)]
    if sum(given) != 1:
        raise ValueError("set exactly one of db_password, secretsmanager_arn, ssm_parameter_arn")


@rule(ServiceScaling)
def _service_scaling(scaling: ServiceScaling) -> None:
    if scaling.min_tasks > scaling.max_tasks:
        raise Invalid(f"min_tasks ({scaling.min_tasks}) > max_tasks ({scaling.max_tasks})", "min_tasks")
    if scaling.enabled and scaling.cpu_target_percent is None and scaling.requests_per_target is None:
        raise ValueError("enabled scaling needs cpu_target_percent or requests_per_target")


@rule(Service)
def _service(svc: Service) -> None:
    if svc.scaled and svc.desired_count != svc.autoscaling.min_tasks:
        raise Invalid(
            f"desired_count ({svc.desired_count}) is not applied while autoscaling owns "
            f"the count (the service starts at autoscaling.min_tasks "
            f"{svc.autoscaling.min_tasks}); set min_tasks instead, or autoscaling.enabled: "
            "false", "desired_count"
        )


@rule(ListenerRule)
def _listener_rule(lr: ListenerRule) -> None:
    if not lr.hosts and not lr.paths:
        raise ValueError("a listener rule needs hosts or paths")


@rule(WorkloadScaling)
def _workload_scaling(scaling: WorkloadScaling) -> None:
    if scaling.min_tasks > scaling.max_tasks:
        raise Invalid(f"min_tasks ({scaling.min_tasks}) > max_tasks ({scaling.max_tasks})", "min_tasks")


@rule(AppService)
def _app_service(svc: AppService) -> None:
    if svc.kind == "web" and svc.rule is None:
        raise Invalid("a web service needs a listener rule (rule.priority and hosts or paths)", "rule")
    if svc.kind == "worker" and svc.rule is not None:
        raise Invalid("a worker has no load balancer: drop rule, or set kind: web", "rule")


@rule(Ecs)
def _ecs(ecs: Ecs) -> None:
    _ecs_workload_names(ecs)
    _ecs_image_fits(ecs)
    for key in ("run_before", "run_after"):
        for name in getattr(ecs.service, key):
            if name not in ecs.tasks:
                raise ValueError(f"service.{key}: '{name}' is not in ecs.tasks "
                                 f"({', '.join(sorted(ecs.tasks)) or 'none defined'})")
    if ecs.container.memory_mib > ecs.memory_mib:
        raise Invalid(
            f"container.memory_mib ({ecs.container.memory_mib}) exceeds the task's "
            f"memory_mib ({ecs.memory_mib})", "container.memory_mib"
        )
    if ecs.container.cpu > ecs.cpu:
        raise Invalid(
            f"container.cpu ({ecs.container.cpu}) exceeds the task's cpu ({ecs.cpu})", "container.cpu"
        )
    if not ecs.fargate:
        return
    if ecs.network_mode not in (None, "awsvpc"):
        raise Invalid("Fargate needs network_mode 'awsvpc'", "network_mode")
    for c in ecs.service.placement_constraints:
        raise Invalid(
            f"Fargate does not support placement constraints ('{c.type}'); "
            "set service.placement_constraints: []", "service.placement_constraints"
        )
    if ecs.service.placement_strategies:
        raise Invalid(
            "Fargate does not support placement strategies; set service.placement_strategies: []",
            "service.placement_strategies",
        )
    if ecs.service.scheduling_strategy == "DAEMON":
        raise Invalid(
            "Fargate does not support the DAEMON scheduling strategy", "service.scheduling_strategy"
        )
    problem = fargate_size_problem(ecs.cpu, ecs.memory_mib)
    if problem:
        raise Invalid(problem, "memory_mib")
    sized: dict[str, Task | Workload] = {
        **{f"tasks.{n}": t for n, t in ecs.tasks.items()},
        **{f"services.{n}": t for n, t in ecs.services.items()},
        **{f"jobs.{n}": t for n, t in ecs.jobs.items()},
    }
    for key, task in sized.items():
        problem = fargate_size_problem(task.cpu, task.memory_mib)
        if problem:
            raise Invalid(problem, f"{key}.memory_mib")


def _ecs_image_fits(ecs: Ecs) -> None:
    """What runs the app's image must be what the image has: its architecture (an
    ARM64 task of an x86 image stops with "exec format error") and its npm scripts
    (`npm run X` without X exits 1: "Missing script")."""
    c = ecs.container
    if c.image_architecture and ecs.cpu_architecture != c.image_architecture:
        raise Invalid(
            f"cpu_architecture is {ecs.cpu_architecture} but the image ({c.image}) is "
            f"built for {c.image_architecture} (ecs.container.image_architecture): its "
            f"tasks would stop with 'exec format error'; set cpu_architecture: "
            f"{c.image_architecture} or use an image built for {ecs.cpu_architecture}",
            "cpu_architecture")
    if c.npm_scripts is None:
        return
    workloads: dict[str, Task | Workload] = {
        **{f"tasks.{n}": t for n, t in ecs.tasks.items()},
        **{f"services.{n}": t for n, t in ecs.services.items()},
        **{f"jobs.{n}": t for n, t in ecs.jobs.items()},
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


def _ecs_workload_names(ecs: Ecs) -> None:
    """One name per workload: each names a task definition family, a log stream
    prefix and run-task's argument. The app's service is its container's name."""
    reserved = {ecs.container.name: "the app's service (ecs.service, ecs.container)",
                "app": "the app's task definition family",
                "db-bootstrap": "the DB login's init container"}
    seen: dict[str, str] = {}
    for kind, names in (("tasks", ecs.tasks), ("services", ecs.services), ("jobs", ecs.jobs)):
        for name in names:
            if name in reserved:
                raise Invalid(f"the name '{name}' is {reserved[name]}; name this one otherwise",
                              f"{kind}.{name}")
            if name in seen:
                raise Invalid(f"'{name}' is already ecs.{seen[name]}.{name}; workload names are "
                              "unique across tasks, services and jobs", f"{kind}.{name}")
            seen[name] = kind
    rules: dict[int, str] = {}
    for name, svc in ecs.services.items():
        if svc.rule is None:
            continue
        if svc.rule.priority in rules:
            raise Invalid(f"rule.priority {svc.rule.priority} is taken by services."
                          f"{rules[svc.rule.priority]}; priorities are unique per listener",
                          f"services.{name}.rule.priority")
        rules[svc.rule.priority] = name
        if ecs.service.deployment.strategy == "BLUE_GREEN":
            # alb's production rule (priority 1, every path) answers first.
            raise Invalid("a web service beside a BLUE_GREEN app would never get a request: "
                          "the production rule (priority 1, path /*) takes them all; use "
                          "kind: worker, or service.deployment.strategy ROLLING",
                          f"services.{name}.kind")
        # The app's security group lets the load balancer reach the app's ports only
        # (network stack): the ephemeral range for dynamic host ports, else one port.
        mode = ecs.effective_network_mode
        if mode == "bridge" and ecs.container.host_port != 0:
            raise Invalid("a web service beside the app needs dynamic host ports in bridge mode "
                          "(the load balancer may reach only the app's port); set "
                          "ecs.container.host_port: 0", f"services.{name}.kind")
        if mode != "bridge" and svc.container_port != ecs.container.container_port:
            raise Invalid(f"in {mode} mode the load balancer reaches port "
                          f"{ecs.container.container_port} only; set container_port: "
                          f"{ecs.container.container_port}", f"services.{name}.container_port")


@rule(DeployTarget)
def _deploy_target(target: DeployTarget) -> None:
    if target.role_arn and target.role_arn.split(":")[4] != target.account:
        raise Invalid(f"role_arn is a role of account {target.role_arn.split(':')[4]}, "
                      f"the target's account is {target.account}; name a role in "
                      f"{target.account}", "role_arn")
    zones = target.availability_zones
    for zone in zones:
        # An AZ name is its region's name plus a letter (or a local zone's suffix).
        if not zone.startswith(target.region):
            raise Invalid(f"'{zone}' is not in the target's region {target.region}; use e.g. "
                          f"'{target.region}a'", "availability_zones")
    if zones and (len(zones) < 2 or len(set(zones)) != len(zones)):
        raise Invalid("a target's availability_zones are two or more distinct AZs (the "
                      "subnets span two AZs at least)", "availability_zones")


@rule(Environment)
def _environment(env: Environment) -> None:
    seen = set()
    for i, t in enumerate(env.targets):
        if (t.account, t.region) in seen:
            raise Invalid(f"targets: account {t.account} in {t.region} is listed twice; "
                          "list each account and region once", f"targets.{i}")
        seen.add((t.account, t.region))
        zones = env.network.availability_zones
        if env.network.mode == "create" and not t.availability_zones and \
                not all(z.startswith(t.region) for z in zones):
            # Each target is rendered in its own region (as written or for a target, the
            # env's zones stay network.availability_zones): another region's AZs there
            # could not hold its subnets.
            raise Invalid(f"target {t.account}/{t.region}: network.availability_zones "
                          f"({', '.join(zones)}) are not in {t.region}; give the target its "
                          f"own, e.g. availability_zones: [{t.region}a, {t.region}b]",
                          f"targets.{i}")
    if env.deployment_mode == "express" and env.termination_protection:
        # "For production deployments ... use the default deployment mode" (CloudFormation
        # user guide, "Deploy CloudFormation stacks faster with express mode").
        raise Invalid(
            "'express' is for dev-like envs: CloudFormation completes a "
            "stack before its resources are ready, which a prod-like env "
            "(termination_protection: true) must not do; set deployment_mode: standard",
            "deployment_mode")
    ecs, asg = env.ecs, env.asg
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
