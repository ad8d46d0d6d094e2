"""The whole env: its account, region and targets, deployment settings, and one part
per stack (network, dns, alb, asg, rds, ecs) with the alarms' topic and the WAF ACL."""


from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from generator.config.alb import Alb
from generator.config.asg import Asg
from generator.config.base import Name, Strict, doc
from generator.config.dns import Dns
from generator.config.ecs import Ecs
from generator.config.network import Network
from generator.config.rds import Rds


class Alarms(Strict):
    """Where CloudWatch alarms notify."""

    topic_arn: Annotated[
        Annotated[str, Meta(pattern=r"^arn:aws[a-z-]*:sns:")] | None, doc("SNS topic alarms notify")
    ] = None


class Waf(Strict):
    """An existing WAFv2 web ACL (REGIONAL scope) associated with the load balancer."""

    web_acl_arn: Annotated[
        Annotated[str, Meta(pattern=r"^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/")] | None,
        doc("regional web ACL to associate; none by default"),
    ] = None


class DeployTarget(Strict):
    """One account and region the env's whole graph is deployed to (issue 16)."""

    account: Annotated[str, Meta(pattern=r"^\d{12}$"), doc("the target's AWS account id")]
    region: Annotated[str, Meta(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$"),
                      doc("the target's region")]
    role_arn: Annotated[
        Annotated[str, Meta(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")]
        | None,
        doc("role assumed (STS AssumeRole) with the caller's credentials; none: the "
            "caller's credentials must be of the target's account"),
    ] = None
    availability_zones: Annotated[
        list[str],
        doc("the target's AZs for the created VPC's subnets; needed in a region other than "
            "the env's (empty: network.availability_zones)"),
    ] = []

    def overrides(self) -> tuple[str, ...]:
        """The ``--set`` expressions that make the env's params this target's (its
        account and region); its own AZs then come from ``Environment.availability_zones``."""
        return (f"account_id={self.account}", f"region={self.region}")


class Environment(Strict):
    """One deployable environment: the merged base file and env file."""

    # Required fields come first: kw_only does not carry over to subclasses' fields.
    dns: Dns
    project: Annotated[Name, doc("first part of every stack name")] = "kubenews"
    region: Annotated[str, Meta(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$"), doc("AWS region of the env")] = (
        "us-east-1"
    )
    account_id: Annotated[
        Annotated[str, Meta(pattern=r"^\d{12}$")] | None, doc("deploy refuses another account")
    ] = None
    target: Annotated[
        Literal["aws", "local"],
        doc("`aws`: the standard credentials and endpoints; `local`: the running local "
            "endpoint with throw-away credentials"),
    ] = "aws"
    termination_protection: Annotated[bool, doc("protect every stack from deletion")] = False
    nested: Annotated[bool, doc("deploy as one root stack with nested children")] = False
    deployment_mode: Annotated[
        Literal["standard", "express"],
        doc("`express`: CloudFormation completes each stack once its resources' configuration "
            "is applied, without waiting for them to be ready (dev-like envs only; refused "
            "with termination_protection)"),
    ] = "standard"
    tags: Annotated[dict[str, str], doc("extra tags on every stack")] = {}
    network: Network = msgspec.field(default_factory=Network)
    alb: Alb = msgspec.field(default_factory=Alb)
    asg: Asg = msgspec.field(default_factory=Asg)
    rds: Rds = msgspec.field(default_factory=Rds)
    ecs: Ecs = msgspec.field(default_factory=Ecs)
    alarms: Alarms = msgspec.field(default_factory=Alarms)
    waf: Waf = msgspec.field(default_factory=Waf)
    targets: Annotated[
        list[DeployTarget],
        doc("deploy the graph to each of these accounts and regions (each its own lock, "
            "outputs and summary); empty: `account_id` and `region`"),
    ] = []

    @property
    def availability_zones(self) -> list[str]:
        """The AZs of this rendering's subnets: a target's own when the env is rendered
        for a target that names them (account_id and region set from it), else
        network.availability_zones."""
        for t in self.targets:
            if (t.account, t.region) == (self.account_id, self.region) and t.availability_zones:
                return t.availability_zones
        return self.network.availability_zones

    @property
    def audit_trail(self) -> bool:
        """Prod-like envs (termination protection) keep access and flow logs by default."""
        return self.termination_protection
