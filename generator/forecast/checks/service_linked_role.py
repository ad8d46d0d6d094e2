from __future__ import annotations

from generator.forecast.account import Account, ApiError, not_found
from generator.forecast.model import AccountCheck, Finding, Subject

ECS_SERVICE_LINKED_ROLE = "AWSServiceRoleForECS"
ECS_SERVICE = "ecs.amazonaws.com"


class ServiceLinkedRole(AccountCheck):
    """ECS creates its service-linked role (AWSServiceRoleForECS) the first time a cluster
    is created in an account (ECS developer guide, "Using service-linked roles for
    Amazon ECS"); while it does, the first CreateCluster through CloudFormation can fail
    "Unable to assume the service linked role. Please verify that the ECS service linked
    role exists." (aws-cloudformation/cloudformation-coverage-roadmap#818). A fresh
    account should have the role before the cluster stack runs."""

    id = "F407"
    title = "The ECS service-linked role exists"
    source = ("https://docs.aws.amazon.com/AmazonECS/latest/developerguide/"
              "using-service-linked-roles.html")

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        try:
            account.call("iam", "get_role", RoleName=ECS_SERVICE_LINKED_ROLE)
        except ApiError as exc:
            if not not_found(exc):
                raise
            return [self.finding(
                "warning", "cluster", "Cluster",
                f"the account has no ECS service-linked role ({ECS_SERVICE_LINKED_ROLE}); ECS "
                "creates it with the first cluster, and meanwhile that CreateCluster can fail "
                "\"Unable to assume the service linked role\" (cloudformation-coverage-"
                "roadmap#818)",
                "deploy with --create-service-linked-role, or run `aws iam "
                f"create-service-linked-role --aws-service-name {ECS_SERVICE}` once")]
        return []
