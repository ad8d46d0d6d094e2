"""Drift-aware change sets (``DeploymentMode=REVERT_DRIFT``): drifted resources put back.

AWS CloudFormation user guide, "Using drift-aware change sets" (API reference,
CreateChangeSet ``DeploymentMode``): the change set compares the template, the last
deployment and the actual state read from the service when it is created; a resource
whose actual state drifted is listed as a change even when its template did not change,
each drifted property with ``Drift`` (PreviousValue: the deployed value, ActualValue:
the live one) and the resource's ``ResourceDriftStatus``, and executing it writes the
template's values over the drift. moto 5.2.5 ignores DeploymentMode: a change set for an
unchanged template is refused ("No updates are to be performed") and nothing drifted
is ever put back.

Emulated for what the local drift detection compares (generator/local/drift.py): the
ingress rules of security groups. Extra rules are revoked, missing ones authorised.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.models import Change
from moto.ec2.models import ec2_backends

from generator.local import drift
from generator.local.emulation import adopt

REVERT_DRIFT = "REVERT_DRIFT"
# change set id -> the logical ids of the security groups it puts back.
REVERTS: dict[str, list[str]] = {}


def _unchanged_template_allowed() -> None:
    """A drift-aware change set may hold only drift: moto's "No updates" check is skipped."""
    original = cfn_responses.CloudFormationResponse.create_change_set

    def create_change_set(self: Any) -> Any:
        if self._get_param("DeploymentMode") == REVERT_DRIFT:
            self._validate_different_update = lambda *args, **kwargs: None
        return original(self)

    cfn_responses.CloudFormationResponse.create_change_set = create_change_set  # type: ignore[method-assign]


def _details(row: dict[str, Any]) -> list[dict[str, Any]]:
    expected = json.loads(row.get("ExpectedProperties") or "{}")
    actual = json.loads(row.get("ActualProperties") or "{}")
    return [{
        "Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": "Never",
                   "Path": f"/Properties/{name}",
                   "BeforeValue": json.dumps(actual.get(name), sort_keys=True),
                   "AfterValue": json.dumps(expected.get(name), sort_keys=True),
                   "Drift": {"PreviousValue": json.dumps(expected.get(name), sort_keys=True),
                             "ActualValue": json.dumps(actual.get(name), sort_keys=True)}},
        "Evaluation": "Static", "ChangeSource": "DirectModification"}
        for name in expected if expected.get(name) != actual.get(name)]


def _drift_aware_create() -> None:
    backend = cfn_models.CloudFormationBackend
    create = backend.create_change_set

    def create_change_set(self: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
        change_set_id, stack_id = create(self, *args, **kwargs)
        if adopt.request_flags().get("DeploymentMode") != REVERT_DRIFT:
            return change_set_id, stack_id
        change_set = self.change_sets[change_set_id]
        stack = change_set.stack
        now = datetime.now(UTC).isoformat()
        by_id = {c.logical_resource_id: c for c in change_set.changes}
        reverts = []
        for logical_id, resource in (stack.template_dict.get("Resources") or {}).items():
            if not isinstance(resource, dict) or resource.get("Type") not in drift.CHECKED:
                continue
            row = drift.resource_drift(stack, logical_id, resource, now)
            if row["StackResourceDriftStatus"] != "MODIFIED":
                continue
            change: Any = by_id.get(logical_id)
            if change is None:
                change = Change("Modify", logical_id, str(resource["Type"]))
                change_set.changes.append(change)
            change.resource_drift_status = "MODIFIED"
            change.physical_resource_id = row["PhysicalResourceId"]
            change.replacement = "False"
            change.details = _details(row)
            reverts.append(logical_id)
        REVERTS[change_set_id] = reverts
        if reverts and change_set.status == "FAILED":  # moto: the same template, no change
            change_set.status, change_set.execution_status = "CREATE_COMPLETE", "AVAILABLE"
            change_set.status_reason = None
        if not change_set.changes:  # nothing drifted, nothing changed: as any change set
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.status_reason = ("The submitted information didn't contain changes. "
                                        "Submit different information to create a change set.")
        return change_set_id, stack_id

    backend.create_change_set = create_change_set  # type: ignore[method-assign]


def _put_back(stack: Any, logical_id: str) -> None:
    resource = (stack.template_dict.get("Resources") or {}).get(logical_id) or {}
    model = stack.resource_map._parsed_resources.get(logical_id)
    physical = getattr(model, "physical_resource_id", "") or ""
    ec2 = ec2_backends[stack.account_id][stack.region_name]
    group = next((g for by_vpc in ec2.groups.values() for gid, g in by_vpc.items()
                  if gid == physical), None)
    if group is None or model is None:
        return
    props = parsing.clean_json(resource.get("Properties") or {}, stack.resource_map)
    expected = drift.expected_rules(stack, logical_id, model, props)
    group.ingress_rules = [r for r in group.ingress_rules
                           if drift.actual_rule(r) is None or drift.actual_rule(r) in expected]
    present = [drift.actual_rule(r) for r in group.ingress_rules]
    for rule in expected:
        if rule in present:
            continue
        ranges = [{"CidrIp": rule["CidrIp"]}] if "CidrIp" in rule else \
            [{"CidrIpv6": rule["CidrIpv6"]}] if "CidrIpv6" in rule else []
        sources = [{"GroupId": rule["SourceSecurityGroupId"]}] \
            if "SourceSecurityGroupId" in rule else None
        ec2.authorize_security_group_ingress(
            group.id, rule["IpProtocol"], str(rule.get("FromPort", -1)),
            str(rule.get("ToPort", -1)), ranges, source_groups=sources)


def _drift_aware_execute() -> None:
    backend = cfn_models.CloudFormationBackend
    execute = backend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        execute(self, change_set_name, stack_name)
        stack = self.stacks.get(change_set.stack_id)
        if stack is None or str(stack.status).endswith(("FAILED", "ROLLBACK_COMPLETE")):
            return
        for logical_id in REVERTS.get(change_set.change_set_id, []):
            _put_back(stack, logical_id)

    backend.execute_change_set = execute_change_set  # type: ignore[method-assign]


def apply() -> None:
    _unchanged_template_allowed()
    _drift_aware_create()
    _drift_aware_execute()
