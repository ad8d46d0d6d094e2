"""ECS as AWS runs it, where moto runs no agent and places no task.

- An instance an Auto Scaling group launches registers as a container instance of the
  cluster its user data names (``ECS_CLUSTER=<name>``) if that cluster exists at launch,
  and never otherwise: the ECS agent treats "cluster not found" as terminal and its
  systemd unit does not restart it (aws/amazon-ecs-agent, ``ecs_client.go``
  ``registerContainerInstanceWithRetry``/``isTransientError``; ``ecs.service``
  ``RestartPreventExitStatus=5``). A terminated instance leaves the cluster.
- Registered capacity: vCPU x 1024 cpu units, and the memory the kernel reports, which is
  below the nominal size (ECS developer guide, "Container instance memory management":
  an m4.large's 8192 MiB registers as 7985 MiB). The figure per type is the project's one
  table (generator/capacity.py, the documented figure else a conservative estimate), the
  one the forecast packs against; a type it lacks gets the same estimate from the
  nominal memory in EC2's DescribeInstanceTypes data moto ships.
- DeleteCluster is refused while container instances are registered, services or tasks
  are active, or an Auto Scaling group capacity provider is associated (ECS API
  reference, DeleteCluster: ClusterContainsContainerInstancesException,
  ClusterContainsServicesException, ClusterContainsTasksException,
  ClusterContainsCapacityProviderException).
- A service's tasks are placed on the registered instances or on Fargate, and a rolling
  deployment must fit (``ecs_placement``); when it cannot, the resource fails at once with
  ECS's event text, where CloudFormation on AWS waits hours for a steady state. A capacity
  provider with managed scaling grows its group first, up to MaxSize (ECS developer guide,
  "Automatically manage Amazon ECS capacity with cluster auto scaling").
- A service whose capacity provider is not associated with its cluster is refused
  (ECS API reference, CreateService: capacityProviderStrategy).
- Running tasks are visible: ListTasks (also by serviceName), DescribeServices'
  runningCount, the cluster's counts.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.autoscaling.models import FakeAutoScalingGroup, autoscaling_backends
from moto.core.exceptions import ServiceException
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ec2.models import ec2_backends
from moto.ec2.models.instance_types import INSTANCE_TYPES
from moto.ec2.models.instances import InstanceBackend
from moto.ecs import models as ecs_models
from moto.ecs.models import ecs_backends
from moto.moto_api._internal import mock_random

from generator import capacity as capacity_table
from generator.local.emulation import albproxy, containers
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

ECS_CLUSTER = re.compile(r"ECS_CLUSTER=[\"']?([\w\-]+)")
# The agent's own reservation from ecs.config ("Container instance memory management").
ECS_RESERVED_MEMORY = re.compile(r"ECS_RESERVED_MEMORY=[\"']?(\d+)")
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
MAX_SCALE_OUTS = 10


class ClusterContainsContainerInstances(ServiceException):
    code = "ClusterContainsContainerInstancesException"
    message = "The Cluster cannot be deleted while Container Instances are active or draining."


class ClusterContainsServices(ServiceException):
    code = "ClusterContainsServicesException"
    message = "The Cluster cannot be deleted while Services are active."


class ClusterContainsTasks(ServiceException):
    code = "ClusterContainsTasksException"
    message = "The Cluster cannot be deleted while Tasks are active."


class ClusterContainsCapacityProvider(ServiceException):
    code = "ClusterContainsCapacityProviderException"
    message = ("The cluster contains one or more capacity providers that prevent the "
               "requested operation.")


class InvalidParameter(ServiceException):
    code = "InvalidParameterException"


def registrable(instance_type: str) -> tuple[int, int]:
    """(cpu units, MiB) an instance of this type registers with."""
    info = INSTANCE_TYPES.get(instance_type)
    if info is None:
        raise PlacementError(f"unknown instance type {instance_type}")
    # The project's one table (generator/capacity.py: the ECS guide's documented figure,
    # else its estimate) decides what an instance registers, as the forecast assumes;
    # a type it lacks gets the same estimate from moto's installed memory.
    known = capacity_table.registrable(instance_type)
    if known is not None:
        return known
    vcpus = int(info["VCpuInfo"]["DefaultVCpus"])
    memory = int(info["MemoryInfo"]["SizeInMiB"])
    return vcpus * 1024, capacity_table.estimate_registrable(instance_type, memory)


def _camel(value: Any) -> Any:
    return remap_nested_keys(value, pascal_to_camelcase) if value else value


# --- container instances --------------------------------------------------------------


def _register(ecs: Any, cluster_name: str, instance: Any, reserved_memory: int) -> None:
    registered = ecs.register_container_instance(cluster_name, instance.id)
    cpu, memory = registrable(instance.instance_type)
    memory -= reserved_memory
    for resources in (registered.registered_resources, registered.remaining_resources):
        for resource in resources:
            if resource["name"] == "CPU":
                resource["integerValue"] = cpu
            elif resource["name"] == "MEMORY":
                resource["integerValue"] = memory


def _ecs_config(user_data: Any) -> tuple[str | None, int]:
    """The cluster the user data names, and the memory it reserves for the host."""
    if user_data is None:
        return None, 0
    try:
        text = user_data.decode()
    except (ValueError, UnicodeDecodeError):
        return None, 0
    found, reserved = ECS_CLUSTER.search(text), ECS_RESERVED_MEMORY.search(text)
    return (found.group(1) if found else None), (int(reserved.group(1)) if reserved else 0)


def _launched_instances_register() -> None:
    original = FakeAutoScalingGroup.replace_autoscaling_group_instances

    def replace_autoscaling_group_instances(self: Any, count_needed: int,
                                            propagated_tags: dict[str, str]) -> None:
        before = {state.instance.id for state in self.instance_states}
        original(self, count_needed, propagated_tags)
        cluster_name, reserved_memory = _ecs_config(self.user_data)
        if cluster_name is None:
            return
        backend = self.autoscaling_backend
        ecs = ecs_backends[backend.account_id][backend.region_name]
        cluster = ecs.clusters.get(cluster_name)
        if cluster is None or cluster.status != "ACTIVE":
            return  # the agent's registration fails with "cluster not found" and stays down
        for state in self.instance_states:
            if state.instance.id not in before:
                _register(ecs, cluster_name, state.instance, reserved_memory)

    FakeAutoScalingGroup.replace_autoscaling_group_instances = (  # type: ignore[method-assign]
        replace_autoscaling_group_instances)


def _terminated_instances_deregister() -> None:
    original = InstanceBackend.terminate_instances

    def terminate_instances(self: Any, instance_ids: list[str]) -> Any:
        result = original(self, instance_ids)
        ecs = ecs_backends[self.account_id][self.region_name]
        for cluster_name, instances in list(ecs.container_instances.items()):
            for ci_id, ci in list(instances.items()):
                if ci.ec2_instance_id in instance_ids:
                    for task in _tasks(ecs, cluster_name, container_instance=ci.container_instance_arn):
                        _stop(ecs, task, "Container instance terminated")
                    del instances[ci_id]
                    cluster = ecs.clusters.get(cluster_name)
                    if cluster is not None:
                        cluster.registered_container_instances_count -= 1
        return result

    InstanceBackend.terminate_instances = terminate_instances  # type: ignore[method-assign]


# --- clusters ---------------------------------------------------------------------------


def _clusters() -> None:
    backend_class = ecs_models.EC2ContainerServiceBackend
    original_delete = backend_class.delete_cluster

    def delete_cluster(self: Any, cluster_str: str) -> Any:
        cluster = self._get_cluster(cluster_str)
        if any(ci.status in ("ACTIVE", "DRAINING")
               for ci in self.container_instances.get(cluster.name, {}).values()):
            raise ClusterContainsContainerInstances()
        if any(s.cluster_name == cluster.name and s.status == "ACTIVE"
               for s in self.services.values()):
            raise ClusterContainsServices()
        # Standalone tasks (RunTask, a schedule's job) still running, and Auto Scaling
        # group capacity providers still associated, refuse the delete too (ECS API
        # reference, DeleteCluster errors).
        if any(getattr(t, "last_status", "") != "STOPPED"
               for t in self.tasks.get(cluster.name, {}).values()):
            raise ClusterContainsTasks()
        if any(p not in FARGATE_PROVIDERS for p in (cluster.capacity_providers or [])):
            raise ClusterContainsCapacityProvider()
        return original_delete(self, cluster_str)

    backend_class.delete_cluster = delete_cluster  # type: ignore[method-assign]

    cluster_class = ecs_models.Cluster
    original_create = cluster_class.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
               region_name: str, **kwargs: Any) -> Any:
        cluster = original_create(cls, resource_name, cloudformation_json, account_id,
                                  region_name, **kwargs)
        props = cloudformation_json.get("Properties") or {}
        if props.get("CapacityProviders") or props.get("DefaultCapacityProviderStrategy"):
            ecs_backends[account_id][region_name].put_cluster_capacity_providers(
                cluster.name, props.get("CapacityProviders") or [],
                _camel(props.get("DefaultCapacityProviderStrategy")) or [])
        return cluster

    def delete(self: Any, account_id: str, region_name: str) -> None:
        # moto left the cluster behind; CloudFormation calls DeleteCluster.
        ecs_backends[account_id][region_name].delete_cluster(self.arn)

    cluster_class.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment,arg-type]
    cluster_class.delete = delete  # type: ignore[attr-defined]


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
            container_definitions=_camel(props.get("ContainerDefinitions") or []),
            volumes=_camel(props.get("Volumes")), network_mode=props.get("NetworkMode"),
            tags=_camel(props.get("Tags")),
            placement_constraints=_camel(props.get("PlacementConstraints")),
            requires_compatibilities=props.get("RequiresCompatibilities"),
            cpu=props.get("Cpu"), memory=props.get("Memory"),
            task_role_arn=props.get("TaskRoleArn"),
            execution_role_arn=props.get("ExecutionRoleArn"),
            runtime_platform=_camel(props.get("RuntimePlatform")),
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


def _tasks(ecs: Any, cluster_name: str, group: str | None = None,
           container_instance: str | None = None) -> list[Any]:
    return [t for t in ecs.tasks.get(cluster_name, {}).values()
            if t.desired_status == "RUNNING"
            and (group is None or t.group == group)
            and (container_instance is None or t.container_instance_arn == container_instance)]


def _stop(ecs: Any, task: Any, reason: str) -> None:
    """Stop a task: its reservation goes back to the instance, its interface away."""
    instances = ecs.container_instances.get(task.cluster_name, {})
    # A one-off task that ran to STOPPED gave its reservation back already (compat's
    # stackgen_released): stopping it by hand must not give it back twice.
    if task.container_instance_arn and not getattr(task, "stackgen_released", False):
        ci = instances.get(task.container_instance_arn.split("/")[-1])
        if ci is not None:
            ecs.update_container_instance_resources(ci, task.resource_requirements, removing=True)
        task.stackgen_released = True
    ec2 = ec2_backends[ecs.account_id][ecs.region_name]
    for attachment in task.attachments:
        for detail in attachment.get("details", []):
            if detail["name"] == "networkInterfaceId":
                ec2.delete_network_interface(detail["value"])
    task.last_status = task.desired_status = "STOPPED"
    task.stopped_reason = reason
    ecs.tasks[task.cluster_name].pop(task.task_arn, None)
    _stopped_tasks(ecs)[task.task_arn] = task
    run = RUNS.pop(task.task_arn, None)
    if run is not None:
        run.stop(reason)
        albproxy.deregister(task.task_arn)
    service = ecs.services.get(f"{task.cluster_name}:{task.group.removeprefix('service:')}")
    if service is not None and task.group.startswith("service:"):
        service.running_count = len(_tasks(ecs, task.cluster_name, task.group))
    _recount(ecs, task.cluster_name)


def _recount(ecs: Any, cluster_name: str) -> None:
    cluster = ecs.clusters.get(cluster_name)
    if cluster is not None:
        cluster.running_tasks_count = len(_tasks(ecs, cluster_name))
        cluster.pending_tasks_count = 0


def _td_view(td: Any) -> dict[str, Any]:
    return {"cpu": td.cpu, "memory": td.memory, "networkMode": td.network_mode,
            "containerDefinitions": td.container_definitions}


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
            service_tasks=len(_tasks(ecs, cluster_name, group, ci.container_instance_arn))))
    return hosts


def _strategy(ecs: Any, cluster: Any, config: dict[str, Any]) -> list[dict[str, Any]]:
    if config.get("launchType"):
        return []
    return list(config.get("capacityProviderStrategy") or
                cluster.default_capacity_provider_strategy or [])


def _on_fargate(ecs: Any, cluster: Any, config: dict[str, Any]) -> bool:
    if config.get("launchType"):
        return bool(config["launchType"] == "FARGATE")
    strategy = _strategy(ecs, cluster, config)
    return bool(strategy) and all(s["capacityProvider"] in FARGATE_PROVIDERS for s in strategy)


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
    for item in _strategy(ecs, cluster, config):
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
    need = task_need(_td_view(td))
    group = f"service:{service.name}"
    rules = rules_from(service.name, list(config.get("placementConstraints") or [])
                       + list(td.placement_constraints or []))
    deployment = config.get("deploymentConfiguration") or {}
    blue_green = deployment.get("strategy") == "BLUE_GREEN"
    minimum = 100 if blue_green else int(deployment.get("minimumHealthyPercent", 100))
    maximum = 200 if blue_green else int(deployment.get("maximumPercent", 200))
    fargate = _on_fargate(ecs, cluster, config)
    old_tasks = _tasks(ecs, cluster.name, group)
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
        _stop(ecs, by_arn[task_arn], "Task stopped by the service's deployment")
    deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    started = [_new_task(ecs, cluster, td, host_id, need, group, fargate, deployment_id, config)
               for host_id in plan.start]
    if containers.SETTINGS.enabled and started:
        _run_deployment(ecs, service, config, td, started, desired, need, group, fargate,
                        deployment_id)
    service.running_count = len(_tasks(ecs, cluster.name, group))
    service.pending_count = 0
    for record in service.deployments[:1]:
        record.update(desiredCount=desired, runningCount=service.running_count, pendingCount=0,
                      taskDefinition=td.arn, rolloutState="COMPLETED",
                      rolloutStateReason=f"ECS deployment {record['id']} completed.")
    _recount(ecs, cluster.name)


def _new_task(ecs: Any, cluster: Any, td: Any, host_id: str | None, need: Need, group: str,
              fargate: bool, deployment_id: str, config: dict[str, Any]) -> Any:
    """A service task on ``host_id`` (None: Fargate), its reservation taken."""
    requirements: Any = {"CPU": need.cpu, "MEMORY": need.memory, "PORTS": sorted(need.ports),
                         "PORTS_UDP": []}
    ci = ecs.container_instances.get(cluster.name, {}).get(host_id) if host_id else None
    task = ecs_models.Task(
        cluster, td, ci.container_instance_arn if ci else None, requirements, backend=ecs,
        group=group, launch_type="FARGATE" if fargate else "EC2", started_by=deployment_id,
        networking_configuration=config.get("networkConfiguration") or None)
    task.host_id = host_id  # type: ignore[attr-defined]  # where a replacement goes
    if ci is not None:
        ecs.update_container_instance_resources(ci, requirements)
    ecs.tasks.setdefault(cluster.name, {})[task.task_arn] = task
    return task


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
    network = _camel(props.get("NetworkConfiguration"))
    if network:
        network.setdefault("awsvpcConfiguration", {}).setdefault("securityGroups", [])
    return {
        "launchType": props.get("LaunchType"),
        "capacityProviderStrategy": _camel(props.get("CapacityProviderStrategy")) or [],
        "placementConstraints": _camel(props.get("PlacementConstraints")) or [],
        "deploymentConfiguration": _camel(props.get("DeploymentConfiguration")) or {},
        "deploymentController": _camel(props.get("DeploymentController")) or {"type": "ECS"},
        "networkConfiguration": network,
        "loadBalancers": _camel(props.get("LoadBalancers")) or [],
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


def _name(value: Any) -> str:
    return str(getattr(value, "name", value)).split("/")[-1]


def _arn(value: Any) -> str:
    return str(getattr(value, "arn", value))


def _services() -> None:
    service_class = ecs_models.Service

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
               region_name: str, **kwargs: Any) -> Any:
        props = cloudformation_json["Properties"]
        ecs = ecs_backends[account_id][region_name]
        cluster = ecs._get_cluster(_name(props.get("Cluster") or "default"))
        config = _config(props)
        _check_capacity_providers(cluster, config)
        td_arn = _arn(props["TaskDefinition"])
        # CloudFormation's default DesiredCount is 1 on create.
        desired = int(props["DesiredCount"]) if props.get("DesiredCount") is not None else 1
        service = ecs.create_service(cluster.name, resource_name, 0, task_definition_str=td_arn,
                                     launch_type=config["launchType"] or "EC2")
        _apply_config(service, config)
        try:
            _deploy(ecs, service, config, td_arn, desired, new_deployment=True)
        except Exception:
            ecs.delete_service(cluster.name, service.name, force=True)
            raise
        service.desired_count = desired
        service.task_definition = td_arn
        _recount(ecs, cluster.name)
        return service

    def update(cls: Any, original_resource: Any, new_resource_name: str,
               cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        props = cloudformation_json["Properties"]
        ecs = ecs_backends[account_id][region_name]
        service = original_resource
        cluster_name = _name(props.get("Cluster") or "default")
        if cluster_name != service.cluster_name or (
                props.get("ServiceName") and props["ServiceName"] != service.name):
            # Cluster and ServiceName are create-only: a new service, then the old one goes.
            new = create(cls, new_resource_name, cloudformation_json, account_id, region_name)
            delete(service, account_id, region_name)
            return new
        cluster = ecs._get_cluster(cluster_name)
        config = _config(props)
        _check_capacity_providers(cluster, config)
        td_arn = _arn(props["TaskDefinition"])
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
        for task in _tasks(ecs, self.cluster_name, f"service:{self.name}"):
            _stop(ecs, task, "Service deleted")
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


# --- containers: tasks run in Docker (containers.py) -------------------------------------

RUNS: dict[str, containers.TaskRun] = {}  # task ARN -> its containers
# ECS API reference, ServiceDeploymentCircuitBreaker: "a minimum threshold of 3 and a maximum
# threshold of 200 ... 0.5 * desired task count" failed tasks fail the deployment.
CIRCUIT_BREAKER_MIN, CIRCUIT_BREAKER_MAX = 3, 200
# How long a deployment waits for its tasks to run and pass health checks before it fails
# (CloudFormation would wait up to hours on AWS; said in the failure's message).
DEPLOYMENT_WAIT_SECONDS = 180.0
# ECS throttles a service whose tasks keep stopping ("Amazon ECS service throttle logic"):
# replacements wait longer each time, up to 15 minutes on AWS; here up to this.
RESTART_BACKOFF_MAX = 30.0


class DeploymentFailed(ServiceException):
    code = "GeneralServiceException"


def circuit_breaker_threshold(desired: int) -> int:
    return min(max(CIRCUIT_BREAKER_MIN, -(-desired // 2)), CIRCUIT_BREAKER_MAX)


def _stopped_tasks(ecs: Any) -> dict[str, Any]:
    if not hasattr(ecs, "emulated_stopped_tasks"):
        ecs.emulated_stopped_tasks = {}
    return ecs.emulated_stopped_tasks  # type: ignore[no-any-return]


def secret_value(account_id: str, region: str, value_from: str) -> str:
    """A container secret's value, as the agent reads it: a Secrets Manager ARN (with
    ``:json-key:version-stage:version-id``) or an SSM parameter name or ARN (developer guide,
    "Pass sensitive data to an Amazon ECS container")."""
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.ssm.models import ssm_backends

    parts = value_from.split(":")
    if value_from.startswith("arn:") and parts[2] == "secretsmanager":
        secret_id = ":".join(parts[:7])
        key = parts[7] if len(parts) > 7 else ""
        stage = parts[8] if len(parts) > 8 else ""
        version = parts[9] if len(parts) > 9 else ""
        sm = secretsmanager_backends[parts[4]][parts[3]]
        got = sm.get_secret_value(secret_id, version or None, stage or None)  # type: ignore[arg-type]
        text = str(got.get("SecretString") or "")
        if key:
            return str(json.loads(text)[key])
        return text
    name = value_from
    if value_from.startswith("arn:") and parts[2] == "ssm":
        name = "/" + ":".join(parts[5:]).removeprefix("parameter/").lstrip("/")
        account_id, region = parts[4], parts[3]
    param = ssm_backends[account_id][region].get_parameter(name)
    if param is None:
        raise KeyError(f"parameter {name} not found")
    return str(param.value)


def _log_sink(account_id: str, region: str) -> containers.LogSink:
    from moto.logs.models import logs_backends

    def sink(group: str, stream: str, events: list[tuple[int, str]]) -> None:
        backend = logs_backends[account_id][region]
        log_group = backend.groups.get(group)
        if log_group is None:
            return
        if stream not in log_group.streams:
            backend.create_log_stream(group, stream)
        backend.put_log_events(group, stream,
                               [{"timestamp": t, "message": m} for t, m in events])

    return sink


def _group_exists(account_id: str, region: str) -> Callable[[str], bool]:
    from moto.logs.models import logs_backends

    return lambda group: group in logs_backends[account_id][region].groups


def _definition(td: Any) -> dict[str, Any]:
    return {"containerDefinitions": copy.deepcopy(td.container_definitions),
            "volumes": copy.deepcopy(td.volumes or []),
            "runtimePlatform": td.runtime_platform or {}}


class ShownContainer:
    """A container as DescribeTasks shows it (moto serializes its attributes by name)."""

    def __init__(self, task_arn: str, c: containers.ContainerRun) -> None:
        self.container_arn = f"{task_arn}/{c.name}"
        self.task_arn = task_arn
        self.name, self.image = c.name, c.definition.get("image")
        self.last_status = c.status
        self.exit_code = c.exit_code
        self.health_status = c.health
        self.reason = c.reason or None
        self.cpu, self.memory = c.definition.get("cpu", 0), c.definition.get("memory")
        self.network_bindings = [
            {"bindIP": containers.HOST, "containerPort": cp, "hostPort": hp, "protocol": "tcp"}
            for cp, hp in c.ports.items()]
        self.network_interfaces: list[Any] = []


def _record(task: Any, run: containers.TaskRun) -> None:
    """The containers as DescribeTasks shows them."""
    task.containers = [ShownContainer(task.task_arn, c) for c in run.containers]


def start_containers(ecs: Any, task: Any, td: Any,
                     overrides: dict[str, list[str]] | None = None) -> containers.TaskRun:
    """Run ``task``'s containers; when they stop by themselves the task stops (and a service
    replaces it)."""
    account, region = ecs.account_id, ecs.region_name

    def on_stopped(run: containers.TaskRun) -> None:
        _record(task, run)
        task.stop_code = ("EssentialContainerExited"
                          if run.stopped_reason == containers.ESSENTIAL_EXITED else
                          "TaskFailedToStart" if ":" in run.stopped_reason and
                          run.stopped_reason.split(":")[0].endswith("Error") else
                          "UserInitiated")
        if task.desired_status != "STOPPED":  # stopped by itself, not by us
            RUNS.pop(task.task_arn, None)
            albproxy.deregister(task.task_arn)
            _stop(ecs, task, run.stopped_reason)
            _replace_later(ecs, task)
        task.stopped_at = datetime.now(UTC)

    from generator.local.emulation import latency

    run = containers.TaskRun(
        task.task_arn, task.id, _definition(td),
        lambda value_from: secret_value(account, region, value_from),
        _log_sink(account, region), _group_exists(account, region), on_stopped,
        time_scale=max(1.0, latency.MODEL.time_scale), command_override=overrides)
    RUNS[task.task_arn] = run
    # moto moved a task towards STOPPED on each DescribeTasks; its containers say now.
    task.advance = lambda: None
    _record(task, run)
    run.start()
    return run


def _load_balancers(service: Any) -> list[dict[str, Any]]:
    return list((getattr(service, "emulated_config", None) or {}).get("loadBalancers") or [])


def _register_targets(service_lbs: list[dict[str, Any]], task: Any,
                      run: containers.TaskRun) -> None:
    for lb in service_lbs:
        port = run.host_port(str(lb.get("containerName")), int(lb.get("containerPort", 0)))
        if lb.get("targetGroupArn") and port:
            albproxy.register(str(lb["targetGroupArn"]), task.task_arn, port)


def _task_ready(run: containers.TaskRun) -> bool:
    """Every essential container runs, and is healthy where it has a health check."""
    essential = [c for c in run.containers if c.essential]
    return run.status == "RUNNING" and all(
        c.status == "RUNNING" and (not c.definition.get("healthCheck") or c.health == "HEALTHY")
        for c in essential)


def _healthy_in_groups(lbs: list[dict[str, Any]], task_arn: str) -> bool:
    return all(albproxy.health(str(lb["targetGroupArn"]), task_arn) == "healthy"
               for lb in lbs if lb.get("targetGroupArn"))


def _run_deployment(ecs: Any, service: Any, config: dict[str, Any], td: Any,
                    started: list[Any], desired: int, need: Need, group: str, fargate: bool,
                    deployment_id: str) -> None:
    """Run the new tasks for real and wait until each runs (healthy in its target groups);
    tasks that stop are replaced until the circuit breaker's threshold of failed tasks,
    then the deployment fails (ECS developer guide, "How the Amazon ECS deployment circuit
    breaker detects failures"); CloudFormation then rolls the service back."""
    lbs = list(config.get("loadBalancers") or [])
    cluster = ecs._get_cluster(service.cluster_name)
    threshold = circuit_breaker_threshold(desired)
    for task in started:
        task.in_deployment = True  # its stops are the deployment's to count and replace
    waiting = {t.task_arn: (t, start_containers(ecs, t, td)) for t in started}
    registered: set[str] = set()
    failed: list[tuple[Any, containers.TaskRun]] = []
    deadline = time.monotonic() + DEPLOYMENT_WAIT_SECONDS
    while True:
        for arn, (task, run) in list(waiting.items()):
            if run.status == "STOPPED" or task.desired_status == "STOPPED":
                del waiting[arn]
                failed.append((task, run))
                if len(failed) >= threshold:
                    break
                replacement = _new_task(ecs, cluster, td, getattr(task, "host_id", None), need,
                                        group, fargate, deployment_id, config)
                replacement.in_deployment = True
                waiting[replacement.task_arn] = (replacement,
                                                 start_containers(ecs, replacement, td))
            elif run.status == "RUNNING" and arn not in registered and \
                    all(c.status != "PENDING" for c in run.containers if c.essential):
                _register_targets(lbs, task, run)
                registered.add(arn)
        if len(failed) >= threshold:
            for task, _ in list(waiting.values()):
                _stop(ecs, task, "Task stopped by the failed deployment")
            _fail(service, failed, threshold)
        if all(_task_ready(run) and _healthy_in_groups(lbs, arn)
               for arn, (_, run) in waiting.items()):
            for task, _ in waiting.values():
                task.in_deployment = False  # from now on the scheduler replaces it
            return
        if time.monotonic() > deadline:
            for task, _ in list(waiting.values()):
                _stop(ecs, task, "Task stopped by the failed deployment")
            raise DeploymentFailed(
                f"the service's tasks did not run healthy within {DEPLOYMENT_WAIT_SECONDS:.0f} "
                "s (on AWS CloudFormation waits for hours): see `stackgen logs` and the "
                "target group's health check")
        time.sleep(containers.POLL_SECONDS)


def _fail(service: Any, failed: list[tuple[Any, containers.TaskRun]], threshold: int) -> None:
    task, run = failed[-1]
    for _, stopped in failed:  # the stopped containers' exit codes are in DescribeTasks now
        stopped.wait(lambda r: r.status == "STOPPED", 30)
    reason = "ECS deployment circuit breaker: tasks failed to start."
    for record in service.deployments[:1]:
        record.update(rolloutState="FAILED", rolloutStateReason=reason, failedTasks=len(failed))
    detail = f"{run.stopped_reason}: {run.describe_exit()}" if run.stopped_reason != \
        run.describe_exit() else run.stopped_reason
    hint = ""
    if run.stopped_reason.startswith("CannotPullContainerError"):
        hint = (" [local endpoint: put the image in the local Docker (docker load / docker "
                "build), or run without containers: `stackgen local down && stackgen local up "
                "--containers off`]")
    raise DeploymentFailed(
        "Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'. "
        f"{len(failed)} tasks stopped (threshold {threshold}); the last one, "
        f"{task.id}: {detail}{hint}")


_RESTARTS: dict[str, int] = {}


def _replace_later(ecs: Any, task: Any) -> None:
    """A service task that stopped by itself outside a deployment is replaced, after the
    service throttle's growing delay."""
    if not task.group.startswith("service:") or getattr(task, "in_deployment", False):
        return
    key = f"{task.cluster_name}:{task.group.removeprefix('service:')}"
    count = _RESTARTS[key] = _RESTARTS.get(key, 0) + 1
    delay = min(RESTART_BACKOFF_MAX, 0.5 * 2 ** (count - 1))

    def replace() -> None:
        time.sleep(delay)
        service = ecs.services.get(key)
        if service is None or service.status != "ACTIVE":
            return
        running = _tasks(ecs, task.cluster_name, task.group)
        if len(running) >= service.desired_count:
            return
        td = ecs.describe_task_definition(service.task_definition)
        cluster = ecs._get_cluster(task.cluster_name)
        config = getattr(service, "emulated_config", None) or {}
        fargate = _on_fargate(ecs, cluster, config)
        need = task_need(_td_view(td))
        new = _new_task(ecs, cluster, td, getattr(task, "host_id", None), need, task.group,
                        fargate, task.started_by, config)
        run = start_containers(ecs, new, td)
        if run.wait(lambda r: r.status != "PENDING", 60) and run.status == "RUNNING":
            _register_targets(_load_balancers(service), new, run)
        service.running_count = len(_tasks(ecs, task.cluster_name, task.group))
        _recount(ecs, task.cluster_name)

    threading.Thread(target=replace, daemon=True).start()


def _tasks_show_containers() -> None:
    backend = ecs_models.EC2ContainerServiceBackend
    original_describe = backend.describe_tasks
    original_list = backend.list_tasks
    original_run = backend.run_task
    original_stop = backend.stop_task

    def describe_tasks(self: Any, cluster_str: str, tasks: list[str]) -> list[Any]:
        found = list(original_describe(self, cluster_str, tasks))
        seen = {t.task_arn for t in found}
        for arn, task in _stopped_tasks(self).items():
            if arn not in seen and any(arn == t or arn.endswith("/" + t) for t in tasks):
                found.append(task)
        return found

    def list_tasks(self: Any, cluster_str: str | None = None, container_instance: str | None = None,
                   family: str | None = None, started_by: str | None = None,
                   service_name: str | None = None, desiredStatus: str | None = None,
                   ) -> list[Any]:
        if desiredStatus != "STOPPED":
            return list(original_list(self, cluster_str, container_instance, family,
                                      started_by, service_name, desiredStatus))
        cluster = _name(cluster_str or "default")
        return [t for t in _stopped_tasks(self).values() if t.cluster_name == cluster
                and (not service_name or t.group == f"service:{_name(service_name)}")
                and (not family or t.task_definition_arn.split("/")[-1].split(":")[0] == family)
                and (not started_by or t.started_by == started_by)]

    def run_task(self: Any, *args: Any, **kwargs: Any) -> list[Any]:
        started = list(original_run(self, *args, **kwargs))
        if containers.SETTINGS.enabled:
            overrides = (kwargs.get("overrides") or (args[3] if len(args) > 3 else None)) or {}
            commands = {str(o["name"]): list(o["command"])
                        for o in overrides.get("containerOverrides") or [] if o.get("command")}
            for task in started:
                td = self.describe_task_definition(task.task_definition_arn)
                start_containers(self, task, td, commands)
        return started

    def stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        for task in _tasks(self, _name(cluster_str)):
            if task.task_arn == task_str or task.task_arn.endswith("/" + task_str):
                _stop(self, task, reason or "Task stopped by user")
                return task
        return original_stop(self, cluster_str, task_str, reason)

    backend.describe_tasks = describe_tasks  # type: ignore[method-assign]
    backend.list_tasks = list_tasks  # type: ignore[method-assign]
    backend.run_task = run_task  # type: ignore[method-assign]
    backend.stop_task = stop_task  # type: ignore[method-assign]


def apply() -> None:
    _awsvpc_tasks_in_any_vpc()
    _launched_instances_register()
    _terminated_instances_deregister()
    _clusters()
    _task_definitions()
    _services()
    _tasks_show_containers()  # after _services: it wraps its list_tasks
    if containers.SETTINGS.enabled:
        albproxy.start()
