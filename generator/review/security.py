"""Security tables: IAM statement and security group rule changes between the
deployed and the rendered template of a stack, with the env's values.

A change that adds an Allow, attaches a managed policy, removes a Deny or adds
a network rule broadens access; removals narrow it. Statements and rules are
compared whole (a rule whose ports widen shows as one removed and one added),
as CDK's diff does, so a reviewer sees both versions side by side.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from generator.cfndoc import OPEN_CIDRS, as_list, resolved_resources

ADDED = "+"
REMOVED = "-"

# Resource policies: the statement's Principal says who gains access.
RESOURCE_POLICY_TYPES = {
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SecretsManager::ResourcePolicy": "ResourcePolicy",
    "AWS::KMS::Key": "KeyPolicy",
}
# Identity policies attached to roles by a separate resource.
IDENTITY_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


class IamChange(msgspec.Struct, kw_only=True, frozen=True):
    change: str  # ADDED or REMOVED
    resource: str  # the logical id that holds the statement
    kind: str  # "trust", "identity" or "resource policy"
    effect: str
    actions: list[str]
    principal: str
    resources: list[str]
    condition: str = ""

    @property
    def broadens(self) -> bool:
        return (self.change == ADDED) == (self.effect == "Allow")


class ManagedPolicyChange(msgspec.Struct, kw_only=True, frozen=True):
    change: str
    resource: str
    policy: str

    @property
    def broadens(self) -> bool:
        return self.change == ADDED


class SecurityGroupChange(msgspec.Struct, kw_only=True, frozen=True):
    change: str
    group: str  # the logical id of the group the rule belongs to
    direction: str  # ingress or egress
    protocol: str
    ports: str
    peer: str
    description: str = ""
    covered: bool = False  # added, but inside a rule the same change removes: it narrows

    @property
    def broadens(self) -> bool:
        return self.change == ADDED and not self.covered

    @property
    def open_to_world(self) -> bool:
        return self.peer in OPEN_CIDRS


class SecurityTables(msgspec.Struct, kw_only=True):
    iam: list[IamChange] = []
    managed_policies: list[ManagedPolicyChange] = []
    security_groups: list[SecurityGroupChange] = []

    @property
    def empty(self) -> bool:
        return not (self.iam or self.managed_policies or self.security_groups)

    @property
    def broadens(self) -> bool:
        rows: list[IamChange | ManagedPolicyChange | SecurityGroupChange] = [
            *self.iam, *self.managed_policies, *self.security_groups]
        return any(r.broadens for r in rows)

    def broadening(self) -> list[str]:
        """One line per change that broadens access, for the review's risk marks."""
        out = [f"{r.resource}: {r.effect} {', '.join(r.actions)} for {r.principal} on "
               f"{', '.join(r.resources)}" for r in self.iam if r.broadens]
        out += [f"{r.resource}: attaches {r.policy}" for r in self.managed_policies
                if r.broadens]
        out += [f"{r.group}: {r.direction} {r.protocol} {r.ports} "
                f"{'from' if r.direction == 'ingress' else 'to'} {r.peer}"
                for r in self.security_groups if r.broadens]
        return out


def security_tables(old: Mapping[str, Any], new: Mapping[str, Any],
                    old_params: Mapping[str, str], new_params: Mapping[str, str]) -> SecurityTables:
    """The IAM and security group changes from the ``old`` to the ``new`` template."""
    old_iam, new_iam = set(_statements(old, old_params)), set(_statements(new, new_params))
    old_mp, new_mp = set(_managed(old, old_params)), set(_managed(new, new_params))
    old_sg, new_sg = set(_rules(old, old_params)), set(_rules(new, new_params))
    return SecurityTables(
        iam=_diff(old_iam, new_iam, lambda c, k: IamChange(change=c, resource=k[0], kind=k[1],
                  effect=k[2], actions=list(k[3]), principal=k[4], resources=list(k[5]),
                  condition=k[6])),
        managed_policies=_diff(old_mp, new_mp, lambda c, k: ManagedPolicyChange(
            change=c, resource=k[0], policy=k[1])),
        security_groups=_narrowed(_diff(old_sg, new_sg, lambda c, k: SecurityGroupChange(
            change=c, group=k[0], direction=k[1], protocol=k[2], ports=k[3], peer=k[4],
            description=k[5]))),
    )


def _within(inner: str, outer: str) -> bool:
    """A CIDR inside another (10.0.0.0/8 inside 0.0.0.0/0); other peers only if equal."""
    if inner == outer:
        return True
    try:
        a, b = ipaddress.ip_network(inner, strict=False), ipaddress.ip_network(outer, strict=False)
    except ValueError:
        return False
    return a.version == b.version and a.subnet_of(b)  # type: ignore[arg-type]


def _ports_within(inner: str, outer: str) -> bool:
    def span(p: str) -> tuple[int, int]:
        if p == "all":
            return (0, 65535)
        low, _, high = p.partition("-")
        return int(low), int(high or low)

    try:
        (a, b), (c, d) = span(inner), span(outer)
    except ValueError:
        return inner == outer
    return c <= a and b <= d


def _narrowed(rows: list[SecurityGroupChange]) -> list[SecurityGroupChange]:
    """Mark each added rule that a removed rule of the same group already allowed: a rule
    from 0.0.0.0/0 replaced by one from 10.0.0.0/8 narrows access."""
    removed = [r for r in rows if r.change == REMOVED]
    out = []
    for r in rows:
        covered = r.change == ADDED and any(
            o.group == r.group and o.direction == r.direction
            and o.protocol in (r.protocol, "all") and _ports_within(r.ports, o.ports)
            and _within(r.peer, o.peer) for o in removed)
        out.append(msgspec.structs.replace(r, covered=True) if covered else r)
    return out


def _diff(old: set[Any], new: set[Any], make: Any) -> list[Any]:
    rows = [make(ADDED, k) for k in sorted(new - old, key=str)]
    return rows + [make(REMOVED, k) for k in sorted(old - new, key=str)]


def show(value: Any) -> str:
    """A resolved value as a reviewer reads it: `Ref X`, `X.Arn`, `${X}/*`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return f"Ref {arg}"
        if fn == "Fn::GetAtt":
            return ".".join(arg) if isinstance(arg, list) else str(arg)
        if fn == "Fn::Sub":
            return str(arg[0] if isinstance(arg, list) else arg)
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and \
                isinstance(arg[1], list):
            return str(arg[0]).join(show(v) for v in arg[1])
    return json.dumps(value, sort_keys=True)


StatementKey = tuple[str, str, str, tuple[str, ...], str, tuple[str, ...], str]


def _statement_keys(holder: str, kind: str, document: Any,
                    principal: str | None) -> Iterable[StatementKey]:
    statements = document.get("Statement") if isinstance(document, dict) else None
    for stmt in as_list(statements):
        if not isinstance(stmt, dict):
            continue
        actions = as_list(stmt.get("Action")) or [f"NOT {show(a)}" for a in
                                                    as_list(stmt.get("NotAction"))]
        who = principal if principal is not None else _principal(stmt)
        targets = as_list(stmt.get("Resource")) or (["*"] if kind != "trust" else [holder])
        condition = stmt.get("Condition")
        yield (holder, kind, str(stmt.get("Effect", "Allow")),
               tuple(sorted(show(a) for a in actions)), who,
               tuple(sorted(show(r) for r in targets)),
               json.dumps(condition, sort_keys=True) if condition else "")


def _principal(stmt: Mapping[str, Any]) -> str:
    principal = stmt.get("Principal")
    if principal == "*" or principal is None:
        return "*" if principal == "*" else "(none)"
    if isinstance(principal, dict):
        return ", ".join(f"{kind}:{show(p)}" for kind, who in sorted(principal.items())
                         for p in as_list(who))
    return show(principal)


def _statements(doc: Mapping[str, Any], params: Mapping[str, str]) -> Iterable[StatementKey]:
    for name, rtype, props in resolved_resources(doc, params):
        if rtype == "AWS::IAM::Role":
            yield from _statement_keys(name, "trust", props.get("AssumeRolePolicyDocument"),
                                       None)
            for policy in as_list(props.get("Policies")):
                if isinstance(policy, dict):
                    yield from _statement_keys(name, "identity", policy.get("PolicyDocument"),
                                               f"role {name}")
        elif rtype in IDENTITY_POLICY_TYPES:
            roles = ", ".join(show(r) for r in as_list(props.get("Roles"))) or name
            yield from _statement_keys(name, "identity", props.get("PolicyDocument"),
                                       f"roles {roles}")
        elif rtype in RESOURCE_POLICY_TYPES:
            yield from _statement_keys(name, "resource policy",
                                       props.get(RESOURCE_POLICY_TYPES[rtype]), None)


def _managed(doc: Mapping[str, Any], params: Mapping[str, str]) -> Iterable[tuple[str, str]]:
    for name, rtype, props in resolved_resources(doc, params):
        if rtype in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
            for arn in as_list(props.get("ManagedPolicyArns")):
                yield name, show(arn)


RuleKey = tuple[str, str, str, str, str, str]
ALL_TRAFFIC = {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0",
               "Description": "(AWS default: all outbound traffic)"}


def _rule_key(group: str, direction: str, rule: Mapping[str, Any]) -> RuleKey:
    protocol = str(rule.get("IpProtocol", "-1"))
    low, high = rule.get("FromPort"), rule.get("ToPort")
    if protocol in ("-1", "all"):
        protocol, ports = "all", "all"
    elif low is None or str(low) in ("-1",):
        ports = "all"
    else:
        ports = str(low) if str(low) == str(high) else f"{low}-{high}"
    peer = next((show(rule[k]) for k in (
        "CidrIp", "CidrIpv6", "SourceSecurityGroupId", "DestinationSecurityGroupId",
        "SourcePrefixListId", "DestinationPrefixListId") if rule.get(k) is not None), "?")
    return group, direction, protocol, ports, peer, str(rule.get("Description", ""))


def _group_of(value: Any, resources: Mapping[str, Any]) -> str:
    """The group a standalone rule belongs to: its logical id when the template holds
    it, else `Ref Param` (a group another stack made, by a value not known yet)."""
    if isinstance(value, dict) and "Ref" in value:
        name = str(value["Ref"])
        return name if name in resources else f"Ref {name}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        att = value["Fn::GetAtt"]
        return str(att[0] if isinstance(att, list) else str(att).split(".")[0])
    return show(value)


def _rules(doc: Mapping[str, Any], params: Mapping[str, str]) -> Iterable[RuleKey]:
    for name, rtype, props in resolved_resources(doc, params):
        if rtype == "AWS::EC2::SecurityGroup":
            for rule in as_list(props.get("SecurityGroupIngress")):
                if isinstance(rule, dict):
                    yield _rule_key(name, "ingress", rule)
            # With no egress rules AWS keeps its default: all traffic out. Showing it
            # makes a group that opens or closes egress visible in the review.
            egress = as_list(props.get("SecurityGroupEgress")) or [ALL_TRAFFIC]
            for rule in egress:
                if isinstance(rule, dict):
                    yield _rule_key(name, "egress", rule)
        elif rtype in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
            direction = "ingress" if rtype.endswith("Ingress") else "egress"
            yield _rule_key(_group_of(props.get("GroupId"), doc.get("Resources") or {}),
                            direction, props)
