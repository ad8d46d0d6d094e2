"""IAM as AWS names it: the ECS service-linked role is ``AWSServiceRoleForECS`` (ECS
developer guide, "Using service-linked roles for Amazon ECS"); moto derived
``AWSServiceRoleForecs`` from the service principal, so a GetRole of the documented
name never found the role CreateServiceLinkedRole had made."""

from __future__ import annotations

from moto.iam import models as iam_models


def apply() -> None:
    iam_models.SERVICE_NAME_CONVERSION.setdefault("ecs", "ECS")
