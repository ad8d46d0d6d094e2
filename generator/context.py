"""Per-stack view models: every name, list and condition a template needs.

Templates only place values; anything computed (names, CIDRs, port ranges,
container environment, placement lists, which optional blocks exist) is
decided here, so it is typed, testable and the same for every template.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator.config import Environment
from generator.graph import Stack

EPHEMERAL_PORTS = (32768, 65535)


def conditions(cfg: Environment) -> frozenset[str]:
    """Named facts about an env that stacks.yaml may select inputs and stacks by."""
    ecs, asg = cfg.ecs, cfg.asg
    facts = {
        "fargate" if ecs.fargate else "ec2",
        f"network_{cfg.network.mode}",
    }
    if not ecs.fargate and asg.scaling.mode == "capacity_provider":
        facts.add("capacity_provider")
    scaling = ecs.service.autoscaling
    if scaling.enabled and scaling.requests_per_target:
        # ALBRequestCountPerTarget follows one target group; blue/green has two.
        blue_green = ecs.service.deployment.strategy == "BLUE_GREEN"
        facts.add("request_scaling_blue_green" if blue_green else "request_scaling")
    if cfg.dns.zone.create:
        facts.add("create_zone")
    if ecs.service.deployment.strategy == "BLUE_GREEN":
        facts.add("blue_green")
    if any(s.kind == "web" for s in ecs.services.values()):
        facts.add("web_services")  # their target groups and listener rules live in ecs
    return frozenset(facts)


@dataclass(frozen=True)
class Names:
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


@dataclass(frozen=True)
class Param:
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


@dataclass(frozen=True)
class Ingress:
    description: str
    from_port: int
    to_port: int
    cidr: str | None = None
    source_sg: str | None = None  # raw YAML, e.g. "!Ref AlbSecurityGroupId"

    @property
    def cidr_key(self) -> str:
        return "CidrIpv6" if self.cidr and ":" in self.cidr else "CidrIp"


@dataclass(frozen=True)
class Egress:
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


@dataclass(frozen=True)
class Output:
    name: str
    value: str  # raw YAML
    description: str


@dataclass
class StackContext:
    """Everything one stack template is rendered from."""

    stack: str
    cfg: Environment
    names: Names
    params: list[Param] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    view: Any = None  # the stack's frozen view (generator/views/<stack>.py); templates read view.*

    def as_template_vars(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "cfg": self.cfg,
            "names": self.names,
            "params": self.params,
            "outputs": self.outputs,
            "view": self.view,
            **self.values,
        }


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


# Types of the Parameters that carry upstream outputs.
INPUT_TYPES = {
    "VpcId": "AWS::EC2::VPC::Id",
    "PublicSubnetIds": "List<AWS::EC2::Subnet::Id>",
    "AppSubnetIds": "List<AWS::EC2::Subnet::Id>",
    "DbSubnetIds": "List<AWS::EC2::Subnet::Id>",
    "HostedZoneId": "AWS::Route53::HostedZone::Id",
    "AlbSecurityGroupId": "AWS::EC2::SecurityGroup::Id",
    "AppSecurityGroupId": "AWS::EC2::SecurityGroup::Id",
}


def _input_params(stack: Stack) -> list[Param]:
    return [
        Param(
            i.param,
            INPUT_TYPES.get(i.param, "String"),
            f"{i.output} output of the {i.stack} stack",
            source={"From": i.ref},
        )
        for i in stack.inputs
    ]


# --- one builder per stack ------------------------------------------------------


def _app_ports(cfg: Environment) -> tuple[int, int]:
    """Ports the load balancer reaches the app on: the host port in bridge mode
    (the ephemeral range for a dynamic one), the container port otherwise."""
    ecs = cfg.ecs
    if ecs.effective_network_mode in ("awsvpc", "host"):
        return (ecs.container.container_port,) * 2
    host_port = ecs.container.host_port
    return EPHEMERAL_PORTS if host_port == 0 else (host_port, host_port)


def _alb_egress(cfg: Environment) -> list[Egress]:
    """The load balancer reaches the app's group on the app's ports (and a health
    check port of its own, if set) and nothing else."""
    low, high = _app_ports(cfg)
    rules = [Egress("to the app's ports", low, high, dest_sg="!Ref AppSecurityGroup")]
    check_port = cfg.alb.target_group.health_check.port
    if check_port.isdigit() and not low <= int(check_port) <= high:
        rules.append(Egress("to the app's health check port", int(check_port), int(check_port),
                            dest_sg="!Ref AppSecurityGroup"))
    return rules


def _security_groups(ctx: StackContext) -> None:
    """The load balancer's and the app's groups live in network, so that rds (which
    reads the app's group) depends on network alone and runs beside alb and asg.
    Egress is closed too (issue 13): the load balancer only to the app, the app only
    HTTPS out (ECR, ECS, CloudWatch, Secrets Manager through the NAT gateway or public
    address) and the DB port (rule in the rds stack, where the DB's group lives). DNS
    to the VPC resolver, IMDS and the time service are link-local: no rule needed."""
    cfg = ctx.cfg
    low, high = _app_ports(cfg)
    ctx.values.update(
        # Inline on the load balancer's group would be a cycle (the app's group names
        # it in its ingress): the real rules are AWS::EC2::SecurityGroupEgress resources.
        alb_egress=NO_EGRESS,
        alb_egress_rules=[(f"AlbEgress{i + 1}", "!Ref AlbSecurityGroup", r)
                          for i, r in enumerate(_alb_egress(cfg))],
        app_egress=[Egress("HTTPS to AWS APIs and the image registry", 443, 443,
                           cidr="0.0.0.0/0")],
        vpc_ref="!Ref VpcId" if cfg.network.mode == "existing" else "!Ref Vpc",
        alb_ingress=[
            Ingress(f"{proto} from {cidr}", port, port, cidr=cidr)
            for cidr in cfg.alb.ingress_cidrs
            for proto, port in (("HTTP", 80), ("HTTPS", 443))
        ],
        app_ingress=[
            Ingress("app ports from the load balancer", low, high,
                    source_sg="!Ref AlbSecurityGroup")
        ],
    )
    ctx.outputs += [
        Output("AlbSecurityGroupId", "!Ref AlbSecurityGroup", "load balancer security group"),
        Output("AppSecurityGroupId", "!Ref AppSecurityGroup",
               "security group of the container instances (EC2) or tasks (awsvpc)"),
    ]


def _flow_logs(ctx: StackContext) -> None:
    """VPC flow logs to CloudWatch Logs, on by default in prod-like envs (VPC user
    guide, "Publish flow logs to CloudWatch Logs": the role vpc-flow-logs assumes)."""
    cfg = ctx.cfg
    enabled = cfg.network.flow_logs.enabled
    enabled = cfg.audit_trail if enabled is None else enabled
    ctx.values["flow_logs"] = enabled
    if not enabled:
        return
    ctx.values["flow_log_statements"] = [{
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
        "Resource": [Raw("!GetAtt FlowLogGroup.Arn")],
    }]
    ctx.outputs.append(Output("FlowLogGroupName", "!Ref FlowLogGroup", "VPC flow logs"))


def _network(ctx: StackContext) -> None:
    net = ctx.cfg.network
    _security_groups(ctx)
    _flow_logs(ctx)
    if net.mode == "existing":
        ctx.params += [
            Param("VpcId", "AWS::EC2::VPC::Id", "existing VPC", value=net.vpc_id),
            Param(
                "PublicSubnetIds", "List<AWS::EC2::Subnet::Id>", "existing public subnets",
                value=",".join(net.public_subnet_ids),
            ),
            Param(
                "AppSubnetIds", "List<AWS::EC2::Subnet::Id>", "existing app and DB subnets",
                value=",".join(net.private_subnet_ids or net.public_subnet_ids),
            ),
        ]
        ctx.outputs += [
            Output("VpcId", "!Ref VpcId", "VPC id"),
            Output("PublicSubnetIds", '!Join [",", !Ref PublicSubnetIds]', "public subnets"),
            Output("AppSubnetIds", '!Join [",", !Ref AppSubnetIds]', "app and DB subnets"),
        ]
        ctx.values["existing"] = True
        return
    vpc = ipaddress.ip_network(net.cidr)
    blocks = list(vpc.subnets(new_prefix=min(vpc.prefixlen + 4, 28)))
    zones = net.availability_zones
    public = [
        {"id": f"PublicSubnet{i + 1}", "az_index": i, "cidr": str(blocks[i])}
        for i in range(len(zones))
    ]
    private = [
        {"id": f"PrivateSubnet{i + 1}", "az_index": i, "cidr": str(blocks[8 + i])}
        for i in range(len(zones))
    ] if net.private_subnets else []
    ctx.params.append(
        Param(
            "AvailabilityZones", "List<AWS::EC2::AvailabilityZone::Name>",
            "zones for the subnets", value=",".join(zones),
        )
    )
    # One NAT gateway (with its route table) per AZ unless `single`; the first keeps the
    # unnumbered ids, so switching modes adds or removes gateways without replacing it.
    per_az = net.nat_gateways == "one_per_az"
    nats = [
        {"suffix": "" if i == 0 else str(i + 1), "subnet": public[i]["id"]}
        for i in range(len(private) if per_az else min(1, len(private)))
    ]
    for i, subnet in enumerate(private):
        subnet["route_table"] = f"PrivateRouteTable{nats[i]['suffix'] if per_az else ''}"
    app = private or public
    ctx.values.update(existing=False, public_subnets=public, private_subnets=private,
                      nat_gateways=nats)
    ctx.outputs += [
        Output("VpcId", "!Ref Vpc", "VPC id"),
        Output(
            "PublicSubnetIds",
            '!Join [",", [' + ", ".join(f"!Ref {s['id']}" for s in public) + "]]",
            "public subnets, one per AZ",
        ),
        Output(
            "AppSubnetIds",
            '!Join [",", [' + ", ".join(f"!Ref {s['id']}" for s in app) + "]]",
            "subnets for instances, tasks and the DB",
        ),
    ]


def _dns(ctx: StackContext) -> None:
    zone = ctx.cfg.dns.zone
    if not zone.create:
        source = None if zone.id else {"Lookup": "HostedZoneIdByName", "Name": zone.name}
        ctx.params.append(
            Param(
                "HostedZoneId", "AWS::Route53::HostedZone::Id", f"zone {zone.name}",
                value=zone.id, source=source,
            )
        )
    zone_ref = "!Ref HostedZone" if zone.create else "!Ref HostedZoneId"
    ctx.values.update(
        zone_ref=zone_ref,
        zone_policy="Retain" if zone.retain_on_delete else "Delete",
    )
    ctx.outputs.append(Output("HostedZoneId", zone_ref, "hosted zone of the domain"))
    if zone.create:
        # What the parent zone must list as NS records for the zone to resolve. Joined:
        # a bare list attribute is not a valid output value.
        ctx.outputs.append(Output(
            "NameServers", '!Join [",", !GetAtt HostedZone.NameServers]',
            "name servers the parent zone must delegate to (NS records)"))


def _cert(ctx: StackContext) -> None:
    ctx.params.append(Param("DomainName", description="the app's domain", value=ctx.cfg.dns.domain))
    ctx.outputs += [
        Output("CertificateArn", "!Ref Certificate", "ACM certificate for the domain"),
        Output("DomainName", "!Ref DomainName", "the app's domain"),
    ]


# Regions opened before August 2022 deliver ALB access logs as the regional Elastic
# Load Balancing account; newer ones as the logdelivery service principal (ELB user
# guide, "Enable access logs for your Application Load Balancer", step 2).
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-south-1": "718504428378", "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887", "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251", "eu-central-1": "054676820928",
    "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-west-3": "009996457667",
    "eu-south-1": "635631232127", "eu-north-1": "897822967062", "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}


def _access_log_policy(cfg: Environment) -> list[dict[str, Any]]:
    prefix = cfg.alb.access_logs.prefix
    account = ELB_LOG_ACCOUNTS.get(cfg.region)
    principal: dict[str, Any] = (
        {"AWS": Raw(f'!Sub "arn:${{AWS::Partition}}:iam::{account}:root"')} if account
        else {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    )
    return [
        {"Sid": "LoadBalancerLogDelivery", "Effect": "Allow", "Principal": principal,
         "Action": "s3:PutObject",
         "Resource": Raw(f'!Sub "${{AccessLogsBucket.Arn}}/{prefix}/AWSLogs/${{AWS::AccountId}}/*"')},
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [Raw("!GetAtt AccessLogsBucket.Arn"),
                      Raw('!Sub "${AccessLogsBucket.Arn}/*"')],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]


def _alb(ctx: StackContext) -> None:
    cfg = ctx.cfg
    ctx.params.append(Param("DomainName", description="the app's domain", value=cfg.dns.domain))
    logs = cfg.alb.access_logs.enabled
    logs = cfg.audit_trail if logs is None else logs
    ctx.values.update(
        access_logs=logs,
        access_log_policy=_access_log_policy(cfg) if logs else [],
        waf_web_acl_arn=cfg.waf.web_acl_arn,
    )
    if logs:
        ctx.outputs.append(Output("AccessLogsBucketName", "!Ref AccessLogsBucket",
                                  "bucket of the load balancer's access logs"))
    blue_green = cfg.ecs.service.deployment.strategy == "BLUE_GREEN"
    ctx.values.update(
        target_type="ip" if cfg.ecs.effective_network_mode == "awsvpc" else "instance",
        blue_green=blue_green,
    )
    ctx.outputs += [
        Output("LoadBalancerArn", "!Ref LoadBalancer", "load balancer ARN"),
        Output("LoadBalancerDnsName", "!GetAtt LoadBalancer.DNSName", "load balancer DNS name"),
        Output("TargetGroupArn", "!Ref TargetGroup", "target group of the app"),
        Output("ListenerArn", "!Ref HttpsListener", "HTTPS listener"),
        Output(
            "RequestCountLabel",
            '!Sub "${LoadBalancer.LoadBalancerFullName}/${TargetGroup.TargetGroupFullName}"',
            "resource label for ALBRequestCountPerTarget scaling",
        ),
    ]
    if blue_green:
        ctx.outputs += [
            Output("AlternateTargetGroupArn", "!Ref AlternateTargetGroup",
                   "target group of the new revision during a blue/green deployment"),
            Output("ProductionListenerRuleArn", "!Ref ProductionRule",
                   "HTTPS rule whose traffic a blue/green deployment shifts"),
            Output("LoadBalancerFullName", "!GetAtt LoadBalancer.LoadBalancerFullName",
                   "metric dimension of the load balancer"),
            Output("TargetGroupFullName", "!GetAtt TargetGroup.TargetGroupFullName",
                   "metric dimension of the target group"),
            Output("AlternateTargetGroupFullName",
                   "!GetAtt AlternateTargetGroup.TargetGroupFullName",
                   "metric dimension of the alternate target group"),
        ]
    ctx.outputs.append(Output("Target5xxAlarmName", "!Ref Target5xxAlarm",
                              "alarm that fails (and rolls back) an ECS deployment"))


# Written before Docker starts (a boothook runs early in cloud-init), so no container
# ever reaches IMDS: AWS re:Post knowledge center, "How can I prevent containers from
# accessing Amazon EC2 instance metadata in Amazon ECS?"
# (https://repost.aws/knowledge-center/ecs-container-ec2-metadata).
IMDS_BOOTHOOK = """#cloud-boothook
dnf install -y iptables-services
cat <<'RULES' > /etc/sysconfig/iptables
*filter
:DOCKER-USER - [0:0]
-A DOCKER-USER -d 169.254.169.254/32 -j DROP
COMMIT
RULES
systemctl enable iptables
systemctl start --no-block iptables
"""
MIME_BOUNDARY = "==STACKGEN=="


def _user_data(cfg: Environment) -> str:
    """The instance's user data (an Fn::Sub string). The cluster's name comes from
    the cluster stack's output, so the graph creates the cluster first: the ECS agent
    treats "cluster not found" at registration as terminal (aws/amazon-ecs-agent,
    ecs_client.go). Containers are kept away from IMDS unless opted out: awsvpc tasks
    by the agent (ECS_AWSVPC_BLOCK_IMDS), bridge tasks by an iptables rule; host-mode
    tasks share the agent's network and cannot be blocked (same article)."""
    mode = cfg.ecs.effective_network_mode
    block = cfg.asg.block_container_metadata
    script = "#!/bin/bash\necho ECS_CLUSTER=${ClusterName} >> /etc/ecs/ecs.config\n"
    if block and mode == "awsvpc":
        script += "echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config\n"
    if not (block and mode == "bridge"):
        return script
    # MIME multi-part: cloud-init's format for more than one part.
    parts = [("text/cloud-boothook", IMDS_BOOTHOOK), ("text/x-shellscript", script)]
    body = "".join(
        f'--{MIME_BOUNDARY}\nContent-Type: {kind}; charset="us-ascii"\n\n{text}\n'
        for kind, text in parts
    )
    return (f'Content-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"\nMIME-Version: 1.0\n\n'
            f"{body}--{MIME_BOUNDARY}--\n")


def _asg(ctx: StackContext) -> None:
    asg = ctx.cfg.asg
    ctx.params += [
        Param(
            "ImageId", "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "ECS-optimised AMI, from its public SSM parameter", value=asg.ami_ssm_parameter,
            default=asg.ami_ssm_parameter,
        ),
        Param("InstanceType", description="container instance type", value=asg.instance_type),
    ]
    if asg.key_name:
        ctx.params.append(
            Param("KeyName", "AWS::EC2::KeyPair::KeyName", "SSH key pair", value=asg.key_name)
        )
    managed = ["arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"]
    if asg.ssm_core:
        managed.append("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore")
    in_service = asg.rolling_update.min_instances_in_service
    ctx.values.update(
        managed_policies=managed,
        # Hop limit 1: a PUT for an IMDSv2 token from a bridge-mode container (one hop
        # further) gets no answer, so containers cannot take the instance role.
        imds_hop_limit=1,
        user_data=_user_data(ctx.cfg),
        capacity_provider=asg.scaling.mode == "capacity_provider",
        cpu_tracking=asg.scaling.mode == "target_tracking",
        # A scaling policy or capacity provider owns the group's size: a DesiredCapacity
        # in the template would reset it on every update that touches the group
        # (aws/aws-cdk#5507). Omitted, CreateAutoScalingGroup starts it at MinSize (Auto
        # Scaling API reference, DesiredCapacity) and updates leave it alone.
        set_desired=asg.scaling.mode == "none",
        # Must stay below MaxSize, so that a replacement has room (UpdatePolicy docs).
        min_in_service=(
            in_service if in_service is not None else min(asg.min_size, asg.max_size - 1)
        ),
    )
    ctx.outputs += [
        Output("AutoScalingGroupName", "!Ref AutoScalingGroup", "auto scaling group"),
    ]
    if asg.scaling.mode == "capacity_provider":
        ctx.outputs.append(
            Output("CapacityProviderName", "!Ref CapacityProvider", "ECS capacity provider")
        )


def _cluster(ctx: StackContext) -> None:
    repo = ctx.cfg.ecs.repository
    ctx.values.update(cluster_name=ctx.names.cluster, repository=repo.create,
                      repository_name=ctx.names.prefix)
    if repo.create:
        ctx.outputs.append(Output("RepositoryUri", "!GetAtt Repository.RepositoryUri",
                                  "ECR repository of the app's images (push, then deploy by digest)"))
    ctx.outputs += [
        Output("ClusterName", "!Ref Cluster", "ECS cluster"),
        Output("ClusterArn", "!GetAtt Cluster.Arn", "ECS cluster ARN"),
    ]


def _rds(ctx: StackContext) -> None:
    rds = ctx.cfg.rds
    ctx.params += [
        Param("DbInstanceClass", description="DB instance class", value=rds.instance_class),
        Param("DbEngineVersion", description="PostgreSQL version", value=rds.engine_version),
    ]
    managed = rds.password == "managed"
    ctx.values.update(
        managed_password=managed,
        # A retained snapshot is useless without its password: keep the secret too.
        secret_policy="Delete" if rds.deletion_policy == "Delete" else "Retain",
        secret_template=json.dumps({"username": rds.master_username}),
        app_secret_template=json.dumps({"username": rds.app_username}),
        ingress=[
            Ingress("PostgreSQL from the app", rds.port, rds.port,
                    source_sg="!Ref AppSecurityGroupId")
        ],
        db_egress=NO_EGRESS,
        # The app's group lives in network; its rule to the DB lives here, beside the
        # DB's group it names (no cross-stack cycle).
        app_to_db=Egress("PostgreSQL to the database", rds.port, rds.port,
                         dest_sg="!Ref DbSecurityGroup"),
    )
    # Dotted attribute names in the long form: moto's parser mangles both short forms.
    secret = (yaml_scalar({"Fn::GetAtt": ["DbInstance", "MasterUserSecret.SecretArn"]})
              if managed else "!Ref DbSecret")
    ctx.outputs += [
        Output("DbEndpoint", yaml_scalar({"Fn::GetAtt": ["DbInstance", "Endpoint.Address"]}),
               "DB host name"),
        Output("DbPort", yaml_scalar({"Fn::GetAtt": ["DbInstance", "Endpoint.Port"]}), "DB port"),
        Output("DbSecretArn", secret, "secret holding the DB master credentials"),
        Output("AppDbSecretArn", "!Ref AppDbSecret",
               "secret holding the app's own least-privilege DB login"),
        Output("DbName", yaml_scalar(rds.database_name), "database name"),
    ]


def logical_id(name: str) -> str:
    """A CloudFormation logical id from a stack or task name: `db-migrate` -> `DbMigrate`."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def _ecs(ctx: StackContext) -> None:
    from generator.views import ecs  # the view reads this module's helpers

    ecs.build_into(ctx)


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


def _skips(*ids: str) -> list[dict[str, str]]:
    return [{"id": i, "comment": CHECKOV_REASONS[i]} for i in ids]


def _checkov(cfg: Environment) -> dict[str, list[dict[str, str]]]:
    """The skips per kind of resource; conditional ones only where the env chose so."""
    logs = cfg.alb.access_logs.enabled
    logs = cfg.audit_trail if logs is None else logs
    return {
        "alb_group": _skips("CKV_AWS_260") if cfg.alb.http_redirect else [],
        "load_balancer": [] if logs else _skips("CKV_AWS_91"),
        "log_bucket": _skips("CKV_AWS_18"),
        "db": _skips("CKV_AWS_161", "CKV_AWS_118",
                     *(() if cfg.rds.multi_az else ("CKV_AWS_157",))),
        "log_group": _skips("CKV_AWS_158"),
        "secret": _skips("CKV_AWS_149"),
    }


BUILDERS: dict[str, Callable[[StackContext], None]] = {
    "network": _network,
    "dns": _dns,
    "cluster": _cluster,
    "cert": _cert,
    "alb": _alb,
    "asg": _asg,
    "rds": _rds,
    "ecs": _ecs,
}


def stack_context(stack: Stack, cfg: Environment, names: Names) -> StackContext:
    ctx = StackContext(stack.name, cfg, names)
    ctx.values["checkov"] = _checkov(cfg)
    builder = BUILDERS.get(stack.name)
    if builder:
        builder(ctx)
    # Upstream inputs come last so a stack may not redefine them by accident.
    defined = {p.name for p in ctx.params}
    ctx.params += [p for p in _input_params(stack) if p.name not in defined]
    return ctx
