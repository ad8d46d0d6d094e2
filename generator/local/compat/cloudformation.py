"""Fixes to moto's CloudFormation engine itself (what its API answers), each a few lines on
top of moto: change sets publish Outputs and Exports, parameters echo as sent,
UpdateTerminationProtection, change sets read back with their template and tags, nested
stacks' ``Outputs.X``.

This module's room: where moto's CloudFormation API differs from AWS's in shape or misses
a call, not a failure AWS would give (emulation/stacks.py and friends).
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.responses import ActionResult

# --- 1. change sets publish Outputs and Exports ---------------------------------


def publish_outputs_after_change_set() -> None:
    original = cfn_models.CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        # As update_stack does: re-read the template, then outputs and exports.
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        stack.parameters = change_set.parameters
        if change_set.tags is not None:
            stack.tags = change_set.tags
        for export in stack.exports:
            self.exports[export.name] = export

    cfn_models.CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]


# --- parameters echo as sent, as AWS does -------------------------------------------


def echo_parameters_as_sent() -> None:
    """AWS describes a List parameter as the comma-joined text it was given and an SSM
    parameter as its path; moto echoes its parsed values (a Python list repr, the AMI
    id), so no deployed stack ever looks unchanged."""

    def parameter_list(self: Any) -> list[dict[str, Any]]:
        sent = self.parameters or {}
        hidden = self.resource_map.no_echo_parameter_keys
        out = []
        for key, value in self.resource_map.resolved_parameters.items():
            shown = sent.get(key, value)
            if isinstance(shown, list):
                shown = ",".join(str(v) for v in shown)
            out.append({"ParameterKey": key,
                        "ParameterValue": "****" if key in hidden else shown})
        return out

    cfn_models.Stack.parameter_list = property(parameter_list)  # type: ignore[assignment]


# --- termination protection can be changed -------------------------------------------


def update_termination_protection() -> None:
    """moto stores EnableTerminationProtection at create time but has no
    UpdateTerminationProtection, which prod-like envs call after each deploy."""

    def update_termination_protection(self: Any) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        stack.enable_termination_protection = self._get_param(
            "EnableTerminationProtection") in (True, "true")
        return ActionResult({"StackId": stack.stack_id})

    cfn_responses.CloudFormationResponse.update_termination_protection = (  # type: ignore[attr-defined]
        update_termination_protection)


# --- a change set reads back as it was made ----------------------------------------


def change_sets_read_back() -> None:
    """GetTemplate with ChangeSetName returns that change set's template, and
    DescribeChangeSet lists the change set's Tags: `apply` compares both with the plan.
    moto answers GetTemplate with the stack's deployed template whatever change set is
    named (and without a StackName, "Stack with id None does not exist"), and describes
    every change set with no tags.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html
    """
    get_template = cfn_responses.CloudFormationResponse.get_template
    describe = cfn_responses.CloudFormationResponse.describe_change_set

    def get_change_set_template(self: Any) -> Any:
        name = self._get_param("ChangeSetName")
        if not name:
            return get_template(self)
        change_set = self.cloudformation_backend.describe_change_set(change_set_name=name)
        return ActionResult({"TemplateBody": change_set.template})

    def describe_change_set(self: Any) -> Any:
        change_set = self.cloudformation_backend.describe_change_set(
            change_set_name=self._get_param("ChangeSetName"))
        result = describe(self)
        tags = [{"Key": k, "Value": v} for k, v in (change_set.tags or {}).items()]
        return ActionResult(_Described(change_set, tags)) if tags else result

    cfn_responses.CloudFormationResponse.get_template = get_change_set_template  # type: ignore[method-assign]
    cfn_responses.CloudFormationResponse.describe_change_set = describe_change_set  # type: ignore[method-assign]


class _Described:
    """A change set as DescribeChangeSet serialises it, its tags as AWS lists them."""

    def __init__(self, change_set: Any, tags: list[dict[str, str]]) -> None:
        self._change_set = change_set
        self.tags = tags

    def __getattr__(self, name: str) -> Any:
        return getattr(self._change_set, name)


# --- 3. nested stacks: !GetAtt Child.Outputs.X ------------------------------------


def nested_stack_outputs() -> None:
    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name.startswith("Outputs."):
            key = attribute_name.removeprefix("Outputs.")
            for output in self.output_map.values():
                if output.key == key:
                    return output.value
        raise UnformattedGetAttTemplateException()

    cfn_models.Stack.get_cfn_attribute = get_cfn_attribute  # type: ignore[attr-defined]


# --- lists are read whole while other requests change them ------------------------------


def lists_read_whole() -> None:
    """ListChangeSets answered moto's live dict view, serialised after the call returned:
    another request making a change set meanwhile (a parallel deploy's next stack) made it
    answer HTTP 500 ("OrderedDict mutated during iteration"). The list is taken at once,
    as DescribeStacks' is."""
    backend = cfn_models.CloudFormationBackend
    original = backend.list_change_sets

    def list_change_sets(self: Any) -> list[Any]:
        return list(original(self))

    backend.list_change_sets = list_change_sets  # type: ignore[method-assign]

