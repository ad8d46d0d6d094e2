"""ImportExistingResources: a change set adopts named resources that exist outside any stack.

AWS CloudFormation user guide, "Import AWS resources into a CloudFormation stack
automatically" (API reference, CreateChangeSet ``ImportExistingResources``): with the
flag set, a named resource of the template that already exists is imported during the
deployment instead of created, where the name is static (a literal), its DeletionPolicy
is Retain or RetainExceptOnCreate, it belongs to no other stack and its type supports
import; the change set lists it with the action ``Import``. Without the flag the name
conflict fails the change set (emulation/validation.py). moto 5.2.5 ignores the flag,
and its execute fails creating a name that exists (or makes a second object).

Emulated for the types of generator/aws/adopt.py's AUTO_IMPORT that validation.py
checks: the existing object is kept (its data, its settings) and the stack's resource is
that object; nothing new is created.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, MutableMapping
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.ecr.models import ecr_backends
from moto.iam.models import iam_backends
from moto.logs.models import logs_backends
from moto.rds.models import rds_backends
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from generator.aws.adopt import AUTO_IMPORT, why_not

# The CreateChangeSet request's flags, for the backend call on the same thread.
_REQUEST = threading.local()
# change set id -> its request flags (ImportExistingResources, DeploymentMode).
FLAGS: dict[str, dict[str, Any]] = {}
# change set id -> (logical id, resource type, name) it imports.
ADOPTED: dict[str, list[tuple[str, str, str]]] = {}

Store = Callable[[str, str], MutableMapping[Any, Any]]  # (account, region) -> the service's objects
STORES: dict[str, Store] = {
    "AWS::Logs::LogGroup": lambda a, r: logs_backends[a][r].groups,
    "AWS::ECR::Repository": lambda a, r: ecr_backends[a][r].repositories,
    "AWS::S3::Bucket": lambda a, r: s3_backends[a][get_partition(r)].buckets,
    "AWS::IAM::Role": lambda a, r: iam_backends[a][get_partition(r)].roles,
    "AWS::RDS::DBInstance": lambda a, r: rds_backends[a][r].databases,
}


def request_flags() -> dict[str, Any]:
    return dict(getattr(_REQUEST, "flags", {}) or {})


def importing(change_set_id: str) -> bool:
    return bool(FLAGS.get(change_set_id, {}).get("ImportExistingResources"))


def adoptable(resource: dict[str, Any]) -> bool:
    return resource.get("Type") in STORES and why_not(resource) is None


def _matching(store: MutableMapping[Any, Any], name: str) -> list[Any]:
    return [k for k, v in store.items()
            if k == name or getattr(v, "name", None) == name
            or getattr(v, "db_instance_identifier", None) == name]


def _capture_request_flags() -> None:
    original = cfn_responses.CloudFormationResponse.create_change_set

    def create_change_set(self: Any) -> Any:
        _REQUEST.flags = {
            "ImportExistingResources": self._get_bool_param("ImportExistingResources", False),
            "DeploymentMode": self._get_param("DeploymentMode") or ""}
        try:
            return original(self)
        finally:
            _REQUEST.flags = {}

    cfn_responses.CloudFormationResponse.create_change_set = create_change_set  # type: ignore[method-assign]


def _adopting_execute() -> None:
    backend = cfn_models.CloudFormationBackend
    create, execute = backend.create_change_set, backend.execute_change_set

    def create_change_set(self: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
        change_set_id, stack_id = create(self, *args, **kwargs)
        FLAGS[change_set_id] = request_flags()
        change_set = self.change_sets[change_set_id]
        for change in change_set.changes:
            if any(lid == change.logical_resource_id for lid, _, _ in
                   ADOPTED.get(change_set_id, [])):
                change.action = "Import"  # ChangeAction: the resource is imported
        return change_set_id, stack_id

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        adopted = ADOPTED.get(change_set.change_set_id, [])
        kept: list[tuple[str, Store, Any, Any]] = []
        for logical_id, rtype, name in adopted:  # out of moto's way while it "creates"
            store = STORES[rtype]
            objects = store(self.account_id, self.region_name)
            kept += [(logical_id, store, key, objects.pop(key)) for key in _matching(objects, name)]
        try:
            execute(self, change_set_name, stack_name)
        finally:
            stack = self.stacks.get(change_set.stack_id)
            for logical_id, store, key, existing in kept:
                objects = store(self.account_id, self.region_name)
                for made in _matching(objects, getattr(existing, "name", key)):
                    objects.pop(made)  # what moto made in its place
                objects[key] = existing
                parsed = getattr(getattr(stack, "resource_map", None), "_parsed_resources", {})
                if logical_id in parsed:
                    for attr in ("cf_resource_type", "logical_resource_id"):  # moto's marks
                        setattr(existing, attr, getattr(parsed[logical_id], attr, None))
                    parsed[logical_id] = existing

    backend.create_change_set = create_change_set  # type: ignore[method-assign]
    backend.execute_change_set = execute_change_set  # type: ignore[method-assign]


def apply() -> None:
    _capture_request_flags()
    _adopting_execute()


__all__ = ["ADOPTED", "AUTO_IMPORT", "FLAGS", "adoptable", "apply", "importing",
           "request_flags"]
