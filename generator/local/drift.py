"""Drift detection on the local endpoint: moto answers DetectStackDrift with an
HTTP 500. AWS compares each resource's expected properties (the template's,
resolved) with its actual configuration read from the service, and reports
the differing property paths (CloudFormation user guide, "Detect unmanaged
configuration changes to stacks and resources with drift detection";
API: DetectStackDrift, DescribeStackDriftDetectionStatus,
DescribeStackResourceDrifts).

Modelled here for security groups, the resource whose hand edits matter most
to a review (a rule opened from the console): their ingress rules. Egress is
not compared: moto applies no egress rule from a template (it keeps the default
"all traffic out"), so every group would read as drifted.
Other types report NOT_CHECKED, as AWS does for types drift detection does
not support. Detection finishes at once (AWS takes seconds to minutes).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends

CHECKED = {"AWS::EC2::SecurityGroup"}
_RESULTS: dict[str, dict[str, Any]] = {}  # detection id -> status and resource drifts


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule in the template's shape, with only what identifies it."""
    protocol = str(rule.get("IpProtocol", "-1"))
    protocol = {"6": "tcp", "17": "udp", "all": "-1"}.get(protocol.lower(), protocol.lower())
    out: dict[str, Any] = {"IpProtocol": protocol}
    if protocol != "-1":
        out["FromPort"] = int(rule.get("FromPort", -1))
        out["ToPort"] = int(rule.get("ToPort", -1))
    for key in ("CidrIp", "CidrIpv6", "SourceSecurityGroupId", "DestinationSecurityGroupId",
                "SourcePrefixListId", "DestinationPrefixListId"):
        if rule.get(key):
            out[key] = str(rule[key])
    return out


def actual_rule(r: Any) -> dict[str, Any] | None:
    """One of moto's ingress rules in the template's shape (None: a kind not compared)."""
    base = {"IpProtocol": r.ip_protocol or "-1", "FromPort": r.from_port, "ToPort": r.to_port}
    if r.ip_range.get("CidrIp"):
        return _rule({**base, "CidrIp": r.ip_range["CidrIp"]})
    if r.ip_range.get("CidrIpv6"):
        return _rule({**base, "CidrIpv6": r.ip_range["CidrIpv6"]})
    if r.source_group.get("GroupId"):
        return _rule({**base, "SourceSecurityGroupId": r.source_group["GroupId"]})
    return None


def _actual_rules(group: Any) -> list[dict[str, Any]]:
    rules = [rule for rule in map(actual_rule, group.ingress_rules) if rule is not None]
    return sorted(rules, key=lambda x: json.dumps(x, sort_keys=True))


def expected_rules(stack: Any, logical_id: str, model: Any,
                    props: dict[str, Any]) -> list[dict[str, Any]]:
    rules = [_rule(r) for r in props.get("SecurityGroupIngress") or [] if isinstance(r, dict)]
    # Rules declared as their own resources belong to the group too.
    for res in (stack.template_dict.get("Resources") or {}).values():
        if isinstance(res, dict) and res.get("Type") == "AWS::EC2::SecurityGroupIngress":
            clean = parsing.clean_json(res.get("Properties") or {}, stack.resource_map)
            if clean.get("GroupId") in (getattr(model, "group_id", None), logical_id):
                rules.append(_rule(clean))
    return sorted(rules, key=lambda x: json.dumps(x, sort_keys=True))


def _differences(path: str, expected: list[dict[str, Any]],
                 actual: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for i, rule in enumerate(actual):
        if rule not in expected:
            out.append({"PropertyPath": f"/{path}/{i}", "ExpectedValue": "null",
                        "ActualValue": json.dumps(rule, sort_keys=True), "DifferenceType": "ADD"})
    for i, rule in enumerate(expected):
        if rule not in actual:
            out.append({"PropertyPath": f"/{path}/{i}",
                        "ExpectedValue": json.dumps(rule, sort_keys=True),
                        "ActualValue": "null", "DifferenceType": "REMOVE"})
    return out


def resource_drift(stack: Any, logical_id: str, resource: dict[str, Any],
                    now: str) -> dict[str, Any]:
    rtype = str(resource.get("Type"))
    # The parsed models only: indexing the map would create a missing resource.
    model = stack.resource_map._parsed_resources.get(logical_id)
    physical = getattr(model, "physical_resource_id", "") or ""
    row: dict[str, Any] = {"StackId": stack.stack_id, "LogicalResourceId": logical_id,
                           "PhysicalResourceId": physical, "ResourceType": rtype,
                           "Timestamp": now, "StackResourceDriftStatus": "NOT_CHECKED"}
    if rtype not in CHECKED or model is None:
        return row
    ec2 = ec2_backends[stack.account_id][stack.region_name]
    group = next((g for by_vpc in ec2.groups.values() for gid, g in by_vpc.items()
                  if gid == physical), None)
    if group is None:
        row["StackResourceDriftStatus"] = "DELETED"
        return row
    props = parsing.clean_json(resource.get("Properties") or {}, stack.resource_map)
    expected = {"SecurityGroupIngress": expected_rules(stack, logical_id, model, props)}
    actual = {"SecurityGroupIngress": _actual_rules(group)}
    diffs = [d for k in expected for d in _differences(k, expected[k], actual[k])]
    row.update(ExpectedProperties=json.dumps(expected, sort_keys=True),
               ActualProperties=json.dumps(actual, sort_keys=True),
               PropertyDifferences=diffs,
               StackResourceDriftStatus="MODIFIED" if diffs else "IN_SYNC")
    return row


def _detect_stack_drift(self: Any) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    now = datetime.now(UTC).isoformat()
    wanted = set(self._get_param("LogicalResourceIds", []) or [])
    rows = [resource_drift(stack, name, res, now)
            for name, res in (stack.template_dict.get("Resources") or {}).items()
            if isinstance(res, dict) and (not wanted or name in wanted)]
    drifted = [r for r in rows if r["StackResourceDriftStatus"] in ("MODIFIED", "DELETED")]
    detection = str(uuid.uuid4())
    _RESULTS[detection] = {"stack_id": stack.stack_id, "rows": rows, "time": now,
                           "drifted": len(drifted)}
    stack.drift_rows = rows  # what DescribeStackResourceDrifts reads
    return ActionResult({"StackDriftDetectionId": detection})


def _describe_status(self: Any) -> ActionResult:
    detection = self._get_param("StackDriftDetectionId")
    found = _RESULTS[detection]
    return ActionResult({
        "StackId": found["stack_id"], "StackDriftDetectionId": detection,
        "StackDriftStatus": "DRIFTED" if found["drifted"] else "IN_SYNC",
        "DetectionStatus": "DETECTION_COMPLETE",
        "DriftedStackResourceCount": found["drifted"], "Timestamp": found["time"]})


def _describe_resource_drifts(self: Any) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    wanted = set(self._get_param("StackResourceDriftStatusFilters", []) or [])
    rows = [r for r in getattr(stack, "drift_rows", [])
            if not wanted or r["StackResourceDriftStatus"] in wanted]
    return ActionResult({"StackResourceDrifts": rows})


def apply() -> None:
    responses = cfn_responses.CloudFormationResponse
    responses.detect_stack_drift = _detect_stack_drift  # type: ignore[attr-defined]
    responses.describe_stack_drift_detection_status = _describe_status  # type: ignore[attr-defined]
    responses.describe_stack_resource_drifts = _describe_resource_drifts  # type: ignore[attr-defined]
