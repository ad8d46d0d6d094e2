"""A standalone task's NEW revision, registered from the rendered template before the
ecs stack's change set runs, so a migration runs the code about to be deployed
while the service still runs the old revision.

One stack holds both the task definitions and the service, so CloudFormation
cannot be paused between "new task definition" and "service moves". Instead the
rendered ``<Task>TaskDefinition`` is registered with RegisterTaskDefinition, its
references resolved against the change set's parameters and the resources the
deployed stack already has (roles, log group). A reference to a resource the stack
does not have yet (a task added in this very deploy) cannot be resolved:
``Unresolvable`` says so, and the caller runs the task after the stack instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from generator.context import logical_id
from generator.ecs.ops import aws_call
from generator.errors import StackgenError
from generator.yamlsrc import load_cfn

# Keys whose values are free-form maps in both CloudFormation and the API: their keys
# are kept as written (awslogs-group stays awslogs-group).
_FREE_MAPS = {"Options", "DockerLabels", "Labels", "DriverOpts"}


class Unresolvable(StackgenError):
    """The rendered task definition names something the deployed stack does not have."""


def _camel(key: str) -> str:
    return key[:1].lower() + key[1:]


def to_api(value: Any, free: bool = False) -> Any:
    """CloudFormation property casing (PascalCase) to the ECS API's (camelCase)."""
    if isinstance(value, dict):
        if free:
            return dict(value)
        return {_camel(k): to_api(v, k in _FREE_MAPS) for k, v in value.items()}
    if isinstance(value, list):
        return [to_api(v) for v in value]
    return value


class Resolver:
    """Intrinsic functions a task definition uses: Ref, Fn::GetAtt <Role>.Arn, Fn::Sub,
    Fn::Join, pseudo parameters."""

    def __init__(self, params: Mapping[str, str], physical: Mapping[str, str],
                 pseudo: Mapping[str, str], iam: Any) -> None:
        self.params, self.physical, self.pseudo, self.iam = params, physical, pseudo, iam

    def ref(self, name: str) -> str:
        if name in self.params:
            return self.params[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if self.physical.get(name):
            return self.physical[name]
        raise Unresolvable(f"{name} is not deployed yet")

    def get_att(self, name: str, attr: str) -> str:
        if attr != "Arn" or not self.physical.get(name):
            raise Unresolvable(f"{name}.{attr} is not deployed yet")
        role = aws_call("iam GetRole", self.iam.get_role, RoleName=self.physical[name])
        return str(role["Role"]["Arn"])

    def sub(self, text: str) -> str:
        def one(m: re.Match[str]) -> str:
            key = m.group(1)
            if "." in key:
                res, attr = key.split(".", 1)
                return self.get_att(res, attr)
            return self.ref(key)
        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                res, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(res, attr)
            if fn == "Fn::Sub":
                if isinstance(arg, list):
                    raise Unresolvable("Fn::Sub with a variable map")
                return self.sub(arg)
            if fn == "Fn::Join":
                sep, items = arg
                return sep.join(str(self(i)) for i in items)
            if fn.startswith("Fn::"):
                raise Unresolvable(f"{fn} in a task definition")
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


def rendered_task_definition(template: str, task: str, resolve: Resolver) -> dict[str, Any]:
    """RegisterTaskDefinition arguments for ecs.tasks.<task> as rendered."""
    resources = load_cfn(template).get("Resources") or {}
    found = resources.get(f"{logical_id(task)}TaskDefinition")
    if not found:
        raise Unresolvable(f"the rendered ecs template has no task definition for {task}")
    props = resolve(found.get("Properties") or {})
    props.pop("Tags", None)  # tags are the stack's business, not a one-off revision's
    return dict(to_api(props))


def register(ecs: Any, args: Mapping[str, Any]) -> str:
    out = aws_call("ecs RegisterTaskDefinition", ecs.register_task_definition, **args)
    return str(out["taskDefinition"]["taskDefinitionArn"])


def deregister(ecs: Any, arn: str) -> None:
    aws_call("ecs DeregisterTaskDefinition", ecs.deregister_task_definition, taskDefinition=arn)
