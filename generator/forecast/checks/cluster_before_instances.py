from __future__ import annotations

import re
from typing import Any

from generator.cfndoc import props
from generator.forecast.account import Account
from generator.forecast.model import Check, Finding, Subject, depends_on

_LITERAL = re.compile(r"ECS_CLUSTER=([^\s$\"']+)")
_SUBSTITUTED = re.compile(r"ECS_CLUSTER=\$\{([A-Za-z0-9:.]+)\}")


def _user_data(template_data: dict[str, Any]) -> Any:
    data = template_data.get("UserData")
    if isinstance(data, dict) and "Fn::Base64" in data:
        return data["Fn::Base64"]
    return data


def cluster_reference(user_data: Any) -> tuple[str, str] | None:
    """("literal", name) or ("ref", variable) for the ECS_CLUSTER line of user data."""
    if isinstance(user_data, str):
        m = _LITERAL.search(user_data)
        return ("literal", m.group(1)) if m else None
    if isinstance(user_data, dict) and "Fn::Sub" in user_data:
        sub = user_data["Fn::Sub"]
        text, variables = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
        if not isinstance(text, str):
            return None
        m = _SUBSTITUTED.search(text)
        if m:
            value = variables.get(m.group(1)) if isinstance(variables, dict) else None
            if isinstance(value, str):
                return ("literal", value)
            return ("ref", m.group(1))
        m = _LITERAL.search(text)
        return ("literal", m.group(1)) if m else None
    return None


class ClusterBeforeInstances(Check):
    """Instances register with the cluster named in their user data as they boot; if it
    does not exist yet, the ECS agent's RegisterContainerInstance gets "Cluster not
    found", which it does not retry, and the instance never joins. Delete in reverse
    order then removes the cluster while instances are registered
    (ClusterContainsContainerInstancesException). The stack that creates the cluster
    must be upstream of the one that starts the instances."""

    id = "F201"
    title = "The cluster exists before instances boot"
    source = ("aws/amazon-ecs-agent ecs-agent/api/ecs/client/ecs_client.go "
              "(registerContainerInstanceWithRetry, isTransientError)")

    def run(self, subject: Subject, account: Account | None) -> list[Finding]:
        creators: dict[str, tuple[str, str]] = {}
        for stack, logical, res in subject.resources("AWS::ECS::Cluster"):
            name = props(res).get("ClusterName")
            if isinstance(name, str):
                creators[name] = (stack, logical)
        found = []
        for stack, logical, res in subject.resources("AWS::EC2::LaunchTemplate",
                                                      "AWS::AutoScaling::LaunchConfiguration"):
            data = props(res).get("LaunchTemplateData", props(res))
            ref = cluster_reference(_user_data(data))
            if ref is None:
                continue
            kind, value = ref
            if kind == "ref":
                problem = self._check_ref(subject, stack, logical, res, value)
            else:
                problem = self._check_literal(subject, stack, logical, res, value, creators)
            if problem:
                found.append(problem)
        return found

    def _check_literal(self, subject: Subject, stack: str, logical: str, res: dict[str, Any],
                       name: str, creators: dict[str, tuple[str, str]]) -> Finding | None:
        creator = creators.get(name)
        if creator is None:
            return self.finding(
                "warning", stack, logical,
                f"user data joins cluster {name}, which no stack of this env creates; the "
                "instances register only if it already exists",
                "create the cluster in a stack upstream of this one and pass its name in")
        owner, cluster_id = creator
        if owner == stack:
            return None if cluster_id in depends_on(res) else self._same_stack(stack, logical,
                                                                               name, cluster_id)
        if owner in subject.upstream_closure(stack):
            return None
        when = ("after it" if stack in subject.upstream_closure(owner)
                else "beside it, in no fixed order")
        return self.finding(
            "error", stack, logical,
            f"instances boot with ECS_CLUSTER={name} before cluster {name} exists: stack "
            f"{owner} creates it ({cluster_id}) and is deployed {when}; the agent's "
            "registration fails for good (\"Cluster not found\" is not retried) and reverse-"
            f"order delete removes {owner} while instances are still registered",
            f"create the cluster in a stack upstream of {stack} (e.g. a `cluster` stack) and pass "
            f"ClusterName to {stack} through stacks.yaml, written into user data with Fn::Sub")

    def _check_ref(self, subject: Subject, stack: str, logical: str, res: dict[str, Any],
                   variable: str) -> Finding | None:
        inputs = {i.param: i for i in subject.graph.stacks[stack].inputs}
        if variable in inputs:
            return None  # read from an upstream stack's output: it exists before this starts
        resources = subject.templates[stack].get("Resources") or {}
        target = resources.get(variable.split(".")[0])
        if isinstance(target, dict) and target.get("Type") == "AWS::ECS::Cluster":
            return None  # Fn::Sub of the cluster resource orders it first
        params = subject.templates[stack].get("Parameters") or {}
        if variable in params:
            return self.finding(
                "warning", stack, logical,
                f"user data joins the cluster named by parameter {variable}, which no upstream "
                "stack provides; the instances register only if that cluster already exists",
                f"feed {variable} from the stack that creates the cluster (stacks.yaml)")
        return None

    def _same_stack(self, stack: str, logical: str, name: str, cluster_id: str) -> Finding:
        return self.finding(
            "error", stack, logical,
            f"user data names cluster {name} as text, so nothing orders {logical} after "
            f"{cluster_id} in the same stack; instances may boot before the cluster exists",
            f"write the name with Fn::Sub '${{{cluster_id}}}', or add DependsOn: {cluster_id}")
