"""CloudFormation Hooks on change sets, with one hook a test can activate and configure.

AWS CloudFormation Hooks user guide ("Hooks concepts", "Change set hooks"): a hook
activated in the account (ActivateType with Type HOOK, then SetTypeConfiguration with
``CloudFormationConfiguration.HookConfiguration``: HookInvocationStatus, FailureMode
FAIL or WARN, TargetOperations) evaluates each change set when it is created; in FAIL
mode a failed evaluation fails the change set, in WARN mode it is only reported. What
each hook decided is read with ListHookResults (TargetType CHANGE_SET, TargetId the
change set), and a failure is also a HOOK_INVOCATION_ERROR event of DescribeEvents.
moto 5.2.5 has none of ActivateType, SetTypeConfiguration and ListHookResults.

The hook emulated here stands for a proactive control (a Guard rule): type name
``Stackgen::Local::Guard``; its configuration's Properties say what it denies:
``DenyResourceTypes`` (types that may not be created or changed) and
``DenyOpenIngressPorts`` (ports a security group may not open to 0.0.0.0/0).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.core.responses import ActionResult

from generator.local.emulation import validation

TYPE_NAME = "Stackgen::Local::Guard"
HOOKS: dict[str, dict[str, Any]] = {}  # type ARN -> {name, configuration}
RESULTS: dict[str, list[dict[str, Any]]] = {}  # change set id -> HookResultSummaries


def _arn(self: Any, name: str) -> str:
    return (f"arn:aws:cloudformation:{self.region}:{self.current_account}:type/hook/"
            f"{name.replace('::', '-')}")


def _activate_type(self: Any) -> ActionResult:
    name = self._get_param("TypeNameAlias") or self._get_param("TypeName") or TYPE_NAME
    arn = _arn(self, name)
    HOOKS[arn] = {"name": name, "configuration": {}}
    return ActionResult({"Arn": arn})


def _set_type_configuration(self: Any) -> ActionResult:
    arn = self._get_param("TypeArn") or _arn(self, self._get_param("TypeName") or TYPE_NAME)
    hook = HOOKS.setdefault(arn, {"name": self._get_param("TypeName") or TYPE_NAME})
    hook["configuration"] = json.loads(self._get_param("Configuration") or "{}")
    return ActionResult({"ConfigurationArn": f"{arn}/configuration/default"})


def _list_hook_results(self: Any) -> ActionResult:
    target = str(self._get_param("TargetId") or "")
    found = RESULTS.get(target) or next(
        (r for cs_id, r in RESULTS.items() if cs_id.split("/")[-2:-1] == [target]), [])
    return ActionResult({"TargetType": self._get_param("TargetType"), "TargetId": target,
                         "HookResults": found})


def _denied(resource: dict[str, Any], props: dict[str, Any]) -> str | None:
    kind = str(resource.get("Type", ""))
    if kind in (props.get("DenyResourceTypes") or []):
        return f"{kind} is not allowed in this account"
    ports = {int(p) for p in props.get("DenyOpenIngressPorts") or []}
    if kind == "AWS::EC2::SecurityGroup" and ports:
        for rule in (resource.get("Properties") or {}).get("SecurityGroupIngress") or []:
            if not isinstance(rule, dict) or rule.get("CidrIp") != "0.0.0.0/0":
                continue
            opened = set(range(int(rule.get("FromPort", 0)), int(rule.get("ToPort", 65535)) + 1))
            if opened & ports:
                return f"ingress from 0.0.0.0/0 to port(s) {sorted(opened & ports)} is denied"
    return None


def evaluate(change_set: Any) -> list[dict[str, Any]]:
    """Every enabled hook on the change set's added and modified resources."""
    changed = {c.logical_resource_id for c in change_set.changes
               if c.action in ("Add", "Modify", "Import")}
    resources = change_set.template_dict.get("Resources") or {}
    results = []
    for arn, hook in HOOKS.items():
        config = (hook.get("configuration") or {}).get("CloudFormationConfiguration", {}).get(
            "HookConfiguration", {})
        if config.get("HookInvocationStatus") != "ENABLED":
            continue
        props = config.get("Properties") or {}
        for logical_id in sorted(changed):
            reason = _denied(resources.get(logical_id) or {}, props)
            if reason is None:
                continue
            results.append({
                "HookResultId": str(uuid.uuid4()), "InvocationPoint": "PRE_PROVISION",
                "FailureMode": config.get("FailureMode", "FAIL"), "TypeName": hook["name"],
                "TypeArn": arn, "Status": "HOOK_COMPLETE_FAILED",
                "HookStatusReason": f"{logical_id}: {reason}",
                "InvokedAt": datetime.now(UTC), "TargetType": "CHANGE_SET",
                "TargetId": change_set.change_set_id, "HookExecutionTarget": logical_id})
    return results


def _hooked_change_sets() -> None:
    backend = cfn_models.CloudFormationBackend
    create = backend.create_change_set

    def create_change_set(self: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
        change_set_id, stack_id = create(self, *args, **kwargs)
        change_set = self.change_sets[change_set_id]
        results = evaluate(change_set)
        RESULTS[change_set_id] = results
        failed = [r for r in results if r["FailureMode"] == "FAIL"]
        if failed and change_set.status != "FAILED":
            operation = str(uuid.uuid4())
            validation.EVENTS.setdefault(change_set_id, []).extend({
                "EventId": str(uuid.uuid4()), "StackId": stack_id, "OperationId": operation,
                "OperationType": "CREATE_CHANGESET", "OperationStatus": "FAILED",
                "EventType": "HOOK_INVOCATION_ERROR",
                "LogicalResourceId": r["HookExecutionTarget"], "Timestamp": r["InvokedAt"],
                "HookType": r["TypeName"], "HookStatus": r["Status"],
                "HookStatusReason": r["HookStatusReason"], "HookFailureMode": "FAIL",
                "HookInvocationPoint": "PRE_PROVISION"} for r in failed)
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.status_reason = ("The following hook(s) failed: ["
                                        + ", ".join(sorted({r['TypeName'] for r in failed}))
                                        + "]: " + "; ".join(r["HookStatusReason"] for r in failed))
        return change_set_id, stack_id

    backend.create_change_set = create_change_set  # type: ignore[method-assign]


def apply() -> None:
    responses = cfn_responses.CloudFormationResponse
    responses.activate_type = _activate_type  # type: ignore[attr-defined]
    responses.set_type_configuration = _set_type_configuration  # type: ignore[attr-defined]
    responses.list_hook_results = _list_hook_results  # type: ignore[attr-defined]
    _hooked_change_sets()
