"""The forecast's checks, one class per module; ``ALL`` lists them in report order."""

from __future__ import annotations

from generator.forecast.checks.ami_architecture import AmiArchitecture
from generator.forecast.checks.capacity_provider_association import CapacityProviderAssociation
from generator.forecast.checks.certificate_issued import CertificateIssued
from generator.forecast.checks.change_set_validation import ChangeSetValidation
from generator.forecast.checks.cluster_before_instances import ClusterBeforeInstances
from generator.forecast.checks.image_platform import ImagePlatform
from generator.forecast.checks.instance_type_offered import InstanceTypeOffered
from generator.forecast.checks.names_free import NamesFree
from generator.forecast.checks.quota_headroom import QuotaHeadroom
from generator.forecast.checks.rds_orderable import RdsOrderable
from generator.forecast.checks.rolling_deployment import RollingDeployment
from generator.forecast.checks.scaling_headroom import ScalingHeadroom
from generator.forecast.checks.secrets_exist import SecretsExist
from generator.forecast.checks.service_linked_role import ServiceLinkedRole
from generator.forecast.checks.service_placement import ServicePlacement
from generator.forecast.checks.standalone_tasks import StandaloneTasks
from generator.forecast.checks.zone_delegated import ZoneDelegated
from generator.forecast.model import Check

ALL: tuple[type[Check], ...] = (
    ServicePlacement, RollingDeployment, StandaloneTasks, ScalingHeadroom,
    ClusterBeforeInstances, CapacityProviderAssociation,
    ZoneDelegated, CertificateIssued,
    InstanceTypeOffered, AmiArchitecture, RdsOrderable, QuotaHeadroom, NamesFree, SecretsExist,
    ServiceLinkedRole,
    ImagePlatform, ChangeSetValidation,
)
