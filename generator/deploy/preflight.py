"""Checks before the first stack of a deploy starts: states AWS would only report
after hours.

A DNS-validated certificate stays PENDING_VALIDATION until its validation record
resolves publicly, which needs the zone delegated from its parent; CloudFormation
waits until ACM gives up, 72 hours later (ACM user guide, "DNS validation";
Route 53 developer guide, "Routing traffic for subdomains"). So a zone this env
creates must be delegated, or about to be by the dns stack, before the cert stack
starts. Only the Route 53 API is asked: no public DNS lookup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from generator.aws.cfn_types import StackInfo
from generator.aws.status import StackStatus
from generator.config import Environment
from generator.errors import StackgenError, UsageError
from generator.views.common import logical_id

if TYPE_CHECKING:
    from generator.deploy.connect import Connection

CERT_STACK = "cert"


class ZoneNotDelegated(StackgenError):
    """A zone the env creates is not delegated from its parent: ACM would wait 72 hours."""

    exit_code = 1

    def __init__(self, zone: str, fix: str):
        super().__init__(f"zone {zone} is not delegated, so its certificate can never "
                         f"validate: {fix}")
        self.zone = zone


class NestedZoneRefused(UsageError):
    """The nested form of an env whose created zone is delegated by hand: refused."""

    def __init__(self, env: str, zone: str):
        super().__init__(
            f"env '{env}' creates zone {zone} (dns.zone.create) and its parent is delegated by "
            "hand, so the zone must exist and be delegated before the certificate starts; the "
            "nested root creates zone and certificate in one operation, and a root deployed "
            "after the zone alone would create a second zone with new name servers: deploy "
            f"with --no-nested, set dns.zone.parent_zone_id (a parent in this account), or "
            "use the existing zone (dns.zone.id with create: false)")
        self.env = env
        self.zone = zone


def refuse_nested(cfg: Environment, env: str) -> None:
    """Refuse the nested form where its Dns child would make a zone nobody delegates.

    The nested root's Dns child always creates the zone (a root cannot adopt the zone an
    earlier `--stack dns` made: Route 53 allows several zones of one name, each with its
    own name servers, Route 53 developer guide, "Creating a public hosted zone"). With
    ``parent_zone_id`` the child adds the delegation itself; otherwise the certificate
    would wait on a zone nobody delegates (ACM user guide, "DNS validation": 72 hours).
    Called before any AWS call by the commands that change the env (deploy, plan, apply).
    """
    zone = cfg.dns.zone
    if zone.create and not zone.parent_zone_id:
        raise NestedZoneRefused(env, _bare(zone.name))


def deployed_zone_id(live: Mapping[str, StackInfo], stack_name: str,
                     output: str) -> str | None:
    """The zone the env's dns stack holds, by its id (the ``output`` of ``stack_name``
    in ``live``, the unit's listing: ``listed``), or None when the stack is not deployed:
    what the certificate validates in, which a lookup by name cannot tell apart from a
    retained zone of the same name."""
    info = live.get(stack_name)
    if info is None:
        return None
    value = info.outputs.get(output)
    return str(value) if value else None


def _bare(name: str) -> str:
    return name.rstrip(".").lower()


def _zone_id(route53: Any, name: str) -> str | None:
    """The public hosted zone of this account named ``name``, if any."""
    page = route53.list_hosted_zones_by_name(DNSName=name, MaxItems="10")
    for zone in page.get("HostedZones", []):
        private = (zone.get("Config") or {}).get("PrivateZone", False)
        if _bare(zone["Name"]) == _bare(name) and not private:
            return str(zone["Id"]).rsplit("/", 1)[-1]
    return None


def _delegated_names(route53: Any, parent_id: str, name: str) -> set[str]:
    """Name servers the parent zone lists as NS records for ``name``."""
    page = route53.list_resource_record_sets(HostedZoneId=parent_id, StartRecordName=name,
                                             StartRecordType="NS", MaxItems="1")
    for rrset in page.get("ResourceRecordSets", []):
        if _bare(rrset["Name"]) == _bare(name) and rrset["Type"] == "NS":
            return {_bare(r["Value"]) for r in rrset.get("ResourceRecords", [])}
    return set()


def check_delegation(cfg: Environment, route53: Any, env: str,
                     starts_certificate: bool, zone_id: str | None = None) -> None:
    """Refuse, with the fix, to start the certificate of a created zone nobody delegates.

    ``zone_id`` is the zone the dns stack holds (``deployed_zone_id``), None before its
    first deploy: the check is by id, since a zone retained by an earlier delete
    (``retain_on_delete``) has the same name and other name servers. A zone the env
    looks up or is given is the account's own, assumed delegated. ``delegated: true`` is
    the user's word for a parent outside the account, about the zone the dns stack holds:
    it is checked anyway where the parent is in the account, and refused when the dns
    stack would create a new zone now.
    """
    zone = cfg.dns.zone
    if not zone.create or not starts_certificate:
        return
    name = _bare(zone.name)
    parent_name = name.split(".", 1)[1] if "." in name else ""
    ours = zone_id
    if zone.parent_zone_id:
        try:
            parent = route53.get_hosted_zone(Id=zone.parent_zone_id)["HostedZone"]
        except route53.exceptions.NoSuchHostedZone:
            raise ZoneNotDelegated(name, f"dns.zone.parent_zone_id {zone.parent_zone_id} is "
                                   "not a hosted zone of this account; set it to the id of "
                                   f"{parent_name}") from None
        if _bare(parent["Name"]) != parent_name:
            raise ZoneNotDelegated(name, f"dns.zone.parent_zone_id {zone.parent_zone_id} is "
                                   f"zone {_bare(parent['Name'])}, not the parent "
                                   f"{parent_name}; set it to the id of {parent_name}")
        if ours is None:
            return  # the dns stack creates the zone and its delegation together
        _check_listed(route53, zone.parent_zone_id, ours, name, parent_name,
                      "deploy the dns stack again to restore the Delegation record")
        return
    parent_id = _zone_id(route53, parent_name) if parent_name else None
    if parent_id is not None:
        if ours is None:
            raise ZoneNotDelegated(name, f"its parent {parent_name} is in this account; "
                                   f"set dns.zone.parent_zone_id: {parent_id} and the dns "
                                   "stack adds the NS records")
        _check_listed(route53, parent_id, ours, name, parent_name,
                      f"set dns.zone.parent_zone_id: {parent_id} and the dns stack adds them")
        return
    if zone.delegated and ours is not None:
        return  # the user delegated the zone the dns stack holds; the parent is not ours
    if zone.delegated:
        retained = _zone_id(route53, name)
        kept = (f"; zone {retained} of that name exists (retained by an earlier delete?): "
                f"use it with dns.zone.id: {retained} and create: false" if retained else "")
        raise ZoneNotDelegated(name, "dns.zone.delegated is true but the dns stack holds no "
                               "zone: it would create a new one, with name servers the "
                               f"parent does not list{kept}, or deploy the zone alone "
                               f"(stackgen deploy --env {env} --stack dns) and update the NS "
                               "records at the parent to its NameServers output")
    first = (f"deploy the zone alone, not nested (stackgen deploy --env {env} --stack dns), "
             if ours is None else "")
    raise ZoneNotDelegated(name, f"{first}add NS records for {name} listing the dns "
                           f"stack's NameServers output where {parent_name or 'its parent'} "
                           "is hosted, then set dns.zone.delegated: true")


def _check_listed(route53: Any, parent_id: str, ours: str, name: str, parent_name: str,
                  fix: str) -> None:
    servers = {_bare(s) for s in route53.get_hosted_zone(Id=ours)
               .get("DelegationSet", {}).get("NameServers", [])}
    listed = _delegated_names(route53, parent_id, name)
    if not servers or not servers <= listed:
        missing = ", ".join(sorted(servers - listed)) or "its name servers"
        raise ZoneNotDelegated(name, f"parent {parent_name} ({parent_id}) does not list "
                               f"{missing} as NS records for {name}; {fix}")


DNS_STACK = "dns"


def check_zone(conn: Connection, starts_certificate: bool,
               live: Mapping[str, StackInfo] | None = None) -> None:
    """The delegation preflight on the zone the unit's dns stack holds, by its id (the
    root's copy of the output in the nested form). ``live``: the unit's stacks of either
    form as listed (preflight.listed); None where nothing was listed (apply): that one
    stack is read."""
    cfg = conn.rendered.env.config
    if not (cfg.dns.zone.create and starts_certificate):
        return  # nothing to check: no Route 53 client is made for it (issue 28)
    zone_id = None
    if DNS_STACK in conn.rendered.stacks:
        name, output = (conn.form.root.stack_name, f"{logical_id(DNS_STACK)}HostedZoneId") \
            if conn.nested else (conn.rendered.stacks[DNS_STACK].stack_name, "HostedZoneId")
        if live is None:
            live = conn.aws.cfn.describe_many([name])
        zone_id = deployed_zone_id(live, name, output)
    check_delegation(cfg, conn.lookups.route53, conn.rendered.env.name, starts_certificate,
                     zone_id)


class DeployedInOtherForm(UsageError):
    """The env's stacks exist in the other form (separate stacks vs one nested root):
    planning this form would make a second copy of every resource beside the first."""


def both_forms(conn: Connection) -> list[str]:
    """The unit's stack names in either form: the nested root, then the separate stacks."""
    return [conn.rendered.root.stack_name,
            *(s.stack_name for s in conn.rendered.stacks.values())]


Listed = dict[str, dict[str, StackInfo]]  # by unit label: its deployed stacks by name


def listed(conns: Sequence[Connection]) -> Listed:
    """Each unit's stacks of either form (``both_forms``) deployed now: one listing per
    unit before the lock, which the form check, the zone check and the refactor
    detection all read (each was a DescribeStacks of its own on the way to the first
    change set, issue 28). A review shell is in it: each reader says what it makes of
    one. The run lists again under the lock (workflow.settle): another run may have
    changed the stacks meanwhile."""
    return {c.label: c.aws.cfn.describe_many(both_forms(c)) for c in conns}


def refuse_other_form(conns: Sequence[Connection], command: str, found: Listed) -> None:
    """Before any change set: a nested plan of an env deployed as separate stacks (or a
    flat plan of one deployed nested) would propose a parallel root stack (or parallel
    stacks) creating every resource again beside the live ones; refuse it, naming the
    flag that matches what is deployed. A review shell (REVIEW_IN_PROGRESS, no
    resources) is not a deployment. ``found``: ``listed(conns)``."""
    for c in conns:
        root = c.rendered.root.stack_name
        flat = [s.stack_name for s in c.rendered.stacks.values()]
        live = {name: info for name, info in found[c.label].items()
                if info.status is not StackStatus.REVIEW_IN_PROGRESS}
        env = c.rendered.env.name
        deployed = [n for n in flat if n in live]
        if c.nested and root not in live and deployed:
            raise DeployedInOtherForm(
                f"env {env} is deployed as separate stacks ({', '.join(deployed)}); "
                f"{command} it with --no-nested, or delete it first")
        if not c.nested and root in live:
            raise DeployedInOtherForm(
                f"env {env} is deployed as one nested stack ({root}); {command} it with "
                "--nested, or delete it first")
