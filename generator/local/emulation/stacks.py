"""CloudFormation's failure path: a resource that fails gives a *_FAILED event with its
reason and the stack rolls back, as AWS does; moto answered HTTP 500 and left the stack
*_IN_PROGRESS. Also: resources are created after those they ``DependsOn``.

AWS CloudFormation user guide, "Stack failure options" and "Troubleshooting": on a failed
create the stack rolls back to ROLLBACK_COMPLETE (resources deleted); on a failed update to
UPDATE_ROLLBACK_COMPLETE (the previous template and parameters restored); a failed delete
leaves DELETE_FAILED with the resource's reason.
"""

from __future__ import annotations

import contextlib
from graphlib import TopologicalSorter
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses

from generator.cfndoc import refers_to


class ResourceFailed(Exception):
    """A resource of a stack failed; carries CloudFormation's event fields."""

    def __init__(self, logical_id: str, resource_type: str, reason: str,
                 physical_id: str = "") -> None:
        super().__init__(reason)
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason
        # The resource made before it failed (a service that could not place its tasks):
        # its *_FAILED event names it, as CloudFormation's does.
        self.physical_id = physical_id


def reason_of(exc: BaseException) -> str:
    """The service's own message, as CloudFormation shows it in the event."""
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return message
    return str(exc) or type(exc).__name__


def _annotate(logical_id: str, resource_json: dict[str, Any], exc: Exception) -> ResourceFailed:
    if isinstance(exc, ResourceFailed):  # a dependency created on the way failed first
        return exc
    return ResourceFailed(logical_id, str(resource_json.get("Type", "")), reason_of(exc),
                          str(getattr(exc, "physical_resource_id", "") or ""))


def _resource_failures_are_named() -> None:
    create, update = parsing.parse_and_create_resource, parsing.parse_and_update_resource

    def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any],
                                  *args: Any, **kwargs: Any) -> Any:
        try:
            return create(logical_id, resource_json, *args, **kwargs)
        except Exception as exc:
            raise _annotate(logical_id, resource_json, exc) from exc

    def parse_and_update_resource(logical_id: str, resource_json: dict[str, Any],
                                  resources_map: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            updated = update(logical_id, resource_json, resources_map, *args, **kwargs)
        except Exception as exc:
            raise _annotate(logical_id, resource_json, exc) from exc
        if updated is None:
            # moto has no update for this type (a log group, a subnet, a target group...)
            # and answered None: the stack then held no resource under the name and every
            # DescribeStacks whose Outputs refer to it answered HTTP 500. The physical
            # resource is still there, as it is on AWS after an in-place update; keep it.
            kept = resources_map._parsed_resources.get(logical_id)
            if kept is not None:
                return kept
        return updated

    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource

    original_delete = parsing.ResourceMap._delete_resource

    def _delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        try:
            original_delete(self, parsed_resource, resource_json)
        except Exception as exc:
            logical_id = getattr(parsed_resource, "logical_resource_id", "") or ""
            raise _annotate(logical_id, resource_json, exc) from exc
        with contextlib.suppress(AttributeError):  # a model with __slots__ keeps no mark
            parsed_resource.stackgen_deleted = True

    parsing.ResourceMap._delete_resource = _delete_resource  # type: ignore[method-assign]


def _removed_resources_leave_the_map() -> None:
    """An update that removes a resource deletes it but moto kept it in the stack's map:
    adding the same logical id later found it there and made nothing, and removing it again
    failed on the missing object (a scheduled job added, removed, added and removed:
    "Schedule ... does not exist", the ecs stack rolled back). CloudFormation creates a
    resource added to the template, whatever it was called before (user guide, "Update
    behaviors of stack resources")."""
    original_update = parsing.ResourceMap.update

    def update(self: Any, template: dict[str, Any],
               parameters: dict[str, Any] | None = None) -> None:
        try:
            original_update(self, template, parameters)
        finally:
            for name, resource in list(self._parsed_resources.items()):
                if getattr(resource, "stackgen_deleted", False):
                    del self._parsed_resources[name]

    parsing.ResourceMap.update = update  # type: ignore[method-assign]


def _adds_follow_depends_on() -> None:
    """A change set creates resources in template order on moto; CloudFormation creates a
    resource only after every resource it ``DependsOn`` (user guide, "DependsOn attribute")."""
    original = parsing.ResourceMap.build_resource_diff

    def build_resource_diff(self: Any, other_template: dict[str, Any],
                            parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        diff: dict[str, Any] = original(self, other_template, parameters)
        resources = other_template.get("Resources") or {}
        graph: dict[str, set[str]] = {}
        for name in diff["Add"]:
            deps = resources[name].get("DependsOn") or []
            graph[name] = {d for d in ([deps] if isinstance(deps, str) else deps)
                           if d in diff["Add"]}
        diff["Add"] = list(TopologicalSorter(graph).static_order())
        # A changed task definition is a new revision (every property is create-only), so
        # what refers to it changes too; moto compared only the template text.
        revised = [n for n in diff["Modify"]
                   if resources[n].get("Type") == "AWS::ECS::TaskDefinition"]
        for name, resource in resources.items():
            if name not in diff["Modify"] and name not in diff["Add"] and revised and \
                    refers_to(resource.get("Properties"), set(revised)):
                diff["Modify"].append(name)
        diff["Modify"].sort(key=lambda n: n not in revised)
        return diff

    parsing.ResourceMap.build_resource_diff = build_resource_diff  # type: ignore[method-assign]


def _event(stack: Any, logical_id: str, resource_type: str, status: str, reason: str,
           physical_id: str = "") -> None:
    stack.events.append(cfn_models.Event(
        stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
        physical_resource_id=physical_id, resource_type=resource_type, resource_status=status,
        resource_status_reason=reason, resource_properties=None))


def _failed(stack: Any, exc: Exception, action: str) -> str:
    """Record the failed resource's event; returns the stack-level reason."""
    failed = exc if isinstance(exc, ResourceFailed) else ResourceFailed(
        stack.name, "AWS::CloudFormation::Stack", reason_of(exc))
    _event(stack, failed.logical_id, failed.resource_type, f"{action}_FAILED", failed.reason,
           failed.physical_id)
    verb = {"CREATE": "create", "UPDATE": "update", "DELETE": "delete"}[action]
    return f"The following resource(s) failed to {verb}: [{failed.logical_id}]."


def resolve_outputs(stack: Any) -> None:
    """Every Output of ``stack`` resolved now, as CloudFormation resolves them when the
    operation completes: moto resolves them on each DescribeStacks, so an Output it could
    not resolve (an attribute it lacks) answered every later DescribeStacks with HTTP 500.
    Here such an Output fails the operation, naming itself, and the stack rolls back."""
    for key in list(stack.output_map):
        try:
            stack.output_map[key]
        except Exception as exc:
            raise ResourceFailed(key, "Output", f"Output {key} cannot be resolved on the "
                                 f"local endpoint: {reason_of(exc)}") from exc
    stack.exports  # noqa: B018  (an export's name or value may fail the same way)


def forget_unmade(stack: Any) -> None:
    """After a create rolled back, the stack keeps only what still exists (retained
    resources): moto's resource map creates a resource it has not made on first access, so
    ListStackResources of a ROLLBACK_COMPLETE stack ran the failed resource's creation again
    (an ECS service deployed a second time)."""
    resource_map = stack.resource_map
    resource_map._resource_json_map = {k: v for k, v in resource_map._resource_json_map.items()
                                       if k in resource_map._parsed_resources}


def _roll_back_on_failure() -> None:
    original_execute = cfn_models.CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        before = (stack.template, dict(stack.template_dict), stack.parameters)
        try:
            original_execute(self, change_set_name, stack_name)
            resolve_outputs(stack)
            return
        except Exception as exc:  # the resource's failure, as an event, then roll back
            kind = change_set.change_set_type
            reason = _failed(stack, exc, kind)
        change_set.execution_status = "EXECUTE_FAILED"
        if kind == "CREATE":
            stack.template = change_set.template
            stack._add_stack_event("ROLLBACK_IN_PROGRESS", f"{reason} Rollback requested by user.")
            try:
                stack.resource_map.delete()
            except Exception as exc:
                stack.status = "ROLLBACK_FAILED"
                stack._add_stack_event("ROLLBACK_FAILED", _failed(stack, exc, "DELETE"))
                return
            forget_unmade(stack)
            stack.output_map = stack._create_output_map()
            stack.status = "ROLLBACK_COMPLETE"
            stack._add_stack_event("ROLLBACK_COMPLETE")
            return
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", reason)
        template, template_dict, parameters = before
        try:
            stack.resource_map.update(template_dict, parameters)
        except Exception as exc:
            stack.status = "UPDATE_ROLLBACK_FAILED"
            stack._add_stack_event("UPDATE_ROLLBACK_FAILED", _failed(stack, exc, "UPDATE"))
            return
        stack.template, stack.template_dict, stack.parameters = template, template_dict, parameters
        stack.output_map = stack._create_output_map()
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")

    original_create = cfn_models.Stack.create_resources

    def create_resources(self: Any) -> None:
        """CreateStack (nested children): roll back the same way, then fail the parent."""
        try:
            original_create(self)
        except Exception as exc:
            reason = _failed(self, exc, "CREATE")
            self._add_stack_event("ROLLBACK_IN_PROGRESS", reason)
            try:
                self.resource_map.delete()
                forget_unmade(self)
                self.status = "ROLLBACK_COMPLETE"
            except Exception:
                self.status = "ROLLBACK_FAILED"
            self._add_stack_event(self.status)
            raise

    cfn_models.CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]
    cfn_models.Stack.create_resources = create_resources  # type: ignore[method-assign]


class _DeleteFailed(Exception):
    pass


def _delete_failures_keep_the_stack() -> None:
    """moto dropped a stack whose delete failed (HTTP 500, stack gone from the list while
    its resources stayed); AWS keeps it as DELETE_FAILED with the resource's reason."""
    original_stack_delete = cfn_models.Stack.delete
    original_backend_delete = cfn_models.CloudFormationBackend.delete_stack

    def stack_delete(self: Any) -> None:
        try:
            original_stack_delete(self)
        except Exception as exc:
            reason = _failed(self, exc, "DELETE")
            self.status = "DELETE_FAILED"
            self._add_stack_event("DELETE_FAILED", reason)
            raise _DeleteFailed(reason) from exc

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        kept = dict(self.stacks)
        try:
            original_backend_delete(self, name_or_stack_id)
        except _DeleteFailed:
            self.stacks = kept  # DeleteStack itself succeeds; the stack shows DELETE_FAILED
            for stack_id in kept:
                self.deleted_stacks.pop(stack_id, None)

    def delete_nested(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                      region_name: str) -> None:
        """A nested child that failed to delete fails its parent's delete of it; the
        parent does not try it again (in_use: reverse dependency order, no retries)."""
        backend = cfn_models.cloudformation_backends[account_id][region_name]
        backend.delete_stack(resource_name)
        for stack in backend.stacks.values():
            if stack.name == resource_name and stack.status == "DELETE_FAILED":
                raise _DeleteFailed(f"nested stack {resource_name} failed to delete")

    cfn_models.Stack.delete = stack_delete  # type: ignore[method-assign]
    cfn_models.CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]
    cfn_models.Stack.delete_from_cloudformation_json = classmethod(  # type: ignore[method-assign,assignment]
        delete_nested)


def _tag_only_updates_apply() -> None:
    """UpdateStack whose only change is the stack's Tags: AWS applies it (API reference,
    UpdateStack ``Tags``: "Key-value pairs to associate with this stack. CloudFormation
    also propagates these tags to supported resources in the stack"; the stack goes
    UPDATE_IN_PROGRESS, UPDATE_COMPLETE). moto compared only the template and parameters
    and refused it with "No updates are to be performed.", so `deploy --set tags.owner=x`
    failed on the local endpoint."""
    response_class = cfn_responses.CloudFormationResponse
    original = response_class._validate_different_update

    def validate(self: Any, incoming_params: Any, stack_body: str, old_stack: Any) -> None:
        asked = {item["Key"]: item["Value"] for item in self._get_param("Tags", []) or []}
        if asked and asked != dict(old_stack.tags or {}):
            return
        original(self, incoming_params, stack_body, old_stack)

    response_class._validate_different_update = validate  # type: ignore[method-assign]


def apply() -> None:
    _tag_only_updates_apply()
    _resource_failures_are_named()
    _removed_resources_leave_the_map()
    _adds_follow_depends_on()
    _roll_back_on_failure()
    _delete_failures_keep_the_stack()
