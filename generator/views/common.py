"""What every view shares: names, parameters, outputs, YAML scalars, security group
rules and checkov's skip reasons."""

from __future__ import annotations

import json
from typing import Any, Generic, TypeVar

import msgspec

from generator.iam import SERVICE_TRUSTS


class Names(msgspec.Struct, frozen=True):
    project: str
    env: str

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.env}"

    def stack(self, stack: str) -> str:
        return f"{self.prefix}-{stack}"

    @property
    def cluster(self) -> str:
        return self.prefix

    def resource(self, what: str) -> str:
        return f"{self.prefix}-{what}"


class Param(msgspec.Struct, frozen=True):
    """A CloudFormation Parameter and where its value comes from."""

    name: str
    type: str = "String"
    description: str = ""
    value: Any = None  # static value written to the parameters file
    source: dict[str, str] | None = None  # {"From": "stack.Output"} or a lookup
    no_echo: bool = False
    default: Any = None  # kept in the template; SSM parameter types need their path here

    @property
    def file_value(self) -> Any:
        return self.source if self.source is not None else self.value


class Ingress(msgspec.Struct, frozen=True):
    description: str
    from_port: int
    to_port: int
    cidr: str | None = None
    source_sg: str | None = None  # raw YAML, e.g. "!Ref AlbSecurityGroupId"

    @property
    def cidr_key(self) -> str:
        return "CidrIpv6" if self.cidr and ":" in self.cidr else "CidrIp"


class Egress(msgspec.Struct, frozen=True):
    """An outbound rule; ``dest_sg`` is raw YAML such as ``!Ref DbSecurityGroup``."""

    description: str
    from_port: int | None  # None for every port (protocol "-1")
    to_port: int | None
    protocol: str = "tcp"
    cidr: str | None = None
    dest_sg: str | None = None


# A group with no egress of its own: CloudFormation removes the default allow-all
# rule only when SecurityGroupEgress is given, so a no-op rule to localhost stands
# in for "none" (CloudFormation user guide, AWS::EC2::SecurityGroup, "Remove the
# default rule").
NO_EGRESS = [Egress("no egress (removes the default allow-all rule)", None, None, "-1",
                    cidr="127.0.0.1/32")]


class EgressRule(msgspec.Struct, frozen=True):
    """An egress rule as a resource of its own (AWS::EC2::SecurityGroupEgress), for a
    rule naming a group whose own rules name this one, or a group of another stack."""

    id: str
    group: str  # raw YAML, e.g. "!Ref AlbSecurityGroup"
    rule: Egress


class Output(msgspec.Struct, frozen=True):
    name: str
    value: str  # raw YAML
    description: str


class Raw(str):
    """YAML text placed as is, e.g. ``!Ref VpcId``; everything else is quoted."""

    __slots__ = ()


def yaml_scalar(value: Any) -> str:
    """A value as YAML flow text. JSON quoting is valid YAML; ``Raw`` stays as is,
    so intrinsic functions can sit inside lists and mappings."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(str(k))}: {yaml_scalar(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_scalar(v) for v in value) + "]"
    return json.dumps(value)


V = TypeVar("V")


class Built(msgspec.Struct, Generic[V], frozen=True):
    """A stack's view with the Parameters and Outputs its template declares, in order."""

    view: V
    params: tuple[Param, ...] = ()
    outputs: tuple[Output, ...] = ()


# checkov's checks (`make security`) the templates fail on purpose: each skip carries
# its reason into the template (checkov's skip metadata) and README's table of
# deliberate choices lists them all. A check failed without a reason fails the gate.
CHECKOV_REASONS: dict[str, str] = {
    "CKV_AWS_260": "port 80 only redirects to HTTPS (alb.http_redirect); no content is served on it",
    "CKV_AWS_91": "access logs are kept in prod-like envs (termination_protection); "
                  "alb.access_logs.enabled keeps them in this env too",
    "CKV_AWS_18": "the bucket holds the load balancer's access logs itself; logging it "
                  "to another bucket would log the log",
    "CKV_AWS_161": "kube-news logs in with a password (Sequelize); it has a least-privilege "
                   "login of its own instead of IAM database authentication",
    "CKV_AWS_118": "no enhanced monitoring (OS metrics, an extra role and cost): RDS's "
                   "CloudWatch metrics are enough for this app",
    "CKV_AWS_157": "a single-AZ database outside prod (cost); prod sets rds.multi_az: true",
    "CKV_AWS_158": "CloudWatch Logs encrypts log data at rest by default; a customer managed "
                   "key would add a key policy for the logs service and its cost",
    "CKV_AWS_149": "encrypted with the AWS managed key aws/secretsmanager; a customer managed "
                   "key would need kms:Decrypt grants on the execution role",
}


def skips(*ids: str) -> list[dict[str, str]]:
    """checkov skip metadata, each check with its reason."""
    return [{"id": i, "comment": CHECKOV_REASONS[i]} for i in ids]


def logical_id(name: str) -> str:
    """A CloudFormation logical id from a stack or task name: `db-migrate` -> `DbMigrate`."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


class Trust(msgspec.Struct, frozen=True):
    """Who may assume a role: one service principal and, where its documentation gives
    them, the confused-deputy keys (the iam_role partial places both)."""

    service: str
    condition: dict[str, Any] | None


def trust(service: str) -> Trust:
    """A role's trust for ``service``: this account, and the resources the service's
    documentation names (``generator.iam.SERVICE_TRUSTS``, each with its page); no
    condition for a service that documents no such keys."""
    known = SERVICE_TRUSTS.get(service)
    if known is None:
        return Trust(service, None)
    return Trust(service, {
        "StringEquals": {"aws:SourceAccount": Raw("!Ref AWS::AccountId")},
        "ArnLike": {"aws:SourceArn": Raw(f"!Sub {json.dumps(known.source_arn)}")},
    })


def passed_to(service: str) -> dict[str, Any]:
    """An iam:PassRole statement's condition: the role goes to ``service`` only (IAM
    user guide, "Grant a user permissions to pass a role to an AWS service")."""
    return {"StringEquals": {"iam:PassedToService": service}}
