"""Fixes to moto's CloudFormation for this stack set, loaded only into the server process.

Each fix is a few lines on top of moto's own service backends and has a test
(tests/test_local_compat.py) that fails on bare moto, so a fix can be dropped
the day moto ships it. Where moto merely drops a property, nothing is patched:
the templates stay right for AWS and the tests read what moto keeps.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import moto
from moto.acm.models import acm_backends
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.autoscaling.models import autoscaling_backends
from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.models import route_tables as ec2_route_tables
from moto.ecs import models as ecs_models
from moto.ecs.models import ecs_backends
from moto.elbv2 import models as elbv2_models
from moto.rds import models as rds_models
from moto.scheduler.models import scheduler_backends
from moto.secretsmanager.models import secretsmanager_backends

from generator.local import drift, emulation
from generator.local.emulation import dns, rds

MOTO_VERSION = "5.2.5"


class CompatError(RuntimeError):
    """The installed moto is not the one these fixes were written against."""


# --- 1. change sets publish Outputs and Exports ---------------------------------


def _publish_outputs_after_change_set() -> None:
    original = cfn_models.CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        # As update_stack does: re-read the template, then outputs and exports.
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        stack.parameters = change_set.parameters
        if change_set.tags is not None:
            stack.tags = change_set.tags
        for export in stack.exports:
            self.exports[export.name] = export

    cfn_models.CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]


# --- parameters echo as sent, as AWS does -------------------------------------------


def _echo_parameters_as_sent() -> None:
    """AWS describes a List parameter as the comma-joined text it was given and an SSM
    parameter as its path; moto echoes its parsed values (a Python list repr, the AMI
    id), so no deployed stack ever looks unchanged."""

    def parameter_list(self: Any) -> list[dict[str, Any]]:
        sent = self.parameters or {}
        hidden = self.resource_map.no_echo_parameter_keys
        out = []
        for key, value in self.resource_map.resolved_parameters.items():
            shown = sent.get(key, value)
            if isinstance(shown, list):
                shown = ",".join(str(v) for v in shown)
            out.append({"ParameterKey": key,
                        "ParameterValue": "****" if key in hidden else shown})
        return out

    cfn_models.Stack.parameter_list = property(parameter_list)  # type: ignore[assignment]


# --- 2. resource types moto's CloudFormation skips --------------------------------


class _Face:
    """A CloudFormation face on an object that a moto service backend owns."""

    TYPE = ""

    def __init__(self, physical_id: str, attributes: dict[str, Any],
                 delete: Callable[[], object]) -> None:
        self.physical_id = physical_id
        self.attributes = attributes
        self._delete = delete

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.attributes[attribute_name]

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        self._delete()

    @classmethod
    def build(cls, name: str, props: Any, account_id: str, region: str) -> _Face:
        """Create the resource in its service backend; each type says how."""
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> _Face:
        return cls.build(resource_name, cloudformation_json["Properties"], account_id,
                         region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                   account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str) -> None:
        """Deletion goes through the instance's ``delete``."""


def _lower_camel(value: Any) -> Any:
    """CloudFormation's PascalCase properties as the ECS JSON API's camelCase."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _lower_camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_camel(v) for v in value]
    return value


class Certificate(_Face, CloudFormationModel):
    TYPE = "AWS::CertificateManager::Certificate"

    @classmethod
    def build(cls, resource_name: str, p: Any, account_id: str,
              region_name: str) -> _Face:
        backend = acm_backends[account_id][region_name]
        arn = backend.request_certificate(p["DomainName"], None,  # type: ignore[arg-type]
                                          p.get("SubjectAlternativeNames") or [], p.get("Tags") or [])
        # DNS validation completes on its own on AWS once the zone is delegated.
        if p.get("ValidationMethod", "DNS") == "DNS":
            zones = {o.get("DomainName"): o.get("HostedZoneId")
                     for o in p.get("DomainValidationOptions") or []}
            for domain in [p["DomainName"], *(p.get("SubjectAlternativeNames") or [])]:
                why = dns.undelegated(account_id, region_name, domain, zones.get(domain))
                if why:
                    backend.delete_certificate(arn)  # the rollback's delete, done here
                    raise dns.ValidationPending(why)
        backend.get_certificate(arn).status = "ISSUED"
        return cls(arn, {}, lambda: backend.delete_certificate(arn))


class Secret(_Face, CloudFormationModel):
    TYPE = "AWS::SecretsManager::Secret"

    @classmethod
    def build(cls, resource_name: str, p: Any, account_id: str,
              region_name: str) -> _Face:
        backend = secretsmanager_backends[account_id][region_name]
        secret_string = p.get("SecretString")
        generate = p.get("GenerateSecretString")
        if generate:
            password = json.loads(backend.get_random_password(
                int(generate.get("PasswordLength", 32)), generate.get("ExcludeCharacters", ""),
                bool(generate.get("ExcludeNumbers")), bool(generate.get("ExcludePunctuation")),
                bool(generate.get("ExcludeUppercase")), bool(generate.get("ExcludeLowercase")),
                bool(generate.get("IncludeSpace")),
                bool(generate.get("RequireEachIncludedType", True)),
            ))["RandomPassword"]
            if generate.get("SecretStringTemplate"):
                doc = json.loads(generate["SecretStringTemplate"])
                doc[generate.get("GenerateStringKey", "password")] = password
                secret_string = json.dumps(doc)
            else:
                secret_string = password
        created = json.loads(backend.create_secret(
            name=p.get("Name") or resource_name, secret_string=secret_string, secret_binary=None,
            description=p.get("Description"), tags=p.get("Tags"), kms_key_id=p.get("KmsKeyId"),
            client_request_token=None, replica_regions=[], force_overwrite=False,
        ))
        arn = created["ARN"]
        return cls(arn, {"Id": arn}, lambda: backend.delete_secret(
            arn, recovery_window_in_days=None, force_delete_without_recovery=True))


class AutoScalingPolicy(_Face, CloudFormationModel):
    TYPE = "AWS::AutoScaling::ScalingPolicy"

    @classmethod
    def build(cls, resource_name: str, p: Any, account_id: str,
              region_name: str) -> _Face:
        backend = autoscaling_backends[account_id][region_name]
        policy = backend.put_scaling_policy(
            name=resource_name, policy_type=p.get("PolicyType", "SimpleScaling"),
            metric_aggregation_type=p.get("MetricAggregationType"),
            adjustment_type=p.get("AdjustmentType"), as_name=p["AutoScalingGroupName"],
            min_adjustment_magnitude=p.get("MinAdjustmentMagnitude"),
            scaling_adjustment=p.get("ScalingAdjustment"), cooldown=p.get("Cooldown"),
            target_tracking_config=p.get("TargetTrackingConfiguration"),
            step_adjustments=p.get("StepAdjustments"),
            estimated_instance_warmup=p.get("EstimatedInstanceWarmup"),
            predictive_scaling_configuration=p.get("PredictiveScalingConfiguration"),
        )
        return cls(policy.arn, {"Arn": policy.arn, "PolicyName": resource_name},
                   lambda: backend.delete_policy(resource_name))


class ScalableTarget(_Face, CloudFormationModel):
    TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"

    @classmethod
    def build(cls, resource_name: str, p: Any, account_id: str,
              region_name: str) -> _Face:
        backend = applicationautoscaling_backends[account_id][region_name]
        namespace, resource_id, dimension = (
            p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"])
        backend.register_scalable_target(
            namespace=namespace, r_id=resource_id, dimension=dimension,
            min_capacity=int(p["MinCapacity"]), max_capacity=int(p["MaxCapacity"]),
            role_arn=p.get("RoleARN"), suspended_state=p.get("SuspendedState"),
        )
        # The physical id AWS gives: resource|dimension|namespace.
        return cls(f"{resource_id}|{dimension}|{namespace}", {},
                   lambda: backend.deregister_scalable_target(namespace, resource_id, dimension))


class AppScalingPolicy(_Face, CloudFormationModel):
    TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"

    @classmethod
    def build(cls, resource_name: str, p: Any, account_id: str,
              region_name: str) -> _Face:
        backend = applicationautoscaling_backends[account_id][region_name]
        if p.get("ScalingTargetId"):
            resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
        else:
            resource_id, dimension, namespace = (
                p["ResourceId"], p["ScalableDimension"], p["ServiceNamespace"])
        name = p["PolicyName"]
        policy = backend.put_scaling_policy(
            policy_name=name, service_namespace=namespace, resource_id=resource_id,
            scalable_dimension=dimension, policy_type=p.get("PolicyType"),
            policy_body=p.get("StepScalingPolicyConfiguration")
            or p.get("TargetTrackingScalingPolicyConfiguration"),
        )
        return cls(policy.policy_arn, {"Arn": policy.policy_arn},
                   lambda: backend.delete_scaling_policy(name, namespace, resource_id, dimension))


class Alarm(_Face, CloudFormationModel):
    TYPE = "AWS::CloudWatch::Alarm"

    @classmethod
    def build(cls, resource_name: str, p: Any, account_id: str,
              region_name: str) -> _Face:
        backend = cloudwatch_backends[account_id][region_name]
        name = p.get("AlarmName") or resource_name
        alarm = backend.put_metric_alarm(
            name=name, namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]), period=int(p.get("Period", 60)),
            threshold=float(p["Threshold"]), statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"), dimensions=p.get("Dimensions") or [],
            alarm_actions=p.get("AlarmActions") or [], ok_actions=p.get("OKActions") or [],
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(name, {"Arn": alarm.alarm_arn}, lambda: backend.delete_alarms([name]))


class CapacityProvider(_Face, CloudFormationModel):
    TYPE = "AWS::ECS::CapacityProvider"

    @classmethod
    def build(cls, resource_name: str, p: Any, account_id: str,
              region_name: str) -> _Face:
        backend = ecs_backends[account_id][region_name]
        name = p.get("Name") or resource_name
        backend.create_capacity_provider(
            name, _lower_camel(p["AutoScalingGroupProvider"]), _lower_camel(p.get("Tags")))
        return cls(name, {}, lambda: backend.delete_capacity_provider(name))


class CapacityProviderAssociations(_Face, CloudFormationModel):
    TYPE = "AWS::ECS::ClusterCapacityProviderAssociations"

    @classmethod
    def build(cls, resource_name: str, p: Any, account_id: str,
              region_name: str) -> _Face:
        backend = ecs_backends[account_id][region_name]
        cluster = p["Cluster"]
        backend.put_cluster_capacity_providers(
            cluster, p["CapacityProviders"], _lower_camel(p["DefaultCapacityProviderStrategy"]))
        return cls(cluster, {}, lambda: backend.put_cluster_capacity_providers(cluster, [], []))


class Schedule(_Face, CloudFormationModel):
    """EventBridge Scheduler's schedule (ecs.jobs): moto's scheduler API has it, its
    CloudFormation skipped the type, so a job's schedule never existed locally."""

    TYPE = "AWS::Scheduler::Schedule"

    @classmethod
    def build(cls, resource_name: str, p: Any, account_id: str,
              region_name: str) -> _Face:
        backend = scheduler_backends[account_id][region_name]
        name, group = p.get("Name") or resource_name, p.get("GroupName") or "default"
        schedule = backend.create_schedule(
            description=p.get("Description"), end_date=p.get("EndDate"),
            flexible_time_window=p["FlexibleTimeWindow"], group_name=group,
            kms_key_arn=p.get("KmsKeyArn"), name=name,
            schedule_expression=p["ScheduleExpression"],
            schedule_expression_timezone=p.get("ScheduleExpressionTimezone"),
            start_date=p.get("StartDate"), state=p.get("State") or "ENABLED",
            target=p["Target"], action_after_completion=None)
        return cls(name, {"Arn": schedule.arn},
                   lambda: backend.delete_schedule(group_name=group, name=name))


def _task_level_memory_sizes_tasks() -> None:
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


def _stopped_tasks_free_their_instance() -> None:
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


def _rds_managed_master_password() -> None:
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


def _elbv2_full_names() -> None:
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


def _elbv2_load_balancer_updates() -> None:
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


def _route_tables_deleted_with_stack() -> None:
    """moto's RouteTable has no delete, so a stack's route table outlives it and its
    VPC can never be deleted (DependencyViolation): `stackgen delete` would always fail."""

    def delete(self: Any, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_route_table(self.id)

    ec2_route_tables.RouteTable.delete = delete  # type: ignore[attr-defined]


# --- termination protection can be changed -------------------------------------------


def _update_termination_protection() -> None:
    """moto stores EnableTerminationProtection at create time but has no
    UpdateTerminationProtection, which prod-like envs call after each deploy."""

    def update_termination_protection(self: Any) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        stack.enable_termination_protection = self._get_param(
            "EnableTerminationProtection") in (True, "true")
        return ActionResult({"StackId": stack.stack_id})

    cfn_responses.CloudFormationResponse.update_termination_protection = (  # type: ignore[attr-defined]
        update_termination_protection)


# --- a change set reads back as it was made ----------------------------------------


def _change_sets_read_back() -> None:
    """GetTemplate with ChangeSetName returns that change set's template, and
    DescribeChangeSet lists the change set's Tags: `apply` compares both with the plan.
    moto answers GetTemplate with the stack's deployed template whatever change set is
    named (and without a StackName, "Stack with id None does not exist"), and describes
    every change set with no tags.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html
    """
    get_template = cfn_responses.CloudFormationResponse.get_template
    describe = cfn_responses.CloudFormationResponse.describe_change_set

    def get_change_set_template(self: Any) -> Any:
        name = self._get_param("ChangeSetName")
        if not name:
            return get_template(self)
        change_set = self.cloudformation_backend.describe_change_set(change_set_name=name)
        return ActionResult({"TemplateBody": change_set.template})

    def describe_change_set(self: Any) -> Any:
        change_set = self.cloudformation_backend.describe_change_set(
            change_set_name=self._get_param("ChangeSetName"))
        result = describe(self)
        tags = [{"Key": k, "Value": v} for k, v in (change_set.tags or {}).items()]
        return ActionResult(_Described(change_set, tags)) if tags else result

    cfn_responses.CloudFormationResponse.get_template = get_change_set_template  # type: ignore[method-assign]
    cfn_responses.CloudFormationResponse.describe_change_set = describe_change_set  # type: ignore[method-assign]


class _Described:
    """A change set as DescribeChangeSet serialises it, its tags as AWS lists them."""

    def __init__(self, change_set: Any, tags: list[dict[str, str]]) -> None:
        self._change_set = change_set
        self.tags = tags

    def __getattr__(self, name: str) -> Any:
        return getattr(self._change_set, name)


# --- 3. nested stacks: !GetAtt Child.Outputs.X ------------------------------------


def _nested_stack_outputs() -> None:
    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name.startswith("Outputs."):
            key = attribute_name.removeprefix("Outputs.")
            for output in self.output_map.values():
                if output.key == key:
                    return output.value
        raise UnformattedGetAttTemplateException()

    cfn_models.Stack.get_cfn_attribute = get_cfn_attribute  # type: ignore[attr-defined]


# --- S3 bucket policies see the request as TLS -----------------------------------------


def _s3_policies_see_secure_transport() -> None:
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


def apply() -> None:
    if moto.__version__ != MOTO_VERSION:
        raise CompatError(f"the local endpoint's fixes are for moto {MOTO_VERSION}, "
                          f"found {moto.__version__}; reinstall with `make install`")
    _publish_outputs_after_change_set()
    _echo_parameters_as_sent()
    _rds_managed_master_password()
    _elbv2_full_names()
    _elbv2_load_balancer_updates()
    _route_tables_deleted_with_stack()
    _update_termination_protection()
    _nested_stack_outputs()
    _change_sets_read_back()
    _task_level_memory_sizes_tasks()
    _stopped_tasks_free_their_instance()
    emulation.apply()
    drift.apply()
    _s3_policies_see_secure_transport()
    # moto builds its type map from CloudFormationModel's subclasses once; rebuild it
    # so the classes above are found.
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
