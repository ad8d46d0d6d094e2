"""CloudFormation in memory, at the botocore client's seam.

``FakeCloudFormation`` answers the client calls stackgen makes (describe_stacks,
create_change_set, describe_change_set, execute_change_set, describe_stack_events,
delete_stack, …) from stacks, change sets and events it keeps, moving them through
CloudFormation's states as the real service does:

- a CREATE change set makes the stack exist in REVIEW_IN_PROGRESS (with its event);
- a change set is CREATE_PENDING, CREATE_IN_PROGRESS while ``polls_to_create`` polls
  last, then CREATE_COMPLETE,
  or FAILED with the real StatusReason when it holds no change;
- executing it sets CREATE_IN_PROGRESS/UPDATE_IN_PROGRESS (and each resource's
  *_IN_PROGRESS event); ``polls_to_finish`` polls
  later the stack is *_COMPLETE, or, when a failure was scripted with ``fail``, the
  resource's *_FAILED event with its reason, the rollback, *ROLLBACK_COMPLETE;
- a stack deleted is gone for DescribeStacks by name (ValidationError "does not exist").

Requests and responses are validated against botocore's model of the API (as Stubber
does), so a test cannot pass on a shape CloudFormation would not send. A test says what
the world is like (stacks present, a failure to come), not the order of the calls: the
code under test is free to make them in any order that CloudFormation allows.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
from botocore.exceptions import ClientError, ParamValidationError
from botocore.validate import ParamValidator

from generator.yamlsrc import load_cfn

ACCOUNT = "123456789012"
REGION = "us-east-1"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
NO_CHANGES = ("The submitted information didn't contain changes. Submit different "
              "information to create a change set.")

_MODEL = boto3.session.Session(region_name=REGION, aws_access_key_id="x",
                               aws_secret_access_key="x").client("cloudformation").meta.service_model
_VALIDATOR = ParamValidator()


def _validate(operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
    model = _MODEL.operation_model(operation)
    for shape, value, what in ((model.input_shape, params, "request"),
                               (model.output_shape, response, "response")):
        if shape is None:
            continue
        report = _VALIDATOR.validate(value, shape)
        if report.has_errors():
            raise ParamValidationError(report=f"{operation} {what}: {report.generate_report()}")


def _error(code: str, message: str, operation: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Type": "Sender", "Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


@dataclass
class Failure:
    """A failure to come on the next operation of a stack."""

    logical_id: str
    reason: str


@dataclass
class Stack:
    name: str
    stack_id: str
    status: str
    created: datetime
    template: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # newest first
    updated: datetime | None = None
    termination_protection: bool = False
    policy: str | None = None
    pending: list[tuple[str, str, str]] = field(default_factory=list)  # what polls reveal
    polls_left: int = 0
    final: str = ""


@dataclass
class ChangeSet:
    id: str
    name: str
    stack: Stack
    kind: str
    template: str
    parameters: dict[str, str]
    tags: dict[str, str]
    description: str
    status: str = "CREATE_PENDING"
    execution: str = "UNAVAILABLE"
    reason: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)
    polls_left: int = 0


def _api(operation: str) -> Any:
    """A client method: an error injected for ``operation`` (``inject``) comes first."""
    def wrap(method: Any) -> Any:
        def call(self: FakeCloudFormation, **params: Any) -> Any:
            queued = self.injected.get(operation)
            if queued:
                code, message = queued.pop(0)
                self.calls.append(operation)
                raise _error(code, message, operation)
            return method(self, **params)
        call.__name__ = method.__name__
        return call
    return wrap


def _resources(template: str) -> dict[str, Any]:
    return dict((load_cfn(template) or {}).get("Resources") or {}) if template else {}


class FakeCloudFormation:
    """A CloudFormation client double (see the module's docstring)."""

    def __init__(self, polls_to_create: int = 1, polls_to_finish: int = 1) -> None:
        self.stacks: dict[str, Stack] = {}
        self.gone: list[Stack] = []
        self.change_sets: dict[str, ChangeSet] = {}
        self.failures: dict[str, Failure] = {}
        self.outputs: dict[str, dict[str, str]] = {}
        self.replacement: dict[tuple[str, str], str] = {}
        self.polls_to_create = polls_to_create
        self.polls_to_finish = polls_to_finish
        self.calls: list[str] = []
        # What a client says of where it calls (a plan records its place from it).
        self.meta = SimpleNamespace(region_name=REGION,
                                    endpoint_url=f"https://cloudformation.{REGION}.amazonaws.com")
        self.injected: dict[str, list[tuple[str, str]]] = {}
        self._ids = itertools.count(1)
        self._time = itertools.count(1)

    # --- what a test sets up ---------------------------------------------------------

    def fail(self, stack: str, logical_id: str, reason: str) -> None:
        """The stack's next operation fails on ``logical_id`` with ``reason``, and rolls back."""
        self.failures[stack] = Failure(logical_id, reason)

    def existing(self, name: str, template: str, status: str = "CREATE_COMPLETE",
                 parameters: dict[str, str] | None = None, outputs: dict[str, str] | None = None,
                 tags: dict[str, str] | None = None) -> Stack:
        """A stack that was there before the test."""
        stack = self._new_stack(name, status)
        stack.template, stack.parameters = template, dict(parameters or {})
        stack.outputs, stack.tags = dict(outputs or {}), dict(tags or {})
        self._event(stack, name, "AWS::CloudFormation::Stack", status)
        return stack

    def inject(self, operation: str, code: str, message: str, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` (the API's name: "DescribeStacks") fail
        with ``code``: Throttling, a refusal, ..."""
        self.injected.setdefault(operation, []).extend([(code, message)] * times)

    def statuses(self) -> dict[str, str]:
        return {name: s.status for name, s in self.stacks.items()}

    # --- helpers -----------------------------------------------------------------------

    def _now(self) -> datetime:
        return T0 + timedelta(seconds=next(self._time))

    def _new_stack(self, name: str, status: str) -> Stack:
        stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{next(self._ids):08x}"
        stack = Stack(name, stack_id, status, self._now())
        self.stacks[name] = stack
        return stack

    def _event(self, stack: Stack, logical: str, rtype: str, status: str,
               reason: str = "") -> None:
        event: dict[str, Any] = {
            "StackId": stack.stack_id, "EventId": f"{stack.name}-e{next(self._ids)}",
            "StackName": stack.name, "LogicalResourceId": logical,
            "PhysicalResourceId": stack.stack_id if logical == stack.name else "",
            "ResourceType": rtype, "Timestamp": self._now(), "ResourceStatus": status}
        if reason:
            event["ResourceStatusReason"] = reason
        stack.events.insert(0, event)

    def _stack(self, name: str, operation: str) -> Stack:
        stack = self.stacks.get(name) or next(
            (s for s in self.stacks.values() if s.stack_id == name), None)
        if stack is None:
            raise _error("ValidationError", f"Stack with id {name} does not exist", operation)
        return stack

    def _answer(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> Any:
        _validate(operation, params, response)
        self.calls.append(operation)
        return response

    def _advance(self, stack: Stack) -> None:
        """One poll's worth of progress of the stack's operation in flight."""
        if not stack.status.endswith("_IN_PROGRESS") or stack.status == "REVIEW_IN_PROGRESS":
            return
        if stack.polls_left > 0:
            stack.polls_left -= 1
            return
        for logical, rtype, status in stack.pending:
            reason = ""
            failure = self.failures.get(stack.name)
            if failure and status.endswith("_FAILED"):
                reason = failure.reason
            self._event(stack, logical, rtype, status, reason)
        stack.pending = []
        self.failures.pop(stack.name, None)
        stack.status = stack.final
        self._event(stack, stack.name, "AWS::CloudFormation::Stack", stack.final)
        if stack.final == "DELETE_COMPLETE":
            self.gone.append(self.stacks.pop(stack.name))

    def _describe(self, stack: Stack) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "StackName": stack.name, "StackId": stack.stack_id, "StackStatus": stack.status,
            "CreationTime": stack.created,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v}
                           for k, v in stack.parameters.items()],
            "Tags": [{"Key": k, "Value": v} for k, v in stack.tags.items()],
            "EnableTerminationProtection": stack.termination_protection}
        if stack.outputs:
            raw["Outputs"] = [{"OutputKey": k, "OutputValue": v} for k, v in stack.outputs.items()]
        if stack.updated:
            raw["LastUpdatedTime"] = stack.updated
        return raw

    # --- stacks ------------------------------------------------------------------------

    @_api("DescribeStacks")
    def describe_stacks(self, **params: Any) -> Any:
        name = params.get("StackName")
        if name is None:
            for stack in list(self.stacks.values()):
                self._advance(stack)
            return self._answer("DescribeStacks", params, {
                "Stacks": [self._describe(s) for s in self.stacks.values()]})
        stack = self._stack(name, "DescribeStacks")
        self._advance(stack)
        if stack.name not in self.stacks:  # its delete just finished
            raise _error("ValidationError", f"Stack with id {name} does not exist",
                         "DescribeStacks")
        return self._answer("DescribeStacks", params, {"Stacks": [self._describe(stack)]})

    @_api("DescribeStackEvents")
    def describe_stack_events(self, **params: Any) -> Any:
        stack = self._stack(params["StackName"], "DescribeStackEvents")
        return self._answer("DescribeStackEvents", params,
                            {"StackEvents": copy.deepcopy(stack.events[:100])})

    @_api("GetTemplate")
    def get_template(self, **params: Any) -> Any:
        if "ChangeSetName" in params:  # the template a change set holds
            change_set = self.change_sets.get(params["ChangeSetName"])
            if change_set is None:
                raise _error("ChangeSetNotFound", f"ChangeSet [{params['ChangeSetName']}] "
                             "does not exist", "GetTemplate", 404)
            return self._answer("GetTemplate", params, {"TemplateBody": change_set.template,
                                                        "StagesAvailable": ["Original"]})
        stack = self._stack(params["StackName"], "GetTemplate")
        return self._answer("GetTemplate", params, {"TemplateBody": stack.template,
                                                    "StagesAvailable": ["Original"]})

    @_api("ListStackResources")
    def list_stack_resources(self, **params: Any) -> Any:
        stack = self._stack(params["StackName"], "ListStackResources")
        return self._answer("ListStackResources", params, {"StackResourceSummaries": [
            {"LogicalResourceId": logical, "PhysicalResourceId": f"{logical.lower()}-fake",
             "ResourceType": str(body.get("Type")), "LastUpdatedTimestamp": stack.created,
             "ResourceStatus": "CREATE_COMPLETE"}
            for logical, body in _resources(stack.template).items()]})

    @_api("DeleteStack")
    def delete_stack(self, **params: Any) -> Any:
        stack = self.stacks.get(params["StackName"])
        if stack is not None:  # deleting what is not there succeeds, as on AWS
            if stack.termination_protection:
                raise _error("ValidationError", f"Stack [{stack.name}] cannot be deleted while "
                             "TerminationProtection is enabled", "DeleteStack")
            # An update, a rollback or a cleanup runs: AWS refuses until it ends (a create
            # is cancelled by a delete; a delete again is accepted).
            if stack.status.endswith("_IN_PROGRESS") and stack.status not in (
                    "CREATE_IN_PROGRESS", "REVIEW_IN_PROGRESS", "DELETE_IN_PROGRESS"):
                raise _error("ValidationError", f"Stack [{stack.stack_id}] cannot be deleted "
                             f"while in status {stack.status}", "DeleteStack")
            # The empty shell of a CREATE change set holds nothing: gone by the next look.
            empty = stack.status == "REVIEW_IN_PROGRESS"
            stack.status, stack.final = "DELETE_IN_PROGRESS", "DELETE_COMPLETE"
            stack.polls_left = 0 if empty else self.polls_to_finish
            stack.pending = [(logical, str(body.get("Type")), "DELETE_COMPLETE")
                             for logical, body in _resources(stack.template).items()]
            self._event(stack, stack.name, "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS",
                        "User Initiated")
            if stack.name in [c.stack.name for c in self.change_sets.values()]:
                self.change_sets = {k: c for k, c in self.change_sets.items()
                                    if c.stack is not stack}
        return self._answer("DeleteStack", params, {})

    @_api("UpdateStack")
    def update_stack(self, **params: Any) -> Any:
        stack = self._stack(params["StackName"], "UpdateStack")
        if stack.status.endswith("_IN_PROGRESS"):
            raise _error("ValidationError", f"Stack:{stack.stack_id} is in {stack.status} state "
                         "and can not be updated.", "UpdateStack")
        if not params.get("UsePreviousTemplate"):
            stack.template = params.get("TemplateBody", stack.template)
        stack.parameters = {
            p["ParameterKey"]: stack.parameters.get(p["ParameterKey"], "")
            if p.get("UsePreviousValue") else p.get("ParameterValue", "")
            for p in params.get("Parameters", [])}
        if "Tags" in params:
            stack.tags = {t["Key"]: t["Value"] for t in params["Tags"]}
        stack.status, stack.final, stack.pending = "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", []
        stack.polls_left, stack.updated = self.polls_to_finish, self._now()
        self._event(stack, stack.name, "AWS::CloudFormation::Stack", stack.status,
                    "User Initiated")
        return self._answer("UpdateStack", params, {"StackId": stack.stack_id})

    @_api("UpdateTerminationProtection")
    def update_termination_protection(self, **params: Any) -> Any:
        stack = self._stack(params["StackName"], "UpdateTerminationProtection")
        stack.termination_protection = bool(params["EnableTerminationProtection"])
        return self._answer("UpdateTerminationProtection", params, {"StackId": stack.stack_id})

    @_api("SetStackPolicy")
    def set_stack_policy(self, **params: Any) -> Any:
        self._stack(params["StackName"], "SetStackPolicy").policy = params.get("StackPolicyBody")
        return self._answer("SetStackPolicy", params, {})

    # --- change sets -----------------------------------------------------------------------

    @_api("CreateChangeSet")
    def create_change_set(self, **params: Any) -> Any:
        name, kind = params["StackName"], params.get("ChangeSetType", "UPDATE")
        stack = self.stacks.get(name)
        if kind == "CREATE":
            if stack is not None and stack.status != "REVIEW_IN_PROGRESS":
                raise _error("AlreadyExistsException", f"Stack [{name}] already exists",
                             "CreateChangeSet")
            stack = stack or self._new_stack(name, "REVIEW_IN_PROGRESS")
            self._event(stack, name, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS",
                        "User Initiated")
        elif stack is None:
            raise _error("ValidationError", f"Stack [{name}] does not exist", "CreateChangeSet")
        cs_id = (f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/"
                 f"{params['ChangeSetName']}/{next(self._ids):08x}")
        change_set = ChangeSet(
            cs_id, params["ChangeSetName"], stack, kind, params.get("TemplateBody", ""),
            {p["ParameterKey"]: p.get("ParameterValue", "") for p in params.get("Parameters", [])},
            {t["Key"]: t["Value"] for t in params.get("Tags", [])},
            params.get("Description", ""), polls_left=self.polls_to_create)
        change_set.changes = self._changes(stack, change_set)
        # A change of stack tags alone shows as changes of the resources that take them;
        # the fake's resources take none: AWS then fails the change set as empty.
        if not change_set.changes and change_set.parameters == stack.parameters:
            change_set.reason = NO_CHANGES
        self.change_sets[cs_id] = change_set
        return self._answer("CreateChangeSet", params, {"Id": cs_id, "StackId": stack.stack_id})

    def _changes(self, stack: Stack, change_set: ChangeSet) -> list[dict[str, Any]]:
        before, after = _resources(stack.template), _resources(change_set.template)
        changed_params = {k for k in {*stack.parameters, *change_set.parameters}
                          if stack.parameters.get(k) != change_set.parameters.get(k)}

        def refers_to_changed(body: Any) -> bool:
            text = json.dumps(body)
            return any(f'{{"Ref": "{k}"}}' in text for k in changed_params)

        out = []
        for logical in [*after, *[k for k in before if k not in after]]:
            rtype = str((after.get(logical) or before.get(logical) or {}).get("Type"))
            if logical not in before:
                rc: dict[str, Any] = {"Action": "Add", "LogicalResourceId": logical,
                                      "ResourceType": rtype}
            elif logical not in after:
                rc = {"Action": "Remove", "LogicalResourceId": logical, "ResourceType": rtype,
                      "PhysicalResourceId": f"{logical.lower()}-fake"}
            elif before[logical] != after[logical] or refers_to_changed(after[logical]):
                rc = {"Action": "Modify", "LogicalResourceId": logical, "ResourceType": rtype,
                      "PhysicalResourceId": f"{logical.lower()}-fake", "Scope": ["Properties"],
                      "Replacement": self.replacement.get((stack.name, logical), "False")}
            else:
                continue
            out.append({"Type": "Resource", "ResourceChange": rc})
        return out

    @_api("DescribeChangeSet")
    def describe_change_set(self, **params: Any) -> Any:
        change_set = self.change_sets.get(params["ChangeSetName"])
        if change_set is None:
            raise _error("ChangeSetNotFound", f"ChangeSet [{params['ChangeSetName']}] does not "
                         "exist", "DescribeChangeSet", 404)
        if change_set.status in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            if change_set.polls_left > 0:
                change_set.polls_left -= 1
                change_set.status = "CREATE_IN_PROGRESS"
            elif change_set.reason:
                change_set.status = "FAILED"
            else:
                change_set.status, change_set.execution = "CREATE_COMPLETE", "AVAILABLE"
        raw: dict[str, Any] = {
            "ChangeSetId": change_set.id, "ChangeSetName": change_set.name,
            "StackId": change_set.stack.stack_id, "StackName": change_set.stack.name,
            "Status": change_set.status, "ExecutionStatus": change_set.execution,
            "CreationTime": change_set.stack.created, "Description": change_set.description,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v}
                           for k, v in change_set.parameters.items()],
            "Tags": [{"Key": k, "Value": v} for k, v in change_set.tags.items()],
            "Changes": copy.deepcopy(change_set.changes) if change_set.status ==
            "CREATE_COMPLETE" else []}
        if change_set.status == "FAILED":
            raw["StatusReason"] = change_set.reason
        return self._answer("DescribeChangeSet", params, raw)

    @_api("ListChangeSets")
    def list_change_sets(self, **params: Any) -> Any:
        stack = self._stack(params["StackName"], "ListChangeSets")
        return self._answer("ListChangeSets", params, {"Summaries": [
            {"StackId": c.stack.stack_id, "StackName": c.stack.name, "ChangeSetId": c.id,
             "ChangeSetName": c.name, "Status": c.status, "ExecutionStatus": c.execution}
            for c in self.change_sets.values() if c.stack is stack]})

    @_api("DeleteChangeSet")
    def delete_change_set(self, **params: Any) -> Any:
        if self.change_sets.pop(params["ChangeSetName"], None) is None:
            raise _error("ChangeSetNotFound", f"ChangeSet [{params['ChangeSetName']}] does not "
                         "exist", "DeleteChangeSet", 404)
        return self._answer("DeleteChangeSet", params, {})

    @_api("ExecuteChangeSet")
    def execute_change_set(self, **params: Any) -> Any:
        change_set = self.change_sets.get(params["ChangeSetName"])
        if change_set is None or change_set.execution != "AVAILABLE":
            raise _error("InvalidChangeSetStatus", "ChangeSet is in an invalid state to be "
                         "executed", "ExecuteChangeSet")
        stack, creating = change_set.stack, change_set.kind == "CREATE"
        verb = "CREATE" if creating else "UPDATE"
        stack.status = f"{verb}_IN_PROGRESS"
        self._event(stack, stack.name, "AWS::CloudFormation::Stack", stack.status,
                    "User Initiated")
        failure = self.failures.get(stack.name)
        resources = _resources(change_set.template)
        if failure is None:
            stack.pending = [(c["ResourceChange"]["LogicalResourceId"],
                              c["ResourceChange"]["ResourceType"], f"{verb}_COMPLETE")
                             for c in change_set.changes if c["ResourceChange"]["Action"] != "Remove"]
            stack.final = f"{verb}_COMPLETE"
            stack.template, stack.parameters = change_set.template, change_set.parameters
            stack.tags = change_set.tags
            stack.outputs = self.outputs.get(stack.name) or {
                key: f"{key.lower()}-fake"
                for key in (load_cfn(change_set.template) or {}).get("Outputs") or {}}
        else:
            rtype = str(resources.get(failure.logical_id, {}).get("Type", "AWS::CloudFormation::Stack"))
            stack.pending = [(failure.logical_id, rtype, f"{verb}_FAILED"),
                             (failure.logical_id, rtype,
                              "DELETE_COMPLETE" if creating else "UPDATE_COMPLETE")]
            stack.final = "ROLLBACK_COMPLETE" if creating else "UPDATE_ROLLBACK_COMPLETE"
        if not creating:
            stack.updated = self._now()
        started = {(logical, rtype) for logical, rtype, _ in stack.pending}
        for logical, rtype in sorted(started):
            self._event(stack, logical, rtype, f"{verb}_IN_PROGRESS",
                        "Resource creation Initiated" if creating else "")
        stack.polls_left = self.polls_to_finish
        del self.change_sets[change_set.id]
        for other in [c for c in self.change_sets.values() if c.stack is stack]:
            other.execution = "OBSOLETE"
        return self._answer("ExecuteChangeSet", params, {})
