"""Deletes AWS refuses while something still uses the resource, and CloudFormation's
delete order without moto's retries.

- ACM DeleteCertificate: "You cannot delete an ACM certificate that is being used by
  another AWS service", ResourceInUseException (ACM API reference, DeleteCertificate).
  A load balancer listener using the certificate keeps it in use.
- EC2 DeleteSecurityGroup: "If you attempt to delete a security group that is
  associated with an instance or network interface, is referenced by another security
  group ..., the operation fails with DependencyViolation" (EC2 API reference,
  DeleteSecurityGroup). A load balancer's or a DB instance's network interfaces carry
  the group; moto makes no interfaces for them and deleted the group.
- A stack delete deletes resources in the reverse order of their dependencies; one that
  fails to delete fails the stack (DELETE_FAILED) and is not tried again in the same
  operation (CloudFormation user guide, "Delete a stack" and "Troubleshooting": "Delete
  stack fails"). moto tried every resource in no order and retried the failed ones
  while others went, which hid a nested child failing because a retained sibling
  (``DeletionPolicy: Retain``) still used its certificate or security groups.
"""

from __future__ import annotations

from graphlib import TopologicalSorter
from typing import Any

from moto.acm import models as acm_models
from moto.cloudformation import parsing
from moto.core.exceptions import JsonRESTError
from moto.ec2.exceptions import DependencyViolationError
from moto.ec2.models import security_groups as sg_models

from generator.cfndoc import refers_to
from generator.local.threadflag import ThreadFlag


class ResourceInUse(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ResourceInUseException", message)


def _elbv2(account_id: str, region: str) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account_id][region]


def _rds(account_id: str, region: str) -> Any:
    from moto.rds.models import rds_backends

    return rds_backends[account_id][region]


def certificate_users(account_id: str, region: str, arn: str) -> list[str]:
    """Listeners (by ARN) that use the certificate."""
    users = []
    for lb in _elbv2(account_id, region).load_balancers.values():
        for listener in lb.listeners.values():
            if arn in (listener.certificates or []):
                users.append(str(listener.arn))
    return users


def security_group_users(account_id: str, region: str, group_id: str) -> list[str]:
    """Load balancers and DB instances whose network interfaces carry the group."""
    users = [str(lb.arn) for lb in _elbv2(account_id, region).load_balancers.values()
             if group_id in (lb.security_groups or [])]
    users += [str(db.arn) for db in _rds(account_id, region).databases.values()
              if group_id in (db.vpc_security_group_ids or [])]
    return users


def _certificates_in_use_stay() -> None:
    original = acm_models.AWSCertificateManagerBackend.delete_certificate

    def delete_certificate(self: Any, arn: str) -> None:
        users = certificate_users(self.account_id, self.region_name, arn)
        if users:
            raise ResourceInUse(f"Certificate {arn} in use by {', '.join(users)}")
        original(self, arn)

    acm_models.AWSCertificateManagerBackend.delete_certificate = delete_certificate  # type: ignore[method-assign]


_REPLACING = ThreadFlag()  # on while moto replaces a group on a rule change


def _security_groups_in_use_stay() -> None:
    original = sg_models.SecurityGroupBackend._delete_security_group

    def _delete_security_group(self: Any, vpc_id: str | None, group_id: str) -> None:
        users = security_group_users(self.account_id, self.region_name, group_id)
        if users and not _REPLACING.on:
            raise DependencyViolationError(
                f"resource {group_id} has a dependent object ({users[0]})")
        original(self, vpc_id, group_id)

    sg_models.SecurityGroupBackend._delete_security_group = _delete_security_group  # type: ignore[method-assign]

    # moto replaces a group on any rule change (delete, then create) where AWS updates its
    # rules in place and deletes nothing; that delete is moto's, not one AWS would make,
    # so the check above does not apply to it.
    update = sg_models.SecurityGroup.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    sg_models.SecurityGroup.update_from_cloudformation_json = classmethod(  # type: ignore[method-assign,assignment]
        _REPLACING.around(update))


def delete_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids in the order CloudFormation deletes them: a resource after every
    resource that refers to it or ``DependsOn`` it."""
    names = set(resources)
    needs: dict[str, set[str]] = {}
    for name, res in resources.items():
        deps = res.get("DependsOn") or []
        found = {d for d in ([deps] if isinstance(deps, str) else deps) if d in names}
        found |= {other for other in names - {name}
                  if refers_to(res.get("Properties"), {other})}
        needs[name] = found
    return list(reversed(list(TopologicalSorter(needs).static_order())))


def _stack_delete_in_order_without_retries() -> None:
    def delete(self: Any) -> None:
        kept = {k for k, v in self._resource_json_map.items() if v.get("DeletionPolicy") == "Retain"}
        order = [n for n in delete_order(self._resource_json_map) if n not in kept]
        failed: list[Exception] = []
        blocked: set[str] = set()  # what a failed resource needs stays: it still refers to it
        for name in order:
            if name in blocked:
                continue
            parsed = self._parsed_resources.get(name)
            if isinstance(parsed, str) or parsed is None:
                continue
            try:
                self._delete_resource(parsed, self._resource_json_map[name])
                self._parsed_resources.pop(name)
            except Exception as exc:
                failed.append(exc)
                res = self._resource_json_map[name]
                deps = res.get("DependsOn") or []
                blocked |= {d for d in ([deps] if isinstance(deps, str) else deps)}
                blocked |= {o for o in self._resource_json_map
                            if refers_to(res.get("Properties"), {o})}
        if failed:
            raise failed[0]

    parsing.ResourceMap.delete = delete  # type: ignore[method-assign]


def apply() -> None:
    _certificates_in_use_stay()
    _security_groups_in_use_stay()
    _stack_delete_in_order_without_retries()
