"""Stack refactoring: resources move between stacks (or get a new logical id) unreplaced.

AWS CloudFormation user guide, "Stack refactoring", and API reference CreateStackRefactor,
DescribeStackRefactor, ExecuteStackRefactor, ListStackRefactorActions, ListStackRefactors:
a refactor takes the stacks' new templates and the resource mappings (source stack and
logical id -> destination), is validated (CREATE_COMPLETE or CREATE_FAILED with a
reason), lists its actions (MOVE of each resource, CREATE of a stack when
EnableStackCreation) and, executed, moves each resource without touching it. Its
limits: no resource is created, deleted or reconfigured; no parameter is added; a stack
cannot be left empty; a destination stack that does not exist needs EnableStackCreation;
2 to 5 stacks. moto 5.2.5 has none of these operations (its server answers "not
implemented").

Emulated: the validations above that concern stacks, ids, types and parameters (not the
comparison of resolved properties), and the move of moto's resource objects and
templates; the refactor completes at once (AWS takes seconds to minutes).
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import yaml
from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.core.responses import ActionResult, EmptyResult

from generator.yamlsrc import load_cfn

PLACEHOLDER = {"Type": "AWS::CloudFormation::WaitConditionHandle"}


@dataclass
class Refactor:
    id: str
    description: str
    definitions: dict[str, dict[str, Any]]  # stack name -> template
    bodies: dict[str, str]
    mappings: list[dict[str, Any]]
    create_stacks: bool
    status: str = "CREATE_COMPLETE"
    reason: str = ""
    execution: str = "AVAILABLE"
    stack_ids: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def api(self) -> dict[str, Any]:
        out = {"StackRefactorId": self.id, "Description": self.description,
               "StackIds": self.stack_ids, "Status": self.status,
               "ExecutionStatus": self.execution}
        if self.reason:
            out["StatusReason"] = self.reason
        return out


REFACTORS: dict[str, Refactor] = {}
# (stack id, logical id) of each resource a refactor moved in (kept: ids are unique).
MOVED: set[tuple[str, str]] = set()
REWRITTEN: set[str] = set()  # stacks whose template a refactor rewrote (references as values)


def _stack(backend: Any, name: str) -> Any:
    return next((s for s in backend.stacks.values()
                 if s.name == name and not str(s.status).startswith("DELETE")), None)


def _failed(refactor: Refactor, reason: str) -> Refactor:
    refactor.status, refactor.reason, refactor.execution = "CREATE_FAILED", reason, "UNAVAILABLE"
    return refactor


def validate(backend: Any, refactor: Refactor) -> Refactor:
    names = set(refactor.definitions)
    if not 2 <= len(names) <= 5:
        return _failed(refactor, "a stack refactor takes 2 to 5 stacks")
    for m in refactor.mappings:
        src, dst = m["Source"], m["Destination"]
        for side in (src, dst):
            if side["StackName"] not in names:
                return _failed(refactor, f"stack {side['StackName']} of a resource mapping "
                                         "has no stack definition")
        source = _stack(backend, src["StackName"])
        if source is None or src["LogicalResourceId"] not in (
                source.template_dict.get("Resources") or {}):
            return _failed(refactor, f"{src['StackName']}.{src['LogicalResourceId']} is not "
                                     "a resource of that stack")
        kind = source.template_dict["Resources"][src["LogicalResourceId"]].get("Type")
        new = (refactor.definitions[dst["StackName"]].get("Resources") or {}).get(
            dst["LogicalResourceId"])
        if not new or new.get("Type") != kind:
            return _failed(refactor, f"{dst['StackName']}.{dst['LogicalResourceId']} is not "
                                     f"a {kind} in the destination's template")
        target = _stack(backend, dst["StackName"])
        if target is not None and dst["LogicalResourceId"] in (
                target.template_dict.get("Resources") or {}):
            return _failed(refactor, f"{dst['StackName']} already holds "
                                     f"{dst['LogicalResourceId']}")
    for name, doc in refactor.definitions.items():
        stack = _stack(backend, name)
        if not doc.get("Resources"):
            return _failed(refactor, f"stack {name} would be left empty; CloudFormation "
                                     "does not support empty stacks")
        if stack is None:
            if not refactor.create_stacks:
                return _failed(refactor, f"stack {name} does not exist; set "
                                         "EnableStackCreation to create it")
            continue
        added = set(doc.get("Parameters") or {}) - set(
            stack.template_dict.get("Parameters") or {})
        if added:
            return _failed(refactor, f"stack {name}: a refactor cannot add parameters "
                                     f"({', '.join(sorted(added))})")
        refactor.stack_ids.append(stack.stack_id)
    for name in names:
        if _stack(backend, name) is None:
            refactor.actions.append({"Action": "CREATE", "Entity": "STACK",
                                     "Description": f"create stack {name}",
                                     "Detection": "MANUAL"})
    for m in refactor.mappings:
        source = _stack(backend, m["Source"]["StackName"])
        model = source.resource_map._parsed_resources.get(m["Source"]["LogicalResourceId"])
        refactor.actions.append({
            "Action": "MOVE", "Entity": "RESOURCE", "Detection": "MANUAL",
            "PhysicalResourceId": str(getattr(model, "physical_resource_id", "") or ""),
            "Description": "move " + m["Source"]["LogicalResourceId"],
            "ResourceMapping": m})
    return refactor


def _set_template(stack: Any, body: str, doc: dict[str, Any]) -> None:
    stack.template, stack.template_dict = body, doc
    stack.resource_map._template = doc
    stack.resource_map._resource_json_map = doc.get("Resources") or {}


def execute(backend: Any, refactor: Refactor) -> None:
    for name in refactor.definitions:
        if _stack(backend, name) is None:  # EnableStackCreation: an empty shell, filled below
            stack = backend.create_stack(name, yaml.safe_dump(
                {"Resources": {"RefactorPlaceholder": PLACEHOLDER}}), {})
            stack.resource_map._parsed_resources.pop("RefactorPlaceholder", None)
            refactor.stack_ids.append(stack.stack_id)
    for m in refactor.mappings:
        src = _stack(backend, m["Source"]["StackName"])
        dst = _stack(backend, m["Destination"]["StackName"])
        model = src.resource_map._parsed_resources.pop(m["Source"]["LogicalResourceId"])
        model.logical_resource_id = m["Destination"]["LogicalResourceId"]
        dst.resource_map._parsed_resources[m["Destination"]["LogicalResourceId"]] = model
        MOVED.add((dst.stack_id, m["Destination"]["LogicalResourceId"]))
    for name, doc in refactor.definitions.items():
        stack = _stack(backend, name)
        _set_template(stack, refactor.bodies[name], doc)
        REWRITTEN.add(stack.stack_id)
        stack._add_stack_event("UPDATE_COMPLETE", "Stack refactor " + refactor.id)
        with contextlib.suppress(Exception):  # an output reading what moved: kept as it was
            stack.output_map = stack._create_output_map()
    refactor.execution = "EXECUTE_COMPLETE"


def _create(self: Any) -> ActionResult:
    bodies = {d["StackName"]: d["TemplateBody"] for d in self._get_param("StackDefinitions", [])}
    refactor = Refactor(
        id=f"arn:aws:cloudformation:{self.region}:{self.current_account}:stackRefactor/"
           f"{uuid.uuid4()}",
        description=self._get_param("Description") or "",
        definitions={n: load_cfn(b) for n, b in bodies.items()}, bodies=bodies,
        mappings=list(self._get_param("ResourceMappings", []) or []),
        create_stacks=bool(self._get_bool_param("EnableStackCreation", False)))
    REFACTORS[refactor.id] = validate(self.cloudformation_backend, refactor)
    return ActionResult({"StackRefactorId": refactor.id})


def _get(self: Any) -> Refactor:
    found = REFACTORS.get(self._get_param("StackRefactorId"))
    if found is None:
        raise ValidationError(message="Stack refactor " + str(
            self._get_param("StackRefactorId")) + " does not exist")
    return found


def _describe(self: Any) -> ActionResult:
    return ActionResult(_get(self).api())


def _execute(self: Any) -> EmptyResult:
    refactor = _get(self)
    if refactor.status != "CREATE_COMPLETE" or refactor.execution != "AVAILABLE":
        raise ValidationError(message=f"Stack refactor {refactor.id} cannot be executed: "
                                      f"{refactor.status}, {refactor.execution}")
    execute(self.cloudformation_backend, refactor)
    return EmptyResult()


def _actions(self: Any) -> ActionResult:
    return ActionResult({"StackRefactorActions": _get(self).actions})


def _list(self: Any) -> ActionResult:
    return ActionResult({"StackRefactorSummaries": [
        {**r.api()} for r in REFACTORS.values()]})


def _moved_resources_keep_their_values() -> None:
    """The next update of a stack a refactor rewrote: where the new template resolves to
    the values the refactor's template holds (``!Ref Vpc`` for the literal VPC id it wrote
    into a moved group, ``!Ref AlbSecurityGroupId`` for the group id it wrote where the
    load balancer read the group that left), nothing changes, as on AWS, which compares
    resolved values; moto compares the raw JSON and would update or replace the resource
    (a security group gets a new id, a load balancer is rebuilt under its outputs)."""
    original = parsing.ResourceMap.build_resource_diff
    # The refactor drops a moved resource's DependsOn (what it waited for stayed behind);
    # neither it nor Metadata is a change CloudFormation provisions.
    IGNORED = {"Properties", "DependsOn", "Metadata"}

    def resolved(props: Any, rmap: Any, params: dict[str, Any]) -> Any:
        saved = {k: rmap._parsed_resources[k] for k in params if k in rmap._parsed_resources}
        rmap._parsed_resources.update(params)
        try:
            return parsing.clean_json(props, rmap)
        finally:
            for k in params:
                rmap._parsed_resources.pop(k, None)
            rmap._parsed_resources.update(saved)

    def build_resource_diff(self: Any, other_template: dict[str, Any],
                            parameters: dict[str, Any] | None = None) -> dict[str, list[str]]:
        found: dict[str, list[str]] = original(self, other_template, parameters)
        for name in list(found.get("Modify", [])):
            if (self.stack_id, name) not in MOVED and self.stack_id not in REWRITTEN:
                continue
            new = (other_template.get("Resources") or {}).get(name) or {}
            old = self._resource_json_map.get(name) or {}
            if {k: v for k, v in new.items() if k not in IGNORED} != \
                    {k: v for k, v in old.items() if k not in IGNORED}:
                continue  # a new deletion policy, condition, ...: moto's update as is
            try:
                same = resolved(new.get("Properties") or {}, self, dict(parameters or {})) == \
                    parsing.clean_json(old.get("Properties") or {}, self)
            except Exception:  # reads what does not exist yet: a real change
                same = False
            if same:
                found["Modify"].remove(name)
        return found

    parsing.ResourceMap.build_resource_diff = build_resource_diff  # type: ignore[method-assign]


def apply() -> None:
    _moved_resources_keep_their_values()
    responses = cfn_responses.CloudFormationResponse
    responses.create_stack_refactor = _create  # type: ignore[attr-defined]
    responses.describe_stack_refactor = _describe  # type: ignore[attr-defined]
    responses.execute_stack_refactor = _execute  # type: ignore[attr-defined]
    responses.list_stack_refactor_actions = _actions  # type: ignore[attr-defined]
    responses.list_stack_refactors = _list  # type: ignore[attr-defined]
