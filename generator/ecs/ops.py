"""What the deployed env says about its workloads, read back from AWS.

Nothing here computes a resource name: the cluster, service, task definitions and log
group come from the stacks' outputs, the network and capacity from the service itself
(DescribeServices), the log stream from the task definition's log configuration.
"""

from __future__ import annotations

from typing import Any

import msgspec
from botocore.exceptions import BotoCoreError, ClientError

from generator.aws.cfn import CloudFormation
from generator.context import logical_id
from generator.errors import AwsError, StackgenError, UsageError
from generator.render import Rendered


class EcsNotDeployed(StackgenError):
    """The env's cluster or ecs stack is not deployed, so there is nothing to run or read."""

    exit_code = 1


def aws_call(what: str, fn: Any, **kwargs: Any) -> Any:
    """One AWS call; an API error becomes a one-line AwsError naming the call."""
    try:
        return fn(**kwargs)
    except ClientError as exc:
        err = exc.response.get("Error", {})
        message = str(err.get("Message") or "")
        if message.lstrip().startswith("<"):  # an HTML error page, not an API error
            message = "the endpoint failed with an internal error (an HTML page, no API error)"
        raise AwsError(f"{what}: {err.get('Code')}: {message.splitlines()[0] if message else ''}") \
            from None
    except BotoCoreError as exc:
        raise AwsError(f"{what}: {exc}") from None


class Workload(msgspec.Struct, frozen=True):
    """A runnable thing of the env: the service's task definition, or a standalone task."""

    name: str
    task_definition: str  # ARN, from the ecs stack's outputs
    is_service: bool


class Deployed(msgspec.Struct, frozen=True):
    cluster: str
    service: str  # the service's name (output ServiceName)
    log_group: str
    workloads: dict[str, Workload]
    # ecs.services beside the app's own: workload name -> ECS service name
    services: dict[str, str] = msgspec.field(default_factory=dict)

    def workload(self, name: str) -> Workload:
        found = self.workloads.get(name)
        if found is None:
            raise UsageError(f"'{name}' is not a workload of this env; choose one of "
                             f"{', '.join(sorted(self.workloads))} (the service, or ecs.tasks, "
                             "ecs.services or ecs.jobs.<name>)")
        return found


def deployed(rendered: Rendered, cfn: CloudFormation) -> Deployed:
    """The cluster, service, log group and task definitions the env's stacks output."""
    names = {s: rendered.stacks[s].stack_name for s in ("cluster", "ecs") if s in rendered.stacks}
    if len(names) < 2:
        raise UsageError(f"env '{rendered.env.name}' has no cluster/ecs stacks "
                         "(the nested form's children are not read here; deploy flat)")
    found = cfn.describe_many(list(names.values()))
    for stack, name in names.items():
        if name not in found or not found[name].outputs:
            raise EcsNotDeployed(f"stack {name} ({stack}) is not deployed; run "
                                 f"`stackgen deploy --env {rendered.env.name}` first")
    cluster, ecs = found[names["cluster"]].outputs, found[names["ecs"]].outputs
    cfg = rendered.env.config.ecs
    workloads = {cfg.container.name: Workload(cfg.container.name, ecs["TaskDefinitionArn"], True)}
    services = {}
    for task in [*cfg.tasks, *cfg.services, *cfg.jobs]:
        arn = ecs.get(f"{logical_id(task)}TaskDefinitionArn")
        if arn:  # a workload added to params but not deployed yet is not runnable
            workloads[task] = Workload(task, arn, task in cfg.services)
        service = ecs.get(f"{logical_id(task)}ServiceName")
        if task in cfg.services and service:
            services[task] = service
    return Deployed(cluster["ClusterName"], ecs["ServiceName"], ecs["LogGroupName"], workloads,
                    services)


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    out = aws_call("ecs DescribeServices", ecs.describe_services, cluster=cluster,
                   services=[service])
    if not out.get("services"):
        reason = (out.get("failures") or [{}])[0].get("reason", "not found")
        raise EcsNotDeployed(f"service {service} in cluster {cluster}: {reason}")
    return dict(out["services"][0])


def launch_settings(service: dict[str, Any]) -> dict[str, Any]:
    """RunTask arguments that put a task where the service's tasks run: the same
    capacity provider strategy or launch type, subnets, security groups, public IP."""
    kwargs: dict[str, Any] = {}
    strategy = service.get("capacityProviderStrategy")
    if strategy:
        kwargs["capacityProviderStrategy"] = strategy
    elif service.get("launchType"):
        kwargs["launchType"] = service["launchType"]
    if service.get("networkConfiguration"):
        kwargs["networkConfiguration"] = service["networkConfiguration"]
    if service.get("platformVersion") and kwargs.get("launchType") == "FARGATE":
        kwargs["platformVersion"] = service["platformVersion"]
    return kwargs


class LogTarget(msgspec.Struct, frozen=True):
    """Where a container's awslogs driver writes: the stream of task T is
    ``<prefix>/<container>/<task id>`` (ECS developer guide, "Using the awslogs log
    driver", awslogs-stream-prefix)."""

    container: str
    group: str
    prefix: str

    def stream(self, task_id: str) -> str:
        return f"{self.prefix}/{self.container}/{task_id}"

    @property
    def stream_prefix(self) -> str:
        return f"{self.prefix}/{self.container}/"


def main_container(ecs: Any, task_definition: str) -> tuple[str, LogTarget | None]:
    """The task definition's first essential container and its awslogs settings."""
    td = aws_call("ecs DescribeTaskDefinition", ecs.describe_task_definition,
                  taskDefinition=task_definition)["taskDefinition"]
    containers = td.get("containerDefinitions") or []
    if not containers:
        raise AwsError(f"task definition {task_definition} has no containers")
    main = next((c for c in containers if c.get("essential", True)), containers[0])
    return main["name"], log_target(main)


def log_target(container: dict[str, Any]) -> LogTarget | None:
    conf = container.get("logConfiguration") or {}
    opts = conf.get("options") or {}
    if conf.get("logDriver") != "awslogs" or "awslogs-group" not in opts:
        return None
    return LogTarget(container["name"], opts["awslogs-group"],
                     opts.get("awslogs-stream-prefix", ""))


def task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]
