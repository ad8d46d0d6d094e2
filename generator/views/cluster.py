"""The cluster stack: the ECS cluster (before any instance boots) and the app's ECR
repository, if it has one."""

from __future__ import annotations

import msgspec

from generator.config import Environment
from generator.views.common import Built, Names, Output
from generator.views.facts import Facts


class ClusterView(msgspec.Struct, frozen=True):
    description: str
    cluster_name: str
    container_insights: str
    repository: bool  # the app's images come from an ECR repository of the env
    repository_name: str
    scan_on_push: bool
    kms_key_arn: str | None  # a customer managed key for the images, else ECR's


def build(cfg: Environment, names: Names, facts: Facts) -> Built[ClusterView]:
    repo = cfg.ecs.repository
    outputs = []
    if repo.create:
        outputs.append(Output("RepositoryUri", "!GetAtt Repository.RepositoryUri",
                              "ECR repository of the app's images (push, then deploy by digest)"))
    outputs += [
        Output("ClusterName", "!Ref Cluster", "ECS cluster"),
        Output("ClusterArn", "!GetAtt Cluster.Arn", "ECS cluster ARN"),
    ]
    view = ClusterView(
        description=(f"Cluster: the ECS cluster {names.cluster}, created before any container "
                     "instance boots"),
        cluster_name=names.cluster,
        container_insights=cfg.ecs.container_insights,
        repository=repo.create,
        repository_name=names.prefix,
        scan_on_push=repo.scan_on_push,
        kms_key_arn=repo.kms_key_arn,
    )
    return Built(view, (), tuple(outputs))
