"""A task's life on the emulated ECS, shared by the services (ecs.py), the cluster's
instances (ecs_cluster.py) and the containers (ecs_containers.py): the running set, a task
started with its reservation taken, a task stopped with its reservation given back (ECS API
reference, ContainerInstance ``remainingResources``), its interface deleted and its
containers stopped, and the cluster's counts.

This module's room: the bookkeeping of tasks; where a task goes is ecs_placement.py, when
a service starts or replaces one is ecs.py and ecs_containers.py.
"""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ec2.models import ec2_backends
from moto.ecs import models as ecs_models
from moto.ecs import responses as ecs_responses

from generator.local.emulation import albproxy, containers
from generator.local.emulation.ecs_placement import (
    Need,
)

FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


RUNS: dict[str, containers.TaskRun] = {}  # task ARN -> its containers


def camel(value: Any) -> Any:
    return remap_nested_keys(value, pascal_to_camelcase) if value else value


def running_tasks(ecs: Any, cluster_name: str, group: str | None = None,
           container_instance: str | None = None) -> list[Any]:
    return [t for t in ecs.tasks.get(cluster_name, {}).values()
            if t.desired_status == "RUNNING"
            and (group is None or t.group == group)
            and (container_instance is None or t.container_instance_arn == container_instance)]


def stop(ecs: Any, task: Any, reason: str) -> None:
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
    stopped_tasks(ecs)[task.task_arn] = task
    run = RUNS.pop(task.task_arn, None)
    if run is not None:
        run.stop(reason)
        albproxy.deregister(task.task_arn)
    service = ecs.services.get(f"{task.cluster_name}:{task.group.removeprefix('service:')}")
    if service is not None and task.group.startswith("service:"):
        service.running_count = len(running_tasks(ecs, task.cluster_name, task.group))
    recount(ecs, task.cluster_name)


def recount(ecs: Any, cluster_name: str) -> None:
    cluster = ecs.clusters.get(cluster_name)
    if cluster is not None:
        cluster.running_tasks_count = len(running_tasks(ecs, cluster_name))
        cluster.pending_tasks_count = 0


def td_view(td: Any) -> dict[str, Any]:
    return {"cpu": td.cpu, "memory": td.memory, "networkMode": td.network_mode,
            "containerDefinitions": td.container_definitions}


def provider_strategy(ecs: Any, cluster: Any, config: dict[str, Any]) -> list[dict[str, Any]]:
    if config.get("launchType"):
        return []
    return list(config.get("capacityProviderStrategy") or
                cluster.default_capacity_provider_strategy or [])


def on_fargate(ecs: Any, cluster: Any, config: dict[str, Any]) -> bool:
    if config.get("launchType"):
        return bool(config["launchType"] == "FARGATE")
    strategy = provider_strategy(ecs, cluster, config)
    return bool(strategy) and all(s["capacityProvider"] in FARGATE_PROVIDERS for s in strategy)


def new_task(ecs: Any, cluster: Any, td: Any, host_id: str | None, need: Need, group: str,
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


def name_of(value: Any) -> str:
    return str(getattr(value, "name", value)).split("/")[-1]


def arn_of(value: Any) -> str:
    return str(getattr(value, "arn", value))


def stopped_tasks(ecs: Any) -> dict[str, Any]:
    if not hasattr(ecs, "emulated_stopped_tasks"):
        ecs.emulated_stopped_tasks = {}
    return ecs.emulated_stopped_tasks  # type: ignore[no-any-return]




# --- RunTask says why a task did not start ------------------------------------------------

NO_INSTANCES = "No Container Instances were found in your cluster."


class NoContainerInstances(ServiceException):
    code = "InvalidParameterException"
    message = NO_INSTANCES


def placement_failures(ecs: Any, cluster_name: str, requirements: dict[str, Any]
                       ) -> list[dict[str, str]]:
    """One ``Failure`` per container instance the task does not fit on, with ECS's reason:
    ``AGENT`` (its agent is disconnected), ``RESOURCE:CPU``, ``RESOURCE:MEMORY`` or
    ``RESOURCE:PORTS`` (ECS developer guide, "API failure reasons": RunTask; ECS API
    reference, Failure: ``arn`` is the failed resource's, here the instance's)."""
    failures = []
    for ci in ecs.container_instances.get(cluster_name, {}).values():
        if ci.status != "ACTIVE":
            continue
        left = {r["name"]: r for r in ci.remaining_resources}
        if not getattr(ci, "agent_connected", True):
            reason = "AGENT"
        elif int(requirements.get("CPU") or 0) > int(left["CPU"]["integerValue"]):
            reason = "RESOURCE:CPU"
        elif int(requirements.get("MEMORY") or 0) > int(left["MEMORY"]["integerValue"]):
            reason = "RESOURCE:MEMORY"
        elif {str(p) for p in requirements.get("PORTS") or []} & set(
                left.get("PORTS", {}).get("stringSetValue") or []):
            reason = "RESOURCE:PORTS"
        else:
            continue
        failures.append({"arn": ci.container_instance_arn, "reason": reason})
    return failures


def run_task_says_why() -> None:
    """moto's RunTask answered a cluster with no instance with HTTP 500 ("No instances
    found in cluster"), and a task no instance had room for with neither tasks nor
    failures. ECS refuses the first with InvalidParameterException "No Container Instances
    were found in your cluster." and answers the second with a ``failures`` entry per
    instance naming the resource it lacks (ECS API reference, RunTask: Response ``failures``;
    Failure; developer guide, "API failure reasons")."""
    response_class = ecs_responses.EC2ContainerServiceResponse
    original = response_class.run_task

    def run_task(self: Any) -> Any:
        ecs = self.ecs_backend
        cluster = ecs._get_cluster(self._get_param("cluster", "default"))
        config = {"launchType": self._get_param("launchType"),
                  "capacityProviderStrategy": self._get_param("capacityProviderStrategy")}
        fargate = on_fargate(ecs, cluster, config)
        if not fargate and not ecs.container_instances.get(cluster.name):
            raise NoContainerInstances()
        result = original(self)
        answer: Any = result.result
        if not fargate and len(answer["tasks"]) < self._get_int_param("count", 1):
            td = ecs.describe_task_definition(self._get_param("taskDefinition"))
            answer["failures"] = placement_failures(
                ecs, cluster.name, ecs._calculate_task_resource_requirements(td))
        return result

    response_class.run_task = run_task  # type: ignore[method-assign]
