"""Fixes to moto's service backends where the stack set meets a gap: ECS task sizing and
freed reservations, RDS's managed master password and in-place updates, ELBv2's metric
names and in-place load balancer updates, EC2 route tables deleted with their stack, S3
bucket policies that see the request as TLS.

This module's room: moto's models patched so they hold what AWS holds; behaviours AWS
shows over time or by refusing (placement, deletes in use) live in emulation/.
"""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.ec2.models import ec2_backends
from moto.ec2.models import route_tables as ec2_route_tables
from moto.ecs import models as ecs_models
from moto.elbv2 import models as elbv2_models
from moto.rds import models as rds_models

from generator.local.emulation import rds


def task_level_memory_sizes_tasks() -> None:
    """RunTask of a task definition with memory at the task level only: AWS runs it
    (RegisterTaskDefinition, ContainerDefinition ``memory``: "If using the EC2 launch
    type, you must specify either a task-level memory value or a container-level
    memory value"); moto adds the containers' memory up, meets None and answers 500."""
    backend_cls = ecs_models.EC2ContainerServiceBackend
    original = backend_cls._calculate_task_resource_requirements

    def requirements(task_definition: Any) -> dict[str, Any]:
        containers = task_definition.container_definitions
        sized = [c for c in containers if any(
            c.get(k) is not None for k in ("memory", "Memory", "memoryReservation",
                                           "MemoryReservation"))]
        if sized or task_definition.memory is None:
            return original(task_definition)
        # Only task-level memory: count it once, on the first container.
        first = {**containers[0], "memory": int(task_definition.memory)}
        view = type("Sized", (), {"container_definitions": [first, *(
            {**c, "memory": 0} for c in containers[1:])]})()
        return original(view)

    backend_cls._calculate_task_resource_requirements = staticmethod(  # type: ignore[method-assign]
        requirements)


def stopped_tasks_free_their_instance() -> None:
    """A RunTask task that moto moves to STOPPED (its lifecycle advances on each
    DescribeTasks) keeps its cpu and memory reserved on the instance, so the next
    migration finds no room. On AWS a stopped task's resources return to the
    instance (ECS API reference, ContainerInstance ``remainingResources``: what is
    "not already allocated to tasks"). Service tasks are the emulation's to stop."""
    backend_cls = ecs_models.EC2ContainerServiceBackend
    describe, stop = backend_cls.describe_tasks, backend_cls.stop_task

    def release(self: Any, task: Any) -> None:
        if getattr(task, "stackgen_released", False) or not task.container_instance_arn:
            return
        task.stackgen_released = True
        ci = self.container_instances.get(task.cluster_name, {}).get(
            task.container_instance_arn.split("/")[-1])
        if ci is not None:
            self.update_container_instance_resources(ci, task.resource_requirements,
                                                     removing=True)

    def describe_tasks(self: Any, cluster_str: str, tasks: Any, *args: Any, **kwargs: Any) -> Any:
        found = describe(self, cluster_str, tasks, *args, **kwargs)
        for task in found:
            if task.last_status == "STOPPED" and not str(task.group).startswith("service:"):
                release(self, task)
        return found

    def stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        task = next((t for t in self.tasks.get(self._get_cluster(cluster_str).name, {}).values()
                     if t.task_arn.endswith(task_str.split("/")[-1])), None)
        if task is None or not getattr(task, "stackgen_released", False):
            result: Any = stop(self, cluster_str, task_str, reason)
            result.stackgen_released = True
            return result
        # Released already: moto's stop would give the resources back a second time.
        arn, task.container_instance_arn = task.container_instance_arn, None
        try:
            return stop(self, cluster_str, task_str, reason)
        finally:
            task.container_instance_arn = arn

    backend_cls.describe_tasks = describe_tasks  # type: ignore[method-assign]
    backend_cls.stop_task = stop_task  # type: ignore[method-assign]


# --- RDS: ManageMasterUserPassword and its secret ------------------------------------


def rds_managed_master_password() -> None:
    db_class = rds_models.DBInstance
    original = db_class.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_attr = db_class.get_cfn_attribute
    original_has = db_class.has_cfn_attr.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
               region_name: str, **kwargs: Any) -> Any:
        db = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        props = cloudformation_json["Properties"]
        if str(props.get("ManageMasterUserPassword")).lower() == "true":
            db.manage_master_user_password = True
            db.master_user_secret = rds_models.MasterUserSecret(
                db, props.get("MasterUserSecret", {}).get("KmsKeyId"))
        db.cfn_properties = rds.plain(props)
        return db

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "MasterUserSecret.SecretArn":
            return self.master_user_secret.secret.arn
        return original_attr(self, attribute_name)

    def update(cls: Any, original_resource: Any, new_resource_name: str,
               cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        # moto has no update for DB instances: the resource silently became None and
        # every later describe of the stack failed. In place unless a create-only
        # property changed (emulation/rds.py); then replace it, as AWS does.
        if rds.update_in_place(original_resource, cloudformation_json["Properties"]):
            return original_resource
        original_resource.delete(account_id, region_name)
        return create(cls, new_resource_name, cloudformation_json, account_id, region_name)

    db_class.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment,arg-type]
    db_class.update_from_cloudformation_json = classmethod(update)  # type: ignore[assignment]
    db_class.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]
    # Outputs are checked against has_cfn_attr when a stack is created directly (as
    # nested children are).
    db_class.has_cfn_attr = classmethod(  # type: ignore[method-assign,assignment]
        lambda cls, attr: attr == "MasterUserSecret.SecretArn" or original_has(cls, attr))


# --- ELBv2: the attributes that name a load balancer and target group in metrics ----


def elbv2_full_names() -> None:
    """LoadBalancerFullName / TargetGroupFullName (alarm dimensions, request-count
    scaling); without them moto fails the whole Outputs section, breaking chaining."""
    lb_class, tg_class = elbv2_models.FakeLoadBalancer, elbv2_models.FakeTargetGroup
    original = lb_class.get_cfn_attribute

    def lb_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerFullName":
            return self.arn.split(":loadbalancer/", 1)[1]
        if attribute_name == "CanonicalHostedZoneID":
            return self.canonical_hosted_zone_id
        return original(self, attribute_name)

    def tg_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "TargetGroupFullName":
            return self.arn.split(":", 5)[5]
        if attribute_name == "TargetGroupName":
            return self.name
        raise UnformattedGetAttTemplateException()

    lb_class.get_cfn_attribute = lb_attribute  # type: ignore[method-assign]
    tg_class.get_cfn_attribute = tg_attribute  # type: ignore[attr-defined]


# Properties of AWS::ElasticLoadBalancingV2::LoadBalancer whose change replaces it (CFN
# resource reference: Name, Scheme, Type "Update requires: Replacement"; the attributes,
# security groups and subnets update in place).
_LB_REPLACED_BY = ("Name", "Scheme", "Type", "IpAddressType")


def elbv2_load_balancer_updates() -> None:
    """moto's load balancer has no CloudFormation update and drops LoadBalancerAttributes:
    changing any of its properties (enabling access logs) left the stack's resource None,
    and every DescribeStacks after it answered HTTP 500 (``Fn::GetAtt references undefined
    resource LoadBalancer``). Here its attributes are applied at create and on update, and
    the update is in place unless a replacing property changed, as on AWS."""
    lb_class = elbv2_models.FakeLoadBalancer
    original = lb_class.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def apply_attributes(lb: Any, props: dict[str, Any], account_id: str, region: str) -> None:
        attrs = {str(a["Key"]): str(a["Value"]) for a in props.get("LoadBalancerAttributes") or []}
        if attrs:
            elbv2_models.elbv2_backends[account_id][region].modify_load_balancer_attributes(
                lb.arn, attrs)

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
               region_name: str, **kwargs: Any) -> Any:
        lb = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        props = cloudformation_json["Properties"]
        lb.stackgen_properties = dict(props)
        apply_attributes(lb, props, account_id, region_name)
        return lb

    def update(cls: Any, original_resource: Any, new_resource_name: str,
               cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        props = cloudformation_json["Properties"]
        before = getattr(original_resource, "stackgen_properties", {})
        if any(before.get(k) != props.get(k) for k in _LB_REPLACED_BY):
            original_resource.delete(account_id, region_name)
            return create(cls, new_resource_name, cloudformation_json, account_id, region_name)
        backend = elbv2_models.elbv2_backends[account_id][region_name]
        arn = original_resource.arn
        if props.get("SecurityGroups") and props.get("SecurityGroups") != before.get(
                "SecurityGroups"):
            backend.set_security_groups(arn, props["SecurityGroups"])
        if props.get("Subnets") and props.get("Subnets") != before.get("Subnets"):
            backend.set_subnets(arn, props["Subnets"], [])
        apply_attributes(original_resource, props, account_id, region_name)
        original_resource.stackgen_properties = dict(props)
        return original_resource

    lb_class.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment,arg-type]
    lb_class.update_from_cloudformation_json = classmethod(update)  # type: ignore[assignment]


# --- EC2: route tables go with their stack -----------------------------------------


def route_tables_deleted_with_stack() -> None:
    """moto's RouteTable has no delete, so a stack's route table outlives it and its
    VPC can never be deleted (DependencyViolation): `stackgen delete` would always fail."""

    def delete(self: Any, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_route_table(self.id)

    ec2_route_tables.RouteTable.delete = delete  # type: ignore[attr-defined]


# --- S3 bucket policies see the request as TLS -----------------------------------------


def s3_policies_see_secure_transport() -> None:
    """moto evaluates a bucket policy without any request context, ignores the ``Bool``
    operator, and turns a statement whose condition fails into a denial whatever its
    Effect: the TLS-only policy AWS recommends (Deny when ``aws:SecureTransport`` is
    false) denies every request. Here a statement applies when its Bool conditions hold
    for the request; this endpoint listens on loopback only, where it stands in for S3's
    HTTPS endpoint, so its requests count as secure transport, as they do on AWS.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Boolean
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    context = {"aws:securetransport": "true"}

    def holds(condition: dict[str, Any]) -> bool:
        for key, expected in (condition.get("Bool") or {}).items():
            values = expected if isinstance(expected, list) else [expected]
            actual = context.get(key.lower())
            if actual is not None and actual not in {str(v).lower() for v in values}:
                return False
        return True  # other operators: left to moto, as before

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        doc = json.loads(self.policy)
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        applying = [{k: v for k, v in st.items() if k != "Condition" or set(v) - {"Bool"}}
                    for st in statements if holds(st.get("Condition") or {})]
        if not applying:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**doc, "Statement": applying})).is_action_permitted(
            action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


