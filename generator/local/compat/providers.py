"""Resource types moto's CloudFormation skips, given a CloudFormation face on moto's own
service backends: without them the stack set's certificates, secrets, scaling policies,
alarms, capacity providers and schedules never existed locally.

This module's room: one class per missing ``AWS::...`` type (``Face`` says how each is
built, updated and deleted), nothing that changes how AWS behaves (emulation/ does).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.acm.models import acm_backends
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.autoscaling.models import autoscaling_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.ecs.models import ecs_backends
from moto.scheduler.models import scheduler_backends
from moto.secretsmanager.models import secretsmanager_backends

from generator.local.emulation import dns


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


