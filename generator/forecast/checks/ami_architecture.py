from __future__ import annotations

from generator.forecast.account import Account, ApiError, not_found
from generator.forecast.model import AccountCheck, Finding, Subject


class AmiArchitecture(AccountCheck):
    """The image the launch template resolves from the SSM parameter exists, and is built
    for a CPU the instance type has; otherwise every launch fails."""

    id = "F402"
    title = "The AMI exists and matches the instance type"
    source = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/retrieve-ecs-optimized_AMI.html"

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        cfg = subject.cfg
        if cfg.ecs.fargate:
            return []
        param, itype = cfg.asg.ami_ssm_parameter, cfg.asg.instance_type
        try:
            image_id = account.call("ssm", "get_parameter", Name=param)["Parameter"]["Value"]
        except ApiError as exc:
            if not not_found(exc):
                raise
            return [self.finding(
                "error", "asg", "LaunchTemplate",
                f"SSM parameter {param} does not exist in {cfg.region}; the asg stack's "
                "ImageId parameter cannot resolve",
                "fix asg.ami_ssm_parameter (the ECS developer guide lists the public ones)")]
        try:
            images = account.call("ec2", "describe_images", ImageIds=[image_id])["Images"]
        except ApiError as exc:
            if not not_found(exc):
                raise
            images = []
        if not images:
            return [self.finding(
                "error", "asg", "LaunchTemplate",
                f"{param} names image {image_id}, which does not exist in {cfg.region}",
                "point asg.ami_ssm_parameter at a current image")]
        arch = images[0].get("Architecture", "?")
        types = account.call("ec2", "describe_instance_types", InstanceTypes=[itype])
        supported = (types["InstanceTypes"][0].get("ProcessorInfo", {})
                     .get("SupportedArchitectures", []) if types["InstanceTypes"] else [])
        if arch in supported:
            return []
        return [self.finding(
            "error", "asg", "LaunchTemplate",
            f"image {image_id} (from {param}) is {arch}, but {itype} runs "
            f"{', '.join(supported) or 'an unknown architecture'}; instances do not launch",
            "use the SSM parameter of the image for the instance's architecture (…/arm64/… "
            "for Graviton), or another asg.instance_type")]
