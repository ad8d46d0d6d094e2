from __future__ import annotations

import json
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import props, referenced, resources

MAX_HOPS = 1


def _is_ecs_container_instance(template: dict[str, Any], data: dict[str, Any]) -> bool:
    """User data that joins an ECS cluster, or the ECS-optimised AMI."""
    user_data = json.dumps(data.get("UserData", ""))
    if "ECS_CLUSTER" in user_data or "/etc/ecs/" in user_data:
        return True
    image = data.get("ImageId")
    param = (template.get("Parameters") or {}).get(referenced(image) or "") or {}
    source = str(image) + str(param.get("Default", "") if isinstance(param, dict) else "")
    return "ecs/optimized-ami" in source or "amazon-ecs-optimized" in source


class EcsInstanceHopLimit(CloudFormationLintRule):
    """Containers on an ECS instance cannot reach the instance role through IMDS.

    With a hop limit of 2, a container in bridge mode (one hop further) gets IMDSv2
    tokens and with them the instance profile's credentials, bypassing its task role.
    Unset, the limit is 2 for AMIs marked ImdsSupport v2.0 (the ECS-optimised AL2023
    AMI), so it must be set to 1.
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Image.html (ImdsSupport)
    """

    id = "E9115"
    shortdesc = "ECS container instances: IMDS hop limit 1"
    description = (
        "A launch template of ECS container instances must set "
        "MetadataOptions.HttpPutResponseHopLimit to 1, so containers cannot reach the "
        "instance role's credentials"
    )
    source_url = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/security-iam-roles.html"
    tags = ["stackgen", "security"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, res in resources(cfn.template, "AWS::EC2::LaunchTemplate"):
            data = props(res).get("LaunchTemplateData")
            if not isinstance(data, dict) or not _is_ecs_container_instance(cfn.template, data):
                continue
            options = data.get("MetadataOptions")
            hops = options.get("HttpPutResponseHopLimit") if isinstance(options, dict) else None
            if isinstance(hops, dict) or (hops is not None and not str(hops).isdigit()):
                continue  # an intrinsic: cannot be judged here (cfn-lint checks the type)
            if hops is None or int(hops) > MAX_HOPS:
                path = ["Resources", name, "Properties", "LaunchTemplateData", "MetadataOptions"]
                matches.append(RuleMatch(
                    [*path, "HttpPutResponseHopLimit"] if hops is not None else path,
                    f"{name} lets containers reach the instance role through IMDS "
                    f"(HttpPutResponseHopLimit {hops if hops is not None else 'unset'}); "
                    f"set it to {MAX_HOPS}"))
        return matches
