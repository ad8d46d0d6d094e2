"""How long CloudFormation takes over each resource type on AWS: typical create, update and
delete seconds, and an upper figure (the deadline a wait allows).

One table for three users: the local endpoint's latency model (``stackgen local up
--latency real``) makes each resource take its typical time divided by the time scale; the
deploy engine's deadline per stack is the upper figure of the slowest type it holds; the
makespan bench's critical path sums typical figures along the longest chain.

AWS publishes few of these numbers. Each row names its source; "observed" marks a typical
figure seen in CloudFormation events of real deployments (no AWS page states it).

Sources cited below:
 [rds]   RDS user guide, "Creating an Amazon RDS DB instance": several minutes until
         ``available``; Multi-AZ and storage add to it (observed 5-15 min, issue 16).
 [stab]  AWS DevOps blog, "How we sped up AWS CloudFormation deployments with optimistic
         stabilization" (2024): CloudFormation waits for each resource's stabilization
         (EC2 running, ECS service steady state, load balancer active).
 [stuck] AWS knowledge center, "Why is my CloudFormation stack stuck in an IN_PROGRESS
         state?": the timeout follows each resource's stabilization requirements.
 [acm]   ACM user guide, "DNS validation": issued once ACM sees the CNAME; with Route 53
         records in the account, minutes (observed 1-5 min); pending up to 72 h before failing.
 [ecs]   ECS developer guide, service deployments: CloudFormation waits for steady state
         (tasks healthy behind the target group); the circuit breaker fails it otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

Operation = Literal["CREATE", "UPDATE", "DELETE"]


class Latency(msgspec.Struct, frozen=True):
    create: float
    update: float
    delete: float
    upper: float  # the longest one operation is allowed before we call it hung
    source: str

    def of(self, operation: Operation) -> float:
        return {"CREATE": self.create, "UPDATE": self.update, "DELETE": self.delete}[operation]


def _fast(source: str = "observed: a control-plane call, done in seconds") -> Latency:
    return Latency(create=5, update=5, delete=5, upper=10 * 60, source=source)


TABLE: dict[str, Latency] = {
    # network
    "AWS::EC2::VPC": Latency(10, 5, 10, 10 * 60, "observed"),
    "AWS::EC2::Subnet": Latency(5, 5, 10, 10 * 60, "observed"),
    "AWS::EC2::InternetGateway": Latency(15, 5, 15, 10 * 60, "observed"),
    "AWS::EC2::VPCGatewayAttachment": Latency(15, 15, 20, 10 * 60, "observed"),
    "AWS::EC2::RouteTable": _fast(),
    "AWS::EC2::Route": _fast(),
    "AWS::EC2::SubnetRouteTableAssociation": _fast(),
    "AWS::EC2::SecurityGroup": _fast(),
    "AWS::EC2::SecurityGroupEgress": _fast(),
    "AWS::EC2::SecurityGroupIngress": _fast(),
    "AWS::EC2::EIP": _fast(),
    "AWS::EC2::FlowLog": _fast(),
    # [stab] a NAT gateway is usable once ``available``: observed 1.5-2 min, delete ~1 min
    "AWS::EC2::NatGateway": Latency(120, 5, 60, 20 * 60, "[stab], observed 1.5-2 min"),
    "AWS::EC2::LaunchTemplate": _fast(),
    # DNS and certificates
    "AWS::Route53::HostedZone": Latency(40, 5, 40, 20 * 60, "observed: INSYNC in ~40 s"),
    "AWS::Route53::RecordSet": Latency(40, 40, 40, 20 * 60, "observed: INSYNC in ~40 s"),
    "AWS::CertificateManager::Certificate": Latency(180, 5, 5, 60 * 60,
                                                    "[acm] observed 1-5 min"),
    # load balancing
    "AWS::ElasticLoadBalancingV2::LoadBalancer": Latency(180, 10, 30, 30 * 60,
                                                         "[stab] observed 3-5 min to active"),
    "AWS::ElasticLoadBalancingV2::TargetGroup": _fast(),
    "AWS::ElasticLoadBalancingV2::Listener": _fast(),
    "AWS::ElasticLoadBalancingV2::ListenerRule": _fast(),
    # compute
    "AWS::AutoScaling::AutoScalingGroup": Latency(90, 60, 180, 60 * 60,
                                                  "[stab] observed: instances in service "
                                                  "1-3 min, drained and terminated on delete"),
    "AWS::AutoScaling::ScalingPolicy": _fast(),
    "AWS::ApplicationAutoScaling::ScalableTarget": _fast(),
    "AWS::ApplicationAutoScaling::ScalingPolicy": _fast(),
    "AWS::ECS::Cluster": Latency(10, 5, 10, 10 * 60, "observed"),
    "AWS::ECS::CapacityProvider": Latency(10, 10, 30, 20 * 60, "observed"),
    "AWS::ECS::ClusterCapacityProviderAssociations": Latency(10, 10, 30, 20 * 60, "observed"),
    "AWS::ECS::TaskDefinition": _fast(),
    # CloudFormation would wait up to 3 h for steady state; the deployment circuit breaker
    # (on in every shipped env) fails a deployment that cannot get there well before 1 h.
    "AWS::ECS::Service": Latency(180, 180, 120, 60 * 60,
                                 "[ecs][stab] observed 2-5 min to steady state"),
    # data
    "AWS::RDS::DBSubnetGroup": _fast(),
    "AWS::RDS::DBInstance": Latency(600, 300, 420, 60 * 60,
                                    "[rds] observed 5-15 min to create, 5-10 to modify/delete"),
    "AWS::RDS::DBCluster": Latency(600, 300, 420, 60 * 60, "[rds] observed"),
    "AWS::SecretsManager::Secret": _fast(),
    "AWS::S3::Bucket": Latency(5, 5, 5, 10 * 60, "observed"),
    "AWS::S3::BucketPolicy": _fast(),
    # IAM roles are eventually consistent: CloudFormation waits for propagation
    "AWS::IAM::Role": Latency(15, 15, 10, 10 * 60, "[stab] observed ~15 s with propagation"),
    "AWS::IAM::InstanceProfile": Latency(120, 5, 120, 20 * 60,
                                         "[stab] observed: ~2 min of IAM propagation"),
    "AWS::Logs::LogGroup": _fast(),
    "AWS::CloudWatch::Alarm": _fast(),
    "AWS::CloudFormation::WaitConditionHandle": Latency(1, 1, 1, 60, "observed"),
}

# A type missing from the table: a few seconds, and a deadline that never cuts a slow one
# short.
UNKNOWN = Latency(10, 10, 10, 60 * 60, "not in the table: assumed")


def latency(resource_type: str) -> Latency:
    return TABLE.get(resource_type, UNKNOWN)


def upper_bound(types: Iterable[str]) -> float:
    """The deadline of an operation over these types: the slowest type's upper figure."""
    return max((latency(t).upper for t in types), default=UNKNOWN.upper)
