"""What AWS documents about service-principal trusts and role passing: one table the
views (which write the conditions) and the lint rule (which demands them) share.

The confused deputy (IAM user guide, "The confused deputy problem"): a service
principal such as ``ecs-tasks.amazonaws.com`` acts for every AWS customer; a trust that
names only the principal lets the service assume the role on behalf of a resource in
*another* account. ``aws:SourceAccount`` and ``aws:SourceArn`` in the trust tie the
assumption to this account's resources. They are set only for the services whose
documentation gives them for the trust policy; for others the service may not send
the keys, and a condition on a key that is absent makes the assumption fail.
"""

from __future__ import annotations

from typing import Final

import msgspec


class ServiceTrust(msgspec.Struct, frozen=True):
    """A service whose trust policy AWS documents with the confused-deputy keys."""

    source: str  # the page that documents the trust's conditions
    # aws:SourceArn: what the service acts for, as a Fn::Sub string (ArnLike)
    source_arn: str


# Services whose role trust AWS documents with aws:SourceAccount and aws:SourceArn.
SERVICE_TRUSTS: Final[dict[str, ServiceTrust]] = {
    # ECS developer guide, "Amazon ECS task IAM role" (task-iam-roles.html), "Create the
    # task IAM role": the trust policy's example is ArnLike aws:SourceArn
    # arn:aws:ecs:region:account:* with StringEquals aws:SourceAccount. A cluster cannot
    # be named there (awsdocs/amazon-ecs-developer-guide#208): the source is the task.
    # The task execution role is assumed by the same principal for the same task
    # ("Amazon ECS task execution IAM role", task_execution_IAM_role.html), so it takes
    # the same conditions.
    "ecs-tasks.amazonaws.com": ServiceTrust(
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html",
        "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*"),
    # EventBridge Scheduler user guide, "Setting up the execution role" (setting-up.html)
    # and "Cross-service confused deputy prevention": aws:SourceAccount, and aws:SourceArn
    # the schedule group; a schedule without GroupName is in the group `default`.
    "scheduler.amazonaws.com": ServiceTrust(
        "https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html",
        "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule-group/default"),
    # VPC user guide, "IAM role for publishing flow logs to CloudWatch Logs"
    # (flow-logs-iam-role.html): trust with aws:SourceAccount and ArnLike aws:SourceArn
    # arn:aws:ec2:region:account:vpc-flow-log/*.
    "vpc-flow-logs.amazonaws.com": ServiceTrust(
        "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html",
        "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*"),
    # EventBridge user guide, "Using IAM policy conditions in Amazon EventBridge"
    # (eb-use-conditions.html): aws:SourceAccount and aws:SourceArn (the rule) are set
    # when a rule's target assumes its role. No template renders one yet; the lint
    # rule holds a hand-written one to the same standard.
    "events.amazonaws.com": ServiceTrust(
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html",
        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/*"),
}

# Deliberately without the keys (the lint rule does not ask for them):
# - ec2.amazonaws.com (the container instances' role): an instance profile's role is
#   assumed for an instance the caller launched with iam:PassRole, which never crosses
#   accounts; EC2 documents no source keys for it (ECS developer guide, "Amazon ECS
#   container instance IAM role", trust policy without conditions).
# - ecs.amazonaws.com (the infrastructure role for blue/green load balancers): its page,
#   "Amazon ECS infrastructure IAM role for load balancers", gives the trust without
#   conditions.
# Application Auto Scaling and the ECS service use service-linked roles, which no
# template declares.

# The trust's condition keys, lower case: IAM compares condition keys case-insensitively
# (IAM user guide, "IAM JSON policy elements: Condition").
SOURCE_ACCOUNT: Final = "aws:sourceaccount"
SOURCE_ARN: Final = "aws:sourcearn"
# iam:PassRole's key: which service may receive the role (IAM user guide, "Grant a user
# permissions to pass a role to an AWS service"; IAM condition keys, iam:PassedToService).
PASSED_TO_SERVICE: Final = "iam:passedtoservice"
