"""Reading CloudFormation documents: one home for the walkers that lint rules, the
review (risk, security tables, cost) and the local endpoint share.

A document is a parsed template in long form (``generator.yamlsrc.load_cfn`` or
cfn-lint's decoder): ``{"Ref": X}``, ``{"Fn::GetAtt": [X, Attr]}``, ``{"Fn::Sub": ...}``.
Everything here reads; nothing changes the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

# The CIDRs that mean "the whole internet" (VPC user guide, security group rules).
OPEN_CIDRS = ("0.0.0.0/0", "::/0")

# Resources whose deletion loses data that must stay.
STATEFUL_TYPES = (
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::Route53::HostedZone",
    "AWS::SecretsManager::Secret",
    "AWS::Logs::LogGroup",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::EFS::FileSystem",
)

# Identity-based policies: the types whose properties hold PolicyDocument or Policies.
IAM_TYPES = ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User",
             "AWS::IAM::Group")

Path = list[str | int]


# --- resources and values ------------------------------------------------------------


def resources(template: Mapping[str, Any], *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each resource (name, body), in template order; only of ``types`` when given."""
    for name, res in (template.get("Resources") or {}).items():
        if isinstance(res, dict) and (not types or res.get("Type") in types):
            yield name, res


def props(resource: Mapping[str, Any]) -> dict[str, Any]:
    value = resource.get("Properties")
    return value if isinstance(value, dict) else {}


def resolved_resources(template: Mapping[str, Any], params: Mapping[str, str]
                       ) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each resource (name, type, properties) with ``Ref`` to parameters replaced by
    their values, so a changed parameter shows as a changed property."""
    for name, res in resources(template):
        resolved = resolve_refs(res.get("Properties") or {}, params)
        yield name, str(res.get("Type", "")), resolved if isinstance(resolved, dict) else {}


def as_list(value: Any) -> list[Any]:
    """A property that takes one item or a list of them, as a list (none: empty)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def is_true(value: Any) -> bool:
    """CloudFormation's booleans: true or the string "true" (any case)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_open(rule: Any) -> bool:
    """A security group rule to or from the whole internet."""
    return isinstance(rule, dict) and (rule.get("CidrIp") in OPEN_CIDRS
                                       or rule.get("CidrIpv6") in OPEN_CIDRS)


# --- references ----------------------------------------------------------------------


def referenced(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at (this value only)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else target).split(".")[0]
    return None


def references(value: Any) -> set[str]:
    """Every logical id a ``Ref`` or ``Fn::GetAtt`` anywhere inside ``value`` points at
    (lists, Fn::Join, ...); ``Fn::Sub`` variables are not read (see ``refers_to``)."""
    found = set()
    if isinstance(value, dict):
        ref = referenced(value)
        if ref:
            found.add(ref)
        for inner in value.values():
            found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


# ${Name} or ${Name.Attribute}; ${!Literal} is text (user guide, Fn::Sub).
_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}.]*)[}.]")


def sub_variables(value: Any) -> set[str]:
    """The names an ``Fn::Sub`` string reads: ``${X}`` and ``${X.Attr}`` give X.
    ``value`` is the function's argument: the string, or [string, variables]."""
    text = value[0] if isinstance(value, list) and value else value
    return set(_SUB_VARIABLE.findall(text)) if isinstance(text, str) else set()


def refers_to(value: Any, names: set[str]) -> bool:
    """Whether ``value`` reads any of ``names``: ``Ref``, ``Fn::GetAtt`` (list form) or a
    variable of ``Fn::Sub``, anywhere inside it."""
    if isinstance(value, dict):
        if value.get("Ref") in names:
            return True
        att = value.get("Fn::GetAtt")
        if isinstance(att, list) and att and att[0] in names:
            return True
        if "Fn::Sub" in value and sub_variables(value["Fn::Sub"]) & names:
            return True
        return any(refers_to(v, names) for v in value.values())
    if isinstance(value, list):
        return any(refers_to(v, names) for v in value)
    return False


def resolve_refs(value: Any, params: Mapping[str, str]) -> Any:
    """Replace ``Ref`` to parameters by their values, so a changed parameter shows, and a
    parameter's ``${Name}`` in an ``Fn::Sub`` string by its value (user guide, "Fn::Sub":
    a variable that names a parameter is its value), so a literal becoming the parameter
    that holds it is no change (``service/kubenews-local/...`` and
    ``service/${ClusterName}/...`` with ClusterName kubenews-local)."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in params:
            return params[value["Ref"]]
        if set(value) == {"Fn::Sub"}:
            return {"Fn::Sub": _substitute(value["Fn::Sub"], params)}
        return {k: resolve_refs(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, params) for v in value]
    return value


def _substitute(sub: Any, params: Mapping[str, str]) -> Any:
    """An ``Fn::Sub`` argument with the parameters it names written in; a name its own
    variable map defines is that variable's, not the parameter's."""
    if isinstance(sub, list) and len(sub) == 2 and isinstance(sub[1], dict):
        own = {k: v for k, v in params.items() if k not in sub[1]}
        return [_substitute(sub[0], own), resolve_refs(sub[1], params)]
    if not isinstance(sub, str):
        return resolve_refs(sub, params)
    for name, val in params.items():
        if isinstance(val, str):
            sub = sub.replace("${" + name + "}", val)
    return sub


# --- IAM -------------------------------------------------------------------------------


def policy_documents(properties: Mapping[str, Any]) -> list[tuple[Path, Any]]:
    """The identity policy documents of an IAM resource's properties, each with its path:
    its own ``PolicyDocument`` and each of ``Policies[i].PolicyDocument``."""
    docs: list[tuple[Path, Any]] = []
    if "PolicyDocument" in properties:
        docs.append((["PolicyDocument"], properties["PolicyDocument"]))
    for i, policy in enumerate(as_list(properties.get("Policies") or [])):
        if isinstance(policy, dict):
            docs.append((["Policies", i, "PolicyDocument"], policy.get("PolicyDocument")))
    return docs


def statements(document: Any) -> list[tuple[Path, Any]]:
    """The statements of one policy document (one or a list), each with its path."""
    found = document.get("Statement") if isinstance(document, dict) else None
    return [(["Statement", j], stmt) for j, stmt in enumerate(as_list(found or []))]


def identity_statements(properties: Mapping[str, Any]) -> list[tuple[Path, Any]]:
    """Every statement of an IAM resource's identity policies, with its path."""
    return [([*path, *where], stmt) for path, doc in policy_documents(properties)
            for where, stmt in statements(doc)]


# --- security groups -------------------------------------------------------------------


class GroupRule(msgspec.Struct, frozen=True):
    """One ingress rule: inline in a group (``group`` is its logical id) or a resource of
    its own (``group`` is the logical id its GroupId points at, if any)."""

    group: str | None
    rule: dict[str, Any]
    path: Path


def ingress_rules(template: Mapping[str, Any]) -> Iterator[GroupRule]:
    """Every ingress rule of the template: the groups' own, then the standalone ones."""
    for name, sg in resources(template, "AWS::EC2::SecurityGroup"):
        for i, rule in enumerate(as_list(props(sg).get("SecurityGroupIngress") or [])):
            if isinstance(rule, dict):
                yield GroupRule(name, rule, ["Resources", name, "Properties",
                                             "SecurityGroupIngress", i])
    for name, ing in resources(template, "AWS::EC2::SecurityGroupIngress"):
        yield GroupRule(referenced(props(ing).get("GroupId")), props(ing),
                        ["Resources", name, "Properties"])
