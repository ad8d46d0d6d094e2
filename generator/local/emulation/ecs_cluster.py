"""ECS container instances and clusters as AWS runs them, where moto runs no agent.

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

This module's room: instances joining and leaving clusters, and clusters' deletes.
"""

from __future__ import annotations

import re
from typing import Any

from moto.autoscaling.models import FakeAutoScalingGroup
from moto.core.exceptions import ServiceException
from moto.ec2.models.instance_types import INSTANCE_TYPES
from moto.ec2.models.instances import InstanceBackend
from moto.ecs import models as ecs_models
from moto.ecs.models import ecs_backends

from generator import capacity as capacity_table
from generator.local.emulation.ecs_placement import (
    PlacementError,
)
from generator.local.emulation.ecs_tasks import FARGATE_PROVIDERS, camel, running_tasks, stop

ECS_CLUSTER = re.compile(r"ECS_CLUSTER=[\"']?([\w\-]+)")
# The agent's own reservation from ecs.config ("Container instance memory management").
ECS_RESERVED_MEMORY = re.compile(r"ECS_RESERVED_MEMORY=[\"']?(\d+)")


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


def launched_instances_register() -> None:
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


def terminated_instances_deregister() -> None:
    original = InstanceBackend.terminate_instances

    def terminate_instances(self: Any, instance_ids: list[str]) -> Any:
        result = original(self, instance_ids)
        ecs = ecs_backends[self.account_id][self.region_name]
        for cluster_name, instances in list(ecs.container_instances.items()):
            for ci_id, ci in list(instances.items()):
                if ci.ec2_instance_id in instance_ids:
                    for task in running_tasks(ecs, cluster_name,
                                              container_instance=ci.container_instance_arn):
                        stop(ecs, task, "Container instance terminated")
                    del instances[ci_id]
                    cluster = ecs.clusters.get(cluster_name)
                    if cluster is not None:
                        cluster.registered_container_instances_count -= 1
        return result

    InstanceBackend.terminate_instances = terminate_instances  # type: ignore[method-assign]


# --- clusters ---------------------------------------------------------------------------


def clusters() -> None:
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
                camel(props.get("DefaultCapacityProviderStrategy")) or [])
        return cluster

    def delete(self: Any, account_id: str, region_name: str) -> None:
        # moto left the cluster behind; CloudFormation calls DeleteCluster.
        ecs_backends[account_id][region_name].delete_cluster(self.arn)

    cluster_class.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment,arg-type]
    cluster_class.delete = delete  # type: ignore[attr-defined]


