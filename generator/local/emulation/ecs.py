"""ECS services as AWS runs them, where moto places no task.

- A service's tasks are placed on the registered instances or on Fargate, and a rolling
  deployment must fit (``ecs_placement``); when it cannot, the resource fails at once with
  ECS's event text, where CloudFormation on AWS waits hours for a steady state. A capacity
  provider with managed scaling grows its group first, up to MaxSize (ECS developer guide,
  "Automatically manage Amazon ECS capacity with cluster auto scaling").
- A service whose capacity provider is not associated with its cluster is refused
  (ECS API reference, CreateService: capacityProviderStrategy).
- Running tasks are visible: ListTasks (also by serviceName), DescribeServices'
  runningCount, the cluster's counts.

This module's room: task definitions, services and their deployments, and the order the
ECS emulation is applied in. The cluster's instances are ecs_cluster.py's, a task's
bookkeeping ecs_tasks.py's, tasks run in Docker ecs_containers.py's.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from moto.autoscaling.models import autoscaling_backends
from moto.core.exceptions import ServiceException
from moto.ecs import models as ecs_models
from moto.ecs.models import ecs_backends
from moto.moto_api._internal import mock_random

from generator.local.emulation import albproxy, containers, ecs_cluster, ecs_containers, ecs_tasks
from generator.local.emulation.ecs_containers import run_deployment
from generator.local.emulation.ecs_placement import (
    Host,
    Need,
    PlacementError,
    Rollout,
    place_one,
    roll_out,
    rules_from,
    take,
    task_need,
)
from generator.local.emulation.ecs_tasks import (
    arn_of,
    camel,
    name_of,
    new_task,
    on_fargate,
    provider_strategy,
    recount,
    running_tasks,
    stop,
    td_view,
)

MAX_SCALE_OUTS = 10


class InvalidParameter(ServiceException):
    code = "InvalidParameterException"


# --- task definitions keep what placement needs ---------------------------------------------


def _task_definitions() -> None:
    """moto's CloudFormation dropped task cpu, network mode, placement constraints and
    compatibilities, and stored an update's containers in PascalCase."""
    td_class = ecs_models.TaskDefinition

    def register(props: dict[str, Any], account_id: str, region_name: str) -> Any:
        ecs = ecs_backends[account_id][region_name]
        family = props.get("Family") or f"task-definition-{int(mock_random.random() * 10**6)}"
        for revision in ecs.task_definitions.get(family, {}).values():
            # an update rolled back finds its revision again, as on AWS
            if revision.status == "ACTIVE" and getattr(revision, "cfn_properties", None) == props:
                return revision
        registered = ecs.register_task_definition(
            family=family,
            container_definitions=camel(props.get("ContainerDefinitions") or []),
            volumes=camel(props.get("Volumes")), network_mode=props.get("NetworkMode"),
            tags=camel(props.get("Tags")),
            placement_constraints=camel(props.get("PlacementConstraints")),
            requires_compatibilities=props.get("RequiresCompatibilities"),
            cpu=props.get("Cpu"), memory=props.get("Memory"),
            task_role_arn=props.get("TaskRoleArn"),
            execution_role_arn=props.get("ExecutionRoleArn"),
            runtime_platform=camel(props.get("RuntimePlatform")),
        )
        registered.cfn_properties = copy.deepcopy(props)  # type: ignore[attr-defined]
        return registered

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
               region_name: str, **kwargs: Any) -> Any:
        return register(cloudformation_json["Properties"], account_id, region_name)

    def update(cls: Any, original_resource: Any, new_resource_name: str,
               cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        # Every property of AWS::ECS::TaskDefinition is create-only: a new revision.
        return register(cloudformation_json["Properties"], account_id, region_name)

    td_class.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment,arg-type]
    td_class.update_from_cloudformation_json = classmethod(update)  # type: ignore[assignment]


# --- services ----------------------------------------------------------------------------


def _hosts(ecs: Any, cluster_name: str, group: str) -> list[Host]:
    hosts = []
    for ci in ecs.container_instances.get(cluster_name, {}).values():
        if ci.status != "ACTIVE":
            continue
        left = {r["name"]: r for r in ci.remaining_resources}
        hosts.append(Host(
            id=ci.id, instance_type=ci.attributes.get("ecs.instance-type", ""),
            attributes=dict(ci.attributes), cpu=int(left["CPU"]["integerValue"]),
            memory=int(left["MEMORY"]["integerValue"]),
            ports={int(p) for p in left["PORTS"].get("stringSetValue", [])},
            service_tasks=len(running_tasks(ecs, cluster_name, group, ci.container_instance_arn))))
    return hosts


def _check_capacity_providers(cluster: Any, config: dict[str, Any]) -> None:
    associated = set(cluster.capacity_providers or [])
    for item in config.get("capacityProviderStrategy") or []:
        if item["capacityProvider"] not in associated:
            raise InvalidParameter(
                "The specified capacity provider strategy cannot contain a capacity provider "
                "that is not associated with the cluster. Associate the capacity provider "
                "with the cluster or specify a valid capacity provider and try again.")


def _scale_out(ecs: Any, cluster: Any, config: dict[str, Any]) -> bool:
    """Managed scaling adds an instance to the provider's group when tasks wait for one."""
    for item in provider_strategy(ecs, cluster, config):
        provider = ecs._get_provider(item["capacityProvider"])
        if provider is None:
            continue
        asg_provider = provider.auto_scaling_group_provider
        if (asg_provider.get("managedScaling") or {}).get("status") != "ENABLED":
            continue
        wanted = asg_provider.get("autoScalingGroupArn", "")
        groups = autoscaling_backends[ecs.account_id][ecs.region_name].autoscaling_groups
        for group in groups.values():
            if wanted in (group.name, group.arn) and \
                    len(group.active_instances()) < (group.max_size or 0):
                group.set_desired_capacity(len(group.active_instances()) + 1)
                return True
    return False


def _deploy(ecs: Any, service: Any, config: dict[str, Any], td_arn: str, desired: int,
            new_deployment: bool) -> None:
    """Place the service's tasks, or raise PlacementError; nothing changes on failure."""
    cluster = ecs._get_cluster(service.cluster_name)
    td = ecs.describe_task_definition(td_arn)
    need = task_need(td_view(td))
    group = f"service:{service.name}"
    rules = rules_from(service.name, list(config.get("placementConstraints") or [])
                       + list(td.placement_constraints or []))
    deployment = config.get("deploymentConfiguration") or {}
    blue_green = deployment.get("strategy") == "BLUE_GREEN"
    minimum = 100 if blue_green else int(deployment.get("minimumHealthyPercent", 100))
    maximum = 200 if blue_green else int(deployment.get("maximumPercent", 200))
    fargate = on_fargate(ecs, cluster, config)
    old_tasks = running_tasks(ecs, cluster.name, group)
    for attempt in range(MAX_SCALE_OUTS + 1):
        hosts = None if fargate else _hosts(ecs, cluster.name, group)
        old = [(t.task_arn, (t.container_instance_arn or "").split("/")[-1] or None,
                Need(int(t.resource_requirements["CPU"]), int(t.resource_requirements["MEMORY"]),
                     frozenset(int(p) for p in t.resource_requirements["PORTS"])))
               for t in old_tasks]
        try:
            if new_deployment or not old:
                plan = roll_out(hosts, old, need, desired, rules, minimum, maximum)
            else:
                plan = _scale(hosts, old, need, desired, rules)
            break
        except PlacementError:
            if fargate or attempt == MAX_SCALE_OUTS or not _scale_out(ecs, cluster, config):
                raise
    by_arn = {t.task_arn: t for t in old_tasks}
    for task_arn in plan.stop:
        stop(ecs, by_arn[task_arn], "Task stopped by the service's deployment")
    deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    started = [new_task(ecs, cluster, td, host_id, need, group, fargate, deployment_id, config)
               for host_id in plan.start]
    if containers.SETTINGS.enabled and started:
        run_deployment(ecs, service, config, td, started, desired, need, group, fargate,
                        deployment_id)
    service.running_count = len(running_tasks(ecs, cluster.name, group))
    service.pending_count = 0
    for record in service.deployments[:1]:
        record.update(desiredCount=desired, runningCount=service.running_count, pendingCount=0,
                      taskDefinition=td.arn, rolloutState="COMPLETED",
                      rolloutStateReason=f"ECS deployment {record['id']} completed.")
    recount(ecs, cluster.name)


def service_event(service: Any, text: str) -> None:
    """An event of the service as DescribeServices lists them (newest first), in ECS's
    words: "(service web) was unable to place a task because ..."."""
    prefix = f"service {service.name} "
    message = f"(service {service.name}) {text[len(prefix):]}" if text.startswith(prefix) \
        else text
    service.events.insert(0, {"id": str(mock_random.uuid4()),
                              "createdAt": datetime.now(UTC), "message": message})


def _scale(hosts: list[Host] | None, old: list[tuple[str, str | None, Need]], need: Need,
           desired: int, rules: Any) -> Rollout:
    """Desired count moves without a new deployment: start or stop the difference."""
    if desired <= len(old):
        return Rollout(tuple(t[0] for t in old[desired:]), ())
    started: list[str | None] = []
    for _ in range(desired - len(old)):
        if hosts is None:
            started.append(None)
            continue
        host = place_one(hosts, need, rules)
        take(host, need)
        started.append(host.id)
    return Rollout((), tuple(started))


def _config(props: dict[str, Any]) -> dict[str, Any]:
    network = camel(props.get("NetworkConfiguration"))
    if network:
        network.setdefault("awsvpcConfiguration", {}).setdefault("securityGroups", [])
    return {
        "launchType": props.get("LaunchType"),
        "capacityProviderStrategy": camel(props.get("CapacityProviderStrategy")) or [],
        "placementConstraints": camel(props.get("PlacementConstraints")) or [],
        "deploymentConfiguration": camel(props.get("DeploymentConfiguration")) or {},
        "deploymentController": camel(props.get("DeploymentController")) or {"type": "ECS"},
        "networkConfiguration": network,
        "loadBalancers": camel(props.get("LoadBalancers")) or [],
    }


def _apply_config(service: Any, config: dict[str, Any]) -> None:
    service.emulated_config = config
    service.launch_type = config["launchType"]
    service.capacity_provider_strategy = config["capacityProviderStrategy"]
    service.placement_constraints = config["placementConstraints"]
    service.deployment_configuration = config["deploymentConfiguration"]
    service.deployment_controller = config["deploymentController"]
    if config["networkConfiguration"]:
        service.network_configuration = config["networkConfiguration"]


def _services() -> None:
    service_class = ecs_models.Service

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
               region_name: str, **kwargs: Any) -> Any:
        props = cloudformation_json["Properties"]
        ecs = ecs_backends[account_id][region_name]
        cluster = ecs._get_cluster(name_of(props.get("Cluster") or "default"))
        config = _config(props)
        _check_capacity_providers(cluster, config)
        td_arn = arn_of(props["TaskDefinition"])
        # CloudFormation's default DesiredCount is 1 on create.
        desired = int(props["DesiredCount"]) if props.get("DesiredCount") is not None else 1
        service = ecs.create_service(cluster.name, resource_name, 0, task_definition_str=td_arn,
                                     launch_type=config["launchType"] or "EC2")
        _apply_config(service, config)
        try:
            _deploy(ecs, service, config, td_arn, desired, new_deployment=True)
        except Exception as exc:
            # CloudFormation deletes the service it could not stabilize; ECS keeps it
            # readable, INACTIVE, with its events, for a while (ECS API reference,
            # DeleteService: "Services in the DRAINING or INACTIVE status can still be
            # viewed with the DescribeServices API operation"), and the failed event
            # names it. So the diagnosis finds why, as on AWS.
            ecs.delete_service(cluster.name, service.name, force=True)
            if isinstance(exc, PlacementError):
                service_event(service, str(exc))
            exc.physical_resource_id = service.arn  # type: ignore[attr-defined]
            raise
        service.desired_count = desired
        service.task_definition = td_arn
        recount(ecs, cluster.name)
        return service

    def update(cls: Any, original_resource: Any, new_resource_name: str,
               cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        props = cloudformation_json["Properties"]
        ecs = ecs_backends[account_id][region_name]
        service = original_resource
        cluster_name = name_of(props.get("Cluster") or "default")
        if cluster_name != service.cluster_name or (
                props.get("ServiceName") and props["ServiceName"] != service.name):
            # Cluster and ServiceName are create-only: a new service, then the old one goes.
            new = create(cls, new_resource_name, cloudformation_json, account_id, region_name)
            delete(service, account_id, region_name)
            return new
        cluster = ecs._get_cluster(cluster_name)
        config = _config(props)
        _check_capacity_providers(cluster, config)
        td_arn = arn_of(props["TaskDefinition"])
        # Without DesiredCount in the template an update keeps the current count.
        desired = (int(props["DesiredCount"]) if props.get("DesiredCount") is not None
                   else service.desired_count)
        old_config = getattr(service, "emulated_config", {})
        new_deployment = td_arn != service.task_definition or any(
            config[k] != old_config.get(k) for k in
            ("launchType", "capacityProviderStrategy", "placementConstraints",
             "networkConfiguration")) or bool(props.get("ForceNewDeployment"))
        _deploy(ecs, service, config, td_arn, desired, new_deployment)
        _apply_config(service, config)
        service.desired_count = desired
        service.task_definition = td_arn
        return service

    def delete(self: Any, account_id: str, region_name: str) -> None:
        # moto left services (and so their tasks) behind; AWS drains and deletes them.
        ecs = ecs_backends[account_id][region_name]
        for task in running_tasks(ecs, self.cluster_name, f"service:{self.name}"):
            stop(ecs, task, "Service deleted")
        if self.cluster_name in ecs.clusters:
            ecs.delete_service(self.cluster_name, self.name, force=True)
        self.desired_count = self.running_count = 0

    service_class.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment,arg-type]
    service_class.update_from_cloudformation_json = classmethod(update)  # type: ignore[assignment]
    service_class.delete = delete  # type: ignore[attr-defined]

    original_list = ecs_models.EC2ContainerServiceBackend.list_tasks

    def list_tasks(self: Any, cluster_str: str | None = None,
                   container_instance: str | None = None, family: str | None = None,
                   started_by: str | None = None, service_name: str | None = None,
                   desiredStatus: str | None = None) -> list[Any]:
        found = original_list(self, cluster_str, container_instance, family, started_by,
                              None, desiredStatus)
        if service_name:  # moto ignored the filter
            found = [t for t in found if t.group == f"service:{service_name.split('/')[-1]}"]
        return list(found)

    ecs_models.EC2ContainerServiceBackend.list_tasks = list_tasks  # type: ignore[method-assign]


def _awsvpc_tasks_in_any_vpc() -> None:
    """moto's Task reads its interface's private DNS name, which moto sets only in a VPC
    with DNS hostnames enabled: an awsvpc task in any other VPC failed (AttributeError)."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    if not hasattr(NetworkInterface, "private_dns_name"):
        setattr(NetworkInterface, "private_dns_name", None)  # noqa: B010  # absent on the class




def apply() -> None:
    _awsvpc_tasks_in_any_vpc()
    ecs_cluster.launched_instances_register()
    ecs_cluster.terminated_instances_deregister()
    ecs_cluster.clusters()
    _task_definitions()
    _services()
    ecs_containers.tasks_show_containers()  # after _services: it wraps its list_tasks
    ecs_tasks.run_task_says_why()
    if containers.SETTINGS.enabled:
        albproxy.start()
