from __future__ import annotations

from generator.forecast.account import Account
from generator.forecast.model import AccountCheck, Finding, Subject


class InstanceTypeOffered(AccountCheck):
    """The ASG launches in every AZ of its subnets; a type not offered in one of them fails
    there ("Your requested instance type is not supported in your requested AZ")."""

    id = "F401"
    title = "The instance type is offered in every AZ"
    source = ("https://docs.aws.amazon.com/AWSEC2/latest/APIReference/"
              "API_DescribeInstanceTypeOfferings.html")

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        cfg = subject.cfg
        if cfg.ecs.fargate:
            return []
        net = cfg.network
        if net.mode == "create":
            zones = list(cfg.availability_zones)
        else:
            ids = net.private_subnet_ids or net.public_subnet_ids
            subnets = account.call("ec2", "describe_subnets", SubnetIds=ids)["Subnets"]
            zones = sorted({s["AvailabilityZone"] for s in subnets})
        itype = cfg.asg.instance_type
        offers = account.pages("ec2", "describe_instance_type_offerings", "InstanceTypeOfferings",
                               LocationType="availability-zone",
                               Filters=[{"Name": "instance-type", "Values": [itype]}])
        offered = {o["Location"] for o in offers}
        missing = [z for z in zones if z not in offered]
        if not missing:
            return []
        return [self.finding(
            "error", "asg", "AutoScalingGroup",
            f"{itype} is not offered in {', '.join(missing)} (offered in "
            f"{', '.join(sorted(offered)) or 'no AZ of ' + cfg.region}); launches there fail",
            "use AZs where it is offered, or another asg.instance_type")]
