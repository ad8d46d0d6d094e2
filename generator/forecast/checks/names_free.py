from __future__ import annotations

from collections.abc import Callable
from typing import Any

from generator.aws.adopt import why_not
from generator.cfndoc import props
from generator.context import logical_id
from generator.forecast.account import Account, ApiError, not_found
from generator.forecast.checks._common import deployed_stack
from generator.forecast.model import AccountCheck, Finding, Subject


def _cluster(a: Account, name: str) -> bool:
    clusters = a.call("ecs", "describe_clusters", clusters=[name])["clusters"]
    return any(c.get("status") in ("ACTIVE", "PROVISIONING") for c in clusters)


def _log_group(a: Account, name: str) -> bool:
    groups = a.pages("logs", "describe_log_groups", "logGroups", logGroupNamePrefix=name)
    return any(g.get("logGroupName") == name for g in groups)


def _exists(service: str, operation: str, arg: str, wrap: bool = False) -> Callable[[Account, str], bool]:
    def ask(a: Account, name: str) -> bool:
        try:
            a.call(service, operation, **{arg: [name] if wrap else name})
        except ApiError as exc:
            if not_found(exc):
                return False
            raise
        return True

    return ask


def _zone(a: Account, name: str) -> bool:
    """A public hosted zone of that name. Route 53 lets several zones share a name, each
    with its own name servers (Route 53 developer guide, "Creating a public hosted
    zone"): a create does not fail, it makes a second zone the parent does not delegate
    to, so a zone retained by an earlier delete (DeletionPolicy Retain) must be found."""
    bare = name.rstrip(".").lower()
    page = a.call("route53", "list_hosted_zones_by_name", DNSName=bare, MaxItems="10")
    return any(str(z["Name"]).rstrip(".").lower() == bare
               and not (z.get("Config") or {}).get("PrivateZone")
               for z in page.get("HostedZones", []))


# Resource type -> (property that fixes its name, how to ask whether the name is taken).
NAMED: dict[str, tuple[str, Callable[[Account, str], bool]]] = {
    "AWS::ECS::Cluster": ("ClusterName", _cluster),
    "AWS::Logs::LogGroup": ("LogGroupName", _log_group),
    "AWS::RDS::DBInstance": ("DBInstanceIdentifier",
                             _exists("rds", "describe_db_instances", "DBInstanceIdentifier")),
    "AWS::ElasticLoadBalancingV2::TargetGroup": (
        "Name", _exists("elbv2", "describe_target_groups", "Names", wrap=True)),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (
        "Name", _exists("elbv2", "describe_load_balancers", "Names", wrap=True)),
    "AWS::IAM::Role": ("RoleName", _exists("iam", "get_role", "RoleName")),
    "AWS::S3::Bucket": ("BucketName", _exists("s3", "head_bucket", "Bucket")),
    # CreateRepository fails RepositoryAlreadyExistsException (ECR API reference); the
    # repository outlives its stack (DeletionPolicy Retain), so a re-create meets it.
    "AWS::ECR::Repository": ("RepositoryName", _exists(
        "ecr", "describe_repositories", "repositoryNames", wrap=True)),
    "AWS::Route53::HostedZone": ("Name", _zone),
}
# Types whose physical id is not their name (a zone's is its id): the stack holding the
# resource at all means no create, so nothing of that name is made again.
BY_ID = frozenset({"AWS::Route53::HostedZone"})


class NamesFree(AccountCheck):
    """A name the templates fix (ClusterName, LogGroupName, DBInstanceIdentifier, an ECR
    RepositoryName, …) must not belong to something outside this stack, or the create
    fails "already exists" (an ECS cluster of that name is even adopted silently, and a
    hosted zone of that name is made a second time, with new name servers)."""

    id = "F405"
    title = "Fixed names are free"
    source = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html"

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        found = []
        for stack, logical, res in subject.resources(*NAMED):
            prop, taken = NAMED[res["Type"]]
            name = props(res).get(prop)
            if not isinstance(name, str) or not taken(account, name):
                continue
            owner = self._owner(subject, account, stack)
            if self._ours(account, owner, logical, name, res["Type"] in BY_ID):
                continue
            if self._moving(subject, account, res["Type"], name):
                continue  # another stack of the env holds it: the refactor moves it here
            if res["Type"] == "AWS::Route53::HostedZone":
                found.append(self._second_zone(subject, stack, logical, name))
                continue
            if why_not(res) is None:
                # ImportExistingResources can adopt it; without --adopt-existing the change
                # set's pre-deployment validation fails it before anything executes
                # (generator/aws/adopt.py): a warning, not a refusal of the deploy.
                found.append(self.finding(
                    "warning", stack, logical,
                    f"{res['Type']} {name} already exists outside stack "
                    f"{subject.stack_name(stack)}; CloudFormation's validation fails the "
                    "change set unless it is adopted",
                    f"adopt it with `stackgen deploy --env {subject.env} "
                    "--adopt-existing` (ImportExistingResources), or delete or rename it"))
                continue
            found.append(self.finding(
                "error", stack, logical,
                f"{res['Type']} {name} already exists outside stack {subject.stack_name(stack)}; "
                "the create fails or takes over what another owner runs",
                f"delete or rename the existing one, or change the name {prop} gets"))
        return found

    def _owner(self, subject: Subject, account: Account, stack: str) -> str | None:
        """The deployed stack that holds ``stack``'s resources: its own, or, in the nested
        form (one root stack), the root's child stack of that name."""
        flat = subject.stack_name(stack)
        if deployed_stack(account, flat) is not None:
            return flat
        root = subject.rendered.root.stack_name
        if deployed_stack(account, root) is None:
            return None
        resources = account.call("cloudformation", "describe_stack_resources",
                                 StackName=root)["StackResources"]
        child = {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in resources}
        physical = child.get(logical_id(stack))
        return str(physical) if physical else None

    def _moving(self, subject: Subject, account: Account, kind: str, name: str) -> bool:
        """Another deployed stack of the env holds a ``kind`` named ``name``: a resource
        whose logical id moved stacks (deploy/refactor.py), not a stranger's."""
        for stack in subject.rendered.stacks:
            flat = subject.stack_name(stack)
            if deployed_stack(account, flat) is None:
                continue
            resources = account.call("cloudformation", "describe_stack_resources",
                                     StackName=flat)["StackResources"]
            for r in resources:
                value = str(r.get("PhysicalResourceId", ""))
                if r.get("ResourceType") == kind and (
                        value == name or value.endswith((f"/{name}", f":{name}"))):
                    return True
        return False

    def _second_zone(self, subject: Subject, stack: str, logical: str, name: str) -> Finding:
        """A zone of the env's name exists and the dns stack would create another."""
        delegating = subject.cfg.dns.zone.parent_zone_id
        return self.finding(
            "warning" if delegating else "error", stack, logical,
            f"hosted zone {name} already exists outside stack {subject.stack_name(stack)} "
            "(retained by an earlier delete?); the create makes a second zone with new name "
            + ("servers and moves the Delegation record to them, leaving the old zone behind"
               if delegating else
               "servers, which the parent does not delegate to, so the certificate never "
               "validates"),
            "use the existing zone (dns.zone.id: <its id>, create: false), or delete it")

    def _ours(self, account: Account, stack_name: str | None, logical: str, name: str,
              by_id: bool = False) -> bool:
        if stack_name is None:
            return False
        resources: list[dict[str, Any]] = account.call(
            "cloudformation", "describe_stack_resources", StackName=stack_name)["StackResources"]
        physical = {r["LogicalResourceId"]: str(r.get("PhysicalResourceId", "")) for r in resources}
        value = physical.get(logical, "")
        if by_id:
            return bool(value)
        return value == name or value.endswith(f"/{name}") or value.endswith(f":{name}")
